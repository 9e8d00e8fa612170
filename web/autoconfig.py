"""Client set-up over HTTP: Thunderbird autoconfig, Outlook autodiscover, Apple profile, MTA-STS.

Only domains we receive mail for are answered (404 otherwise); a bad address or
request body is a 400. The answers themselves are built in ``mailrs.accounts``.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Flask, Response, abort, request

from mailrs.accounts.dns_records import mta_sts_policy
from mailrs.accounts.endpoints import endpoints
from mailrs.accounts.users import is_local_domain
from mailrs.addresses import normalize_user_address
from mailrs.errors import ConfigError, InvalidAddress
from web.resources import get_db_session, get_resources

bp = Blueprint("autoconfig", __name__)
log = logging.getLogger(__name__)

XML = "application/xml; charset=utf-8"
APPLE_PROFILE = "application/x-apple-aspen-config"


def init_app(app: Flask) -> None:
    """Register the blueprint; autodiscover is a POST from mail clients, outside form CSRF."""
    app.register_blueprint(bp)
    app.extensions["csrf"].exempt(bp)


def _address(text: str | None) -> str:
    """A user address from the request, or 400."""
    if not text:
        abort(400, "an email address is required")
    try:
        return normalize_user_address(text)
    except InvalidAddress:
        abort(400, "not a valid email address")


def _known_domain(domain: str) -> str:
    """``domain`` lowered if we receive mail for it, else 404."""
    domain = domain.lower().rstrip(".")
    settings = get_resources().settings
    if not domain or not is_local_domain(get_db_session(), domain, settings.smtp.local_domains):
        abort(404)
    return domain


def _host_domain(prefix: str) -> str:
    """The domain of a request made to ``<prefix>.<domain>`` (the Host header)."""
    host = request.host.rpartition(":")[0] if ":" in request.host else request.host
    head, _, domain = host.partition(".")
    return domain if head.lower() == prefix else ""


@bp.get("/mail/config-v1.1.xml")
@bp.get("/.well-known/autoconfig/mail/config-v1.1.xml")
def thunderbird() -> Response:
    """Thunderbird's autoconfig for the domain of ``emailaddress`` (or of the Host name)."""
    from mailrs.accounts.client_setup import thunderbird_config

    given = request.args.get("emailaddress")
    domain = _address(given).rpartition("@")[2] if given else _host_domain("autoconfig")
    domain = _known_domain(domain)
    body = thunderbird_config(endpoints(get_resources().settings), domain)
    return Response(body, content_type=XML)


@bp.post("/autodiscover/autodiscover.xml")
@bp.post("/Autodiscover/Autodiscover.xml")
def outlook() -> Response:
    """Outlook's autodiscover: the request's EMailAddress, answered with IMAP and SMTP."""
    from mailrs.accounts.client_setup import autodiscover_address, autodiscover_response

    try:
        given = autodiscover_address(request.get_data(cache=False))
    except ValueError as exc:
        abort(400, str(exc))
    address = _address(given)
    _known_domain(address.rpartition("@")[2])
    body = autodiscover_response(endpoints(get_resources().settings), address)
    return Response(body, content_type=XML)


@bp.get("/apple/mailrs.mobileconfig")
def apple() -> Response:
    """An Apple configuration profile for ``email``; the device asks only for the password.

    Signed with the mail host's certificate when one is configured (the device then shows
    it as verified); a pair that cannot sign is logged and the profile goes out unsigned.
    """
    from mailrs.accounts.client_setup import apple_profile
    from mailrs.accounts.profile_signing import current_signer, sign_profile

    address = _address(request.args.get("email"))
    _known_domain(address.rpartition("@")[2])
    settings = get_resources().settings
    body = apple_profile(endpoints(settings), address)
    try:
        signer = current_signer(settings)
    except ConfigError as exc:
        log.error("Apple profile sent unsigned: %s", exc)
        signer = None
    if signer is not None:
        body = sign_profile(signer, body)
    response = Response(body, content_type=APPLE_PROFILE)
    response.headers["Content-Disposition"] = 'attachment; filename="mailrs.mobileconfig"'
    return response


@bp.get("/.well-known/mta-sts.txt")
def mta_sts() -> Response:
    """The MTA-STS policy (RFC 8461), served as ``https://mta-sts.<domain>/...``."""
    _known_domain(_host_domain("mta-sts"))
    return Response(mta_sts_policy(get_resources().settings), content_type="text/plain")
