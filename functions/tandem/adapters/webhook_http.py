"""HTTPS calls to tenants' endpoints with the standard library (urllib): no dependency to keep.

Redirects are not followed: a signed call goes where the tenant said, or fails (a 3xx status).
"""

import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *_args: Any, **_kwargs: Any) -> None:
        return None  # urllib then raises HTTPError with the 3xx status


class UrllibWebhooks:
    """Implements `tandem.logic.ports.WebhookSender`."""

    def __init__(self) -> None:
        self._opener = urllib.request.build_opener(_NoRedirects())

    def post(self, url: str, body: bytes, headers: Mapping[str, str], timeout_seconds: float) -> int:
        if not url.lower().startswith(("https://", "http://")):
            raise ValueError("a webhook URL is http(s)")
        request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
            url, data=body, headers={"User-Agent": "Tandem-Webhooks/1", **headers}, method="POST"
        )
        try:
            with self._opener.open(request, timeout=timeout_seconds) as answer:
                return int(answer.status)
        except urllib.error.HTTPError as error:  # an answer, not 2xx
            return int(error.code)
