"""The example queries of the README's "Query with Athena" run as printed."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from tests.support.reports import AS_OF
from tools import athena_local
from tools.athena_sql import REPO, Statement, lint


def readme_queries() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Query with Athena") :]
    start = section.index("```sql\n") + len("```sql\n")
    block = section[start : section.index("```", start)]
    return [query.strip() + "\n" for query in block.split(";") if query.strip()]


def test_the_readme_shows_two_example_queries() -> None:
    assert len(readme_queries()) == 2


@pytest.mark.parametrize("number", [0, 1])
def test_each_example_query_keeps_the_rules_and_runs(
    duck: duckdb.DuckDBPyConnection, number: int
) -> None:
    query = Statement(f"readme-{number}", "query", Path("README.md"), readme_queries()[number])

    assert lint(query) == []
    athena_local.rows(duck, query, AS_OF)
