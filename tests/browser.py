"""Headless Chromium for the dashboard page's tests: Debian's /usr/bin/chromium driven by Playwright.

Playwright never downloads a browser here (this machine reaches package registries only): it drives
the one infra/install-browser.sh installs. Where that could not be installed, the tests skip, and
the reason says so in pytest's summary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import BrowserContext, Page

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parent.parent / ".test-artifacts"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
# Without the background-networking flags, Chromium calls Google's hosts at start, refused here.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def require_browser() -> None:
    """Skip, loudly, where the browser tests cannot run."""
    if not CHROMIUM.exists():
        pytest.skip(
            "NO BROWSER: /usr/bin/chromium is missing; run infra/install-browser.sh (make test and "
            ".ci/run do) — the dashboard page's browser tests did NOT run"
        )
    pytest.importorskip("playwright.sync_api", reason="NO PLAYWRIGHT: install requirements/dev.lock")


@dataclass
class Traffic:
    """Every request the page made, and what went wrong in it (uncaught errors, CSP refusals)."""

    requests: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)
    console_errors: list[str] = field(default_factory=list)

    def watch(self, page: Page) -> None:
        page.on("request", lambda request: self.requests.append(request.url))
        page.on("pageerror", lambda error: self.page_errors.append(str(error)))
        page.on(
            "console", lambda message: message.type == "error" and self.console_errors.append(message.text)
        )

    def foreign(self, origin: str) -> list[str]:
        """The requests that went anywhere but `origin` (blob: and data: URLs are the page's own)."""
        own = urlsplit(origin).netloc
        return [
            url
            for url in self.requests
            if urlsplit(url).scheme not in ("blob", "data") and urlsplit(url).netloc != own
        ]


@contextmanager
def chromium(user_data_dir: Path, **options: Any) -> Iterator[BrowserContext]:
    """A fresh headless Chromium (its own empty profile), English and UTC so numbers read the same."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(user_data_dir),
            executable_path=str(CHROMIUM),
            headless=True,
            args=CHROMIUM_ARGS,
            viewport=DESKTOP,
            locale="en-US",
            timezone_id="UTC",
            **options,
        )
        try:
            yield context
        finally:
            context.close()


def screenshots(page: Page, name: str) -> list[Path]:
    """Full-page screenshots at desktop and phone widths, in .test-artifacts/ (kept after the run)."""
    ARTIFACTS.mkdir(exist_ok=True)
    taken = []
    for width, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        page.wait_for_timeout(300)  # the charts redraw at the new width
        path = ARTIFACTS / f"{name}-{width}.png"
        page.screenshot(path=str(path), full_page=True)
        taken.append(path)
    page.set_viewport_size(DESKTOP)
    return taken


def overflow_at_phone_width(page: Page) -> list[str]:
    """At a phone's width, once the page has settled (Chart.js redraws a chart on a resize observer,
    a frame or more after the viewport changes): what runs off the side, outside a `.scroll` box
    ("tag#id.class"), and "the page" if it scrolls sideways at all. Empty when nothing does."""
    page.set_viewport_size(PHONE)
    fits = f"document.documentElement.scrollWidth <= {PHONE['width']}"
    # Polled from here: the page's CSP refuses the eval that page.wait_for_function needs.
    for _ in range(50):  # 5 s at most; what is still too wide is said below
        if page.evaluate(fits):
            break
        page.wait_for_timeout(100)
    too_wide: list[str] = page.evaluate(
        "[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > "
        "innerWidth + 1 && !e.parentElement.closest('.scroll'))"
        ".map(e => `${e.tagName}#${e.id}.${e.className}`)"
    )
    return too_wide + ([] if page.evaluate(fits) else ["the page"])
