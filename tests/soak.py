"""`make soak`: the chaos run of the test suite, with 2,000 accounts.

Prints accounts, reports, failures by reason, lost (must be 0), duplicates
resolved and wall time; exits non-zero if anything was lost or a failure has
the wrong reason.
"""

from __future__ import annotations

import argparse
import os
import sys

# Before Powertools is imported: it reads these when its objects are built.
os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_LOG_LEVEL", "WARNING")

import boto3

from credreports import dependencies
from credreports.local import emulator
from credreports.observability import logger
from tests.support.chaos import run_chaos


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--accounts", type=int, default=2000, help="accounts in the run")
    args = parser.parse_args()
    logger.setLevel("WARNING")
    with emulator.running() as running:
        boto3.setup_default_session()
        dependencies.reset()
        result = run_chaos(running, args.accounts - 1)
    print("\n".join(result.lines()))
    expected = {"ROLE_ASSUME_DENIED": 2, "REPORT_NOT_READY": 1}
    ok = result.lost == 0 and result.failures_by_reason == expected
    print("PASS" if ok else f"FAIL: expected failures {expected}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
