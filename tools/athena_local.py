"""The Athena tables of template.yaml, emulated by DuckDB over a folder laid out
like the report bucket, with the views of sql/ on top.

The emulation reads the tables' definitions from the template (columns in
order, SerDe, location template, partition key), so the tests run against the
table the stack creates. What it mirrors of Athena (../shared/ATHENA.md):

- OpenCSVSerde maps columns by position after skipping the header lines, and a
  file with fewer fields (a 22-column report) reads NULL in the rest: DuckDB
  reads the CSV positionally with ``null_padding``, not by header name.
- The OpenX JSON SerDe reads one document per line; with
  ``ignore.malformed.json`` a line that is not JSON reads as a row of NULLs:
  DuckDB's newline-delimited reader with ``ignore_errors``.
- Projection: every file below ``date=DAY/`` belongs to that day; ``"$path"``
  is the object's location. No ``hive_partitioning``: it would read
  ``account=012345678901`` as a number.

Run ``python -m tools.athena_local`` to see every named query's rows on the
shared fixtures (the README's table comes from it).
"""

from __future__ import annotations

import glob
import re
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from credreports import layout
from tools.athena_sql import REPO, Statement, statements, to_duckdb

TEMPLATE = REPO / "template.yaml"
PREFIX_VARIABLE = "${ReportPrefix}"

# Hive's primitive column types -> DuckDB's
_PRIMITIVES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "boolean": "BOOLEAN",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
}


def _split_top_level(text: str) -> list[str]:
    """``a,b<c,d>,e`` -> ``[a, b<c,d>, e]``."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        depth += {"<": 1, ">": -1}.get(char, 0)
        if char == "," and depth == 0:
            parts.append(text[start:index])
            start = index + 1
    return [*parts, text[start:]]


def duckdb_type(hive: str) -> str:
    """The DuckDB type of a Glue (Hive) column type."""
    hive = hive.strip()
    kind, _, inner = hive.partition("<")
    inner = inner.removesuffix(">")
    if kind == "array":
        return f"{duckdb_type(inner)}[]"
    if kind == "map":
        key, value = _split_top_level(inner)
        return f"MAP({duckdb_type(key)}, {duckdb_type(value)})"
    if kind == "struct":
        fields = (field.split(":", 1) for field in _split_top_level(inner))
        return "STRUCT(" + ", ".join(f"{_ident(n)} {duckdb_type(t)}" for n, t in fields) + ")"
    if hive not in _PRIMITIVES:
        raise ValueError(f"no DuckDB type for the Hive type {hive!r}")
    return _PRIMITIVES[hive]


@dataclass(frozen=True)
class ExternalTable:
    """A Glue table of the template over the bucket."""

    name: str
    columns: tuple[tuple[str, str], ...]  # (name, Hive type), in order
    partition_key: str
    location_template: str  # below the prefix, e.g. reports/date=${!report_date}/
    serde: str
    serde_parameters: dict[str, str]
    skip_header_lines: int

    @property
    def is_csv(self) -> bool:
        return self.serde.endswith("OpenCSVSerde")


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """template.yaml as data, CloudFormation's short tags in their long form."""
    from samtranslator.yaml_helper import yaml_parse

    template: dict[str, Any] = yaml_parse(path.read_text(encoding="utf-8"))
    return template


def _sub_text(value: Any) -> str:
    """The string of a Fn::Sub (short or with its variable map)."""
    sub = value["Fn::Sub"]
    return str(sub[0] if isinstance(sub, list) else sub)


