"""The parts of aiosmtpd that ``smtpd/protocol.py`` overrides or relies on still exist as used.

``MailSMTP`` subclasses ``aiosmtpd.smtp.SMTP`` and reaches into private members (the
timeout callback, the deferred ``_authenticate``, the pre-STARTTLS transport, the command
table). pyproject pins aiosmtpd below its next minor release; these checks say what to
look at before raising that pin. No sockets: classes and one protocol object only.
"""

from __future__ import annotations

import ast
import asyncio
import inspect
import tomllib
from importlib import metadata
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from smtpd.connections import ConnectionLimiter
from smtpd.protocol import Listener, MailSMTP
from smtpd.shutdown import Sessions

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = REPO / "smtpd" / "protocol.py"

# Private methods of SMTP that MailSMTP overrides, and the parameters aiosmtpd passes them.
PRIVATE_OVERRIDES = {
    "_timeout_cb": ["self"],
    "_authenticate": ["self", "mechanism", "auth_data"],
    "_call_handler_hook": ["self", "command", "args"],
    "_create_envelope": ["self"],  # our envelope carries the DSN / REQUIRETLS parameters
    "_getaddr": ["self", "arg"],  # plain paths split without the email parser
}
# Private methods of SMTP that MailSMTP calls, with the parameters it passes.
PRIVATE_CALLS = {
    "_reset_timeout": ["self", "duration"],
    "_set_post_data_state": ["self"],  # BDAT LAST ends the transaction as DATA does
    "_strip_command_keyword": ["self", "keyword", "arg"],  # MAIL/RCPT DSN parameters
}
# Private attributes of an SMTP object that MailSMTP reads, and their type after __init__.
PRIVATE_ATTRIBUTES: dict[str, type | None] = {
    "_original_transport": None,
    "_smtp_methods": dict,
    "_handle_hooks": dict,  # DATA read in bulk only when the handler has handle_DATA
    "_decode_data": bool,  # ... and only for bytes content
}
# Private attributes SMTP sets when a connection starts (``_handle_client``), read by us.
# BDAT reads its chunk octets from the stream reader, DATA its lines (smtpd.data_reader);
# DATA closes the writer when the connection is lost, as aiosmtpd's does.
PRIVATE_PER_CONNECTION = {"_reader", "_writer"}
# What smtpd/prototype.py (cloning a session object) reads or rebinds on SMTP objects.
PROTOTYPE = REPO / "smtpd" / "prototype.py"
PROTOTYPE_USES = {"_smtp_methods", "_auth_methods", "_cb_client_connected", "_fresh_state"}


def _private_names_used() -> set[str]:
    """SMTP's private members MailSMTP overrides, or reads as ``self._x`` / ``super()._x``."""
    tree = ast.parse(PROTOCOL.read_text())
    defined = set(vars(MailSMTP))
    used: set[str] = set()
    assigned: set[str] = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__"):
            continue
        owner = node.value
        is_self = isinstance(owner, ast.Name) and owner.id == "self"
        is_super = (
            isinstance(owner, ast.Call)
            and isinstance(owner.func, ast.Name)
            and owner.func.id == "super"
        )
        if not (is_self or is_super):
            continue
        if isinstance(node.ctx, ast.Store) and is_self:
            assigned.add(node.attr)
        else:
            used.add(node.attr)
    # Attributes MailSMTP assigns for itself are its own, unless SMTP has them too.
    own = (defined | assigned) - set(dir(SMTP)) - set(PRIVATE_ATTRIBUTES)
    overridden = {name for name in defined if name.startswith("_") and hasattr(SMTP, name)}
    replaced = assigned & set(PRIVATE_ATTRIBUTES)  # SMTP's own attribute, set anew by us
    return (used - own) | replaced | {name for name in overridden if not name.startswith("__")}


def _private_names_used_by_prototype() -> set[str]:
    """Private attributes prototype.py reaches on a session object (``session._x`` etc.)."""
    owners = {"session", "new", "prototype"}
    return {
        node.attr
        for node in ast.walk(ast.parse(PROTOTYPE.read_text()))
        if isinstance(node, ast.Attribute)
        and node.attr.startswith("_")
        and not node.attr.startswith("__")
        and isinstance(node.value, ast.Name)
        and node.value.id in owners
    }


