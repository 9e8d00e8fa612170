"""Accessibility in Chromium: axe-core (from npm, installed outside the repository by
.ci/run into ~/.cache/mailrs-axe) is injected into every main page of the webmail and
the test fails on any serious or critical violation of WCAG 2.1 A/AA (labels, contrast,
names, roles...); the focus order of the top bar and of compose is checked with Tab."""

from __future__ import annotations

import json

import pytest
from support.browser import CHROMIUM, axe_script, launch, log_in
from support.services import require_tool

from mailrs.store.maildir import MaildirStore

pytestmark = pytest.mark.slow

PAGES = (
    "/",
    "/?view=list",
    "/?folder=Sent",
    "/conversation/4?folder=INBOX",
    "/message/5?folder=INBOX",
    "/compose",
    "/compose?reply=5&folder=INBOX",
    "/search?q=cake&from=bob",
    "/folders",
    "/contacts",
    "/settings",
    "/settings/filters",
    "/chat",
    "/no/such/page",
)
DARK_PAGES = ("/", "/message/5?folder=INBOX", "/compose", "/contacts", "/settings")
RUN = """async () => {
  const result = await axe.run(document, {
    runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]},
  });
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => ({id: v.id, impact: v.impact, help: v.help,
                  targets: v.nodes.slice(0, 5).map((n) => n.target.join(" "))}));
}"""


def violations(page: object, script: str) -> list[dict[str, object]]:
    """The serious and critical axe-core violations of the page shown."""
    page.add_script_tag(content=script)  # type: ignore[attr-defined]
    return page.evaluate(RUN)  # type: ignore[attr-defined,no-any-return]


def test_axe_finds_no_serious_violation(site: tuple[str, MaildirStore]) -> None:
    require_tool(CHROMIUM)
    script = axe_script()
    sync_api = pytest.importorskip("playwright.sync_api")
    base, _store = site
    found: dict[str, list[dict[str, object]]] = {}
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        # the pages' CSP (script-src 'self') would refuse the injected axe script
        page = browser.new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)
        page.goto(f"{base}/login")
        found["/login"] = violations(page, script)
        log_in(page, base)
        for path in PAGES:
            page.goto(base + path)
            found[path] = violations(page, script)
        for width in (390, 768):
            page.set_viewport_size({"width": width, "height": 900})
            page.goto(f"{base}/")
            found[f"/ at {width} px"] = violations(page, script)
        page.set_viewport_size({"width": 1280, "height": 900})
        # the check is live: an input without a label is reported
        page.goto(f"{base}/compose")
        page.evaluate("document.querySelector('main').append(document.createElement('input'))")
        assert "label" in [v["id"] for v in violations(page, script)]
        page.emulate_media(color_scheme="dark")  # the dark palette's contrast too
        for path in DARK_PAGES:
            page.goto(base + path)
            found[f"{path} (dark)"] = violations(page, script)
        browser.close()
    bad = {path: v for path, v in found.items() if v}
    assert not bad, json.dumps(bad, indent=1, ensure_ascii=False)
    assert len(found) == len(PAGES) + len(DARK_PAGES) + 3


def test_focus_order(site: tuple[str, MaildirStore]) -> None:
    require_tool(CHROMIUM)
    sync_api = pytest.importorskip("playwright.sync_api")
    base, _store = site
    with sync_api.sync_playwright() as pw:
        browser = launch(pw)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        log_in(page, base)

        def tab_through(count: int) -> list[str]:
            names = []
            for _ in range(count):
                page.keyboard.press("Tab")
                names.append(
                    page.evaluate(
                        "() => { const e = document.activeElement;"
                        " return e.id || e.getAttribute('aria-label') || e.textContent.trim(); }"
                    )
                )
            return names

        page.goto(f"{base}/compose")
        order = tab_through(7)
        assert order[:2] == ["Skip to content", "mailrs"]
        page.goto(f"{base}/compose")
        page.keyboard.press("Tab")
        page.keyboard.press("Enter")  # the skip link: focus goes to the page's content
        order = tab_through(7)
        assert order == ["to", "cc", "bcc", "subject", "text", "attachments", "send-button"], order
        browser.close()
