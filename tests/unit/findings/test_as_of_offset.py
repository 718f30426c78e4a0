"""as_of in another UTC offset is the same instant: the same results."""

from __future__ import annotations

from datetime import timedelta, timezone

from credreports.findings.engine import evaluate_report
from tests.support.reports import AS_OF, days_ago, report_csv, root_row, user_row


def test_an_as_of_with_another_offset_gives_the_results_of_the_same_instant_in_utc() -> None:
    content = report_csv(
        root_row(password_last_used=days_ago(1.5)),
        user_row(
            password_enabled=True,
            password_last_used=days_ago(45.9),
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(90.5),
        ),
    )
    in_paris = AS_OF.astimezone(timezone(timedelta(hours=2)))
    assert in_paris.hour != AS_OF.hour  # the same instant, written otherwise
    assert evaluate_report(content, None, in_paris) == evaluate_report(content, None, AS_OF)
