"""Stage 4b, relay: send a message's remote targets to their domains' mail servers.

Targets are grouped by destination domain, one SMTP transaction per domain (or through
the configured smarthost). Hosts come from the MX lookup in order; a host that cannot be
reached or answers 4xx passes the still-open recipients to the next one. Each
recipient's result (relayed, deferred with a 4xx, failed with a 5xx) is stored with the
attempt log of the domain in one transaction. A target being relayed is leased for
``celery.sweep_grace_secs`` so that a re-published chain does not send it twice; a
worker killed mid-relay leaves the lease to expire and the sweeper takes over.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import defaultdict
from dataclasses import dataclass, replace
from functools import partial

from celery import Task
from sqlalchemy import select
from sqlalchemy.orm import Session

from mailrs.accounts.domains import domain_signing_keys
from mailrs.celery import app
from mailrs.config import ConfigError, Settings, parse_hostport
from mailrs.db.models import Delivery, DeliveryAttempt, Message, utcnow
from mailrs.outbound.arc_seal import seal_forwarded
from mailrs.outbound.dkim_keys import SigningKey
from mailrs.outbound.dkim_sign import dkim_sign
from mailrs.outbound.mx import MailHost, MxError, mail_hosts, make_resolver
from mailrs.outbound.smtp_client import Connection, HostUnavailable, Outcome, Request, send
from mailrs.outbound.tls_results import TlsLog, store_results
from mailrs.queue.canvas import RELAY, Step, dispatch
from mailrs.queue.claims import Claims
from mailrs.queue.message_bytes import message_bytes
from mailrs.queue.states import FINAL, DeliveryKind, DeliveryState, MessageState
from workers.context import WorkerContext, worker_context
from workers.faults import pause_point
from workers.progress import load_message, record, settle
from workers.reports_due import notify_of, orcpt_of
from workers.tls_policy import plan_hosts, send_logged, sts_log, tls_optional
from workers.transitions import claim_deliveries

log = logging.getLogger(__name__)
MAX_HOSTS = 10


@dataclass
class Result:
    """What became of one remote target in this run."""

    state: DeliveryState  # relayed | deferred | failed
    status: str
    detail: str
    remote_mta: str = ""
    dsn_passed: bool = False  # the next hop took the DSN request: it reports from now on


def relay_message(queue_id: str) -> list[Step]:
    """Relay every open remote target of a message; returns the tasks still to run.

    Nothing when another runner holds the message (``mailrs.queue.claims``): it settles it.
    """
    with Claims(worker_context().spool) as claims:
        if not claims.take([queue_id]):
            return []
        return _relay_claimed(queue_id)


def _relay_claimed(queue_id: str) -> list[Step]:
    """``relay_message`` for a claimed message: the targets are claimed compare-and-set."""
    ctx = worker_context()
    now = utcnow()
    lease = dt.timedelta(seconds=max(ctx.settings.celery.sweep_grace_secs, 1))
    with ctx.db.session() as session:
        message = load_message(session, queue_id)
        if (
            message is None
            or message.finished_at is not None
            or message.state != MessageState.ROUTED
        ):
            return []
        todo = [
            d
            for d in message.deliveries
            if d.kind == DeliveryKind.REMOTE
            and d.state not in FINAL
            and not (d.state == DeliveryState.DELIVERING and d.updated_at > now - lease)
        ]
        if not todo:
            return settle(ctx, queue_id)
        todo = claim_deliveries(session, todo, now)
        session.commit()
        if not todo:
            return []  # another runner took them: it settles the message
        groups: dict[str, list[tuple[int, str]]] = defaultdict(list)
        for delivery in todo:
            groups[delivery.domain].append((delivery.id, delivery.address))
        sender, message_id = message.mail_from, message.id
        request = _request(message, todo)
        data = message_bytes(ctx.settings, ctx.spool, message)
        optional = not message.require_tls and tls_optional(data)
        data = seal_forwarded(session, ctx.settings, message, data)
        keys = _dkim_keys(ctx, session, sender)
    pause_point("relay", queue_id)
    data = dkim_sign(ctx.settings, sender, data, keys)
    for domain, targets in groups.items():
        tls_log = sts_log(ctx, domain)
        rcpts = [a for _, a in targets]
        results, attempts = relay_domain(
            ctx.settings, domain, sender, rcpts, data, request, tls_log, optional
        )
        _store(ctx, message_id, targets, results, attempts, tls_log)
    return settle(ctx, queue_id)


def _request(message: Message, todo: list[Delivery]) -> Request:
    """The DSN request and REQUIRETLS flag that go on with the message."""
    return Request(
        ret=message.dsn_ret,
        envid=message.dsn_envid,
        require_tls=message.require_tls,
        notify={d.address: notify_of(message, d) for d in todo},
        orcpt={d.address: orcpt_of(message, d) for d in todo},
    )


def _dkim_keys(ctx: WorkerContext, session: Session, sender: str) -> list[SigningKey]:
    """The sender domain's DKIM keys (``mailrs domain add``); none if it has no selector."""
    try:
        return domain_signing_keys(session, ctx.settings, sender.rpartition("@")[2])
    except ConfigError as exc:  # a key file gone missing: send unsigned rather than not at all
        log.warning("DKIM keys of %s: %s", sender, exc)
        return []


