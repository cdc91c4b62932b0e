"""What every benchmark's `python -m bench.<name> [--size …]` does: measure, write its JSON, print.

No side effect at import (bench.reports, say, sets moto's offline environment when imported), so
a benchmark that runs against the local cloud (bench.report_http) can use it too.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def command_line(
    argv: list[str] | None,
    module: str,
    doc: str,
    sizes: Iterable[str],
    measure: Callable[[str], dict[str, Any]],
    show: Callable[[dict[str, Any]], None],
    results_path: Path,
    size_help: str = "smoke (the default: that it runs), standard or full, where the benchmark has them",
) -> None:
    """Parse `--size` (one of `sizes`, smoke by default), measure, write `results_path`, print."""
    parser = argparse.ArgumentParser(prog=f"python -m bench.{module}", description=doc.split("\n\n")[0])
    parser.add_argument("--size", choices=sorted(sizes), default="smoke", help=size_help)
    results = measure(parser.parse_args(argv).size)
    results_path.parent.mkdir(parents=True, exist_ok=True)
    results_path.write_text(json.dumps(results, indent=2) + "\n")
    show(results)
    print(f"\n  figures written to {results_path.relative_to(ROOT)}")
