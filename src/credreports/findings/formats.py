"""Findings written for machines: a JSON array, CSV with a header, OCSF.

Every writer streams (one result at a time, nothing held back) and states the
``as_of`` the ages were measured from in each record. Values from reports
are written as data: JSON escapes control characters, the csv module quotes.

OCSF: one Detection Finding (class 2004, schema 1.5.0, the version Prowler
writes) per line, the shape Security Lake and most SIEMs ingest.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Iterable
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from typing import Any, TextIO

from credreports.findings.catalogue import CHECKS_BY_ID
from credreports.findings.engine import Finding

FORMATS = ("json", "csv", "ocsf")
#: The flat fields of a result (json objects and csv columns), in order.
FIELDS = (
    "check",
    "status",
    "severity",
    "account_id",
    "user",
    "arn",
    "credential",
    "resource",
    "detail",
    "controls",
    "finding_id",
    "as_of",
)

OCSF_SCHEMA_VERSION = "1.5.0"
PRODUCT_NAME = "credreports"
_OCSF_CLASS = {
    "category_uid": 2,
    "category_name": "Findings",
    "class_uid": 2004,
    "class_name": "Detection Finding",
    "activity_id": 1,
    "activity_name": "Create",
    "type_uid": 200401,
    "type_name": "Detection Finding: Create",
}
_AWS_ACCOUNT_TYPE_ID = 10  # OCSF account type "AWS Account"


def format_time(moment: datetime) -> str:
    """ISO 8601 in UTC with ``Z``, as precise as ``moment``."""
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


@cache
def product_version() -> str:
    try:
        return metadata.version(PRODUCT_NAME)
    except metadata.PackageNotFoundError:  # a source tree that was never installed
        return "0+unknown"


def write_json(findings: Iterable[Finding], as_of: datetime, stream: TextIO) -> int:
    """A JSON array, one object per line; returns how many were written."""
    count = 0
    when = format_time(as_of)
    stream.write("[")
    for finding in findings:
        stream.write(",\n" if count else "\n")
        stream.write(json.dumps(finding.as_dict() | {"as_of": when}))
        count += 1
    stream.write("\n]\n" if count else "]\n")
    return count


def write_csv(findings: Iterable[Finding], as_of: datetime, stream: TextIO) -> int:
    """CSV with a header row of FIELDS; ``controls`` separated by spaces."""
    writer = csv.writer(stream, lineterminator="\n")
    writer.writerow(FIELDS)
    count = 0
    when = format_time(as_of)
    for finding in findings:
        row = finding.as_dict()
        row["controls"] = " ".join(finding.controls)
        row["as_of"] = when
        writer.writerow([row[name] for name in FIELDS])
        count += 1
    return count


def ocsf(finding: Finding, as_of: datetime) -> dict[str, Any]:
    """One OCSF Detection Finding for one result."""
    check = CHECKS_BY_ID[finding.check]
    is_key = finding.credential.startswith("access-key")
    return {
        **_OCSF_CLASS,
        "severity_id": finding.severity.rank,
        "severity": finding.severity.value.capitalize(),
        "status_code": finding.status,
        "status_detail": finding.detail,
        "time": int(as_of.timestamp() * 1000),
        "time_dt": format_time(as_of),
        "finding_info": {
            "uid": finding.finding_id,
            "title": check.title,
            "desc": check.description,
            "types": [check.id],
        },
        "metadata": {
            "version": OCSF_SCHEMA_VERSION,
            "event_code": check.id,
            "product": {
                "name": PRODUCT_NAME,
                "vendor_name": PRODUCT_NAME,
                "version": product_version(),
            },
        },
        "cloud": {
            "provider": "AWS",
            "account": {
                "uid": finding.account_id,
                "type": "AWS Account",
                "type_id": _AWS_ACCOUNT_TYPE_ID,
            },
        },
        "resources": [
            {
                "uid": finding.resource,
                "name": finding.user,
                "type": "AwsIamAccessKey" if is_key else "AwsIamUser",
                "cloud_partition": finding.arn.split(":", 2)[1] if ":" in finding.arn else "aws",
                "region": "global",
                "data": {"arn": finding.arn, "credential": finding.credential},
            }
        ],
        "remediation": {"desc": check.remediation},
        "unmapped": {
            "check": check.id,
            "credential": finding.credential,
            "controls": list(finding.controls),
        },
    }


def write_ocsf(findings: Iterable[Finding], as_of: datetime, stream: TextIO) -> int:
    """One OCSF Detection Finding per line (JSON Lines)."""
    count = 0
    for finding in findings:
        stream.write(json.dumps(ocsf(finding, as_of)))
        stream.write("\n")
        count += 1
    return count


WRITERS = {"json": write_json, "csv": write_csv, "ocsf": write_ocsf}
