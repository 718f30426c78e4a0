"""Waits that pass at once, on purpose and by name.

The 10,000-account listing under 30% throttling waits far longer than it
works: botocore's backoff before each retry of a throttled page (random, up
to 2**i seconds) and the listing's own pace between pages
(organization.PAGES_PER_SECOND). ``instant_waits`` lets the thread that runs
the producer skip them: ``time.sleep`` advances that thread's clock
(``time.monotonic``, ``time.time``) by the amount instead of blocking. The
producer still asks for every wait and sees it elapse, so its deadline
(dependencies.LISTING_MARGIN_SECONDS short of its timeout) is checked against
the time the waits would have taken; every other thread (the emulator's)
keeps real time. It needs the producer in this process.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from credreports.adapters.organization import Organization


@dataclass
class Waits:
    """What the thread waited, in the seconds it would have taken."""

    seconds: float = 0.0
    count: int = 0


@contextmanager
def instant_waits() -> Iterator[Waits]:
    """For the length of a block, the calling thread's sleeps pass at once
    and move its clock on by as much."""
    owner = threading.get_ident()
    waits = Waits()
    real_sleep, real_monotonic, real_time = time.sleep, time.monotonic, time.time

    def sleep(seconds: float) -> None:
        if threading.get_ident() != owner:
            real_sleep(seconds)
            return
        waits.seconds += max(0.0, seconds)
        waits.count += 1

    def ahead() -> float:
        return waits.seconds if threading.get_ident() == owner else 0.0

    def monotonic() -> float:
        return real_monotonic() + ahead()

    def wall() -> float:
        return real_time() + ahead()

    # Organization took time.sleep and time.monotonic as defaults when it was
    # defined; a listing built inside the block gets the block's.
    defaults = Organization.__init__.__kwdefaults__
    assert defaults is not None
    saved = dict(defaults)
    time.sleep, time.monotonic, time.time = sleep, monotonic, wall  # type: ignore[assignment]
    defaults.update(sleep=sleep, clock=monotonic)
    try:
        yield waits
    finally:
        time.sleep, time.monotonic, time.time = real_sleep, real_monotonic, real_time  # type: ignore[assignment]
        defaults.clear()
        defaults.update(saved)
