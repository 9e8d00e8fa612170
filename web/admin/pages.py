"""The admin area's pages under /admin: users, domains, aliases, the queue, pipeline figures,
the login audit and the DMARC reports received. Every page and form is for admins only
(403 for anyone else)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask.typing import ResponseReturnValue
from flask_login import login_required

from web.admin import domain_operations as domain_ops
from web.admin import operations as ops
from web.admin.guard import page_admin
from web.resources import get_db_session

bp = Blueprint("admin", __name__, url_prefix="/admin")
NO_STORE = {"Cache-Control": "no-store"}


@bp.before_request
@login_required
def _admins_only() -> None:
    page_admin()


def _page(template: str, **context: object) -> ResponseReturnValue:
    return render_template(f"admin/{template}", **context), 200, NO_STORE


def _done(endpoint: str, message: str, **values: Any) -> ResponseReturnValue:
    flash(message, "info")
    return redirect(url_for(endpoint, **values), 303)


def _failed(endpoint: str, error: Exception, **values: Any) -> ResponseReturnValue:
    flash(str(error), "error")
    return redirect(url_for(endpoint, **values), 303)


@bp.get("/")
def index() -> ResponseReturnValue:
    """The admin area starts at the users page."""
    return redirect(url_for("admin.users"))


@bp.get("/users")
def users() -> ResponseReturnValue:
    """Every account with usage, quota and flags, and the forms that change them."""
    return _page("users.html", users=ops.users(get_db_session()))


@bp.post("/users")
def add_user() -> ResponseReturnValue:
    """Create an account."""
    form = request.form
    try:
        address = ops.create_user(
            get_db_session(),
            form.get("email", ""),
            form.get("password", ""),
            admin=form.get("is_admin") == "on",
            quota=form.get("quota", ""),
        )
    except ops.AdminInputError as exc:
        return _failed("admin.users", exc)
    return _done("admin.users", f"Added {address}.")


@bp.post("/users/<path:address>/<action>")
def change_user(address: str, action: str) -> ResponseReturnValue:
    """Disable, enable, reset the password, set the quota, grant/withdraw admin, delete."""
    form = request.form
    changes: dict[str, dict[str, Any]] = {
        "disable": {"disabled": True},
        "enable": {"disabled": False},
        "password": {"password": form.get("password", "")},
        "quota": {"quota": form.get("quota", "")},
        "admin-on": {"is_admin": True},
        "admin-off": {"is_admin": False},
    }
    session = get_db_session()
    try:
        if action == "delete":
            target = ops.remove_user(session, address, purge=form.get("purge") == "on")
            return _done("admin.users", f"Deleted {target}.")
        if action not in changes:
            abort(404)
        target = ops.update_user(session, address, changes[action])
    except ops.AdminNotFound:
        abort(404)
    except ops.AdminInputError as exc:
        return _failed("admin.users", exc)
    return _done("admin.users", f"Updated {target} ({action}).")


@bp.get("/domains")
def domains() -> ResponseReturnValue:
    """Every domain with its users and DKIM selectors, and the form that adds one."""
    return _page("domains.html", domains=domain_ops.domain_list(get_db_session()))


@bp.post("/domains")
def add_domain() -> ResponseReturnValue:
    """Set a domain up: its DKIM keys are made; its page shows the records to publish."""
    try:
        name = domain_ops.create_domain(get_db_session(), request.form.get("name", ""))
    except ops.AdminInputError as exc:
        return _failed("admin.domains", exc)
    return _done("admin.domain", f"{name} is set up: publish these records.", name=name)


@bp.get("/domains/<name>")
def domain(name: str) -> ResponseReturnValue:
    """One domain's DNS records (as a table and a zone), its selectors, a DNS check on ?check=1."""
    session = get_db_session()
    try:
        detail = domain_ops.domain_detail(session, name)
        check = domain_ops.check_dns(session, name) if request.args.get("check") == "1" else None
    except (ops.AdminNotFound, ops.AdminInputError):
        abort(404)
    return _page("domain.html", d=detail, check=check)


