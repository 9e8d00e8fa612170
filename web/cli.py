"""The ``flask mail-user`` commands: add, list, delete, check, disable, re-password, quota
and admin role of accounts.

Changing a password, disabling or deleting an account revokes every web session and
API token it had.

Every command makes sure the database schema exists first. Errors print one
``Error: ...`` line on stderr and exit with status 1; ``exists`` answers with its
exit status alone (0 yes, 1 no).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click
from flask.cli import AppGroup, ScriptInfo
from sqlalchemy.orm import Session

from mailrs.accounts.quota import format_size, parse_quota, set_quota
from mailrs.accounts.users import (
    add_user,
    delete_user,
    find_user,
    list_users,
    set_admin,
    set_disabled,
    set_password,
)
from mailrs.addresses import normalize_user_address
from mailrs.config import ConfigError, require_settings
from mailrs.errors import InvalidAddress, UserExists, UserNotFound
from mailrs.store.usage import mailbox_usage
from web.resources import ensure_schema, get_db_session, get_store


@click.group("mail-user", cls=AppGroup)
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path of mailrs.toml (default: $MAILRS_CONFIG or ./mailrs.toml).",
)
def mail_user(config_path: str | None) -> None:
    """Manage mail accounts."""
    # Registered as a flask.commands plugin, this runs before Flask loads the app,
    # so the app factory reads the config named here. It is checked here first: a bad
    # one is one line, not the traceback of the app factory failing inside Flask.
    if config_path:
        os.environ["MAILRS_CONFIG"] = str(Path(config_path).resolve())
    info = click.get_current_context().find_object(ScriptInfo)
    if info is not None and info.create_app is not None:
        return  # an app built in code (app.test_cli_runner()) has its settings already
    try:
        require_settings(config_path)  # no config found: one line saying where it looked
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


USER_ERRORS = (InvalidAddress, UserExists, UserNotFound, ValueError)

password_argument = click.argument("password", required=False)
password_stdin_option = click.option(
    "--password-stdin",
    is_flag=True,
    help="Read the password from the first line of standard input.",
)


def _session() -> Session:
    ensure_schema()
    return get_db_session()


def read_password(password: str | None, from_stdin: bool) -> str:
    """The password from the argument, one line of stdin, or a hidden prompt asked twice."""
    if password is not None and from_stdin:
        raise click.ClickException(
            "give the password either as an argument or with --password-stdin, not both"
        )
    if password is not None:
        return password
    if from_stdin:
        line = sys.stdin.readline().rstrip("\r\n")
        if not line:
            raise click.ClickException("no password on standard input")
        return line
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@mail_user.command("add")
@click.argument("email")
@password_argument
@password_stdin_option
@click.option("--admin", is_flag=True, help="Give the account the admin role (the admin area).")
def add_command(email: str, password: str | None, password_stdin: bool, admin: bool) -> None:
    """Create the account EMAIL and its Maildir (an administrator with --admin).

    PASSWORD may be given (visible to other local users in the process list),
    read with --password-stdin, or typed at a hidden prompt.
    """
    session = _session()
    try:
        address = normalize_user_address(email)
        if find_user(session, address) is not None:
            raise UserExists(f"user {address} already exists")
        add_user(session, get_store(), address, read_password(password, password_stdin))
        if admin:
            set_admin(session, address, True)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Added {address}" + (" (admin)" if admin else ""))


@mail_user.command("list")
def list_command() -> None:
    """Print every account address, one per line."""
    for user in list_users(_session()):
        click.echo(user.address)


@mail_user.command("delete")
@click.argument("email")
@click.option("--purge", is_flag=True, help="Also remove the account's Maildir and all its mail.")
def delete_command(email: str, purge: bool) -> None:
    """Delete the account EMAIL (its mail stays on disk unless --purge is given)."""
    try:
        delete_user(_session(), get_store(), email, purge=purge)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Deleted {email}" + (" and its mail" if purge else ""))


@mail_user.command("exists")
@click.argument("email")
def exists_command(email: str) -> None:
    """Exit with status 0 if the account EMAIL exists, 1 if not."""
    if find_user(_session(), email) is None:
        click.get_current_context().exit(1)


@mail_user.command("passwd")
@click.argument("email")
@password_argument
@password_stdin_option
def passwd_command(email: str, password: str | None, password_stdin: bool) -> None:
    """Set a new password for the account EMAIL (same password options as add)."""
    session = _session()
    try:
        user = find_user(session, email)
        if user is None:
            raise UserNotFound(f"no user {email}")
        secret = read_password(password, password_stdin)
        set_password(session, user.address, secret)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Password changed for {user.address}; its sessions and tokens are revoked")


@mail_user.command("disable")
@click.argument("email")
def disable_command(email: str) -> None:
    """Disable the account EMAIL: no login anywhere; every session and token ends."""
    try:
        set_disabled(_session(), email, True)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Disabled {email}")


@mail_user.command("enable")
@click.argument("email")
def enable_command(email: str) -> None:
    """Enable the account EMAIL again."""
    try:
        set_disabled(_session(), email, False)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Enabled {email}")


@mail_user.command("quota")
@click.argument("email")
@click.argument("size", required=False)
def quota_command(email: str, size: str | None) -> None:
    """Show, or set to SIZE, the quota of EMAIL (SIZE: 500M, 2G, 10K, bytes, or none)."""
    session = _session()
    try:
        user = find_user(session, email)
        if user is None:
            raise UserNotFound(f"no user {email}")
        if size is not None:
            set_quota(session, user.address, parse_quota(size))
        used = mailbox_usage(get_store(), user.address)
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{user.address}: {format_size(used)} used of {format_size(user.quota_bytes)}")


@mail_user.command("admin")
@click.argument("email")
@click.argument("state", type=click.Choice(["on", "off"]))
def admin_command(email: str, state: str) -> None:
    """Give (on) or take away (off) the admin role of EMAIL."""
    try:
        set_admin(_session(), email, state == "on")
    except USER_ERRORS as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"Admin role {state} for {email}")
