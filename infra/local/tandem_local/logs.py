"""The functions' CloudWatch Logs, followed and printed readably: one colour and a short name per function."""

from __future__ import annotations

import contextlib
import json
import re
import sys
import threading
import time
from datetime import datetime
from typing import Any, TextIO

from tandem_local.config import LocalCloud
from tandem_local.stack import Stack

_COLOURS = ["36", "35", "33", "32", "34", "31"]
_REPORT = re.compile(r"^REPORT RequestId: (\S+)\s+Duration: ([\d.]+) ms.*?Memory Used: (\d+) MB")


def short_names(stack: Stack) -> dict[str, str]:
    """Log group → the function's logical id (what template.yaml calls it)."""
    return {f"/aws/lambda/{physical}": logical for logical, physical in stack.functions().items()}


_POWERTOOLS_KEYS = {
    "level", "location", "message", "timestamp", "service", "cold_start", "function_name",
    "function_memory_size", "function_arn", "function_request_id", "xray_trace_id", "sampling_rate",
}  # fmt: skip


def _structured(record: dict[str, Any]) -> str:
    """A Powertools JSON line as level, message and the keys that matter; an EMF line as its metrics."""
    if "_aws" in record:
        names = [m["Name"] for d in record["_aws"]["CloudWatchMetrics"] for m in d["Metrics"]]
        return "METRIC " + " ".join(f"{name}={record.get(name)}" for name in names)
    extras = " ".join(f"{k}={v}" for k, v in record.items() if k not in _POWERTOOLS_KEYS)
    return f"{record.get('level', '')} {record.get('message', '')} {extras}".rstrip()


def render(function: str, message: str, colour: str | None, width: int) -> str:
    """One readable terminal line for one log event."""
    text = message.rstrip("\n")
    if text.startswith("{"):
        with contextlib.suppress(json.JSONDecodeError, KeyError, TypeError):  # not ours: shown as it is
            text = _structured(json.loads(text))
    elif match := _REPORT.match(text):
        text = f"REPORT {match.group(2)} ms, {match.group(3)} MB ({match.group(1)[:8]})"
    label = f"{function:<{width}}"
    if colour:
        label = f"\033[{colour}m{label}\033[0m"
    return f"{label} | {text}"


def _key(event: dict[str, Any]) -> tuple[str, int, str]:
    # MiniStack's events have no eventId; stream, time and text identify one.
    return (event.get("logStreamName", ""), event["timestamp"], event["message"])


def follow(
    cloud: LocalCloud,
    stack: Stack,
    stop: threading.Event,
    only: str | None = None,
    out: TextIO = sys.stdout,
    since_ms: int | None = None,
    poll_seconds: float = 1.0,
) -> None:
    """Print new log events of every function (or one) until `stop` is set."""
    logs = cloud.client("logs")
    groups = {g: name for g, name in short_names(stack).items() if only in (None, name)}
    width = max((len(n) for n in groups.values()), default=10)
    colours = {name: _COLOURS[i % len(_COLOURS)] for i, name in enumerate(sorted(groups.values()))}
    use_colour = out.isatty()
    cursor = since_ms if since_ms is not None else int(time.time() * 1000)
    seen: set[tuple[str, int, str]] = set()
    while not stop.is_set():
        batch = []
        for group, name in groups.items():
            try:
                pages = logs.get_paginator("filter_log_events").paginate(logGroupName=group, startTime=cursor)
                for page in pages:
                    batch += [(event, name) for event in page.get("events", []) if _key(event) not in seen]
            except logs.exceptions.ResourceNotFoundException:
                continue  # no invocation yet: the group appears with the first one
        for event, name in sorted(batch, key=lambda pair: pair[0]["timestamp"]):
            seen.add(_key(event))
            stamp = datetime.fromtimestamp(event["timestamp"] / 1000).astimezone().strftime("%H:%M:%S")
            out.write(
                f"{stamp} {render(name, event['message'], colours[name] if use_colour else None, width)}\n"
            )
        out.flush()
        if batch:
            cursor = max(event["timestamp"] for event, _ in batch)
        stop.wait(poll_seconds)
