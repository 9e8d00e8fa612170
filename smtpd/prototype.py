"""Session objects cloned from one prototype per listener, not built anew per connection.

aiosmtpd's ``SMTP.__init__`` rebuilds its tables of AUTH mechanisms, handler hooks and
commands with ``inspect.getmembers``/``dir`` on every object: ~0.5 ms of CPU per
connection, and senders such as ``smtp-source`` open one connection per message. A
listener makes one object with the full constructor; ``clone_session`` copies it: the
stream-reader protocol's state is made anew, the methods in the tables are rebound to
the new object, the handler's hooks (bound to the one shared handler) and every
immutable setting are shared, and the subclass's per-connection state starts fresh
(its ``_fresh_state``). ``tests/unit/test_aiosmtpd_contract.py`` checks that a clone
ends where the constructor would, and that no mutable value is shared unnoticed.
"""

from __future__ import annotations

import asyncio
import types
from collections.abc import Awaitable, Callable
from typing import Any

from aiosmtpd.smtp import SMTP

Command = Callable[[Any, str | None], Awaitable[None]]
"""An unbound ``smtp_<VERB>`` function: (session, argument)."""

_COMMANDS: dict[tuple[type, Callable[[Command], Command]], dict[str, Command]] = {}


def checked_commands(
    session: SMTP, wrap: Callable[[Command], Command]
) -> dict[str, Callable[[str | None], Awaitable[None]]]:
    """aiosmtpd's verb → method table of ``session``, each method wrapped by ``wrap``.

    The wrapped functions are made once per class (from the table aiosmtpd built for the
    first object of that class) and only bound to each new session.
    """
    key = (type(session), wrap)
    functions = _COMMANDS.get(key)
    if functions is None:
        functions = _COMMANDS[key] = {
            name: wrap(method.__func__) for name, method in session._smtp_methods.items()
        }
    return {name: types.MethodType(function, session) for name, function in functions.items()}


def clone_session[S: SMTP](prototype: S) -> S:
    """A new session object configured as ``prototype`` (which never had a connection).

    The class must define ``_fresh_state()``, which sets its per-connection state.
    """
    new: Any = object.__new__(type(prototype))
    new.__dict__.update(prototype.__dict__)
    reader = asyncio.StreamReader(loop=prototype.loop, limit=prototype.line_length_limit)
    asyncio.StreamReaderProtocol.__init__(
        new, reader, client_connected_cb=new._cb_client_connected, loop=prototype.loop
    )
    new._auth_methods = {
        name: mechanism._replace(method=_rebound(mechanism.method, new))
        if mechanism.is_builtin
        else mechanism
        for name, mechanism in prototype._auth_methods.items()
    }
    new._fresh_state()
    clone: S = new
    return clone


def _rebound(method: Any, owner: object) -> Any:
    """A bound method of one object, bound to another of the same class."""
    return types.MethodType(method.__func__, owner)
