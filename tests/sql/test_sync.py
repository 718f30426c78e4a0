"""The template carries the SQL of sql/ unchanged: a test fails when they differ."""

from __future__ import annotations

from dataclasses import replace

from tools import sync_sql
from tools.athena_local import TEMPLATE
from tools.athena_sql import statements


def test_the_template_is_in_sync_with_sql() -> None:
    # Given the template as committed
    current = TEMPLATE.read_text(encoding="utf-8")

    # When its generated block is written again from sql/
    wanted = sync_sql.synced(current, sync_sql.generated_block())

    # Then nothing changes (else: make sync-sql)
    assert wanted == current
    assert sync_sql.main(["sync_sql", "--check"]) == 0


def test_an_edited_sql_file_makes_the_template_out_of_sync() -> None:
    # Given one named query edited in sql/ but not synced
    current = TEMPLATE.read_text(encoding="utf-8")
    edited = tuple(
        replace(s, text=s.text.replace("ORDER BY", "ORDER BY severity,"))
        if s.name == "credreports-root-mfa"
        else s
        for s in statements()
    )

    # When the block is generated from it
    wanted = sync_sql.synced(current, sync_sql.generated_block(edited))

    # Then the template differs exactly there
    assert wanted != current
    assert "ORDER BY severity, account_id" in wanted
    assert "ORDER BY severity, account_id" not in current
