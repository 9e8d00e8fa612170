"""Run CPU-heavy calls (Argon2) off the gevent hub, in gevent's native thread pool.

Under gunicorn's gevent worker every request and chat socket is a greenlet on one hub;
an Argon2 verification (tens of milliseconds of C code that releases the GIL) would
stall all of them. ``off_hub`` hands it to a real OS thread and parks only the calling
greenlet. Without gevent (``flask run``, tests, the threaded worker) it calls directly.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any


def gevent_active() -> bool:
    """True when gevent has monkey-patched this process (gunicorn's gevent worker)."""
    if "gevent" not in sys.modules:
        return False
    from gevent import monkey

    return bool(monkey.is_module_patched("socket"))


def off_hub[T](func: Callable[..., T], *args: Any) -> T:
    """``func(*args)`` in gevent's thread pool when gevent is active, else in this thread."""
    if not gevent_active():
        return func(*args)
    import gevent

    return gevent.get_hub().threadpool.apply(func, args)
