"""The admin area in headless Chromium against the web app under gunicorn: an admin logs
in, sees every account with its quota, sets one and opens the other admin pages, adds a
domain, reads its DNS records, checks them against a loopback DNS server and starts a DKIM
key rotation; a non-admin sees no Admin link and gets 403 on every admin page.
Screenshots go to the test's tmp dir and to /work/team/screenshots when it exists."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from support.config import provision
from support.dns import DnsServer
from support.gunicorn import gunicorn_web
from support.services import require_tool

from mailrs.accounts.users import set_admin
from mailrs.config import load_settings
from mailrs.db.engine import Database

pytestmark = pytest.mark.slow

ADMIN = "alice@example.test"
USER = "bob@example.test"
DOMAIN = "shop.example"
CHROMIUM = "/usr/bin/chromium"
TEAM_SCREENSHOTS = Path("/work/team/screenshots")


def test_admin_area_in_a_browser(tmp_path: Path) -> None:
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    config = provision(tmp_path, users=(ADMIN, USER))
    db = Database.from_settings(load_settings(config, environ={}))
    with db.session() as session:
        set_admin(session, ADMIN, True)
    db.dispose()
    shots = tmp_path / "screenshots"
    shots.mkdir()

    dns_server = DnsServer([])
    config.write_text(config.read_text() + f'[relay]\ndns_servers = ["{dns_server.address}"]\n')

    with dns_server, gunicorn_web(config) as web, sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 860})
            page.goto(f"{web.base}/login")
            page.fill("#email", ADMIN)
            page.fill("#password", "alice password")
            page.click("button[type=submit]")
            page.wait_for_url(f"{web.base}/")
            page.click("#admin-link")
            page.wait_for_url(f"{web.base}/admin/users")
            row = page.locator(f'tr[data-address="{USER}"]')
            assert row.locator(".quota").inner_text() == "unlimited"
            row.locator('input[name="quota"]').fill("2G")
            row.locator("button", has_text="Set quota").click()
            page.wait_for_selector(".notice-info")
            row = page.locator(f'tr[data-address="{USER}"]')
            assert row.locator(".quota").inner_text() == "2.0 GiB"
            page.screenshot(path=str(shots / "admin-users.png"))
            for path, marker in (
                ("/admin/aliases", "#aliases"),
                ("/admin/queue", "#queue"),
                ("/admin/pipeline", "#stages"),
                ("/admin/logins", "#logins"),
            ):
                response = page.goto(f"{web.base}{path}")
                assert response is not None and response.status == 200, path
                page.wait_for_selector(marker)
            assert ADMIN in page.inner_text("#logins")  # this very login is in the audit
            page.screenshot(path=str(shots / "admin-logins.png"))

            page.click(".admin-nav >> text=Domains")
            page.wait_for_url(f"{web.base}/admin/domains")
            page.fill("#domain-name", DOMAIN)
            page.click("#add-domain button[type=submit]")
            page.wait_for_url(f"{web.base}/admin/domains/{DOMAIN}")
            assert "publish these records" in page.inner_text(".notice-info")
            records = page.inner_text("#records")
            assert "_dmarc.shop.example." in records and "-ed25519._domainkey" in records
            assert page.inner_text("#zone").startswith(f"$ORIGIN {DOMAIN}.")
            page.click("#check-dns")
            page.wait_for_selector("#check")
            assert page.inner_text("#check-summary") == "14 of 14 records missing or wrong."
            page.screenshot(path=str(shots / "admin-domain.png"), full_page=True)
            first = page.inner_text("#selector")
            page.click("#rotate-start")
            page.wait_for_selector("#next-selector")
            assert page.inner_text("#next-selector") != first
            assert page.locator("#rotate-activate").is_visible()
            page.goto(f"{web.base}/admin/domains")
            assert DOMAIN in page.inner_text(f'tr[data-domain="{DOMAIN}"]')

            other = browser.new_context().new_page()
            other.goto(f"{web.base}/login")
            other.fill("#email", USER)
            other.fill("#password", "bob password")
            other.click("button[type=submit]")
            other.wait_for_url(f"{web.base}/")
            assert other.locator("#admin-link").count() == 0
            for path in (
                "/admin/users",
                "/admin/domains",
                f"/admin/domains/{DOMAIN}",
                "/admin/queue",
                "/admin/logins",
                "/api/admin/users",
                "/api/admin/domains",
            ):
                response = other.goto(f"{web.base}{path}")
                assert response is not None and response.status == 403, path
            other.screenshot(path=str(shots / "non-admin-403.png"))
        finally:
            browser.close()
    if TEAM_SCREENSHOTS.is_dir():
        for shot in shots.iterdir():
            shutil.copy(shot, TEAM_SCREENSHOTS / f"admin-{shot.name}")