def test_prototype_py_uses_only_the_private_members_listed() -> None:
    assert _private_names_used_by_prototype() == PROTOTYPE_USES
    for name in PROTOTYPE_USES - {"_fresh_state"}:  # _fresh_state is MailSMTP's own
        assert hasattr(SMTP, name) or name in ("_smtp_methods", "_auth_methods"), name
    assert callable(MailSMTP._fresh_state)


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


def test_the_lists_below_name_every_private_member_protocol_py_uses() -> None:
    """A new reliance on an aiosmtpd private member must be added to this file's lists."""
    listed = set(PRIVATE_OVERRIDES) | set(PRIVATE_CALLS) | set(PRIVATE_ATTRIBUTES)
    assert _private_names_used() == listed | PRIVATE_PER_CONNECTION


@pytest.mark.parametrize(("name", "parameters"), sorted(PRIVATE_OVERRIDES.items()))
def test_overridden_private_methods_exist_with_the_same_parameters(
    name: str, parameters: list[str]
) -> None:
    base = getattr(SMTP, name, None)
    assert callable(base), f"aiosmtpd.smtp.SMTP.{name} is gone"
    assert _parameters(base) == parameters
    assert _parameters(getattr(MailSMTP, name)) == parameters
    assert inspect.iscoroutinefunction(base) == inspect.iscoroutinefunction(getattr(MailSMTP, name))


@pytest.mark.parametrize(("name", "parameters"), sorted(PRIVATE_CALLS.items()))
def test_called_private_methods_exist_with_the_same_parameters(
    name: str, parameters: list[str]
) -> None:
    base = getattr(SMTP, name, None)
    assert callable(base), f"aiosmtpd.smtp.SMTP.{name} is gone"
    assert _parameters(base) == parameters


def test_aiosmtpd_still_calls_the_hooks_we_override() -> None:
    """Overriding is pointless if aiosmtpd stopped calling the member."""
    assert "self._authenticate(" in inspect.getsource(SMTP.auth_PLAIN)
    assert "self._authenticate(" in inspect.getsource(SMTP.auth_LOGIN)
    assert "self._timeout_cb" in inspect.getsource(SMTP._reset_timeout)
    assert "self._smtp_methods" in inspect.getsource(SMTP._handle_client)
    assert "self._original_transport" in inspect.getsource(SMTP.smtp_STARTTLS)
    assert "self._reader = reader" in inspect.getsource(SMTP._cb_client_connected)
    assert "self._reader.readuntil()" in inspect.getsource(SMTP._handle_client)
    assert "self._writer = " in inspect.getsource(SMTP._cb_client_connected)


def test_every_overridden_public_method_keeps_its_shape() -> None:
    """Each SMTP method MailSMTP redefines takes the same parameters, sync or async alike."""
    overridden = [
        name
        for name, value in vars(MailSMTP).items()
        if callable(value) and name != "__init__" and hasattr(SMTP, name)
    ]
    assert {"push", "smtp_DATA", "auth_PLAIN", "_timeout_cb"} <= set(overridden)
    for name in overridden:
        ours, theirs = getattr(MailSMTP, name), getattr(SMTP, name)
        assert len(_parameters(ours)) == len(_parameters(theirs)), name
        assert inspect.iscoroutinefunction(ours) == inspect.iscoroutinefunction(theirs), name


def test_private_attributes_exist_on_a_new_protocol_object() -> None:
    async def make() -> SMTP:
        return SMTP(object(), hostname="mx.example.test")

    protocol = asyncio.run(make())
    for name, kind in PRIVATE_ATTRIBUTES.items():
        assert hasattr(protocol, name), f"SMTP objects no longer have {name}"
        value = getattr(protocol, name)
        assert value is None if kind is None else isinstance(value, kind)
    assert {"HELO", "EHLO", "DATA", "AUTH", "STARTTLS"} <= set(protocol._smtp_methods)
    assert isinstance(protocol._auth_methods, dict)  # smtpd.prototype rebinds its entries
    assert all(hasattr(m, "is_builtin") for m in protocol._auth_methods.values())


def test_auth_types_keep_the_fields_we_use() -> None:
    result = AuthResult(success=False, handled=False, auth_data=LoginPassword(b"u", b"p"))
    assert (result.success, result.handled) == (False, False)
    assert result.auth_data.login == b"u" and result.auth_data.password == b"p"
    assert isinstance(SMTP.AuthLoginUsernameChallenge, str)
    assert isinstance(SMTP.AuthLoginPasswordChallenge, str)


