"""The mail the local cloud's SES accepted: MiniStack keeps every message it was asked to send
(nothing leaves the machine) and lists them at GET /_ministack/ses/messages."""

from __future__ import annotations

from typing import Any

import requests

from tandem_local.config import LocalCloud

MESSAGES_PATH = "/_ministack/ses/messages"


def sent_mail(cloud: LocalCloud, to: str | None = None) -> list[dict[str, Any]]:
    """Every message sent (oldest first), of any account; only those to `to` if given. Each has
    Source, To, Subject, BodyText, BodyHtml and Timestamp, as the emulator records them."""
    answer = requests.get(f"{cloud.endpoint}{MESSAGES_PATH}", timeout=10)
    answer.raise_for_status()
    accounts: dict[str, list[dict[str, Any]]] = answer.json().get("messages", {})
    messages = [message for listed in accounts.values() for message in listed]
    messages.sort(key=lambda message: float(message.get("Timestamp") or 0))
    return [m for m in messages if to is None or to in (m.get("To") or [])]


def verify_address(cloud: LocalCloud, address: str) -> None:
    """What the owner of `address` does when SES mails them a confirmation link: in SES's sandbox
    (new accounts, and the emulator) mail goes only to verified addresses."""
    cloud.client("ses").verify_email_identity(EmailAddress=address)
