"""Issue 13, must show 2: every view and query of sql/ parses as Trino SQL and
keeps ATHENA.md's portability rules; a query that breaks one is caught."""

from __future__ import annotations

from pathlib import Path

import pytest

from tools.athena_sql import SQL_DIR, Statement, lint, statements

GOOD = "-- what it returns\nSELECT nullif(regexp_extract(a, 'x', 1), '') AS b FROM t\n"


def fixture_query(text: str) -> Statement:
    return Statement("fixture-query", "query", Path("fixture-query.sql"), text)


@pytest.mark.parametrize("statement", statements(), ids=lambda s: s.name)
def test_every_view_and_query_of_sql_parses_as_trino_and_keeps_the_rules(
    statement: Statement,
) -> None:
    assert lint(statement) == []


def test_sql_holds_the_views_and_a_query_per_check_and_operator_question() -> None:
    names = {s.name for s in statements()}
    assert {p.stem for p in SQL_DIR.glob("*/*.sql")} == names
    assert {
        "credential_reports_parsed",
        "credential_reports_latest",
        "credential_findings",
        "run_accounts",
        "credreports-findings-per-account",
        "credreports-failing-users-per-day",
        "credreports-accounts-without-report",
    } <= names
    # views come before what reads them
    order = [s.name for s in statements()]
    assert order.index("credential_reports_parsed") < order.index("credential_reports_latest")
    assert order.index("credential_reports_latest") < order.index("credential_findings")


def test_the_good_fixture_query_passes_the_lint() -> None:
    assert lint(fixture_query(GOOD)) == []


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("-- x\nSELECT a FROM t WHERE\n", "not valid Trino SQL"),
        ("-- x\nSELECT FROM WHERE (\n", "not valid Trino SQL"),
        ("-- x\nSELECT a FROM t) AS x\n", "not valid Trino SQL"),
        ("-- x\nSELECT 1;\nSELECT 2\n", "2 statements"),
        ("-- x\nDROP TABLE credential_reports\n", "not a SELECT"),
        ("SELECT 1 AS a\n", "no -- comment"),
        ("-- x\nSELECT date_diff('day', a, b) FROM t\n", "date_diff"),
        ("-- x\nSELECT with_timezone(a, 'UTC') FROM t\n", "with_timezone"),
        ("-- x\nSELECT parse_datetime(a, 'yyyy-MM-dd') FROM t\n", "Joda"),
        ("-- x\nSELECT regexp_extract(a, 'x(y)', 1) FROM t\n", "outside nullif"),
        ("-- x\nSELECT split_part(arn, ':', 5) FROM t\n", "outside nullif"),
        ("-- x\nSELECT from_iso8601_timestamp(a) FROM t\n", "outside try()"),
        ("-- x\nSELECT regexp_replace(a, '(x)', '$1') FROM t\n", "back-reference"),
        ("-- x\nSELECT localtimestamp FROM t\n", "the tests pin those"),
        ("-- x\nSELECT '${AWS::Region}' AS a\n", "Fn::Sub"),
        ("-- x\nSELECT a FROM t \n", "trailing white space"),
        ("-- x\nSELECT a FROM t", "exactly one newline"),
    ],
)
def test_a_query_that_breaks_a_rule_is_caught_by_the_lint(text: str, rule: str) -> None:
    problems = lint(fixture_query(text))

    assert any(rule in problem for problem in problems), problems
    assert all(problem.startswith("fixture-query: ") for problem in problems)