def test_installed_aiosmtpd_is_within_the_pinned_range() -> None:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    pins = [dep for dep in project["dependencies"] if dep.startswith("aiosmtpd")]
    assert pins == ["aiosmtpd>=1.4.6,<1.5"]
    major, minor, *_ = (int(part) for part in metadata.version("aiosmtpd").split(".")[:3])
    assert (major, minor) == (1, 4)


class _Handler:
    """A handler with the hooks our real one has (bound into the hook table)."""

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, name: str, lines: Any
    ) -> Any:
        return lines

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        return "250 OK"

    async def auth_CUSTOM(self, server: Any, args: Any) -> Any:
        return None


def _stream_state() -> set[str]:
    """The attributes asyncio's StreamReaderProtocol sets in its constructor."""

    async def make() -> set[str]:
        reader = asyncio.StreamReader()
        return set(vars(asyncio.StreamReaderProtocol(reader, lambda r, w: None)))

    return asyncio.run(make())


def _session_pair() -> tuple[MailSMTP, MailSMTP, MailSMTP]:
    """(a prototype, a clone of it, a new object built the same way) in a running loop."""
    handler = _Handler()
    limiter, registry = ConnectionLimiter(10, 10), Sessions()

    async def make() -> tuple[MailSMTP, MailSMTP, MailSMTP]:
        def build() -> MailSMTP:
            return MailSMTP(
                handler,
                listener=Listener("mx"),
                connections=limiter,
                registry=registry,
                data_timeout=60,
                enable_auth=True,
                hostname="mx.example.test",
                auth_require_tls=False,
            )

        prototype = build()
        prototype._ip = "192.0.2.1"  # per-connection state must not leak into a clone
        prototype._bdat += b"x"
        return prototype, prototype.clone(), build()

    return asyncio.run(make())


def test_a_clone_has_what_a_new_session_object_has() -> None:
    """MailSMTP.clone skips aiosmtpd's constructor: it must end where that one would."""
    prototype, clone, fresh = _session_pair()
    assert type(clone) is MailSMTP
    assert set(vars(clone)) == set(vars(fresh))
    tables = {"_smtp_methods", "_auth_methods", "_handle_hooks"}
    stream_state = _stream_state()
    for name, value in vars(fresh).items():
        if name in tables or name in stream_state:
            continue
        if name in ("listener", "_connections", "_registry", "event_handler", "loop"):
            assert getattr(clone, name) is getattr(prototype, name), name
            continue
        assert getattr(clone, name) == value, name
    # the stream state is the clone's own
    for name in stream_state - {"_loop", "_source_traceback"}:
        value = getattr(clone, name)
        if value is not None and not isinstance(value, bool):
            assert value is not getattr(prototype, name), name
    assert clone._strong_reader is not prototype._strong_reader
    assert clone._client_connected_cb.__self__ is clone


def test_a_clone_binds_its_tables_to_itself() -> None:
    prototype, clone, fresh = _session_pair()
    assert set(clone._smtp_methods) == set(fresh._smtp_methods) == set(prototype._smtp_methods)
    assert all(method.__self__ is clone for method in clone._smtp_methods.values())
    assert set(clone._auth_methods) == set(fresh._auth_methods) == {"CUSTOM", "LOGIN", "PLAIN"}
    for name, mechanism in clone._auth_methods.items():
        owner = clone if mechanism.is_builtin else prototype.event_handler
        assert mechanism.method.__self__ is owner, name
        assert mechanism.is_builtin == fresh._auth_methods[name].is_builtin
    assert clone._handle_hooks == fresh._handle_hooks  # bound to the one shared handler


def test_no_mutable_value_is_shared_with_the_prototype_unless_known() -> None:
    """A new mutable attribute in aiosmtpd's constructor would be shared by every clone."""
    prototype, clone, _ = _session_pair()
    shared_on_purpose = {"_handle_hooks", "_call_limit_base"}  # read, never written
    mutable = (dict, list, set, bytearray, asyncio.Future)
    for name, value in vars(clone).items():
        if isinstance(value, mutable) and name not in shared_on_purpose:
            assert value is not vars(prototype).get(name), name
    assert "_cb_client_connected" in dir(SMTP)  # what clone passes as the connected callback
