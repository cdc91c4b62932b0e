"""The MiniStack process: started from its own virtual environment, bound to 127.0.0.1, stopped cleanly."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import IO

from tandem_local.config import LocalCloud


class EmulatorError(RuntimeError):
    pass


class Emulator:
    """One MiniStack server in its own process group, so stopping it stops its Lambda workers too."""

    def __init__(self, cloud: LocalCloud, log_path: Path) -> None:
        self.cloud = cloud
        self.log_path = log_path
        self._process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.cloud.endpoint}/_ministack/health", timeout=1) as answer:  # noqa: S310
                return bool(answer.status == 200)
        except OSError:
            return False

    def start(self, timeout: float = 20.0) -> None:
        if self.healthy():
            raise EmulatorError(
                f"something already answers on {self.cloud.endpoint}: stop it, or choose another port "
                "(TANDEM_AWS_PORT=… or --aws-port)"
            )
        binary = self.cloud.tool("ministack", "ministack")
        if not binary.exists():
            raise EmulatorError(f"{binary} is missing: run `make install-local`")
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
        }
        environment.pop("AWS_ENDPOINT_URL")  # the emulator sets it for the handlers it runs
        self._process = subprocess.Popen(  # our own pinned tool
            [str(binary)], env=environment, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise EmulatorError(f"MiniStack exited with {self._process.returncode}; see {self.log_path}")
            if self.healthy():
                return
            time.sleep(0.1)
        self.stop()
        raise EmulatorError(f"MiniStack did not answer within {timeout:.0f} s; see {self.log_path}")

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the whole process group (server and warm Lambda workers), SIGKILL what lingers."""
        process, self._process = self._process, None
        if process is not None and process.poll() is None:
            group = os.getpgid(process.pid)
            os.killpg(group, signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=grace)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)  # workers that ignored SIGTERM
            process.wait(timeout=grace)
        if self._log is not None:
            self._log.close()
            self._log = None

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    def reset_everything(self) -> None:
        """MiniStack's own reset: every resource of every service goes, the stack included."""
        request = urllib.request.Request(f"{self.cloud.endpoint}/_ministack/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10):  # noqa: S310
            pass
