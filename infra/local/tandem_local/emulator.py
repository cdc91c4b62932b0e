"""The MiniStack process: started from its own virtual environment, bound to 127.0.0.1, stopped cleanly."""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import IO

from tandem_local.config import LocalCloud, local_runtime, venv_python_version


class EmulatorError(RuntimeError):
    pass


def _die_with_parent() -> None:
    """In the child, before exec: Linux sends it SIGTERM when `tandem` dies, even by SIGKILL."""
    if sys.platform == "linux":
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


_PR_SET_PDEATHSIG = 1


def _members(group: int) -> int:
    """Live (not zombie) processes in a process group, read from /proc."""
    count = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) == group and fields[0] != "Z":  # fields after the name: state, ppid, pgrp
                count += 1
    return count


class Emulator:
    """One MiniStack server in its own process group, so stopping it stops its Lambda workers too."""

    def __init__(self, cloud: LocalCloud, log_path: Path, persist_dir: Path | None = None) -> None:
        """`persist_dir`: keep the emulator's state there across restarts (MiniStack's PERSIST_STATE)."""
        self.cloud = cloud
        self.log_path = log_path
        self.persist_dir = persist_dir
        self._process: subprocess.Popen[bytes] | None = None
        self._group: int | None = None
        self._log: IO[bytes] | None = None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.cloud.endpoint}/_ministack/health", timeout=1) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except OSError:
            return False

    def start(self, timeout: float = 60.0) -> None:
        """Returns once it answers; a crash is seen at once, a slow start (a busy machine,
        a large saved state) is waited for."""
        if self.healthy():
            raise EmulatorError(
                f"something already answers on {self.cloud.endpoint}: stop it, or choose another port "
                "(TANDEM_AWS_PORT=… or --aws-port)"
            )
        binary = self.cloud.tool("ministack", "ministack")
        if not binary.exists():
            raise EmulatorError(f"{binary} is missing: run `make install`")
        # The handlers run on MiniStack's interpreter with a layer built for ours: one Python for both.
        theirs, ours = venv_python_version(binary.parent.parent), local_runtime().removeprefix("python")
        if theirs and theirs != ours:
            raise EmulatorError(
                f"MiniStack's environment ({binary.parent.parent}) runs Python {theirs}, the project's "
                f"{sys.executable} Python {ours}: the layer would not import. `make clean install` makes "
                "both from one interpreter"
            )
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = self.log_path.open("ab")
        environment = {
            **os.environ,
            **self.cloud.aws_environment(),
            "BIND_HOST": "127.0.0.1",
            "GATEWAY_PORT": str(self.cloud.aws_port),
            # Listeners we do not use stay off, so nothing listens beyond 127.0.0.1:<port>.
            "IOT_MTLS_ENABLED": "0",
            "SFTP_ENABLED": "0",
            "LOG_LEVEL": os.environ.get("TANDEM_EMULATOR_LOG_LEVEL", "WARNING"),
            # MiniStack stops a function's extra workers after 300 s idle (all but its first):
            # the next burst would start them cold again. The API proxy bounds how many there
            # are (LocalCloud.api_in_flight per function, ≈ 75 MB each): keep them for a day.
            "LAMBDA_WARM_TTL_SECONDS": os.environ.get("LAMBDA_WARM_TTL_SECONDS", "86400"),
        }
        environment.pop("AWS_ENDPOINT_URL")  # the emulator sets it for the handlers it runs
        if self.persist_dir is not None:
            self.persist_dir.mkdir(parents=True, exist_ok=True)
            environment.update(PERSIST_STATE="1", STATE_DIR=str(self.persist_dir))
        self._process = subprocess.Popen(  # our own pinned tool
            [str(binary)],
            env=environment,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own group: stopping it stops its Lambda workers too
            preexec_fn=_die_with_parent,
        )
        self._group = self._process.pid  # a new session's leader leads its group
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmulatorError(f"MiniStack exited with {self._process.returncode}; see {self.log_path}")
            if self.healthy():
                return
            time.sleep(0.1)
        self.stop()
        raise EmulatorError(f"MiniStack did not answer within {timeout:.0f} s; see {self.log_path}")

    def stop(self, grace: float = 5.0) -> int:
        """SIGTERM the whole process group (server and warm Lambda workers), SIGKILL what lingers.

        Returns how many processes of the group are still there afterwards (0 when all is well).
        """
        process, group = self._process, self._group
        self._process = self._group = None
        if group is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGTERM)
            if process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=grace)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)  # workers that ignored SIGTERM, or outlived the server
            if process is not None:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    process.wait(timeout=grace)
        if self._log is not None:
            self._log.close()
            self._log = None
        return _members(group) if group is not None else 0

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def reset_everything(self) -> None:
        """MiniStack's own reset: every resource of every service goes, the stack included."""
        request = urllib.request.Request(f"{self.cloud.endpoint}/_ministack/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
