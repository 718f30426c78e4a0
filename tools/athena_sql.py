"""The Athena SQL of ``sql/``: the files, their lint, and their DuckDB translation.

``sql/views/NAME.sql`` is the view NAME; ``sql/queries/NAME.sql`` is the named
query NAME. Each file is one Trino SELECT whose leading ``--`` comment says
what it returns (it becomes the description in the template).

The lint holds the portability rules of ../shared/ATHENA.md: the SQL must run
the same on Athena (Trino) and on DuckDB, where the tests run it, and several
differences between the two are silent (a wrong answer, not an error).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Literal

import sqlglot
from sqlglot import exp
from sqlglot.errors import ParseError

REPO = Path(__file__).resolve().parents[1]
SQL_DIR = REPO / "sql"

Kind = Literal["view", "query"]
_FOLDERS: dict[Kind, str] = {"view": "views", "query": "queries"}

# What "now" may be written as: the harness pins exactly these (see pin_now).
_NOW = (exp.CurrentTimestamp, exp.CurrentDate)
_OTHER_CLOCKS = (exp.CurrentTime, exp.Localtimestamp, exp.Localtime)


class SqlProblem(ValueError):
    """A SQL file breaks a rule; the message names the file and the rule."""


@dataclass(frozen=True)
class Statement:
    """One file of sql/: a view or a named query."""

    name: str
    kind: Kind
    path: Path
    text: str

    @property
    def description(self) -> str:
        """The leading ``--`` comment, as one line."""
        lines: list[str] = []
        for line in self.text.splitlines():
            if not line.startswith("--"):
                break
            lines.append(line.removeprefix("--").strip())
        return " ".join(lines)

    @cached_property
    def tree(self) -> exp.Expr:
        return parse(self.text, self.name)

    @property
    def references(self) -> frozenset[str]:
        """Tables and views it reads (not its own CTEs)."""
        ctes = {cte.alias_or_name for cte in self.tree.find_all(exp.CTE)}
        return frozenset(
            table.name for table in self.tree.find_all(exp.Table) if table.name not in ctes
        )


def parse(text: str, name: str = "<sql>") -> exp.Expr:
    """The one Trino statement of ``text``; SqlProblem if it does not parse."""
    try:
        trees = [tree for tree in sqlglot.parse(text, read="trino") if tree is not None]
    except ParseError as exc:
        raise SqlProblem(f"{name}: not valid Trino SQL: {exc}") from None
    if len(trees) != 1:
        raise SqlProblem(f"{name}: holds {len(trees)} statements, not one")
    return trees[0]


def statements(root: Path = SQL_DIR) -> tuple[Statement, ...]:
    """Every view (each after the views it reads) and then every named query."""
    found: dict[Kind, list[Statement]] = {"view": [], "query": []}
    for kind, folder in _FOLDERS.items():
        for path in sorted((root / folder).glob("*.sql")):
            text = path.read_text(encoding="utf-8")
            found[kind].append(Statement(path.stem, kind, path, text))
    return (*_dependency_order(found["view"]), *found["query"])


def _dependency_order(views: list[Statement]) -> list[Statement]:
    names = {view.name for view in views}
    ordered: list[Statement] = []
    placed: set[str] = set()
    pending = list(views)
    while pending:
        ready = [v for v in pending if (v.references & names) <= placed | {v.name}]
        if not ready:
            cycle = ", ".join(v.name for v in pending)
            raise SqlProblem(f"views that read each other in a cycle: {cycle}")
        for view in ready:
            ordered.append(view)
            placed.add(view.name)
            pending.remove(view)
    return ordered


def lint(statement: Statement) -> list[str]:
    """Every rule of ATHENA.md that ``statement`` breaks (empty when clean)."""
    name = statement.name
    problems = [f"{name}: {problem}" for problem in _text_problems(statement.text)]
    try:
        tree = statement.tree
    except SqlProblem as exc:
        return [*problems, str(exc)]
    if not isinstance(tree, exp.Query):
        problems.append(f"{name}: is a {tree.key.upper()}, not a SELECT")
    problems.extend(f"{name}: {problem}" for problem in _tree_problems(tree))
    if not statement.description:
        problems.append(f"{name}: starts with no -- comment saying what it returns")
    return problems


def _text_problems(text: str) -> Iterable[str]:
    # The template carries the text in YAML block scalars and views inside
    # Fn::Sub, where "${" would be read as a substitution.
    if "${" in text:
        yield "holds '${', which CloudFormation's Fn::Sub would substitute"
    if "\t" in text:
        yield "holds a tab (the template's YAML would not keep it as is)"
    if any(line != line.rstrip() for line in text.splitlines()):
        yield "has trailing white space"
    if not text.endswith("\n") or text.endswith("\n\n"):
        yield "does not end with exactly one newline"


def _tree_problems(tree: exp.Expr) -> Iterable[str]:
    for diff in tree.find_all(exp.DateDiff):
        yield f"date_diff ({diff.sql('trino')}): DuckDB counts day boundaries, Trino whole days"
    for parsing in tree.find_all(exp.ParseDatetime):
        yield f"parse_datetime ({parsing.sql('trino')}): Joda patterns are not translated"
    for call in tree.find_all(exp.Anonymous):
        if call.name.lower() == "with_timezone":
            yield "with_timezone: DuckDB has no such function"
    for extract in tree.find_all(exp.RegexpExtract, exp.SplitPart):
        parent = extract.parent
        if not (isinstance(parent, exp.Nullif) and parent.this is extract):
            yield (
                f"{extract.sql('trino')} outside nullif(..., ''): "
                "Trino gives NULL where DuckDB gives ''"
            )
    for stamp in tree.find_all(exp.FromISO8601Timestamp):
        if not isinstance(stamp.parent, exp.Try):
            yield f"{stamp.sql('trino')} outside try(): a value such as N/A would fail the query"
    for replace in tree.find_all(exp.RegexpReplace):
        replacement = replace.args.get("replacement")
        if replacement is not None and re.search(r"[$\\]\d", replacement.sql("trino")):
            yield "a regex back-reference ($1 vs \\1) means different things in Trino and DuckDB"
    for clock in tree.find_all(*_OTHER_CLOCKS):
        yield f"{clock.sql('trino')}: write current_timestamp or current_date (the tests pin those)"


def pin_now(tree: exp.Expr, as_of: datetime) -> exp.Expr:
    """``tree`` with current_timestamp and current_date replaced by ``as_of``
    (UTC), so that a test evaluates the SQL at the same instant as Python."""
    instant = as_of.astimezone(UTC)

    def replace(node: exp.Expr) -> exp.Expr:
        if isinstance(node, exp.CurrentTimestamp):
            stamp = instant.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
            return exp.cast(exp.Literal.string(stamp), exp.DataType.Type.TIMESTAMPTZ)
        if isinstance(node, exp.CurrentDate):
            return exp.cast(exp.Literal.string(instant.date().isoformat()), exp.DataType.Type.DATE)
        return node

    return tree.copy().transform(replace)


def clocks(tree: exp.Expr) -> int:
    """How many times ``tree`` reads the clock."""
    return sum(1 for _ in tree.find_all(*_NOW, *_OTHER_CLOCKS))


def to_duckdb(statement: Statement, as_of: datetime | None = None) -> str:
    """The statement in DuckDB's dialect, the clock pinned at ``as_of`` if given."""
    tree = statement.tree if as_of is None else pin_now(statement.tree, as_of)
    return tree.sql(dialect="duckdb")
