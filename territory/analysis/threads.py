"""One BLAS/OpenMP thread for the small model fits, without scanning the process each time.

``threadpoolctl.threadpool_limits`` builds a new ``ThreadpoolController`` on every
call, which lists every shared library the process has loaded to find the
thread pools: ~3 ms in a process with the app's or a network worker's
libraries, paid once per white-space fit, i.e. once per dealer in a network
(2.6 % of a worker's time at 3,000 dealers, py-spy). threadpoolctl's own
cached controller is built again only when modules have been imported since
(a newly loaded library may bring a new pool), so it is reused between fits.
"""

from __future__ import annotations

from contextlib import AbstractContextManager


def one_thread() -> AbstractContextManager:
    """Limit BLAS and OpenMP to one thread inside a ``with`` block.

    A few thousand zones per fit: OpenMP threads cost far more than they save
    there (20 ms per loss evaluation instead of 0.2 ms on a busy 2-core machine).
    """
    from threadpoolctl import get_cached_controller

    return get_cached_controller().limit(limits=1)
