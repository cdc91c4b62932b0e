"""`tandem up` (`make run`) as a user lives it: it comes up, Ctrl-C stops everything, it comes up again.

Each run is the real command line in its own session on ephemeral ports, with its own
MiniStack. Processes are identified through /proc (Linux): a run's processes are the
descendants of its `tandem` process, each known by pid and start time so that a
recycled pid is never mistaken for a survivor.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO

import pytest
import requests

from tandem.logic.auth import new_api_key
from tandem.models.records import ALL_SCOPES
from tandem_local.config import ROOT, TOOLS_DIR, local_runtime
from tests.e2e.conftest import free_port, wait_until

TANDEM = Path(sys.executable).parent / "tandem"
MINISTACK = str(TOOLS_DIR / "ministack" / "bin" / "ministack")
# A build (cached or not) and a deploy onto a fresh emulator; a first, uncached build on a
# busy 2-core machine takes 2 minutes alone.
UP_TIMEOUT = float(os.environ.get("TANDEM_E2E_UP_TIMEOUT", 180))
STOP_TIMEOUT = 20.0
LISTEN = "0A"  # TCP_LISTEN in /proc/net/tcp{,6}
LOOPBACK = ipaddress.IPv4Address("127.0.0.1")

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc")


# --- processes, from /proc ----------------------------------------------------------------------


@dataclass(frozen=True)
class Proc:
    pid: int
    started: int  # clock ticks after boot: with the pid, one process for ever
    pgid: int
    state: str
    command: str


def _proc(pid: int) -> Proc | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (FileNotFoundError, ProcessLookupError):
        return None
    # The command name (field 2) is in parentheses and may hold spaces or parentheses itself.
    fields = stat.rpartition(")")[2].split()
    state, pgid, started = fields[0], int(fields[2]), int(fields[19])
    return Proc(pid=pid, started=started, pgid=pgid, state=state, command=command.strip())


def _parents() -> dict[int, int]:
    """pid → parent pid of every process now."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                # after the command name: state, ppid, pgrp, …
                parents[int(entry.name)] = int((entry / "stat").read_text().rpartition(")")[2].split()[1])
    return parents


def descendants(root: int) -> list[Proc]:
    """Every living descendant of `root` (children, their children …), `root` excluded."""
    children: dict[int, list[int]] = {}
    for pid, parent in _parents().items():
        children.setdefault(parent, []).append(pid)
    found, todo, visited = [], list(children.get(root, [])), {root}
    while todo:
        pid = todo.pop()
        if pid in visited:
            continue
        visited.add(pid)
        todo += children.get(pid, [])
        if (proc := _proc(pid)) is not None:
            found.append(proc)
    return found


def alive(proc: Proc) -> bool:
    """The very same process still runs (a zombie or a new process on a recycled pid does not count)."""
    now = _proc(proc.pid)
    return now is not None and now.started == proc.started and now.state not in ("Z", "X")


def _environment(pid: int) -> dict[str, str]:
    try:
        raw = Path(f"/proc/{pid}/environ").read_bytes()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return {}
    return dict(item.split("=", 1) for item in raw.decode(errors="replace").split("\0") if "=" in item)


