from __future__ import annotations

from collections.abc import Iterator

import pytest

from credreports.local import resources
from credreports.local.emulator import Emulator
from credreports.local.resources import Resources
from tests.support.faults import Faults


@pytest.fixture(autouse=True)
def clean_emulator(emulator: Emulator) -> Iterator[None]:
    emulator.reset()
    yield


@pytest.fixture
def stack(faults: Faults) -> Resources:
    return resources.create("test", visibility_timeout=1, max_receive_count=3)