@bp.post("/domains/<name>/<action>")
def change_domain(name: str, action: str) -> ResponseReturnValue:
    """A DKIM rotation step (start, activate, retire), or the removal of the domain."""
    session = get_db_session()
    try:
        if action == "remove":
            removed = domain_ops.remove_domain(session, name)
            return _done("admin.domains", f"Removed {removed}.")
        if action not in domain_ops.STEPS:
            abort(404)
        force = request.form.get("force") == "on"
        summary = domain_ops.rotate_dkim(session, name, action, force=force)
    except ops.AdminNotFound:
        abort(404)
    except ops.AdminInputError as exc:
        return _failed("admin.domain", exc, name=name)
    return _done("admin.domain", f"{name}: {summary}.", name=name)


@bp.get("/aliases")
def aliases() -> ResponseReturnValue:
    """Every alias, with add and delete forms."""
    return _page("aliases.html", aliases=ops.aliases(get_db_session()))


@bp.post("/aliases")
def add_alias() -> ResponseReturnValue:
    """Add an alias destination."""
    try:
        ops.create_alias(
            get_db_session(), request.form.get("source", ""), request.form.get("destination", "")
        )
    except ops.AdminInputError as exc:
        return _failed("admin.aliases", exc)
    return _done("admin.aliases", "Alias added.")


@bp.post("/aliases/delete")
def delete_alias() -> ResponseReturnValue:
    """Delete one alias destination (or every destination of the source)."""
    try:
        count = ops.remove_alias(
            get_db_session(), request.form.get("source", ""), request.form.get("destination")
        )
    except (ops.AdminInputError, ops.AdminNotFound) as exc:
        return _failed("admin.aliases", exc)
    return _done("admin.aliases", f"{count} alias row(s) deleted.")


@bp.get("/queue")
def queue() -> ResponseReturnValue:
    """The queue (finished messages too with ?all=1)."""
    show_all = request.args.get("all") == "1"
    rows = ops.queue(get_db_session(), show_all=show_all)
    return _page("queue.html", messages=rows, show_all=show_all)


@bp.get("/queue/<queue_id>")
def message(queue_id: str) -> ResponseReturnValue:
    """One message's envelope, deliveries, attempts and history."""
    try:
        detail = ops.queued_message(get_db_session(), queue_id)
    except ops.AdminNotFound:
        abort(404)
    return _page("message.html", m=detail)


@bp.post("/queue/<queue_id>/retry")
def retry(queue_id: str) -> ResponseReturnValue:
    """Hand the message to the workers now."""
    try:
        summary = ops.retry(get_db_session(), queue_id)
    except ops.AdminNotFound:
        abort(404)
    except ops.AdminInputError as exc:
        return _failed("admin.message", exc, queue_id=queue_id)
    return _done("admin.message", f"{queue_id}: {summary}.", queue_id=queue_id)


@bp.post("/queue/<queue_id>/delete")
def delete_message(queue_id: str) -> ResponseReturnValue:
    """Remove the message for good."""
    try:
        qid = ops.remove_message(get_db_session(), queue_id)
    except ops.AdminNotFound:
        abort(404)
    return _done("admin.queue", f"{qid} deleted.")


@bp.get("/pipeline")
def pipeline() -> ResponseReturnValue:
    """Counts, latency and failures per stage over the last day, and a link to Flower."""
    hours = request.args.get("hours", "24")
    figures = ops.pipeline(get_db_session(), int(hours) if hours.isdigit() else 24)
    return _page("pipeline.html", figures=figures)


@bp.get("/logins")
def logins() -> ResponseReturnValue:
    """The login audit: the latest web and API login attempts."""
    return _page("logins.html", events=ops.login_audit(get_db_session()))


@bp.get("/dmarc")
def dmarc() -> ResponseReturnValue:
    """DMARC aggregate reports others sent about our domains (``mailrs dmarc import``)."""
    domain = request.args.get("domain", "")[:253]
    from mailrs.inbound.dmarc_reports import recent_reports  # the one page that shows them

    reports = recent_reports(get_db_session(), domain, 50)
    return _page("dmarc.html", reports=reports, domain=domain)
