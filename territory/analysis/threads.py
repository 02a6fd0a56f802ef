"""One BLAS/OpenMP thread for the small model fits, without scanning the process each time.

``threadpoolctl.threadpool_limits`` builds a new ``ThreadpoolController`` on every
call, which lists every shared library the process has loaded to find the
thread pools: ~3 ms in a process with the app's or a network worker's
libraries, paid once per white-space fit, i.e. once per dealer in a network
(2.6 % of a worker's time at 3,000 dealers, py-spy). The controller here is
built once, after scikit-learn (whose OpenMP runtime is one of the pools) has
been imported, and reused.
"""

from __future__ import annotations

import threading
from contextlib import AbstractContextManager
from typing import Any

_lock = threading.Lock()
_controller: Any = None


def controller():
    """The process's ``ThreadpoolController``, built on first use."""
    global _controller
    with _lock:
        if _controller is None:
            import sklearn.linear_model  # noqa: F401  (loads scikit-learn's OpenMP runtime)
            from threadpoolctl import ThreadpoolController

            _controller = ThreadpoolController()
        return _controller


def one_thread() -> AbstractContextManager:
    """Limit BLAS and OpenMP to one thread inside a ``with`` block.

    A few thousand zones per fit: OpenMP threads cost far more than they save
    there (20 ms per loss evaluation instead of 0.2 ms on a busy 2-core machine).
    """
    return controller().limit(limits=1)
