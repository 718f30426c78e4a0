"""Keeping the worker's resident memory to what it holds, at 128 MB."""

from __future__ import annotations

import ctypes
from functools import cache

# mallopt(3) parameter numbers, and glibc's initial value of both.
M_TRIM_THRESHOLD = -1
M_MMAP_THRESHOLD = -3
INITIAL_THRESHOLD_BYTES = 128 * 1024


@cache
def return_freed_buffers_to_the_os() -> bool:
    """Pin glibc's mmap threshold at its initial 128 KiB.

    Each report passes through buffers of 1 to 2 MB (the response body, the
    parsed XML, the decoded CSV, the PUT). glibc serves such sizes with mmap
    and unmaps them when freed, but the first such free raises the threshold
    to that size (dynamic threshold, up to 32 MiB): later buffers then come
    from the arenas of the 10 record threads and stay resident (the README's
    Performance section has the peak RSS with and without). Setting it once turns
    the adjustment off for the life of the process; the environment variable
    MALLOC_MMAP_THRESHOLD_=131072 does the same. Returns False where the C
    library has no working mallopt (macOS; musl's is a stub), where nothing
    changes.
    """
    try:
        # The symbols already loaded into this process, libc's among them:
        # no search for the library (ctypes.util.find_library runs ldconfig).
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    mallopt.argtypes = (ctypes.c_int, ctypes.c_int)
    mallopt.restype = ctypes.c_int
    # Raising the mmap threshold also raised the trim threshold (to twice
    # it), which keeps freed memory at the top of the heap: reset both.
    return all(
        mallopt(parameter, INITIAL_THRESHOLD_BYTES) == 1
        for parameter in (M_MMAP_THRESHOLD, M_TRIM_THRESHOLD)
    )
