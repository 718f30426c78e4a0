"""The worker pins glibc's mmap threshold, so freed report buffers leave RSS."""

from __future__ import annotations

import platform

import pytest

from credreports import memory


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="mallopt is glibc's")
def test_threshold_is_pinned_on_glibc_as_on_lambda() -> None:
    # Given a glibc process (Lambda's Python runtimes are)
    memory.return_freed_buffers_to_the_os.cache_clear()

    # When the worker pins the threshold, Then glibc accepts both settings
    assert memory.return_freed_buffers_to_the_os() is True
