"""Where the local cloud lives: ports, names, paths. One object, passed around."""

from __future__ import annotations

import os
import platform
import re
import sys
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[3]
# The tool environments (sam, MiniStack); `make … TOOLS=dir` sets another, e.g. for a second Python.
TOOLS_DIR = Path(os.environ.get("TANDEM_TOOLS_DIR") or ROOT / ".tools")
AWS_RUNTIME = "python3.13"  # the template's default PythonRuntime: what AWS runs

# The emulator accepts any credentials; fixed fake ones keep a developer's real
# AWS profile out of reach of every local command.
FAKE_CREDENTIALS = {"aws_access_key_id": "tandem-local", "aws_secret_access_key": "tandem-local"}


def host_architecture() -> str:
    """The Lambda architecture whose wheels import on this machine (the emulator runs handlers here)."""
    return "arm64" if platform.machine().lower() in ("aarch64", "arm64") else "x86_64"


def local_runtime() -> str:
    """The Lambda runtime the local cloud builds for: this interpreter's version.

    sam build needs an interpreter of the runtime's version (the project's, put first on
    PATH), and MiniStack runs every handler on its own interpreter, made from the same
    Python as this one. On a machine without 3.13 that is 3.12 or 3.11; AWS gets python3.13.
    """
    return f"python{sys.version_info.major}.{sys.version_info.minor}"


def default_api_in_flight() -> int:
    """Requests the :3000 proxy forwards to the emulator at once: 2 per core (4 on 2 cores).

    Every request in flight holds a worker of the authorizer and one of the API function,
    and a cold worker costs ≈ 1.6-1.9 s of CPU; a warm checkout ≈ 70 ms of CPU, 40 % of it
    in the emulator's one process. Measured on 2 cores (bursts of 100 checkouts): 1 → 6-8
    req/s, 2 → 10-12, 4 → 11-18, 8 → 16-24 but twice the cold workers. Beyond 2 per core
    a burst gains little and a cold start costs more."""
    return max(2, 2 * (os.cpu_count() or 1))


def venv_python_version(venv: Path) -> str | None:
    """'3.12' for a virtual environment made with Python 3.12.x (from its pyvenv.cfg), else None."""
    try:
        config = (venv / "pyvenv.cfg").read_text()
    except OSError:
        return None
    found = re.search(r"^(?:version|version_info)\s*=\s*(\d+)\.(\d+)", config, re.M)
    return f"{found.group(1)}.{found.group(2)}" if found else None


@dataclass(frozen=True)
class LocalCloud:
    aws_port: int = 4566
    api_port: int = 3000
    stack_name: str = "tandem-local"
    region: str = "eu-west-1"
    state_dir: Path = field(default_factory=lambda: ROOT / ".local")
    build_dir: Path = field(default_factory=lambda: ROOT / ".aws-sam" / "local")
    # Where sam runs: its `.aws-sam/cache` and `.aws-sam/deps` are there. Each `--cached` build
    # deletes the dependency folders it does not know of under it, so two builds at once (two
    # test sessions, each with its own cloud) need two of these.
    sam_dir: Path = field(default_factory=lambda: ROOT)
    # The :3000 proxy's bound: requests forwarded at once, and how long the rest may queue.
    api_in_flight: int = field(default_factory=default_api_in_flight)
    api_queue_timeout: float = 60.0

    @classmethod
    def from_env(cls, **overrides: Any) -> LocalCloud:
        values: dict[str, Any] = {
            "aws_port": int(os.environ.get("TANDEM_AWS_PORT", 4566)),
            "api_port": int(os.environ.get("TANDEM_API_PORT", 3000)),
        }
        if os.environ.get("TANDEM_API_IN_FLIGHT"):
            values["api_in_flight"] = int(os.environ["TANDEM_API_IN_FLIGHT"])
        if os.environ.get("TANDEM_API_QUEUE_TIMEOUT"):
            values["api_queue_timeout"] = float(os.environ["TANDEM_API_QUEUE_TIMEOUT"])
        # Two clouds at once (a test beside `make run`) keep their logs and builds apart.
        for name, variable in (
            ("state_dir", "TANDEM_STATE_DIR"),
            ("build_dir", "TANDEM_BUILD_DIR"),
            ("sam_dir", "TANDEM_SAM_DIR"),
        ):
            if os.environ.get(variable):
                values[name] = Path(os.environ[variable])
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)

    def __post_init__(self) -> None:
        if self.api_in_flight < 1 or self.api_queue_timeout <= 0:
            raise ValueError(
                f"the API needs at least 1 request in flight (TANDEM_API_IN_FLIGHT: {self.api_in_flight}) "
                f"and a positive queue timeout (TANDEM_API_QUEUE_TIMEOUT: {self.api_queue_timeout})"
            )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.aws_port}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def artifacts_bucket(self) -> str:
        return f"{self.stack_name}-sam-artifacts"

    def tool(self, venv: str, name: str) -> Path:
        return TOOLS_DIR / venv / "bin" / name

    def aws_environment(self) -> dict[str, str]:
        """What a subprocess (sam, the AWS CLI) needs to talk to the emulator, never to AWS."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": FAKE_CREDENTIALS["aws_access_key_id"],
            "AWS_SECRET_ACCESS_KEY": FAKE_CREDENTIALS["aws_secret_access_key"],
            "AWS_DEFAULT_REGION": self.region,
            "AWS_REGION": self.region,
            "SAM_CLI_TELEMETRY": "0",
        }

    @cached_property
    def _session(self) -> boto3.session.Session:
        return boto3.session.Session(region_name=self.region, **FAKE_CREDENTIALS)

    def client(self, service: str) -> Any:
        return self._session.client(
            service,  # type: ignore[call-overload]
            endpoint_url=self.endpoint,
            config=Config(
                retries={"mode": "standard", "max_attempts": 3}, connect_timeout=3, read_timeout=60
            ),
        )

    def resource(self, service: str) -> Any:
        return self._session.resource(service, endpoint_url=self.endpoint)  # type: ignore[call-overload]
