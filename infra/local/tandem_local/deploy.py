"""Build and deploy template.yaml onto the emulator as onto AWS (sam build + sam deploy), then the glue."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tandem_local import gaps, reference
from tandem_local.config import ROOT, LocalCloud, host_architecture, local_runtime
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
    cloud.sam_dir.mkdir(parents=True, exist_ok=True)
    environment = {
        **os.environ,
        **cloud.aws_environment(),
        # sam build needs an interpreter of the runtime's version: the project's own.
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    result = subprocess.run(  # our own pinned tool
        [str(cloud.tool("sam", "sam")), *args],
        cwd=cloud.sam_dir,
        env=environment,
        capture_output=quiet,
        text=True,
        check=False,
    )
    if result.returncode != 0:
        detail = (result.stdout or "")[-3000:] + (result.stderr or "")[-3000:] if quiet else ""
        raise DeployError(f"sam {args[0]} failed ({result.returncode})\n{detail}")


def _apply_change_set(cloud: LocalCloud, template_body: str, parameters: dict[str, str]) -> None:
    """What `sam deploy` does after packaging (a CloudFormation change set, created then executed),
    polled every 0.2 s where sam waits 5 s between looks: a redeploy takes seconds, not ten.

    The template goes through the artifacts bucket, as sam deploy sends it: CloudFormation
    takes at most 51,200 bytes inline (TemplateBody), and 1 MB from S3 (TemplateURL)."""
    key = "templates/packaged.yaml"
    cloud.client("s3").put_object(Bucket=cloud.artifacts_bucket, Key=key, Body=template_body.encode())
    template_url = f"{cloud.endpoint}/{cloud.artifacts_bucket}/{key}"
    cfn = cloud.client("cloudformation")
    try:
        cfn.describe_stacks(StackName=cloud.stack_name)
        kind = "UPDATE"
    except cfn.exceptions.ClientError:
        kind = "CREATE"
    name = f"tandem-{time.time_ns()}"
    cfn.create_change_set(
        StackName=cloud.stack_name,
        ChangeSetName=name,
        ChangeSetType=kind,
        TemplateURL=template_url,
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()],
        Capabilities=["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"],
    )
    change_set = _poll(
        lambda: cfn.describe_change_set(StackName=cloud.stack_name, ChangeSetName=name),
        lambda answer: answer["Status"] in ("CREATE_COMPLETE", "FAILED"),
    )
    if change_set["Status"] == "FAILED":
        reason = change_set.get("StatusReason", "")
        cfn.delete_change_set(StackName=cloud.stack_name, ChangeSetName=name)
        if "didn't contain changes" in reason or "No updates" in reason:
            return
        raise DeployError(f"change set failed: {reason}")
    cfn.execute_change_set(StackName=cloud.stack_name, ChangeSetName=name)
    stack = _poll(
        lambda: cfn.describe_stacks(StackName=cloud.stack_name)["Stacks"][0],
        lambda answer: not answer["StackStatus"].endswith("_IN_PROGRESS"),
    )
    if stack["StackStatus"] not in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
        raise DeployError(f"stack {stack['StackStatus']}: {stack.get('StackStatusReason', '')}")


def _poll(look: Callable[[], Any], done: Callable[[Any], bool], timeout: float = 300) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        answer = look()
        if done(answer) or time.monotonic() > deadline:
            return answer
        time.sleep(0.2)


def deploy(cloud: LocalCloud, parameters: dict[str, str] | None = None, quiet: bool = True) -> Deployment:
    """sam build (for this machine's architecture and Python), sam package, a change set; idempotent."""
    overrides = {
        "Architecture": host_architecture(),
        "PythonRuntime": local_runtime(),  # python3.13 where the machine has it, as on AWS
        **(parameters or {}),
    }
    override_args = ["--parameter-overrides", *(f"{k}={v}" for k, v in overrides.items())]
    seconds: dict[str, float] = {}

    started = time.perf_counter()
    _run(
        cloud,
        "build",
        "--template-file",
        str(ROOT / "template.yaml"),
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
    packaged = cloud.build_dir / "packaged.yaml"
    _run(
        cloud,
        "package",
        "--template-file", str(cloud.build_dir / "template.yaml"),
        "--s3-bucket", cloud.artifacts_bucket,
        "--output-template-file", str(packaged),
        "--region", cloud.region,
        quiet=True,
    )  # fmt: skip
    _apply_change_set(cloud, packaged.read_text(), overrides)
    seconds["deploy"] = time.perf_counter() - started

    started = time.perf_counter()
    stack = Stack.describe(cloud)
    before = gaps.count_routes(cloud, stack)
    routes = gaps.recreate_http_api_routes(cloud, stack)
    fixed = gaps.drop_unfilled_schedule_placeholders(cloud, stack)
    reference.publish_sanctions_list(cloud, stack)  # checkout fails closed without one
    seconds["glue"] = time.perf_counter() - started
    return Deployment(stack, routes, routes_before_glue=before, schedules_fixed=fixed, seconds=seconds)
