"""``smtpd.paths.plain_path`` splits a path exactly as aiosmtpd's parser does, or declines."""

from __future__ import annotations

import asyncio
import random
from email._header_value_parser import get_angle_addr

import pytest
from aiosmtpd.smtp import SMTP

from smtpd.connections import ConnectionLimiter
from smtpd.paths import plain_path
from smtpd.protocol import Listener, MailSMTP
from smtpd.shutdown import Sessions

PLAIN = [
    "<a@b.c>",
    "<alice@example.test> SIZE=2048 BODY=8BITMIME",
    " <a@b.c>",
    "<a@b.c>  X",
    "<a@b.c>x",
    "<a@b>\t NOTIFY=NEVER",
    "<first.last+tag@sub.example-host.test>",
    "<A!#$%&'*+/=?^_`{|}~-z@B-2.C>",
    "<a@-b>",
]
DECLINED = [
    "",
    "<>",
    "<> SIZE=1",
    "a@b.c",
    '<"q x"@b>',
    "<a@[192.0.2.1]>",
    "<@relay.test:a@b>",
    "<a@b> (comment) X",
    "<a@b>(c)",
    "<a@b> ",
    "<a@b.>",
    "<a.@b>",
    "<.a@b>",
    "<a..b@c>",
    "<a@b..c>",
    "<a@b",
    "<ü@b.test>",
    "<a@bü.test>",
    "<a@b_c.test>",
]


def _parsed(arg: str) -> tuple[str, str]:
    address, rest = get_angle_addr(arg)
    return address.addr_spec, rest


@pytest.mark.parametrize("arg", PLAIN)
def test_plain_paths_split_as_the_parser_splits_them(arg: str) -> None:
    assert plain_path(arg) == _parsed(arg)


@pytest.mark.parametrize("arg", DECLINED)
def test_anything_else_is_left_to_the_parser(arg: str) -> None:
    assert plain_path(arg) is None


def test_random_paths_agree_with_the_parser_whenever_split() -> None:
    rng = random.Random(18)
    alphabet = '<<>>@@..  \t()"[]:,ab-_+=Xü\\'
    split = 0
    for _ in range(20000):
        arg = "<" + "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 14)))
        if rng.random() < 0.3:
            arg = "<a@b" + arg[1:]
        ours = plain_path(arg)
        if ours is None:
            continue
        split += 1
        assert ours == _parsed(arg), arg
    assert split > 100


def _session() -> MailSMTP:
    async def make() -> MailSMTP:
        return MailSMTP(
            object(),
            listener=Listener("mx"),
            connections=ConnectionLimiter(10, 10),
            registry=Sessions(),
            data_timeout=60,
            enable_auth=False,
            hostname="mx.example.test",
        )

    return asyncio.run(make())


@pytest.mark.parametrize(
    "arg", PLAIN + DECLINED + ["<" + "x" * 65 + "@b.test>", "<" + "x" * 64 + "@b>"]
)
def test_the_session_answers_what_aiosmtpd_answers(arg: str) -> None:
    session = _session()
    assert session._getaddr(arg) == SMTP._getaddr(session, arg)
