"""The benchmarks run as a person runs them: `python -m bench.<name> …` in a child process."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.template_model import ROOT


def run_benchmark(name: str, *arguments: str, timeout: float = 300) -> tuple[str, dict[str, Any]]:
    """Run `python -m bench.<name> <arguments>`; what it printed and the figures it wrote
    (bench/results/<name>.json). A failed run fails the test with the end of its errors."""
    result = subprocess.run(
        [sys.executable, "-m", f"bench.{name}", *arguments],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout, json.loads((ROOT / "bench" / "results" / f"{name}.json").read_text())