def emulators_on(aws_port: int) -> list[Proc]:
    """Living MiniStack servers started for `aws_port`, whoever their parent is now (orphans included)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or (proc := _proc(int(entry.name))) is None or not alive(proc):
            continue
        if MINISTACK in proc.command and _environment(proc.pid).get("GATEWAY_PORT") == str(aws_port):
            found.append(proc)
    return found


def in_group(pgid: int) -> list[Proc]:
    """Living processes of one process group (MiniStack's holds its Lambda workers)."""
    procs = (_proc(int(e.name)) for e in Path("/proc").iterdir() if e.name.isdigit())
    return [p for p in procs if p is not None and p.pgid == pgid and alive(p)]


# --- sockets, from /proc ------------------------------------------------------------------------


def _address(hex_address: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    """/proc/net/tcp{,6} writes each 32-bit word of an address in the host's byte order."""
    raw = bytes.fromhex(hex_address)
    words = [raw[i : i + 4] for i in range(0, len(raw), 4)]
    packed = b"".join(word[::-1] if sys.byteorder == "little" else word for word in words)
    if len(packed) == 4:
        return ipaddress.IPv4Address(packed)
    v6 = ipaddress.IPv6Address(packed)
    return v6.ipv4_mapped or v6


def listening_sockets() -> dict[int, tuple[ipaddress.IPv4Address | ipaddress.IPv6Address, int]]:
    """inode → (address, port) of every TCP socket in LISTEN state, IPv4 and IPv6."""
    found = {}
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError):
            for line in Path(table).read_text().splitlines()[1:]:
                fields = line.split()
                if fields[3] == LISTEN:
                    address, port = fields[1].split(":")
                    found[int(fields[9])] = (_address(address), int(port, 16))
    return found


def socket_inodes(pid: int) -> set[int]:
    inodes = set()
    with contextlib.suppress(FileNotFoundError, ProcessLookupError, PermissionError):
        for fd in Path(f"/proc/{pid}/fd").iterdir():
            with contextlib.suppress(FileNotFoundError, ProcessLookupError):
                target = os.readlink(fd)
                if target.startswith("socket:["):
                    inodes.add(int(target[len("socket:[") : -1]))
    return inodes


def port_is_free(port: int) -> bool:
    """Nothing listens on 127.0.0.1:<port> (a server of the next run could bind it)."""
    if any(p == port for _, p in listening_sockets().values()):
        return False
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as servers do: TIME_WAIT is no owner
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


# --- one `tandem up` ----------------------------------------------------------------------------


def _default_sigint() -> None:
    # A shell's background job inherits SIGINT ignored, and Python then leaves it so: the run
    # must get Ctrl-C as a terminal delivers it to a foreground command.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@dataclass
class TandemUp:
    """`tandem --api-port P --aws-port Q up --no-seed`, its output collected by a thread."""

    api_port: int
    aws_port: int
    arguments: tuple[str, ...] = ("--no-seed",)
    environment: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[bytes] | None = None
    seen: dict[tuple[int, int], Proc] = field(default_factory=dict)  # every descendant ever observed
    _lines: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def api(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def output(self) -> str:
        with self._lock:
            return "".join(self._lines)

    @property
    def pid(self) -> int:
        assert self.process is not None, "not started"
        return self.process.pid

    def start(self) -> None:
        environment = dict(os.environ)
        environment.pop("AWS_ENDPOINT_URL", None)  # the CLI points every client at its own emulator
        # Its own log and build folders, apart from a `make run` that may be up meanwhile.
        scratch = Path(tempfile.gettempdir()) / "tandem-lifecycle"
        environment["TANDEM_STATE_DIR"] = str(scratch / f"state-{self.aws_port}")
        # One build folder per Python: sam's build graph (build.toml) sits beside it.
        environment["TANDEM_BUILD_DIR"] = str(scratch / local_runtime() / "build")
        environment.update(self.environment)
        ports = ["--api-port", str(self.api_port), "--aws-port", str(self.aws_port)]
        self.process = subprocess.Popen(
            [str(TANDEM), *ports, "up", *self.arguments],
            cwd=ROOT,
            env=environment,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_default_sigint,
        )
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in iter(stream.readline, b""):
            with self._lock:
                self._lines.append(line.decode(errors="replace"))

    def wait_for(self, text: str, timeout: float) -> None:
        def printed() -> bool:
            assert self.process is not None
            if text in self.output:
                return True
            if self.process.poll() is not None:
                raise AssertionError(f"tandem up exited ({self.process.returncode}):\n{self.output}")
            return False

        wait_until(printed, timeout, every=0.2, what=f"{text!r} in the output of tandem up")

    def processes(self) -> list[Proc]:
        """The run's processes now: `tandem` itself and all its descendants (remembered for cleanup)."""
        found = [p for p in [_proc(self.pid), *descendants(self.pid)] if p is not None]
        self.seen.update({(p.pid, p.started): p for p in found})
        return found

    def interrupt(self) -> None:
        """Ctrl-C."""
        os.kill(self.pid, signal.SIGINT)

    def wait(self, timeout: float) -> int:
        assert self.process is not None
        try:
            return self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running {timeout:.0f} s after Ctrl-C:\n{self.output}") from None

    def kill_everything(self) -> None:
        """SIGKILL every process group this run ever had, never the test's own."""
        if self.process is not None and self.process.poll() is None:
            self.processes()
        groups = {p.pgid for p in self.seen.values() if alive(p)}
        groups |= {p.pgid for p in emulators_on(self.aws_port)}  # an emulator its parent lost
        if self.process is not None:
            groups.add(self.process.pid)  # start_new_session: tandem leads its own group
        for group in groups - {os.getpgid(0), 0, 1}:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(group, signal.SIGKILL)
        if self.process is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=10)


@pytest.fixture
def tandem_up() -> Iterator[list[TandemUp]]:
    """Runs the test starts (append them); whatever a failed test left running is killed."""
    runs: list[TandemUp] = []
    yield runs
    for run in runs:
        run.kill_everything()


def _start(runs: list[TandemUp], api_port: int, aws_port: int, *arguments: str, **env: str) -> TandemUp:
    run = TandemUp(api_port, aws_port, arguments or ("--no-seed",), env)
    runs.append(run)
    run.start()
    return run


def _health(run: TandemUp) -> requests.Response:
    return requests.get(f"{run.api}/health", timeout=30)


def _assert_up(run: TandemUp) -> list[Proc]:
    """The banner is out, /health answers 200 ok; returns the run's processes, emulator included."""
    run.wait_for("Tandem's local cloud is up", UP_TIMEOUT)
    answer = _health(run)
    assert answer.status_code == 200, answer.text
    assert answer.json()["status"] == "ok", answer.text
    processes = run.processes()  # after /health: the ApiFunction's warm worker is among them
    assert [p for p in processes if MINISTACK in p.command], f"no MiniStack under tandem: {processes}"
    return processes


def _ctrl_c_and_assert_nothing_left(run: TandemUp, before: list[Proc]) -> None:
    """Ctrl-C; exit 0 within STOP_TIMEOUT, 'stopped' said, no process and no port of the run left."""
    run.interrupt()
    code = run.wait(STOP_TIMEOUT)
    assert code == 0, run.output
    assert "stopped" in run.output, run.output
    survivors = [p for p in before if alive(p)]
    assert not survivors, f"left running after Ctrl-C: {survivors}"
    emulator_groups = {p.pgid for p in before if MINISTACK in p.command}
    assert not [p for g in emulator_groups for p in in_group(g)], "a Lambda worker outlived its emulator"
    assert not emulators_on(run.aws_port), "a MiniStack for this run's port still runs"
    assert port_is_free(run.api_port), f"API port {run.api_port} still taken"
    assert port_is_free(run.aws_port), f"AWS port {run.aws_port} still taken"


def _demo_key() -> str:
    return new_api_key("demo", "demo", ALL_SCOPES, datetime.now(UTC))[0]


def _products(run: TandemUp, key: str) -> requests.Response:
    return requests.get(f"{run.api}/products?limit=1", headers={"x-api-key": key}, timeout=30)


# --- the test -----------------------------------------------------------------------------------
# One user's story, two starts (each a build and a deploy onto a fresh emulator: most of the time).


def _assert_loopback_only(run: TandemUp, processes: list[Proc]) -> None:
    """Every socket the run's processes listen on is 127.0.0.1, the API's and the emulator's among them."""
    listening = listening_sockets()
    owned = {
        (p.pid, p.command.split(" ")[-1]): listening[inode]
        for p in processes
        for inode in socket_inodes(p.pid)
        if inode in listening
    }
    exposed = {owner: f"{address}:{port}" for owner, (address, port) in owned.items() if address != LOOPBACK}
    assert not exposed, f"listening beyond 127.0.0.1: {exposed}"
    ports = {port for _, port in owned.values()}
    assert {run.api_port, run.aws_port} <= ports, f"API and emulator ports not found among {owned}"


def test_tandem_up_serves_stops_on_ctrl_c_and_starts_again_on_the_same_ports_with_a_new_demo_key(
    tandem_up: list[TandemUp],
) -> None:
    # Given `tandem up --no-seed` on two free ports, with a demo key
    api_port, aws_port = free_port(), free_port()
    old_key, new_key = _demo_key(), _demo_key()
    first = _start(tandem_up, api_port, aws_port, "--no-seed", TANDEM_DEMO_API_KEY=old_key)

    # When it says it is up; Then /health answers 200 ok (in _assert_up), every socket its
    # processes listen on is 127.0.0.1 only, and the printed demo key works
    processes = _assert_up(first)
    _assert_loopback_only(first, processes)
    assert f"demo API key  {old_key}" in first.output
    assert _products(first, old_key).status_code == 200

    # When Ctrl-C; Then it exits 0, says so, and no process nor port of the run is left
    _ctrl_c_and_assert_nothing_left(first, processes)

    # When it starts again right away on the same ports, with another TANDEM_DEMO_API_KEY (the
    # emulator keeps its tables across restarts: the demo tenant is found kept)
    second = _start(tandem_up, api_port, aws_port, "--no-logs", TANDEM_DEMO_API_KEY=new_key)

    # Then it comes up with its own, fresh emulator, and no process of the first run
    processes = _assert_up(second)
    assert not {(p.pid, p.started) for p in processes} & set(first.seen), "a process of the first run"

    # And it prints the new key, the API takes it, and the old demo key is revoked
    assert "demo data kept from the last run" in second.output, second.output
    assert f"demo API key  {new_key}" in second.output
    answer = _products(second, new_key)
    assert answer.status_code == 200, answer.text
    assert _products(second, old_key).status_code == 401

    # And Ctrl-C stops it as cleanly as the first
    _ctrl_c_and_assert_nothing_left(second, processes)