def _store(
    ctx: WorkerContext,
    message_id: int,
    targets: list[tuple[int, str]],
    results: dict[str, Result],
    attempts: list[DeliveryAttempt],
    tls_log: TlsLog | None = None,
) -> None:
    """Every recipient's result, the domain's attempts and TLS outcomes, in one transaction."""
    with ctx.db.session() as session:
        message = session.get(Message, message_id)
        assert message is not None
        rows = session.scalars(
            select(Delivery).where(Delivery.id.in_([i for i, _ in targets]))
        ).all()
        for delivery in rows:
            result = results[delivery.address]
            delivery.state = result.state
            delivery.status = result.status
            delivery.last_error = (
                "" if result.state == DeliveryState.RELAYED else result.detail[:2000]
            )
            delivery.remote_mta = result.remote_mta[:255]
            if result.dsn_passed:
                delivery.dsn_sent = True  # the next hop reports success itself
            delivery.updated_at = utcnow()
            record(session, message, result.state, f"{delivery.address}: {result.detail}")
        for attempt in attempts:
            attempt.message_id = message_id
            session.add(attempt)
        if tls_log is not None:
            store_results(session, tls_log)
        session.commit()


def _connections(
    settings: Settings, domain: str, verify: bool = False
) -> list[tuple[MailHost, Connection]]:
    """The hosts to try for a domain: the smarthost, or the domain's MX hosts in order.

    ``verify``: each connection needs STARTTLS and a certificate valid for its host name.
    """
    relay = settings.relay
    helo = relay.helo_name or settings.smtp.hostname
    common = {
        "helo": helo,
        "connect_timeout": relay.connect_timeout_secs,
        "command_timeout": relay.command_timeout_secs,
        "verify": verify,
        "ca_file": relay.tls_ca_file,
    }
    if relay.smarthost:
        host, port = parse_hostport(relay.smarthost, "relay.smarthost")
        conn = Connection(
            host=host,
            address=host,
            port=port,
            tls=relay.smarthost_tls,
            username=relay.smarthost_username,
            password=relay.smarthost_password,
            **common,  # type: ignore[arg-type]
        )
        return [(MailHost(host, host, 0), conn)]
    hosts = mail_hosts(make_resolver(relay), domain)[:MAX_HOSTS]
    return [
        (h, Connection(host=h.name, address=h.address, port=relay.smtp_port, **common))  # type: ignore[arg-type]
        for h in hosts
    ]


