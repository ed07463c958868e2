"""A real ``matcher serve`` in a subprocess, for tests that attack it over real sockets."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests import ROOT

ADMIN_KEY = "hostile-test-admin-key"


@dataclass
class Server:
    url: str
    port: int
    pid: int
    log: Path

    def rss_mib(self) -> float:
        """The server's resident memory now (Linux /proc)."""
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        raise AssertionError("no VmRSS")

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="package")
def server(tmp_path_factory) -> Server:
    tmp = tmp_path_factory.mktemp("hostile")
    port = free_port()
    # The server as it ships (default backend, learned scorer), its index and scorer in a fresh folder;
    # the model export and the training texts' vectors come from the checkout's .cache (setup made
    # them), so it trains in seconds.
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_SCORER": "learned", "MATCHER_INDEX_DIR": str(tmp / "index"),
           "MATCHER_CACHE_DIR": str(ROOT / ".cache"), "MATCHER_CATALOGS": "default", "MATCHER_ADMIN_KEY": ADMIN_KEY,
           "MATCHER_HEADER_TIMEOUT": "2", "MATCHER_BODY_TIMEOUT": "3", "MATCHER_MAX_CONNECTIONS": "40"}
    log = tmp / "server.log"
    with open(log, "wb") as err:
        proc = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--port", str(port)], cwd=ROOT, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + 900  # a cold .cache means embedding the training set
    while time.time() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, log.read_text()
        time.sleep(0.3)
    else:
        proc.kill()
        raise AssertionError("server did not become ready: " + log.read_text()[-2000:])
    yield Server(url, port, proc.pid, log)
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
