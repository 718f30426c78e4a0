"""The catalogue against FINDINGS.md's table, and the machine formats."""

from __future__ import annotations

import csv
import io
import json
import re

from credreports.findings.catalogue import CHECKS, Severity
from credreports.findings.engine import Finding, evaluate_report
from credreports.findings.formats import FIELDS, write_csv, write_json, write_ocsf
from tests.support.reports import AS_OF, SHARED, report_csv, root_row, user_row


def test_the_catalogue_is_the_table_of_findings_md_in_its_order() -> None:
    # Given the catalogue table of ../shared/FINDINGS.md
    text = (SHARED / "FINDINGS.md").read_text(encoding="utf-8")
    table = [line for line in text.splitlines() if line.startswith("| `")]
    documented = []
    for line in table:
        check_id, severity, _applies, _when, cis, hub = (
            cell.strip() for cell in line.strip("|").split("|")
        )
        numbers = re.fullmatch(r"(\S+) \((\S+)\)", cis)
        assert numbers, cis
        v3, v5 = numbers.groups()
        no_control = hub == "\u2013"  # the table's en dash
        documented.append((check_id.strip("`"), severity, v3, v5, None if no_control else hub))

    # Then the catalogue holds the same checks, severities and control ids
    assert [(c.id, c.severity.value, c.cis_v3, c.cis_v5, c.security_hub) for c in CHECKS] == (
        documented
    )


def _sample() -> list[Finding]:
    return evaluate_report(
        report_csv(
            root_row(access_key_1_active=True),
            user_row("a,b", password_enabled=True),
            user_row("bell\x07", access_key_1_active=True),
        ),
        None,
        AS_OF,
    )


def test_json_is_an_array_of_flat_records_stating_as_of() -> None:
    out = io.StringIO()
    count = write_json(_sample(), AS_OF, out)
    records = json.loads(out.getvalue())
    assert len(records) == count == len(_sample())
    assert all(tuple(record) == FIELDS for record in records)
    assert {record["as_of"] for record in records} == {"2025-06-16T12:00:00Z"}
    assert "\x07" not in out.getvalue(), "a control character reached the output raw"
    assert {record["user"] for record in records} == {"<root_account>", "a,b", "bell\x07"}
    empty = io.StringIO()
    assert write_json([], AS_OF, empty) == 0
    assert json.loads(empty.getvalue()) == []


def test_csv_has_a_header_and_one_row_per_result() -> None:
    out = io.StringIO()
    write_csv(_sample(), AS_OF, out)
    rows = list(csv.DictReader(io.StringIO(out.getvalue())))
    assert tuple(rows[0]) == FIELDS
    assert len(rows) == len(_sample())
    console = next(r for r in rows if r["check"] == "console-mfa" and r["user"] == "a,b")
    assert console["status"] == "FAIL"
    assert console["controls"] == "CIS-3.0:1.10 CIS-5.0:1.9 SecurityHub:IAM.5"


def test_ocsf_is_one_detection_finding_per_line_with_severity_ids() -> None:
    out = io.StringIO()
    write_ocsf(_sample(), AS_OF, out)
    lines = out.getvalue().splitlines()
    events = [json.loads(line) for line in lines]
    assert len(events) == len(_sample())
    for event in events:
        assert (event["class_uid"], event["category_uid"], event["type_uid"]) == (2004, 2, 200401)
        assert event["activity_id"] == 1
        assert event["status_code"] in {"PASS", "FAIL"}
        assert event["metadata"]["version"].startswith("1.")
        assert event["metadata"]["product"]["name"] == "credreports"
        assert event["cloud"]["account"]["uid"] == "123456789012"
        assert event["time"] == int(AS_OF.timestamp() * 1000)
        assert event["finding_info"]["uid"].startswith("credreports-")
    key = next(e for e in events if e["finding_info"]["types"] == ["root-access-key"])
    assert key["severity_id"] == 5 and key["severity"] == "Critical"
    assert key["resources"][0]["uid"] == "arn:aws:iam::123456789012:root#access-key-1"
    assert key["resources"][0]["type"] == "AwsIamAccessKey"
    assert {s.rank for s in Severity} == {1, 2, 3, 4, 5}
    assert Severity.INFORMATIONAL.rank == 1 and Severity.HIGH.rank == 4
