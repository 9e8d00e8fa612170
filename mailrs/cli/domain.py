"""``mailrs domain``: add (DKIM keys, DNS records), check DNS, rotate DKIM, list, remove."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import click
from sqlalchemy.orm import Session

from mailrs.accounts import domains
from mailrs.accounts.dns_check import OK, check_records
from mailrs.accounts.dns_records import dkim_records, host_records, zone_text
from mailrs.cli.options import config_option, load_or_fail
from mailrs.config import ConfigError, Settings
from mailrs.db.engine import Database
from mailrs.errors import DomainError
from mailrs.outbound.mx import make_resolver


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    """A database session; domain and key problems become one-line errors."""
    db = Database.from_settings(settings)
    try:
        with db.session() as session:
            yield session
    except (DomainError, ConfigError, ValueError, FileExistsError) as exc:
        raise click.ClickException(str(exc)) from None
    finally:
        db.dispose()


@click.group("domain")
def domain_group() -> None:
    """Mail domains: DKIM keys, the DNS records to publish, and checking them."""


@domain_group.command("add")
@config_option
@click.argument("name")
def domain_add(config_path: str | None, name: str) -> None:
    """Set up NAME: create its DKIM keys and print the DNS records to publish."""
    settings = load_or_fail(config_path)
    with _session(settings) as session:
        domain = domains.add_domain(session, settings, name)
        records = domains.records_for(settings, domain)
        click.echo(f"; DNS records for {domain.name}: publish them, then run")
        click.echo(f";   mailrs domain check {domain.name}")
        click.echo(zone_text(domain.name, records), nl=False)
        _echo_host_notes(settings)


def _echo_host_notes(settings: Settings) -> None:
    """Comments naming the hosts that need address records (the addresses are yours)."""
    for record in host_records(settings):
        click.echo(f"; {record.purpose}: {record.name} IN A / AAAA (its public addresses)")


@domain_group.command("records")
@config_option
@click.argument("name")
def domain_records_command(config_path: str | None, name: str) -> None:
    """Print the DNS records NAME needs now (zone-file form)."""
    settings = load_or_fail(config_path)
    with _session(settings) as session:
        domain = domains.get_domain(session, name)
        click.echo(zone_text(domain.name, domains.records_for(settings, domain)), nl=False)
        _echo_host_notes(settings)


@domain_group.command("check")
@config_option
@click.argument("name")
def domain_check(config_path: str | None, name: str) -> None:
    """Query DNS for every record NAME needs; exit 1 if any is missing or wrong."""
    settings = load_or_fail(config_path)
    with _session(settings) as session:
        domain = domains.get_domain(session, name)
        records = domains.records_to_check(settings, domain)
        findings = check_records(make_resolver(settings.relay), domain.name, records)
    bad = 0
    for finding in findings:
        record = finding.record
        line = f"{finding.state.upper():8}{record.type:6}{record.fqdn(domain.name)}"
        if finding.state != OK:
            bad += 1
            line += f"  ({record.purpose})"
            if finding.detail:
                line += f": {finding.detail}"
            line += f"\n        publish: {record.name}\tIN\t{record.type}\t{record.value}"
        click.echo(line)
    if bad:
        click.echo(f"{domain.name}: {bad} of {len(findings)} records missing or wrong", err=True)
        raise SystemExit(1)
    click.echo(f"{domain.name}: all {len(findings)} records are in place")


@domain_group.command("list")
@config_option
def domain_list(config_path: str | None) -> None:
    """List domains, their users and DKIM selectors."""
    settings = load_or_fail(config_path)
    with _session(settings) as session:
        for info in domains.list_domains(session):
            parts = [f"{info.name}\tusers={info.users}\tdkim={info.dkim_selector or '-'}"]
            if info.dkim_next_selector:
                parts.append(f"next={info.dkim_next_selector}")
            if info.dkim_old_selector:
                parts.append(f"old={info.dkim_old_selector}")
            click.echo("\t".join(parts))


@domain_group.command("remove")
@config_option
@click.argument("name")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def domain_remove(config_path: str | None, name: str, yes: bool) -> None:
    """Remove NAME (it must have no users left), its aliases and its DKIM keys."""
    settings = load_or_fail(config_path)
    if not yes:
        click.confirm(f"Remove {name}, its aliases and its DKIM keys?", abort=True)
    with _session(settings) as session:
        domains.remove_domain(session, settings, name)
    click.echo(f"removed {name}")


@domain_group.command("rotate-dkim")
@config_option
@click.argument("name")
@click.option("--activate", is_flag=True, help="Step 2: sign with the new selector from now on.")
@click.option("--retire", is_flag=True, help="Step 3: delete the previous selector's keys.")
@click.option(
    "--force", is_flag=True, help="With --activate: do not check that DNS has the new keys."
)
def domain_rotate_dkim(
    config_path: str | None, name: str, activate: bool, retire: bool, force: bool
) -> None:
    """Rotate NAME's DKIM keys in three steps: new selector, --activate, --retire."""
    if activate and retire:
        raise click.UsageError("--activate and --retire are separate steps")
    settings = load_or_fail(config_path)
    with _session(settings) as session:
        if retire:
            old = domains.retire_old(session, settings, name)
            click.echo(f"retired selector {old}; its keys are deleted.")
            click.echo(
                f"Remove these names from DNS: {old}-rsa._domainkey, {old}-ed25519._domainkey"
            )
            return
        if activate:
            domain = domains.get_domain(session, name)
            nxt = domain.dkim_next_selector
            if nxt and not force:
                expected = dkim_records(settings, domain.name, nxt, "DKIM, next key")
                findings = check_records(make_resolver(settings.relay), domain.name, expected)
                missing = [f for f in findings if f.state != OK]
                if missing:
                    names = ", ".join(f.record.fqdn(domain.name) for f in missing)
                    raise click.ClickException(
                        f"DNS does not show the new keys yet ({names}); publish them "
                        "and wait for the TTL, or pass --force"
                    )
            new = domains.activate_rotation(session, name)
            click.echo(f"signing with selector {new} now; keep the old records published")
            click.echo(f"for a few days, then run: mailrs domain rotate-dkim {name} --retire")
            return
        selector = domains.start_rotation(session, settings, name)
        domain = domains.get_domain(session, name)
        click.echo(f"; new DKIM selector {selector} for {domain.name}: publish these records,")
        click.echo(f"; then run: mailrs domain rotate-dkim {domain.name} --activate")
        records = dkim_records(settings, domain.name, selector, "DKIM, next key")
        click.echo(zone_text(domain.name, records), nl=False)
