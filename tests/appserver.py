"""Start the Streamlit app on a free local port (for the browser test and the app benchmark).

The server runs from the repository root, so `.streamlit/config.toml` (the production settings)
applies; its output goes to a run log file that tests can read for warnings.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-quic",
                 "--no-first-run"]
WARNING_LINE = re.compile(r"\b(WARNING|ERROR|CRITICAL)\b|Traceback|Warning:|deprecat|overflow",
                          re.IGNORECASE)
"""A run-log line a support desk should never see: a logged warning or error, a Python warning
(`DeprecationWarning: …`), a traceback, or a file-watcher overflow."""


@dataclass(frozen=True)
class AppServer:
    """A running app."""

    url: str
    ready_seconds: float
    """From process start until the health endpoint answered."""
    log: Path
    """The server's stdout and stderr."""

    def warnings(self) -> list[str]:
        """Lines of the run log so far that are warnings, errors or tracebacks."""
        text = self.log.read_text("utf-8", errors="replace")
        return [line for line in text.splitlines() if WARNING_LINE.search(line)]


def wait_until_up(url: str, process: subprocess.Popen, timeout: float,
                  output: Callable[[], str] = lambda: "") -> None:
    """Poll `url` until it answers 200; fail with the server's output if it exits or times out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{url} did not come up:\n{output()}")
        time.sleep(0.2)


def free_port() -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def running_app(env: Mapping[str, str], timeout: float = 60,
                log_dir: Path | None = None) -> Iterator[AppServer]:
    """Run `streamlit run app.py` with the repository's config; yields the running server.
    The run log goes to `log_dir/run.log` (default: a new temporary folder)."""
    port = free_port()
    started = time.perf_counter()
    log = (log_dir or Path(tempfile.mkdtemp(prefix="kb-app-"))) / "run.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(APP), "--server.port", str(port),
             "--server.address", "127.0.0.1"],
            env={**os.environ, **env}, cwd=APP.parent, stdout=output, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/_stcore/health", process, timeout,
                      lambda: log.read_text("utf-8", errors="replace"))
        yield AppServer(url, time.perf_counter() - started, log)
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
