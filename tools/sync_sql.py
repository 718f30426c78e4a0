"""Writes the views and named queries of sql/ into template.yaml.

    python -m tools.sync_sql           rewrite the generated block of template.yaml
    python -m tools.sync_sql --check   exit 1 if the template differs from sql/

Between the BEGIN and END markers of template.yaml's Athena section, every
view of sql/views becomes a Glue VIRTUAL_VIEW table and every query of
sql/queries an AWS::Athena::NamedQuery, carrying the file's text unchanged.

Views are Glue tables, not named queries holding CREATE VIEW, so that they
exist as soon as the stack does: the named queries read them. Athena reads a
view from ``ViewOriginalText`` (``/* Presto View: `` + base64 of a JSON
document + `` */``): the SQL, the catalog and database it resolves names in,
and its columns with Trino types, while the Glue columns carry Hive types.
Nothing checks that document at deploy time (a mismatch shows as
VIEW_IS_STALE when the view is queried), so the columns are not written by
hand: DuckDB runs each view over the template's (empty) tables and its result
columns are mapped to both type systems.
"""

from __future__ import annotations

import json
import re
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from tools.athena_local import TEMPLATE, connect
from tools.athena_sql import Statement, lint, statements

BEGIN = "  # BEGIN generated from sql/ by `make sync-sql`: edit the .sql files, not these lines.\n"
END = "  # END generated from sql/.\n"
DATABASE = "AthenaDatabase"
WORKGROUP = "AthenaWorkGroup"
CATALOG = "awsdatacatalog"


class ColumnType(NamedTuple):
    trino: str
    hive: str


# DuckDB's type of a view column -> what Trino and Glue call it. Trino types
# are the widest the SQL can produce (a varchar(7) literal coerces to varchar).
TYPES = {
    "VARCHAR": ColumnType("varchar", "string"),
    "BOOLEAN": ColumnType("boolean", "boolean"),
    "TIMESTAMP": ColumnType("timestamp(3)", "timestamp"),
    "DATE": ColumnType("date", "date"),
    "BIGINT": ColumnType("bigint", "bigint"),
    "INTEGER": ColumnType("integer", "int"),
    "DOUBLE": ColumnType("double", "double"),
}


def view_columns(views: list[Statement]) -> dict[str, list[tuple[str, ColumnType]]]:
    """Each view's result columns, as DuckDB computes them over empty tables."""
    columns: dict[str, list[tuple[str, ColumnType]]] = {}
    with tempfile.TemporaryDirectory() as empty, connect(Path(empty), views=views) as db:
        for view in views:
            # a view name of sql/ (a file name), not outside input
            described = db.execute(f"DESCRIBE SELECT * FROM {view.name}").fetchall()  # noqa: S608
            found = []
            for name, duckdb_type, *_ in described:
                if duckdb_type not in TYPES:
                    raise ValueError(
                        f"{view.name}.{name}: no Athena type for DuckDB's {duckdb_type}"
                    )
                found.append((str(name), TYPES[duckdb_type]))
            columns[view.name] = found
    return columns


def logical_id(statement: Statement) -> str:
    words = re.split(r"[-_]", statement.name.removeprefix("credreports-"))
    kind = "View" if statement.kind == "view" else "Query"
    return f"Athena{kind}" + "".join(word.capitalize() for word in words)


def _block_scalar(text: str, indent: int) -> str:
    if text[:1].isspace():
        raise ValueError("a text that starts with white space needs an indentation indicator")
    pad = " " * indent
    return "".join(pad + line + "\n" if line else "\n" for line in text.splitlines())


def view_document(view: Statement, columns: list[tuple[str, ColumnType]]) -> str:
    """The JSON that Athena reads a view from (before base64), the database
    left as ${AthenaDatabase} for Fn::Sub."""
    fields = [
        ("originalSql", json.dumps(view.text)),
        ("catalog", json.dumps(CATALOG)),
        ("schema", json.dumps("${" + DATABASE + "}")),
        (
            "columns",
            "[\n"
            + ",\n".join(
                f"    {json.dumps({'name': name, 'type': kind.trino})}" for name, kind in columns
            )
            + "\n  ]",
        ),
    ]
    # json.dumps(document, indent=2) but one line per column
    return "{\n" + ",\n".join(f"  {json.dumps(key)}: {value}" for key, value in fields) + "\n}"


def _view(view: Statement, columns: list[tuple[str, ColumnType]]) -> str:
    glue_columns = "".join(
        f"            - {{Name: {name}, Type: {kind.hive}}}\n" for name, kind in columns
    )
    return (
        f"  {logical_id(view)}:\n"
        "    Type: AWS::Glue::Table\n"
        "    Properties:\n"
        "      CatalogId: !Ref AWS::AccountId\n"
        f"      DatabaseName: !Ref {DATABASE}\n"
        "      TableInput:\n"
        f"        Name: {view.name}\n"
        f"        Description: {json.dumps(view.description)}\n"
        "        TableType: VIRTUAL_VIEW\n"
        "        Parameters:\n"
        '          presto_view: "true"\n'
        "          comment: Presto View\n"
        '        ViewExpandedText: "/* Presto View */"\n'
        "        ViewOriginalText: !Join\n"
        '          - ""\n'
        '          - - "/* Presto View: "\n'
        "            - Fn::Base64: !Sub |-\n"
        f"{_block_scalar(view_document(view, columns), 16)}"
        '            - " */"\n'
        "        StorageDescriptor:\n"
        "          SerdeInfo: {}\n"
        "          Columns:\n"
        f"{glue_columns}"
    )


def _query(query: Statement) -> str:
    return (
        f"  {logical_id(query)}:\n"
        "    Type: AWS::Athena::NamedQuery\n"
        "    Properties:\n"
        f"      Name: {query.name}\n"
        f"      Description: {json.dumps(query.description)}\n"
        f"      Database: !Ref {DATABASE}\n"
        f"      WorkGroup: !Ref {WORKGROUP}\n"
        "      QueryString: |\n"
        f"{_block_scalar(query.text, 8)}"
    )


def generated_block(found: tuple[Statement, ...] | None = None) -> str:
    """The template's lines between the markers, from sql/."""
    found = statements() if found is None else found
    problems = [problem for statement in found for problem in lint(statement)]
    if problems:
        raise ValueError("sql/ breaks the rules of ATHENA.md:\n" + "\n".join(problems))
    views = [s for s in found if s.kind == "view"]
    columns = view_columns(views)
    parts = [_view(v, columns[v.name]) for v in views]
    parts += [_query(q) for q in found if q.kind == "query"]
    return "\n".join(parts)


def synced(template_text: str, block: str) -> str:
    """``template_text`` with ``block`` between its markers."""
    start, end = template_text.find(BEGIN), template_text.find(END)
    if start < 0 or end < start:
        raise ValueError(f"template.yaml lacks the markers {BEGIN.strip()!r} / {END.strip()!r}")
    return template_text[: start + len(BEGIN)] + block + template_text[end:]


def main(argv: list[str]) -> int:
    current = TEMPLATE.read_text(encoding="utf-8")
    wanted = synced(current, generated_block())
    if argv[1:] == ["--check"]:
        if wanted != current:
            print("template.yaml differs from sql/: run `make sync-sql`", file=sys.stderr)
            return 1
        return 0
    if argv[1:]:
        print(__doc__, file=sys.stderr)
        return 2
    if wanted != current:
        TEMPLATE.write_text(wanted, encoding="utf-8")
        print("template.yaml: views and named queries written from sql/")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
