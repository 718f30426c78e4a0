from __future__ import annotations

import pytest

from credreports.local import resources
from credreports.local.emulator import Emulator
from credreports.local.resources import Resources
from tests.support.faults import Faults

# Longer than a batch takes in a container started cold on a busy machine, so
# that a message comes back only when its invocation failed (on AWS the
# visibility timeout is six times the function's timeout); short, so that it
# comes back soon when it did.
VISIBILITY_TIMEOUT_SECONDS = 5


@pytest.fixture(autouse=True)
def _every_test_starts_empty(clean_emulator: Emulator) -> None:
    """Every integration test starts with an empty emulator."""


@pytest.fixture
def stack(faults: Faults) -> Resources:
    return resources.create(
        "test", visibility_timeout=VISIBILITY_TIMEOUT_SECONDS, max_receive_count=3
    )
