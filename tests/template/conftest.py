"""Template checks run the real tools (cfn-lint, sam) from the project's tool environment."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tandem_local.config import AWS_RUNTIME, TOOLS_DIR, local_runtime
from tests.template_model import ROOT

SAM_BIN = TOOLS_DIR / "sam" / "bin"


def run_tool(
    *args: str | Path, cwd: Path = ROOT, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **os.environ,
        # sam build needs an interpreter of the runtime's version on PATH: the project's.
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_DEFAULT_REGION": "eu-west-1",
        "SAM_CLI_TELEMETRY": "0",
        **(env or {}),
    }
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, env=environment, capture_output=True, text=True, check=False
    )


@pytest.fixture(scope="session")
def sam() -> Path:
    path = SAM_BIN / "sam"
    if not path.exists():
        pytest.fail("AWS SAM CLI is missing: run `make install` (make test does it)")
    return path


def _build(sam: Path, build_dir: Path, architecture: str, runtime: str) -> Path:
    result = run_tool(
        sam,
        "build",
        "--build-dir",
        build_dir,
        "--parameter-overrides",
        f"Architecture={architecture}",
        f"PythonRuntime={runtime}",
        "--parallel",
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return build_dir


@pytest.fixture(scope="session")
def host_build(sam: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`sam build` for this machine's architecture and Python, as the local cloud runs it."""
    architecture = "arm64" if os.uname().machine in ("aarch64", "arm64") else "x86_64"
    build_dir = _build(sam, tmp_path_factory.mktemp("sam") / "build", architecture, local_runtime())
    yield build_dir
    shutil.rmtree(build_dir, ignore_errors=True)


@pytest.fixture(scope="session")
def aws_build(sam: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """`sam build` with the template's defaults: what `sam deploy` ships to AWS.

    It needs an interpreter of the runtime's version (python3.13): on a machine without
    one, the project runs on its own Python and this build is skipped, saying so.
    """
    if local_runtime() != AWS_RUNTIME:
        pytest.skip(
            f"the AWS build (runtime {AWS_RUNTIME}) needs Python {AWS_RUNTIME[6:]}; "
            f"this project's environment runs {local_runtime()}"
        )
    build_dir = _build(sam, tmp_path_factory.mktemp("sam-aws") / "build", "arm64", AWS_RUNTIME)
    yield build_dir
    shutil.rmtree(build_dir, ignore_errors=True)
