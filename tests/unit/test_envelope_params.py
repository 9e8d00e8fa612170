"""DSN and REQUIRETLS parameters (RFC 3461, RFC 8689) parsed as a table."""

from __future__ import annotations

import pytest

from mailrs.queue.envelope_params import (
    MailParams,
    ParamError,
    RcptParams,
    orcpt_param,
    parse_mail_params,
    parse_rcpt_params,
    wants,
    xtext_decode,
    xtext_encode,
)


def test_xtext_round_trip() -> None:
    for text in ("plain", "a+b=c", "space here", "é"):
        assert xtext_decode(xtext_encode(text)) == text
    assert xtext_encode("a+b=c d") == "a+2Bb+3Dc+20d"
    for bad in ("a=b", "a+2", "a+zz", "a b"):
        with pytest.raises(ValueError):
            xtext_decode(bad)


def test_mail_params_keep_case_and_leave_the_rest() -> None:
    params, rest = parse_mail_params(["SIZE=10", "ret=full", "ENVID=Ab+2Bc", "requiretls"])
    assert params == MailParams("FULL", "Ab+c", True)
    assert rest == ["SIZE=10"]
    assert parse_mail_params(["BODY=8BITMIME"]) == (MailParams(), ["BODY=8BITMIME"])


@pytest.mark.parametrize(
    "words",
    [["RET=ALL"], ["RET"], ["ENVID="], ["ENVID=" + "a" * 101], ["RET=FULL", "ret=HDRS"]],
)
def test_bad_mail_params(words: list[str]) -> None:
    with pytest.raises(ParamError) as error:
        parse_mail_params(words)
    assert error.value.reply.startswith("501 5.5.4")


def test_rcpt_params() -> None:
    params, rest = parse_rcpt_params(["notify=delay,success", "ORCPT=RFC822;A+2Bb@X.test"])
    assert params == RcptParams("SUCCESS,DELAY", "rfc822;A+b@X.test") and rest == []
    assert parse_rcpt_params(["NOTIFY=never"])[0].notify == "NEVER"
    for bad in (["NOTIFY=NEVER,DELAY"], ["NOTIFY=SOON"], ["ORCPT=x"], ["ORCPT=;a@b"]):
        with pytest.raises(ParamError):
            parse_rcpt_params(bad)


def test_what_notify_asks() -> None:
    assert wants("", "FAILURE") and wants("", "DELAY") and not wants("", "SUCCESS")
    assert not wants("NEVER", "FAILURE")
    assert wants("SUCCESS,DELAY", "SUCCESS") and not wants("SUCCESS,DELAY", "FAILURE")
    assert orcpt_param("rfc822;a+b@x") == "ORCPT=rfc822;a+2Bb@x"
