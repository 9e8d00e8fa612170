"""HTML mail made safe for a browser with nh3: no script, no handlers, no remote images.

Remote images (``http:``/``https:`` sources) are dropped unless the user asked for them:
they would tell the sender when and where the mail was read. Links open in a new tab
without a referrer. nh3 (~1.5 MiB) is imported by the first message shown, not by the
web app's start.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache


@cache
def allowed() -> tuple[set[str], dict[str, set[str]]]:
    """The tags and, per tag, the attributes kept: nh3's defaults and a few of old mail."""
    import nh3

    tags = set(nh3.ALLOWED_TAGS) | {"font", "center", "span", "div", "table", "u"}
    attributes: dict[str, set[str]] = {
        tag: set(attrs) for tag, attrs in nh3.ALLOWED_ATTRIBUTES.items()
    }
    for tag in ("td", "th", "table", "div", "p", "span", "font"):
        attributes.setdefault(tag, set()).update({"align", "colspan", "rowspan", "color"})
    attributes.setdefault("img", set()).update({"src", "alt", "width", "height", "title"})
    attributes["a"] = {"href", "title"}
    return tags, attributes


URL_SCHEMES = {"http", "https", "mailto"}
REMOTE_PREFIXES = ("http://", "https://", "//")


@dataclass(frozen=True)
class CleanHtml:
    """Sanitised HTML and how many remote images were held back."""

    html: str
    blocked_images: int


def sanitize_html(html: str, allow_remote_images: bool = False) -> CleanHtml:
    """The HTML with everything active removed; remote images only when allowed."""
    blocked = 0

    def keep(tag: str, attribute: str, value: str) -> str | None:
        nonlocal blocked
        if tag == "img" and attribute == "src":
            if value.strip().lower().startswith(REMOTE_PREFIXES):
                if not allow_remote_images:
                    blocked += 1
                    return None
                return value
            return None  # cid:, data: and relative sources are not served
        return value

    import nh3

    tags, attributes = allowed()
    clean = nh3.clean(
        html,
        tags=tags,
        attributes=attributes,
        url_schemes=URL_SCHEMES,
        attribute_filter=keep,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return CleanHtml(clean, blocked)
