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

from smtpd.protocol import MailSMTP

REPO = Path(__file__).resolve().parents[2]
PROTOCOL = REPO / "smtpd" / "protocol.py"

# Private methods of SMTP that MailSMTP overrides, and the parameters aiosmtpd passes them.
PRIVATE_OVERRIDES = {
    "_timeout_cb": ["self"],
    "_authenticate": ["self", "mechanism", "auth_data"],
    "_call_handler_hook": ["self", "command", "args"],
    "_create_envelope": ["self"],  # our envelope carries the DSN / REQUIRETLS parameters
}
# Private methods of SMTP that MailSMTP calls, with the parameters it passes.
PRIVATE_CALLS = {
    "_reset_timeout": ["self", "duration"],
    "_set_post_data_state": ["self"],  # BDAT LAST ends the transaction as DATA does
    "_strip_command_keyword": ["self", "keyword", "arg"],  # MAIL/RCPT DSN parameters
    "_getaddr": ["self", "arg"],  # the address before the parameters
}
# Private attributes of an SMTP object that MailSMTP reads, and their type after __init__.
PRIVATE_ATTRIBUTES: dict[str, type | None] = {
    "_original_transport": None,
    "_smtp_methods": dict,
}
# Private attributes SMTP sets when a connection starts (``_handle_client``), read by us.
PRIVATE_PER_CONNECTION = {"_reader"}  # BDAT reads its chunk octets from the stream reader


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
    return (used - own) | {name for name in overridden if not name.startswith("__")}


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
