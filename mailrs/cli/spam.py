"""``mailrs spam``: train a user's Bayesian classifier from a corpus, and see what it knows."""

from __future__ import annotations

import mailbox
from collections.abc import Iterator
from pathlib import Path

import click

from mailrs.cli.options import config_option, load_or_fail
from mailrs.inbound.spam.bayes import Classifier, classifier_path
from mailrs.store.maildir import MaildirStore

MAX_MESSAGE = 10 * 1024 * 1024


def messages_in(path: Path) -> Iterator[bytes]:
    """Each message of a file (.eml), a folder of files or a Maildir, or an mbox file."""
    if path.is_dir():
        if (path / "cur").is_dir() or (path / "new").is_dir():
            for key in mailbox.Maildir(path, create=False).iterkeys():
                yield mailbox.Maildir(path, create=False).get_bytes(key)[:MAX_MESSAGE]
            return
        for child in sorted(path.iterdir()):
            if child.is_file():
                yield child.read_bytes()[:MAX_MESSAGE]
        return
    with path.open("rb") as fh:
        start = fh.read(5)
    if start == b"From ":
        for message in mailbox.mbox(path, create=False):
            yield message.as_bytes()[:MAX_MESSAGE]
        return
    yield path.read_bytes()[:MAX_MESSAGE]


@click.group("spam")
def spam_group() -> None:
    """The per-user Bayesian spam classifier."""


@spam_group.command("train")
@config_option
@click.option("--user", "user", required=True, help="the account whose classifier learns")
@click.option("--spam", "spam_paths", multiple=True, type=click.Path(exists=True, path_type=Path))
@click.option("--ham", "ham_paths", multiple=True, type=click.Path(exists=True, path_type=Path))
def train(
    config_path: str | None, user: str, spam_paths: tuple[Path, ...], ham_paths: tuple[Path, ...]
) -> None:
    """Learn spam and ham from files, folders of files, Maildirs or mbox files."""
    if not spam_paths and not ham_paths:
        raise click.UsageError("give --spam and/or --ham")
    settings = load_or_fail(config_path)
    store = MaildirStore(settings.maildir_path)
    try:
        folder = store.user_dir(user)
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not folder.is_dir():
        raise click.ClickException(f"no mailbox for {user}")
    learnt = {True: 0, False: 0}
    with Classifier(classifier_path(folder)) as classifier:
        for is_spam, paths in ((True, spam_paths), (False, ham_paths)):
            for path in paths:
                for data in messages_in(path):
                    learnt[is_spam] += classifier.learn(data, is_spam)
        spam, ham = classifier.totals()
    click.echo(f"learnt {learnt[True]} spam and {learnt[False]} ham for {user}")
    click.echo(f"{user} now knows {spam} spam and {ham} ham messages")
