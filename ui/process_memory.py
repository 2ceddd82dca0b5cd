"""Keep the server's resident memory near what it uses, not what it once used.

Streamlit runs every session's script in a thread of its own, and glibc's malloc gives
threads their own arenas (up to 8 per core) that keep freed memory for reuse. A
100,000-point mixture fit briefly needs ~100 MB; done in sixteen threads' arenas, that
was 1.4 GB of resident memory on a 2-core server that used a third of it
(bench/memory.py). Two arenas, large blocks always mapped (so freeing them returns
them), and a trim after each computed run keep it inside a 1 GB instance.

Elsewhere than glibc (macOS, musl) these calls are not there and nothing is tuned.
"""

from __future__ import annotations

import ctypes
import threading

M_MMAP_THRESHOLD = -3
M_ARENA_MAX = -8
MMAP_THRESHOLD_BYTES = 1 << 20

_lock = threading.Lock()
_libc: ctypes.CDLL | None = None
_tuned = False


def _glibc() -> ctypes.CDLL | None:
    global _libc
    if _libc is None:
        try:
            candidate = ctypes.CDLL("libc.so.6")
            candidate.mallopt, candidate.malloc_trim  # noqa: B018 - glibc only
        except (OSError, AttributeError):
            return None
        _libc = candidate
    return _libc


def limit_malloc_arenas() -> bool:
    """Tune malloc once per process; say whether it could be tuned."""
    global _tuned
    with _lock:
        if _tuned:
            return True
        libc = _glibc()
        if libc is None:
            return False
        _tuned = bool(libc.mallopt(M_ARENA_MAX, 2)) and bool(libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))
        return _tuned


def release_free_memory() -> None:
    """Hand memory that Python and torch have freed back to the operating system."""
    libc = _glibc()
    if libc is not None:
        libc.malloc_trim(0)
