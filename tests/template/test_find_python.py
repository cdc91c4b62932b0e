"""infra/find-python.sh: which Python `make run` / `make test` use, said first, or a fast, clear refusal."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

from tests.template_model import ROOT

SCRIPT = ROOT / "infra" / "find-python.sh"


def _run(*args: str, path: str, home: Path) -> subprocess.CompletedProcess[str]:
    # Only the PATH given, and a HOME and PYENV_ROOT with nothing in them: no pyenv, no uv.
    env = {"PATH": path, "HOME": str(home), "PYENV_ROOT": str(home / "pyenv")}
    return subprocess.run(
        ["/bin/bash", str(SCRIPT), *args], env=env, capture_output=True, text=True, timeout=30, check=False
    )


def _fake_python(folder: Path, name: str, version: str) -> None:
    major, minor = version.split(".")
    script = folder / name
    script.write_text(
        "#!/bin/sh\n"
        f'exec {sys.executable} -c "import sys; sys.version_info = ({major}, {minor}, 0); '
        f'exec(sys.argv[1])" "$2"\n'
    )
    script.chmod(0o755)


def test_with_no_python_3_11_it_fails_within_a_second_saying_what_to_install(tmp_path: Path) -> None:
    # Given a machine whose only Python is 3.10 (the tools the script uses, and nothing else)
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("dirname", "ls", "sort", "tail", "head", "timeout", "env"):
        if found := shutil.which(tool):
            (bin_dir / tool).symlink_to(found)
    _fake_python(bin_dir, "python3", "3.10")
    started = time.perf_counter()
    result = _run(path=str(bin_dir), home=tmp_path)
    elapsed = time.perf_counter() - started
    assert result.returncode == 1
    assert elapsed < 1.0
    assert "3.11" in result.stderr
    assert "install" in result.stderr.lower()


def test_the_first_line_says_which_python_and_what_the_local_cloud_builds_for() -> None:
    found = _run(path=os.environ["PATH"], home=Path.home())
    assert found.returncode == 0, found.stderr
    python = found.stdout.strip()
    described = _run("--describe", python, path=os.environ["PATH"], home=Path.home())
    assert described.returncode == 0, described.stderr
    line = described.stdout.strip()
    assert line.startswith("==> Python 3.1")
    assert "the local cloud builds and runs on python3.1" in line
