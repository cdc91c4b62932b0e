"""ApiFunction's cold start against the floor of its mandated imports, paired in one run.

Each sample is a fresh Python process, as a Lambda cold start is, timed from the
child's first statement to its first answer (imports + building the app + one
request), plus the wall time of the whole process seen from outside (interpreter
start and exit included):

- **tandem**: `import tandem.handlers.api`, then `api.handler` answers `GET /health`;
- **floor**: only what any function of ours must load: the Powertools HTTP
  resolver with validation, pydantic (one response model), one boto3 client
  created; it answers one `GET /health`.

Samples alternate (tandem, floor, tandem, …) so that a busy machine slows both
alike; the figure that matters is the ratio of the medians. No AWS call is made.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.reports import command_line

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "coldstart.json"
MARK = "COLDSTART "

# The target of issue 7: ApiFunction within 1.3x the floor.
TARGET_RATIO = 1.3


@dataclass(frozen=True)
class Size:
    pairs: int


SIZES = {"smoke": Size(pairs=3), "full": Size(pairs=25)}

_EVENT = """{
  "version": "2.0", "routeKey": "GET /health", "rawPath": "/health", "rawQueryString": "",
  "headers": {"host": "api.example"},
  "requestContext": {"accountId": "123456789012", "apiId": "api", "domainName": "api.example",
    "http": {"method": "GET", "path": "/health", "protocol": "HTTP/1.1", "sourceIp": "127.0.0.1",
      "userAgent": "bench"},
    "requestId": "cold-1", "routeKey": "GET /health", "stage": "$default",
    "time": "02/Dec/2026:00:00:00 +0000", "timeEpoch": 1796169600000},
  "isBase64Encoded": false
}"""

_CONTEXT = """
class Context:
    function_name = "bench"; function_version = "$LATEST"; memory_limit_in_mb = 512
    invoked_function_arn = "arn:aws:lambda:eu-west-1:123456789012:function:bench"
    aws_request_id = "cold-1"; log_group_name = "/aws/lambda/bench"; log_stream_name = "bench"
    def get_remaining_time_in_millis(self): return 10_000
"""

TANDEM = f"""
import time
start = time.perf_counter()
import json
from tandem.handlers import api
{_CONTEXT}
answer = api.handler(json.loads('''{_EVENT}'''), Context())
assert answer["statusCode"] == 200, answer
print("{MARK}" + str((time.perf_counter() - start) * 1000))
"""

FLOOR = f"""
import time
start = time.perf_counter()
import json
import boto3
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from pydantic import BaseModel
{_CONTEXT}

class Health(BaseModel):
    status: str

app = APIGatewayHttpResolver(enable_validation=True)
client = boto3.client("dynamodb")

@app.get("/health")
def health() -> Response[str]:
    return Response(200, "application/json", Health(status="ok").model_dump_json())

answer = app.resolve(json.loads('''{_EVENT}'''), Context())
assert answer["statusCode"] == 200, answer
print("{MARK}" + str((time.perf_counter() - start) * 1000))
"""


def _environment() -> dict[str, str]:
    from tests.template_model import Resolver

    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
    env.update(Resolver({}).globals_environment())  # POWERTOOLS_SERVICE_NAME, log level, …
    # Fake credentials and a region, as Lambda has: creating a client reads them, calls nothing.
    env.update(AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="eu-west-1")  # noqa: S106
    env["PYTHONPATH"] = os.pathsep.join([str(ROOT / "functions"), env.get("PYTHONPATH", "")])
    # Compiled once by the warm-up runs, as a layer built with compileall ships them: without
    # bytecode every sample would measure the compiler (about 10x the import time) instead.
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _sample(code: str, env: dict[str, str]) -> tuple[float, float]:
    """(ms from the child's first statement to its first answer, ms of the whole process)."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    wall_ms = (time.perf_counter() - started) * 1000
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    line = next(line for line in result.stdout.splitlines() if line.startswith(MARK))
    return float(line.removeprefix(MARK)), wall_ms


def _stats(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return {
        "median_ms": statistics.median(ordered),
        "p95_ms": p95,
        "min_ms": ordered[0],
        "max_ms": ordered[-1],
    }


def run(size_name: str) -> dict[str, Any]:
    size = SIZES[size_name]
    env = _environment()
    _sample(TANDEM, env)  # warms the OS page cache and writes any missing .pyc, for both alike
    _sample(FLOOR, env)
    samples: dict[str, dict[str, list[float]]] = {
        name: {"first_answer": [], "process": []} for name in ("tandem", "floor")
    }
    for _ in range(size.pairs):
        for name, code in (("tandem", TANDEM), ("floor", FLOOR)):
            first_answer, process = _sample(code, env)
            samples[name]["first_answer"].append(first_answer)
            samples[name]["process"].append(process)
    figures = {name: {kind: _stats(v) for kind, v in kinds.items()} for name, kinds in samples.items()}
    ratio = figures["tandem"]["first_answer"]["median_ms"] / figures["floor"]["first_answer"]["median_ms"]
    return {
        "benchmark": "coldstart",
        "size_name": size_name,
        "size": asdict(size),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": sys.version.split()[0],
        "load_average_1m": os.getloadavg()[0],
        "figures": figures,
        "samples": samples,
        "ratio_median_tandem_over_floor": ratio,
        "ratio_process_median_tandem_over_floor": figures["tandem"]["process"]["median_ms"]
        / figures["floor"]["process"]["median_ms"],
        "target_ratio": TARGET_RATIO,
        "json": str(RESULTS.relative_to(ROOT)),
    }


def print_table(results: dict[str, Any]) -> None:
    print(
        f"\nApiFunction cold start vs the floor of its imports ({results['size']['pairs']} pairs, "
        f"Python {results['python']}, load {results['load_average_1m']:.2f})\n"
    )
    print("| process | first answer median | p95 | whole process median | p95 |")
    print("|---|---|---|---|---|")
    for name in ("tandem", "floor"):
        first, whole = results["figures"][name]["first_answer"], results["figures"][name]["process"]
        print(
            f"| {name} | {first['median_ms']:.0f} ms | {first['p95_ms']:.0f} ms "
            f"| {whole['median_ms']:.0f} ms | {whole['p95_ms']:.0f} ms |"
        )
    print(
        f"\nratio of medians (first answer), tandem / floor: {results['ratio_median_tandem_over_floor']:.2f} "
        f"(target ≤ {results['target_ratio']}); whole process: "
        f"{results['ratio_process_median_tandem_over_floor']:.2f}"
    )
    print(f"figures: {results['json']}")


def main(argv: list[str] | None = None) -> None:
    command_line(argv, "coldstart", __doc__ or "", SIZES, run, print_table, RESULTS)


if __name__ == "__main__":
    main()