def external_tables(template: dict[str, Any]) -> list[ExternalTable]:
    """Every EXTERNAL_TABLE of the template."""
    tables = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::Glue::Table":
            continue
        table = resource["Properties"]["TableInput"]
        if table.get("TableType") != "EXTERNAL_TABLE":
            continue
        parameters = table["Parameters"]
        location = _sub_text(parameters["storage.location.template"])
        _, found, below_prefix = location.partition(PREFIX_VARIABLE)
        if not found:
            raise ValueError(f"{table['Name']}: the location template has no {PREFIX_VARIABLE}")
        storage = table["StorageDescriptor"]
        (key,) = table["PartitionKeys"]
        tables.append(
            ExternalTable(
                name=table["Name"],
                columns=tuple((c["Name"], c["Type"]) for c in storage["Columns"]),
                partition_key=key["Name"],
                location_template=below_prefix,
                serde=storage["SerdeInfo"]["SerializationLibrary"],
                serde_parameters=dict(storage["SerdeInfo"].get("Parameters", {})),
                skip_header_lines=int(parameters.get("skip.header.line.count", "0")),
            )
        )
    return tables


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _source(table: ExternalTable, bucket: Path, prefix: str) -> str:
    """The DuckDB SELECT that stands for ``table`` over ``bucket``."""
    variable = "${!" + table.partition_key + "}"
    folder, _, rest = table.location_template.partition(variable)
    if rest != "/":
        raise ValueError(f"{table.name}: the location template must end with {variable}/")
    pattern = f"{bucket}/{prefix}{folder}*/**/*"
    types = {name: duckdb_type(hive) for name, hive in table.columns}
    names = ", ".join(_ident(name) for name, _ in table.columns)
    # the value of the partition key: the folder name after "date=" (Athena's projection)
    value = "/" + re.escape(folder.rsplit("/", 1)[-1]) + "([^/]+)/"
    key = (
        f"CAST(regexp_extract(filename, {_quote(value)}, 1) AS DATE) "
        f"AS {_ident(table.partition_key)}"
    )
    if not glob.glob(pattern, recursive=True):
        empty = ", ".join(f"CAST(NULL AS {kind}) AS {_ident(name)}" for name, kind in types.items())
        return (
            f'SELECT {empty}, CAST(NULL AS VARCHAR) AS "$path", '
            f"CAST(NULL AS DATE) AS {_ident(table.partition_key)} WHERE false"
        )
    columns = "{" + ", ".join(f"{_quote(n)}: {_quote(t)}" for n, t in types.items()) + "}"
    if table.is_csv:
        # OpenCSVSerde's defaults where the table sets none
        options = {"separatorChar": ",", "quoteChar": '"', "escapeChar": "\\"}
        options.update(table.serde_parameters)
        reader = (
            f"read_csv({_quote(pattern)}, columns = {columns}, header = false, "
            f"skip = {table.skip_header_lines}, auto_detect = false, null_padding = true, "
            f"delim = {_quote(options['separatorChar'])}, quote = {_quote(options['quoteChar'])}, "
            f"escape = {_quote(options['escapeChar'])}, filename = true)"
        )
    else:
        reader = (
            f"read_json({_quote(pattern)}, columns = {columns}, "
            "format = 'newline_delimited', ignore_errors = true, filename = true)"
        )
    # names and paths of the template and the test's own folder, quoted
    return f'SELECT {names}, filename AS "$path", {key} FROM {reader}'  # noqa: S608


@contextmanager
def connect(
    bucket: Path,
    prefix: str = "",
    as_of: datetime | None = None,
    views: Sequence[Statement] | None = None,
) -> Iterator[duckdb.DuckDBPyConnection]:
    """DuckDB with the template's tables over ``bucket`` (a folder laid out like
    the report bucket under ``prefix``) and the views of sql/, the clock pinned
    at ``as_of`` when given."""
    connection = duckdb.connect()
    try:
        connection.execute("SET TimeZone = 'UTC'")
        for table in external_tables(load_template()):
            connection.execute(f"CREATE VIEW {table.name} AS {_source(table, bucket, prefix)}")
        chosen = [s for s in statements() if s.kind == "view"] if views is None else views
        for view in chosen:
            connection.execute(f"CREATE VIEW {view.name} AS {to_duckdb(view, as_of)}")
        yield connection
    finally:
        connection.close()


def rows(
    connection: duckdb.DuckDBPyConnection, statement: Statement, as_of: datetime | None = None
) -> list[dict[str, Any]]:
    """The rows of a named query (or of a view's SELECT), as dicts."""
    cursor = connection.execute(to_duckdb(statement, as_of))
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


SHARED_FIXTURES = REPO.parent / "shared" / "fixtures" / "credential-reports"

# The shared fixtures, each in the run and at the as_of its results were worked
# out for (tests/unit/findings/test_shared_fixtures.py); the account of the
# realistic report (a 10-digit placeholder in its arns) gets a 12-digit key.
FIXTURE_RUNS = (
    ("edge-cases.csv", "123456789012", "20250615T020000Z", datetime(2025, 6, 16, tzinfo=UTC)),
    ("realistic.csv", "000123456789", "20170831T020000Z", datetime(2017, 9, 1, tzinfo=UTC)),
)


def _print_fixture_results() -> None:
    """Every named query over each shared fixture (README, "Query with Athena")."""
    import tempfile

    print(f"DuckDB {duckdb.__version__} over template.yaml's tables and sql/ (local, not Athena)")
    for fixture, account_id, run_id, as_of in FIXTURE_RUNS:
        with tempfile.TemporaryDirectory() as folder:
            bucket = Path(folder)
            target = bucket / layout.report_key("", run_id, account_id)
            target.parent.mkdir(parents=True)
            target.write_bytes((SHARED_FIXTURES / fixture).read_bytes())
            print(f"\n## {fixture}: account {account_id}, run {run_id}, as_of {as_of.isoformat()}")
            with connect(bucket, as_of=as_of) as connection:
                for statement in statements():
                    if statement.kind != "query":
                        continue
                    found = rows(connection, statement, as_of)
                    print(f"\n{statement.name}: {len(found)} row(s)")
                    for row in found:
                        print("  " + ", ".join(f"{k}={v}" for k, v in row.items()))


if __name__ == "__main__":
    _print_fixture_results()
    sys.exit(0)
