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

Then **every function** of template.yaml (its `Handler`), each paired with the floor of the
imports every function of ours must load (`import boto3, pydantic` and Powertools' Logger and
Metrics, nothing else), in fresh processes with the function's own environment from the
template (physical names faked: no call is made):

- **import**: the handler's module imported (a composition root builds nothing at import);
- **first answer**, where an event needs no AWS call: ApiFunction's `GET /health` and
  AuthorizerFunction's request without a key (its answer carries the refusal; the keys table is
  never read). The other functions' first event reads or writes a table, a bucket or a queue:
  their first answer is not measured here (it would time moto), only their import.
"""

from __future__ import annotations

import json
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
    function_pairs: int  # per function of the template, function and floor alternating


SIZES = {"smoke": Size(pairs=3, function_pairs=1), "full": Size(pairs=25, function_pairs=7)}

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


# Any function's floor: what every function of ours imports, whatever it does.
FLOOR_IMPORTS = f"""
import time
start = time.perf_counter()
import boto3
import pydantic
from aws_lambda_powertools import Logger, Metrics
print("{MARK}" + str((time.perf_counter() - start) * 1000))
"""

# Events whose first answer needs no AWS call, by function: the authorizer is asked about a
# request without a key (it answers with the refusal in its context, never reading the keys table).
_FIRST_EVENTS = {
    "ApiFunction": _EVENT,
    "AuthorizerFunction": _EVENT.replace('"routeKey": "GET /health"', '"routeKey": "GET /orders"', 1),
}


def function_code(module: str, event: str | None) -> str:
    """A fresh process that imports a handler's module, then (given an event) answers it once."""
    invoke = ""
    if event is not None:
        invoke = (
            f"{_CONTEXT}\n"
            f"answer = handler.handler(json.loads('''{event}'''), Context())\n"
            'assert answer.get("statusCode", 200) == 200 and answer.get("isAuthorized", True), answer\n'
        )
    return (
        "import time\n"
        "start = time.perf_counter()\n"
        "import json\n"
        "import importlib\n"
        f'handler = importlib.import_module("{module}")\n'
        "imported = (time.perf_counter() - start) * 1000\n"
        f"{invoke}"
        f'print("{MARK}" + json.dumps([imported, (time.perf_counter() - start) * 1000]))\n'
    )


class _Named(dict[Any, str]):
    """Physical names for the template's references: made up from the logical name (nothing is called)."""

    def __missing__(self, key: Any) -> str:
        if isinstance(key, tuple):
            return f"arn:aws:bench:eu-west-1:123456789012:{'-'.join(key)}"
        return f"bench-{key}"


def template_handlers() -> dict[str, str]:
    """Each function of template.yaml and the module of its Handler."""
    from tests.template_model import functions

    handlers = {}
    for name, resource in functions().items():
        handler = resource["Properties"].get("Handler")
        if isinstance(handler, str):
            handlers[name] = handler.rpartition(".")[0]
    return dict(sorted(handlers.items()))


def function_environment(function: str) -> dict[str, str]:
    from tests.template_model import Resolver

    env = _environment()
    env.update(Resolver(_Named(), _Named()).environment(function))  # type: ignore[arg-type]
    return env


def _sample_json(code: str, env: dict[str, str]) -> list[float]:
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    line = next(line for line in result.stdout.splitlines() if line.startswith(MARK))
    return [float(x) for x in json.loads(line.removeprefix(MARK))]


def every_function(pairs: int) -> dict[str, Any]:
    """Each template function's import (and first answer, where it needs no AWS call) against the floor."""
    measured: dict[str, Any] = {}
    floor_env = _environment()
    _sample(FLOOR_IMPORTS, floor_env)
    for function, module in template_handlers().items():
        env = function_environment(function)
        event = _FIRST_EVENTS.get(function)
        code = function_code(module, event)
        _sample_json(code, env)  # writes any missing .pyc, warms the page cache
        imports, answers, floors = [], [], []
        for _ in range(pairs):
            imported, answered = _sample_json(code, env)
            imports.append(imported)
            answers.append(answered)
            floors.append(_sample(FLOOR_IMPORTS, floor_env)[0])
        entry: dict[str, Any] = {
            "function": function,
            "handler_module": module,
            "import": _stats(imports),
            "floor_import": _stats(floors),
            "ratio_import_over_floor": statistics.median(imports) / statistics.median(floors),
        }
        if event is not None:
            entry["first_answer"] = _stats(answers)
            entry["ratio_first_answer_over_floor"] = statistics.median(answers) / statistics.median(floors)
        measured[function] = entry
    return measured


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
    functions = every_function(size.function_pairs)
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
        "functions": list(functions.values()),
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
    print(
        "\nEvery function: import (and first answer, where it needs no AWS call) against the floor of"
        f" imports (boto3, pydantic, Powertools' Logger and Metrics), {results['size']['function_pairs']}"
        " pair(s) each\n"
    )
    print("| function | import median | floor median | ratio | first answer median | ratio |")
    print("|---|---|---|---|---|---|")
    for entry in results["functions"]:
        answer = entry.get("first_answer")
        cells = [
            entry["function"],
            f"{entry['import']['median_ms']:.0f} ms",
            f"{entry['floor_import']['median_ms']:.0f} ms",
            f"{entry['ratio_import_over_floor']:.2f}",
            f"{answer['median_ms']:.0f} ms" if answer else "—",
            f"{entry['ratio_first_answer_over_floor']:.2f}" if answer else "—",
        ]
        print("| " + " | ".join(cells) + " |")
    print(f"figures: {results['json']}")


def main(argv: list[str] | None = None) -> None:
    command_line(argv, "coldstart", __doc__ or "", SIZES, run, print_table, RESULTS)


if __name__ == "__main__":
    main()
