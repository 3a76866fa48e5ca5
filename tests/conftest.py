"""Shared helpers for the integration tests: free ports, `eventually`, and a running book.

`ci_script(...)` runs a `.ci/` setup script under a machine-wide lock, so that pytest-xdist workers
never run two `apt-get install`s at once on a fresh CI machine.

`start_book(tmp_path)` launches `python -m ultimate_nb.live` as a subprocess on free ports with
its own journal directory, waits until `/health` answers and returns a `Book`; every book a test
starts is terminated at teardown, whatever the test did to it.
"""

from __future__ import annotations

import fcntl
import importlib.util
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest

REPO = Path(__file__).resolve().parents[1]
T = TypeVar("T")


def load_benchmark(name: str):
    "Import benchmarks/<name>.py as a module (benchmarks/ is not a package)."
    spec = importlib.util.spec_from_file_location(f"bench_{name}", REPO / "benchmarks" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ci_script(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    "Run `bash .ci/<args>` under an exclusive file lock (one apt-get at a time across test processes)."
    with open(Path(tempfile.gettempdir()) / "ultimate-nb-ci-script.lock", "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)          # released when the file closes
        return subprocess.run(["bash", str(REPO / ".ci" / args[0]), *args[1:]], capture_output=True, text=True,
                              timeout=timeout)


def free_port() -> int:
    "Return a TCP port on 127.0.0.1 that was free a moment ago."
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def eventually(
    condition: Callable[
        [], T
    ],  # called until it returns something truthy; exceptions count as falsy
    timeout: float = 10.0,  # seconds
    interval: float = 0.05,  # seconds between calls
    message: str = "",  # added to the AssertionError
) -> T:
    "Return the first truthy value of `condition()`, or raise AssertionError after `timeout` s."
    deadline = time.monotonic() + timeout
    last: Any = None
    while True:
        try:
            last = condition()
            if last:
                return last
        except Exception as e:  # a condition that raises (connection refused, ...) is not met yet
            last = e
        if time.monotonic() >= deadline:
            name = getattr(condition, "__name__", repr(condition))
            raise AssertionError(
                f"condition {name} not met within {timeout}s{': ' + message if message else ''}; "
                f"last result: {last!r}"
            )
        time.sleep(interval)


def _tail(path: Path, n: int = 3000) -> str:
    try:
        return path.read_text(errors="replace")[-n:]
    except OSError:
        return ""


@dataclass
class Book:
    "A `python -m ultimate_nb.live` subprocess on free ports, with its own var dir and token."

    base_dir: Path  # where the logs go
    var_dir: Path  # store.var_dir: the journal
    token: str
    speed: float
    extra_args: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    rest_port: int = field(default_factory=free_port)
    ws_port: int = field(default_factory=free_port)
    metrics_port: int = field(default_factory=free_port)
    proc: subprocess.Popen | None = None
    starts: int = 0

    @property
    def rest_url(self) -> str:
        return f"http://127.0.0.1:{self.rest_port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.ws_port}/stream"

    @property
    def metrics_url(self) -> str:
        return f"http://127.0.0.1:{self.metrics_port}/metrics"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    @property
    def stdout_path(self) -> Path:
        return self.base_dir / "book.stdout"

    @property
    def stderr_path(self) -> Path:
        return self.base_dir / "book.stderr"

    def command(self) -> list[str]:
        return [
            sys.executable,
            "-m",
            "ultimate_nb.live",
            "--var-dir",
            str(self.var_dir),
            "--rest-port",
            str(self.rest_port),
            "--ws-port",
            str(self.ws_port),
            "--metrics-port",
            str(self.metrics_port),
            "--speed",
            str(self.speed),
            "--set",
            f"server.api_token={self.token}",
            *self.extra_args,
        ]

    def start(self, timeout: float = 60.0) -> Book:
        "Launch the process (logs appended to book.stdout/book.stderr) and wait for /health."
        self.var_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("ULTIMATE_")}
        env.update(PYTHONUNBUFFERED="1", ULTIMATE_SERVER__API_TOKEN=self.token, **self.env)
        with open(self.stdout_path, "ab") as out, open(self.stderr_path, "ab") as err:
            # cwd is the test's directory so that no .env of the checkout leaks in
            self.proc = subprocess.Popen(
                self.command(), cwd=self.base_dir, env=env, stdout=out, stderr=err
            )
        self.starts += 1
        self.wait_healthy(timeout)
        return self

    def health(self) -> httpx.Response:
        return httpx.get(f"{self.rest_url}/health", timeout=2.0)

    def wait_healthy(self, timeout: float = 60.0) -> dict:
        "Wait until /health answers (200 or 503) and return its JSON."

        def answered():
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"book exited with {self.proc.returncode}")
            return self.health().json()

        try:
            return eventually(answered, timeout=timeout, interval=0.1, message="book /health")
        except AssertionError as e:
            raise AssertionError(f"{e}\n--- book stderr ---\n{_tail(self.stderr_path)}") from None

    def get(self, path: str, **kw) -> httpx.Response:
        return httpx.get(self.rest_url + path, headers=self.headers, timeout=5.0, **kw)

    def post(self, path: str, json: Any = None, **kw) -> httpx.Response:
        return httpx.post(self.rest_url + path, headers=self.headers, json=json, timeout=5.0, **kw)

    def kill(self, sig: int = signal.SIGKILL, timeout: float = 15.0) -> int | None:
        "Send `sig` (default SIGKILL) and wait for the process to exit; return its exit code."
        if self.proc is None or self.proc.poll() is not None:
            return None if self.proc is None else self.proc.returncode
        self.proc.send_signal(sig)
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            return self.proc.wait(5)

    def stop(self) -> int | None:
        "Terminate gracefully (SIGTERM), escalating to SIGKILL."
        return self.kill(signal.SIGTERM)

    def restart(self, sig: int | None = None, timeout: float = 60.0) -> Book:
        "Stop (with `sig`, default SIGTERM) if running, then start on the same ports and var dir."
        self.kill(signal.SIGTERM if sig is None else sig)
        return self.start(timeout)


@pytest.fixture
def start_book() -> Iterator[Callable[..., Book]]:
    "Factory: `start_book(tmp_path, token=..., speed=60, extra_args=())` -> a running `Book`."
    books: list[Book] = []

    def start(
        base_dir: Path,  # logs go here; var dir defaults to base_dir / "var"
        token: str = "test-token-0123456789abcdef0123456789",  # >= 32 characters
        speed: float = 60,
        extra_args: Sequence[str] = (),
        var_dir: Path | None = None,
        env: dict[str, str] | None = None,  # extra environment for the process
        timeout: float = 60.0,
    ) -> Book:
        base_dir = Path(base_dir)
        base_dir.mkdir(parents=True, exist_ok=True)
        book = Book(
            base_dir,
            Path(var_dir) if var_dir else base_dir / "var",
            token,
            speed,
            tuple(extra_args),
            dict(env or {}),
        )
        books.append(book)
        return book.start(timeout)

    yield start
    for b in books:
        b.kill(signal.SIGTERM)


@pytest.fixture(scope="module")
def postgres_url() -> Iterator[str]:
    "A throw-away PostgreSQL server from `.ci/postgres.sh` for the module: its SQLAlchemy URL (skips without one)."
    import shutil

    base = Path(tempfile.mkdtemp(prefix="ultimate-pg-"))
    base.chmod(0o755)  # the server runs as the postgres user
    run = ci_script("postgres.sh", "start", str(base), str(free_port()), timeout=300)
    if run.returncode == 3:
        shutil.rmtree(base, ignore_errors=True)
        pytest.skip(f"no PostgreSQL server available: {run.stderr.strip()}")
    assert run.returncode == 0, run.stderr
    yield run.stdout.strip().splitlines()[-1]
    ci_script("postgres.sh", "stop", str(base), timeout=60)
    shutil.rmtree(base, ignore_errors=True)
