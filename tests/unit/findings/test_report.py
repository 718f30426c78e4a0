"""Reading a report as AWS writes it, and as it may change."""

from __future__ import annotations

import pytest

from credreports.findings.engine import evaluate_report
from credreports.findings.report import NOT_SUPPORTED, ReportFormatError, parse_report
from tests.support.reports import AS_OF, COLUMNS, days_ago, report_csv, root_row, user_row


def _sample_rows() -> list[dict[str, str]]:
    return [
        root_row(mfa_active=False),
        user_row(
            "alice",
            password_enabled=True,
            password_last_used=days_ago(60),
            access_key_1_active=True,
            access_key_1_last_rotated=days_ago(100),
        ),
        user_row("bob", access_key_1_active=True, access_key_2_active=True),
    ]


def _outcome(content: str) -> list[tuple[str, str, str, str, str]]:
    return [
        (r.user, r.check, r.credential, r.status, r.detail)
        for r in evaluate_report(content, None, AS_OF)
    ]


def test_columns_in_another_order_give_the_same_results() -> None:
    rows = _sample_rows()
    expected = _outcome(report_csv(*rows))
    assert any(status == "FAIL" for *_, status, _ in expected)
    assert _outcome(report_csv(*rows, columns=tuple(reversed(COLUMNS)))) == expected


def test_a_23rd_column_is_ignored() -> None:
    rows = [row | {"additional_credentials_info": "N/A"} for row in _sample_rows()]
    expected = _outcome(report_csv(*_sample_rows()))
    assert _outcome(report_csv(*rows, columns=(*COLUMNS, "additional_credentials_info"))) == (
        expected
    )


def test_upper_case_booleans_and_z_timestamps_read_as_the_usual_ones() -> None:
    # Given the documentation's spelling: TRUE/FALSE and Z
    usual = report_csv(*_sample_rows())
    documented = usual.replace("true", "TRUE").replace("false", "FALSE").replace("+00:00", "Z")
    assert "TRUE" in documented and "Z," in documented
    # Then the rows and the results are the same
    assert parse_report(documented) == parse_report(usual)
    assert _outcome(documented) == _outcome(usual)


def test_a_quoted_user_name_with_a_comma_is_one_field() -> None:
    content = report_csv(user_row("smith,john", password_enabled=True))
    assert '"smith,john"' in content
    (row,) = parse_report(content.encode())
    assert row.user == "smith,john"
    assert row.password_enabled is True
    assert {r.user for r in evaluate_report(content, None, AS_OF)} == {"smith,john"}


def test_no_value_sentinels_read_as_none_but_not_supported_password_stays_apart() -> None:
    root, user = parse_report(report_csv(root_row(), user_row(password_last_used="not_supported")))
    assert root.password_enabled is NOT_SUPPORTED
    assert root.password_last_changed is None
    assert root.password_last_used is None  # no_information
    assert user.password_enabled is False
    assert user.password_last_used is None
    assert user.access_key_1_last_rotated is None  # N/A


def test_a_report_with_only_its_header_has_no_rows_and_no_results() -> None:
    header_only = report_csv()
    assert parse_report(header_only) == []
    assert evaluate_report(header_only, None, AS_OF) == []
    assert evaluate_report(header_only, "123456789012", AS_OF) == []


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        (b"", "empty"),
        (b'{"Users": []}\n', "not a credential report"),
        (b"name,email\nalice,alice@example.com\n", "not a credential report"),
        (b"\xff\xfe\x00u\x00s\x00e\x00r", "not UTF-8"),
        ("user,arn,mfa_active\nalice,arn:aws:iam::1:user/alice,true\n", "password_enabled"),
    ],
    ids=["empty", "json", "other csv", "utf-16", "missing columns"],
)
def test_a_file_that_is_not_a_credential_report_is_refused_naming_the_problem(
    content: bytes | str, problem: str
) -> None:
    with pytest.raises(ReportFormatError, match=problem):
        evaluate_report(content, None, AS_OF)


def test_an_unreadable_value_names_its_line_and_column_but_not_the_value() -> None:
    content = report_csv(user_row(), user_row("bob", mfa_active="maybe-SECRET"))
    with pytest.raises(ReportFormatError) as raised:
        parse_report(content)
    assert "line 3" in str(raised.value)
    assert "mfa_active" in str(raised.value)
    assert "SECRET" not in str(raised.value)


def test_a_bad_timestamp_and_a_short_row_are_refused() -> None:
    with pytest.raises(ReportFormatError, match="password_last_used is not an ISO 8601"):
        parse_report(report_csv(user_row(password_last_used="last tuesday")))
    truncated = report_csv(user_row()).rstrip("\n").rsplit(",", 3)[0] + "\n"
    with pytest.raises(ReportFormatError, match="line 2: 19 fields, the header has 22"):
        parse_report(truncated)
