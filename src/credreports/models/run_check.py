"""The control queue's message: "is run X settled yet?".

Control queue body (JSON)::

    {"v": 1, "run_id": "20261123T020000Z", "issued_at": "2026-11-23T02:00:01Z",
     "origin": "run"}

The producer sends one per run (delayed by ``SUMMARY_CHECK_SECONDS``);
``enqueue --run`` and ``replay`` send a fresh one (``origin`` ``enqueue`` or
``replay``) because they reopen the run. The summarizer sends the same check
again, unchanged, while the run is not settled: ``issued_at`` is the start of
this round of waiting, so the deadline it sets does not move with each re-check.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import ValidationError

from credreports.models.ids import RunId, UtcTimestamp
from credreports.models.messages import InvalidMessageError, describe_problems, load_object
from credreports.models.validation import Message


class CheckOrigin(StrEnum):
    RUN = "run"  # the producer started the run
    ENQUEUE = "enqueue"  # accounts were added to the run or sent again
    REPLAY = "replay"  # failed or lost accounts were replayed


class RunCheck(Message):
    v: Literal[1] = 1
    run_id: RunId
    issued_at: UtcTimestamp
    origin: CheckOrigin

    def to_body(self) -> str:
        return self.model_dump_json()


def parse_run_check(body: str) -> RunCheck:
    """Parse a control queue body, or raise InvalidMessageError naming the problem."""
    data = load_object(body)
    try:
        return RunCheck.model_validate(data)
    except ValidationError as exc:
        raise InvalidMessageError(describe_problems(exc)) from None
