"""Build and deploy template.yaml onto the emulator as onto AWS (sam build + sam deploy), then the glue."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from dataclasses import dataclass

from tandem_local import gaps
from tandem_local.config import ROOT, LocalCloud, host_architecture
from tandem_local.stack import Stack


class DeployError(RuntimeError):
    pass


@dataclass
class Deployment:
    stack: Stack
    routes: list[str]  # created by the glue
    routes_before_glue: int  # what the emulator's CloudFormation made of the OpenAPI body
    schedules_fixed: list[str]  # schedules whose unfilled placeholders the glue dropped
    seconds: dict[str, float]


def _run(cloud: LocalCloud, *args: str, quiet: bool) -> None:
    environment = {
        **os.environ,
        **cloud.aws_environment(),
        # sam build needs an interpreter of the runtime's version: the project's own.
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(  # our own pinned tool
        [str(cloud.tool("sam", "sam")), *args],
        cwd=ROOT,
        env=environment,
        capture_output=quiet,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stdout or "")[-3000:] + (result.stderr or "")[-3000:] if quiet else ""
        raise DeployError(f"sam {args[0]} failed ({result.returncode})\n{detail}")


def deploy(cloud: LocalCloud, parameters: dict[str, str] | None = None, quiet: bool = True) -> Deployment:
    """sam build (for this machine's architecture) and sam deploy; idempotent: unchanged, nothing moves."""
    overrides = {"Architecture": host_architecture(), **(parameters or {})}
    override_args = ["--parameter-overrides", *(f"{k}={v}" for k, v in overrides.items())]
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    _run(
        cloud,
        "build",
        "--parallel",
        "--cached",
        "--build-dir",
        str(cloud.build_dir),
        *override_args,
        quiet=quiet,
    )
    seconds["build"] = time.perf_counter() - started

    started = time.perf_counter()
    s3 = cloud.client("s3")
    if cloud.artifacts_bucket not in {b["Name"] for b in s3.list_buckets().get("Buckets", [])}:
        s3.create_bucket(
            Bucket=cloud.artifacts_bucket, CreateBucketConfiguration={"LocationConstraint": cloud.region}
        )
    _run(
        cloud,
        "deploy",
        "--template-file", str(cloud.build_dir / "template.yaml"),
        "--stack-name", cloud.stack_name,
        "--s3-bucket", cloud.artifacts_bucket,
        "--capabilities", "CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND",
        "--no-confirm-changeset",
        "--no-fail-on-empty-changeset",
        "--region", cloud.region,
        *override_args,
        quiet=quiet,
    )  # fmt: skip
    seconds["deploy"] = time.perf_counter() - started

    started = time.perf_counter()
    stack = Stack.describe(cloud)
    before = gaps.count_routes(cloud, stack)
    routes = gaps.recreate_http_api_routes(cloud, stack)
    fixed = gaps.drop_unfilled_schedule_placeholders(cloud, stack)
    seconds["glue"] = time.perf_counter() - started
    return Deployment(stack, routes, routes_before_glue=before, schedules_fixed=fixed, seconds=seconds)