def relay_domain(
    settings: Settings,
    domain: str,
    sender: str,
    recipients: list[str],
    data: bytes,
    request: Request | None = None,
    tls_log: TlsLog | None = None,
    optional: bool = False,
) -> tuple[dict[str, Result], list[DeliveryAttempt]]:
    """Try the domain's hosts in order until every recipient has a final answer or none is left.

    The domain's MTA-STS policy (in ``tls_log``) decides which hosts and how
    (``workers.tls_policy``; ``optional``: the message says ``TLS-Required: No``). A
    message sent with REQUIRETLS goes only over TLS with a certificate valid for the
    host, to a server that offers REQUIRETLS; when no host does, it fails (5.7.30).
    """
    request = request or Request()
    attempts: list[DeliveryAttempt] = []
    try:
        hosts = _connections(settings, domain, verify=request.require_tls)
    except MxError as exc:
        state = DeliveryState.FAILED if exc.permanent else DeliveryState.DEFERRED
        code = 550 if exc.permanent else 451
        attempts.append(
            DeliveryAttempt(domain=domain, host="", outcome=state.value, detail=str(exc))
        )
        detail = f"{code} {exc.status} {exc}"
        return {r: Result(state, exc.status, detail) for r in recipients}, attempts
    plan = plan_hosts(hosts, tls_log, request.require_tls, optional)
    if not plan:
        reason = f"no MX host of {domain} is named by its MTA-STS policy"
        state, status = (
            (DeliveryState.FAILED, "5.7.30")
            if request.require_tls
            else (DeliveryState.DEFERRED, "4.7.5")
        )
        attempts.append(DeliveryAttempt(domain=domain, host="", outcome=state.value, detail=reason))
        code = 550 if state == DeliveryState.FAILED else 451
        return {r: Result(state, status, f"{code} {status} {reason}") for r in recipients}, attempts
    results: dict[str, Result] = {}
    remaining = list(recipients)
    last = Result(DeliveryState.DEFERRED, "4.4.1", "no host could be reached")
    for host, conn, strict in plan:
        if not remaining:
            break
        attempt = partial(_send_once, sender=sender, rcpts=remaining, data=data, request=request)
        try:
            outcome = send_logged(host, conn, strict, attempt, tls_log)
        except HostUnavailable as exc:
            status = exc.reply.status if exc.reply else "4.4.1"
            last = Result(DeliveryState.DEFERRED, status, str(exc), host.name)
            if exc.tls_failure:  # a policy's TLS requirement not met: retried later
                last = Result(DeliveryState.DEFERRED, "4.7.5", str(exc), host.name)
            if request.require_tls and (exc.requiretls or exc.tls_failure):
                last = Result(DeliveryState.FAILED, "5.7.30", _requiretls_refusal(exc), host.name)
            attempts.append(
                DeliveryAttempt(
                    domain=domain, host=_where(host), outcome="unavailable", detail=str(exc)[:2000]
                )
            )
            log.info("relay to %s via %s: %s", domain, host.name, exc)
            continue
        for rcpt, reply in outcome.accepted.items():
            results[rcpt] = Result(
                DeliveryState.RELAYED, reply.status, str(reply), host.name, outcome.dsn
            )
        for rcpt, reply in outcome.permanent.items():
            results[rcpt] = Result(DeliveryState.FAILED, reply.status, str(reply), host.name)
        remaining = list(outcome.temporary)
        for rcpt, reply in outcome.temporary.items():
            last = Result(DeliveryState.DEFERRED, reply.status, str(reply), host.name)
            results[rcpt] = last
        attempts.append(
            DeliveryAttempt(
                domain=domain,
                host=_where(host),
                outcome=_summary(outcome),
                detail=(f"tls={'yes' if outcome.tls else 'no'} " + _details(outcome))[:2000],
            )
        )
    for rcpt in remaining:
        results.setdefault(rcpt, last)
    return results, attempts


def _send_once(
    conn: Connection, sender: str, rcpts: list[str], data: bytes, request: Request
) -> Outcome:
    """One transaction; a host whose opportunistic STARTTLS breaks is tried once more in
    clear text (never when TLS is required)."""
    try:
        return send(conn, sender, rcpts, data, request)
    except HostUnavailable as exc:
        if not (exc.tls_failed and conn.tls == "starttls" and not conn.verify):
            raise
    return send(replace(conn, tls="none"), sender, rcpts, data, request)


def _requiretls_refusal(exc: HostUnavailable) -> str:
    """The diagnostic of a REQUIRETLS message no host could take."""
    return f"550 5.7.30 REQUIRETLS support required: {exc}"


def _where(host: MailHost) -> str:
    return f"{host.name}[{host.address}]" if host.name != host.address else host.name


def _summary(outcome: Outcome) -> str:
    if outcome.accepted and not (outcome.temporary or outcome.permanent):
        return "sent"
    if outcome.accepted:
        return "partial"
    return "temporary" if outcome.temporary else "permanent"


def _details(outcome: Outcome) -> str:
    parts = [
        f"{r}: {reply}"
        for kind in (outcome.accepted, outcome.temporary, outcome.permanent)
        for r, reply in kind.items()
    ]
    return "; ".join(parts)


@app.task(name=RELAY, bind=True, ignore_result=True)
def relay(self: Task, *queue_ids: str) -> None:
    """Celery task: the relay stage, per message (a deferral is retried by the sweeper)."""
    for queue_id in queue_ids:
        dispatch(app, relay_message(queue_id))
