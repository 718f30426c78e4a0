from __future__ import annotations

import pytest

from credreports.local import resources
from credreports.local.emulator import Emulator
from credreports.local.resources import Resources
from tests.support.faults import Faults


@pytest.fixture(autouse=True)
def _every_test_starts_empty(clean_emulator: Emulator) -> None:
    """Every integration test starts with an empty emulator."""


@pytest.fixture
def stack(faults: Faults) -> Resources:
    return resources.create("test", visibility_timeout=1, max_receive_count=3)
