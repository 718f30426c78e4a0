"""Option values the commands share, checked when the command line is parsed
(argparse then exits 2 naming the option)."""

from __future__ import annotations

import argparse

from credreports.models.ids import validate_run_id


def run_id(value: str) -> str:
    try:
        return validate_run_id(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
