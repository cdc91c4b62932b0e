"""How the events our functions get on the local cloud differ from AWS's, key for key, and why.

The one place these differences are listed. tests/e2e/test_fidelity.py compares
the events the emulator delivers with `sam local generate-event` output and
fails on any difference not listed here (and on a listed one that went away).
"""

from __future__ import annotations

from typing import Any

# Maps whose keys are data (header names, parameters, attributes), not event structure.
OPAQUE = {
    "headers",
    "queryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext.authorizer",  # compared on its own: our authorizer is a Lambda one, the sample's JWT
    "messageAttributes",
}

# path → reason. "-" means: in AWS's event, not in the local one; "+": only locally.
HTTP_API_DIFFERENCES: dict[str, str] = {
    "-cookies": "MiniStack does not split the Cookie header into `cookies`; Tandem reads no cookie",
    "-requestContext.domainPrefix": "MiniStack omits it; Tandem does not read it",
    "-requestContext.authentication": "AWS sends it only with mutual TLS, which Tandem's API does not use",
    "-stageVariables": "AWS sends it only when the stage defines variables; Tandem's defines none",
}
SQS_DIFFERENCES: dict[str, str] = {}


def key_paths(event: Any, prefix: str = "") -> set[str]:
    """Every key of a nested event as a dotted path; a list stands for its first element."""
    paths: set[str] = set()
    if isinstance(event, dict):
        for key, value in event.items():
            path = f"{prefix}{key}"
            paths.add(path)
            if path not in OPAQUE and key not in OPAQUE:
                paths |= key_paths(value, f"{path}.")
    elif isinstance(event, list) and event and isinstance(event[0], dict):
        paths |= key_paths(event[0], prefix)
    return paths


def differences(aws: Any, local: Any) -> set[str]:
    """ "-path" / "+path" for each key only in AWS's event / only in the local one (topmost of a subtree)."""
    ours, theirs = key_paths(local), key_paths(aws)
    missing, extra = theirs - ours, ours - theirs

    def topmost(paths: set[str]) -> set[str]:
        return {p for p in paths if not any(p.startswith(f"{q}.") for q in paths)}

    return {f"-{p}" for p in topmost(missing)} | {f"+{p}" for p in topmost(extra)}
