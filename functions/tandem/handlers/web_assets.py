"""The dashboard page's files, packaged with the function code (functions/tandem/web/) and read
once per warm process: an allow-list of names, each with its content type, ETag and headers.

The page is static: it asks for the API key and calls the API from the browser, so serving it
needs nothing but these files. Chart.js (`chart.umd.min.js`) is copied into assets/ from
web/node_modules by `make web` (gitignored): the page never loads anything from another host.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

WEB_ROOT = Path(__file__).resolve().parent.parent / "web"

_JS = "text/javascript; charset=utf-8"
# Every file /assets/{file} may answer; any other name is a 404, whatever is on disk.
ASSETS: dict[str, str] = {
    "dashboard.css": "text/css; charset=utf-8",
    "dashboard.js": _JS,
    "api.js": _JS,
    "charts.js": _JS,
    "format.js": _JS,
    "reports.js": _JS,
    "chart.umd.min.js": _JS,
    "favicon.svg": "image/svg+xml",
}

# Only this origin: no inline script or style (the page has none), no other host for scripts,
# styles, images or API calls, and no framing. A report's download link is a navigation, which
# CSP leaves alone.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
# Names are not content-hashed, so a browser revalidates every file (a 304 by ETag when unchanged):
# a deploy never leaves a new page running an old module.
CACHE_CONTROL = "no-cache"


@dataclass(frozen=True)
class WebFile:
    body: str
    content_type: str
    etag: str

    def headers(self) -> dict[str, str]:
        return {
            **SECURITY_HEADERS,
            "Cache-Control": CACHE_CONTROL,
            "ETag": self.etag,
            "Vary": "Accept-Encoding",
        }

    def is_current(self, if_none_match: str | None) -> bool:
        """True when the browser's copy (its `If-None-Match`) is this file: answer 304."""
        offered = {tag.strip().removeprefix("W/") for tag in (if_none_match or "").split(",")}
        return self.etag in offered or "*" in offered


class MissingWebFile(Exception):
    """An allow-listed file is not in the package: the build skipped `make web`."""


def page() -> WebFile:
    """The dashboard page itself."""
    return _read("index.html", "text/html; charset=utf-8")


def asset(name: str) -> WebFile | None:
    """An allow-listed file of assets/; None for any other name."""
    content_type = ASSETS.get(name)
    return None if content_type is None else _read(f"assets/{name}", content_type)


@cache
def _read(relative: str, content_type: str) -> WebFile:
    try:
        data = (WEB_ROOT / relative).read_bytes()
    except FileNotFoundError as missing:
        raise MissingWebFile(f"{relative} is not packaged: run `make web` before building") from missing
    etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
    return WebFile(body=data.decode("utf-8"), content_type=content_type, etag=etag)
