"""Every function's and layer's size after `sam build`: unzipped (what Lambda's 250 MB limit counts)
and zipped (what `sam deploy` uploads), and each function as deployed (its code + its layers).

    PYTHONPATH=functions:infra/local .venv/bin/python -m bench.sizes [--size smoke|full]

Reads `.aws-sam/build` when a `make build` left one there; otherwise builds the template into
`.aws-sam/bench-build` as the local cloud does (`tandem_local.deploy`: the project's pinned
`sam` in .tools/sam, `--cached`, for this machine's architecture and Python), about 15 s once
cached. The zip is made in memory with deflate, as `sam deploy` zips. Both sizes are the same
at every size name (the name is accepted so the runner treats it like the others). Writes
bench/results/sizes.json.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
import time
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.cli import command_line

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "sizes.json"
MAKE_BUILD = ROOT / ".aws-sam" / "build"
OWN_BUILD = ROOT / ".aws-sam" / "bench-build"
SAM = ROOT / ".tools" / "sam" / "bin" / "sam"
LAMBDA_UNZIPPED_LIMIT = 250 * 10**6  # bytes: a function and all its layers, unzipped
MIB = 2**20


def folder_size(folder: Path) -> dict[str, int]:
    """Bytes of the files as unpacked, and of the folder zipped (deflate, as `sam deploy` zips)."""
    files = sorted(p for p in folder.rglob("*") if p.is_file())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for path in files:
            archive.write(path, path.relative_to(folder).as_posix())
    return {
        "files": len(files),
        "unzipped_bytes": sum(p.stat().st_size for p in files),
        "zipped_bytes": buffer.getbuffer().nbytes,
    }


def build() -> tuple[Path, dict[str, Any]]:
    """The build to measure: make's if there is one, else our own (built now, cached)."""
    if (MAKE_BUILD / "template.yaml").exists():
        return MAKE_BUILD, {"how": "make build (found in .aws-sam/build)"}
    from tandem_local.config import host_architecture, local_runtime

    overrides = [f"Architecture={host_architecture()}", f"PythonRuntime={local_runtime()}"]
    environment = {
        **os.environ,
        # sam build needs an interpreter of the runtime's version: the project's own, first on PATH.
        "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    started = time.perf_counter()
    args = [
        "build",
        "--parallel",
        "--cached",
        "--build-dir",
        str(OWN_BUILD),
        "--parameter-overrides",
        *overrides,
    ]
    done = subprocess.run(
        [str(SAM), *args], cwd=ROOT, env=environment, capture_output=True, text=True, check=False
    )
    if done.returncode != 0:
        raise SystemExit(
            f"sam build failed ({done.returncode}):\n{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        )
    return OWN_BUILD, {"how": f"sam build {' '.join(overrides)}", "build_s": time.perf_counter() - started}


def layers_of(built_template: Path) -> dict[str, list[str]]:
    """Each function's layers (logical names), from the built template."""
    import yaml
    from tests.template_model import _CfnLoader  # the template's own loader: it reads !Ref and friends

    template = yaml.load(built_template.read_text(), Loader=_CfnLoader)  # noqa: S506 - a SafeLoader
    shared = template.get("Globals", {}).get("Function", {}).get("Layers", [])
    layers: dict[str, list[str]] = {}
    for name, resource in template["Resources"].items():
        if resource.get("Type") == "AWS::Serverless::Function":
            # SAM puts a function's own layers after the Globals' ones.
            refs = [*shared, *resource.get("Properties", {}).get("Layers", [])]
            layers[name] = [ref["Ref"] for ref in refs if isinstance(ref, dict) and "Ref" in ref]
    return layers


def run(size_name: str) -> dict[str, Any]:
    if not (MAKE_BUILD / "template.yaml").exists() and not SAM.exists():
        # Not a broken benchmark: a machine without the pinned sam (make install-local puts it there).
        return {
            "benchmark": "sizes",
            "size_name": size_name,
            "skipped": f"no build and no {SAM.relative_to(ROOT)}",
        }
    folder, how = build()
    layers = layers_of(folder / "template.yaml")
    artefacts = {path.name: folder_size(path) for path in sorted(folder.iterdir()) if path.is_dir()}
    functions = {}
    for name, own_layers in sorted(layers.items()):
        if name not in artefacts:
            continue
        deployed = artefacts[name]["unzipped_bytes"] + sum(
            artefacts[layer]["unzipped_bytes"] for layer in own_layers
        )
        functions[name] = {
            **artefacts[name],
            "layers": own_layers,
            "deployed_unzipped_bytes": deployed,
            "share_of_lambda_limit": deployed / LAMBDA_UNZIPPED_LIMIT,
        }
    return {
        "benchmark": "sizes",
        "size_name": size_name,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "build_dir": str(folder.relative_to(ROOT)),
        **how,
        "functions": functions,
        "layers": {name: sizes for name, sizes in artefacts.items() if name not in functions},
        "json": str(RESULTS.relative_to(ROOT)),
    }


def print_table(results: dict[str, Any]) -> None:
    if "skipped" in results:
        print(f"sizes skipped: {results['skipped']}")
        return
    print(f"\nSizes after sam build ({results['build_dir']}: {results['how']})\n")
    print("| artefact | unzipped | zipped | files | as deployed (with its layers) |")
    print("|---|---:|---:|---:|---|")
    for name, s in results["layers"].items():
        print(
            f"| {name} (layer) | {s['unzipped_bytes'] / MIB:.1f} MiB | {s['zipped_bytes'] / MIB:.1f} MiB"
            f" | {s['files']:,} | |"
        )
    for name, s in results["functions"].items():
        deployed = (
            f"{s['deployed_unzipped_bytes'] / MIB:.1f} MiB ({s['share_of_lambda_limit']:.0%} of 250 MB): "
        )
        print(
            f"| {name} | {s['unzipped_bytes'] / MIB:.2f} MiB | {s['zipped_bytes'] / MIB:.2f} MiB"
            f" | {s['files']:,} | {deployed}{' + '.join(s['layers']) or 'no layer'} |"
        )
    print(f"\nfigures: {results['json']}")


def main(argv: list[str] | None = None) -> None:
    command_line(
        argv, "sizes", __doc__ or "", ("smoke", "full"), run, print_table, RESULTS, "the same at both sizes"
    )


if __name__ == "__main__":
    main()
