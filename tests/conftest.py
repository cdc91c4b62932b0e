"""Shared fixtures: a clean AWS environment, a Lambda context, per-process caches reset between tests."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # `tests.*` and `bench.*` helpers import as packages

from tests.template_model import Resolver  # noqa: E402

# Powertools reads its settings when the Logger is created, at import, as in Lambda,
# where the environment is set before the code loads: set the Globals' now.
for _name, _value in Resolver({}).globals_environment().items():
    os.environ.setdefault(_name, _value)


@pytest.fixture(autouse=True)
def _offline_aws(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """No test but the end-to-end ones may reach a real or local AWS: fake credentials, no endpoint."""
    if request.node.get_closest_marker("e2e"):
        return
    for name in ("AWS_ENDPOINT_URL", "AWS_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    monkeypatch.setenv("AWS_REGION", "eu-west-1")
    monkeypatch.setenv("POWERTOOLS_METRICS_NAMESPACE", "TandemTest")


@pytest.fixture(autouse=True)
def _fresh_process_caches() -> Iterator[None]:
    """Each test is a cold start: settings and clients cached per warm process are forgotten."""
    yield
    for name, module in list(sys.modules.items()):
        if not name.startswith("tandem."):
            continue
        for value in vars(module).values():
            if callable(getattr(value, "cache_clear", None)) and getattr(value, "__module__", None) == name:
                value.cache_clear()


@dataclass
class FakeLambdaContext:
    function_name: str = "tandem-test"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:eu-west-1:123456789012:function:tandem-test"
    aws_request_id: str = "5f2a8c1e-0000-4000-8000-000000000000"
    log_group_name: str = "/aws/lambda/tandem-test"
    log_stream_name: str = "2026/11/28/[$LATEST]0123456789abcdef"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()
