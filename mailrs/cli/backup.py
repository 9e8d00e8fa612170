"""``mailrs backup DIR`` and ``mailrs restore DIR --data-dir NEW``.

A backup folder holds the database (``mailrs.db`` copied with SQLite's backup API, or a
``pg_dump`` file), ``maildir/`` (every Maildir with its mailbox index), ``spool/``
(accepted messages not yet delivered), ``dkim/`` (the keys), ``mailrs.toml`` (the
config) and ``manifest.json``, written last: a folder without it is not a backup.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from importlib.metadata import version
from pathlib import Path
from typing import Any

import click

from mailrs.cli.options import config_option, load_or_fail
from mailrs.config import ConfigError
from mailrs.config.relocate import relocated_config
from mailrs.db.snapshot import SnapshotError, dump_database, restore_database
from mailrs.store.snapshot import restore_maildirs, snapshot_maildirs

MANIFEST = "manifest.json"
FORMAT = "mailrs-backup"
FORMAT_VERSION = 1


def _empty_folder(path: Path, what: str) -> None:
    if path.exists() and (not path.is_dir() or any(path.iterdir())):
        raise click.ClickException(f"{what} {path} exists and is not empty")
    path.mkdir(parents=True, exist_ok=True)


def read_manifest(folder: Path) -> dict[str, Any]:
    """The manifest of a backup folder; a one-line error when it is not one."""
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise click.ClickException(f"{folder} is not a mailrs backup (no {MANIFEST})") from None
    except (OSError, ValueError) as exc:
        raise click.ClickException(f"{path}: unreadable: {exc}") from None
    if manifest.get("format") != FORMAT or manifest.get("version") != FORMAT_VERSION:
        raise click.ClickException(f"{path}: not a version {FORMAT_VERSION} mailrs backup")
    return dict(manifest)


@click.command("backup")
@config_option
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
def backup(config_path: str | None, folder: Path) -> None:
    """Snapshot the database, Maildirs and indexes, spool, DKIM keys and config into FOLDER."""
    settings = load_or_fail(config_path)
    _empty_folder(folder, "backup folder")
    try:
        database = dump_database(settings.database_url, folder)
    except SnapshotError as exc:
        raise click.ClickException(str(exc)) from None
    mail = snapshot_maildirs(settings.maildir_path, folder / "maildir")
    spool = snapshot_maildirs(settings.spool_path, folder / "spool")
    dkim = settings.data_dir / "dkim"
    if dkim.is_dir():
        shutil.copytree(dkim, folder / "dkim")  # copy2: the 0600 modes come along
    shutil.copy2(settings.source, folder / "mailrs.toml")
    manifest = {
        "format": FORMAT,
        "version": FORMAT_VERSION,
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "mailrs": version("mailrs"),
        "config": "mailrs.toml",
        "config_dir": str(Path(settings.source).resolve().parent),
        "database": database,
        "maildir": {"folder": "maildir", **mail},
        "spool": {"folder": "spool", **spool},
        "dkim": "dkim" if dkim.is_dir() else "",
    }
    (folder / MANIFEST).write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    click.echo(
        f"backup in {folder}: database ({database['kind']}), {mail['indexes']} mailbox "
        f"indexes, {mail['files']} mail files ({mail['linked']} hard links), "
        f"{spool['files']} spooled"
    )


@click.command("restore")
@click.argument("folder", type=click.Path(file_okay=False, exists=True, path_type=Path))
@click.option(
    "--data-dir",
    "data_dir",
    required=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="A new (empty) data directory to restore into; its mailrs.toml is written there.",
)
@click.option(
    "--database-url",
    default=None,
    help="Restore a PostgreSQL backup into this (empty) database.",
)
def restore(folder: Path, data_dir: Path, database_url: str | None) -> None:
    """Bring the backup in FOLDER back into a fresh data directory."""
    manifest = read_manifest(folder)
    data_dir = data_dir.resolve()
    _empty_folder(data_dir, "data directory")
    database = manifest["database"]
    if database["kind"] == "sqlite":
        url = database_url or f"sqlite:///{data_dir / 'mailrs.db'}"
    elif database_url:
        url = database_url
    else:
        raise click.ClickException("a PostgreSQL backup needs --database-url (an empty database)")
    try:
        restore_database(database, folder, url)
        files = restore_maildirs(folder / manifest["maildir"]["folder"], data_dir / "maildir")
        restore_maildirs(folder / manifest["spool"]["folder"], data_dir / "spool")
        if manifest["dkim"]:
            shutil.copytree(folder / manifest["dkim"], data_dir / "dkim")
        text = (folder / manifest["config"]).read_text(encoding="utf-8")
        config = relocated_config(text, Path(manifest["config_dir"]), data_dir, url)
    except (SnapshotError, ConfigError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    target = data_dir / "mailrs.toml"
    target.write_text(config, encoding="utf-8")
    click.echo(f"restored {manifest['created']} backup: {files} mail files into {data_dir}")
    click.echo(f"config: {target} (start the services with MAILRS_CONFIG={target})")
