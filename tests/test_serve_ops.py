"""``matcher serve --workers 2`` as an operator runs it: JSON log lines on stderr, and ``/metrics`` that
counts every request whichever worker answers (the real model, a real server, real sockets)."""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request

import pytest

from tests import ROOT

pytestmark = pytest.mark.model

SECRET = "Quokkaville-Zanzibar-4417"
TEXT = f"{SECRET}: product manager for our internal developer platform and the SDKs teams use to call models."


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def fetch(url: str, body: bytes | None = None, headers: dict | None = None) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=60) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()
    except OSError:
        return 0, b""


def test_two_workers_json_logs_and_summed_metrics(tmp_path):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_INDEX_DIR": str(tmp_path / "index"),
           "MATCHER_LOG_FORMAT": "json", "MATCHER_SCORER": "similarity", "MATCHER_CATALOGS": "default"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    # Built first, so the two workers do not both build the index on their first start.
    subprocess.run([sys.executable, "-m", "matcher", "index", "build"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "server.log"
    with open(log, "wb") as sink:
        server = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--port", str(port), "--workers", "2"],
                                  cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 180
        while fetch(base + "/readyz")[0] != 200:
            assert server.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.3)
        for i in range(8):  # a new connection each: the kernel spreads them over the workers
            # /readyz answered from one worker; the other may still be loading (503 not_ready, with
            # Retry-After): retry as a client would. Only the 200s are counted below.
            for _ in range(120):
                status, _ = fetch(base + "/v1/match", json.dumps({"text": TEXT}).encode(),
                                  {"Content-Type": "application/json", "X-Request-ID": f"r-{i}"})
                if status != 503:
                    break
                time.sleep(0.5)
            assert status == 200
        pattern = re.compile(r'matcher_http_requests_total\{method="POST",route="/v1/match",status="200"\} ([0-9.]+)')
        for _ in range(4):  # whichever worker answers /metrics, it reports both workers' requests
            status, body = fetch(base + "/metrics")
            assert status == 200
            assert float(pattern.search(body.decode()).group(1)) == 8.0
    finally:
        server.terminate()
        server.wait(timeout=30)
    lines = [line for line in log.read_text(encoding="utf-8").splitlines() if line.strip()]
    parsed = [json.loads(line) for line in lines]  # every line is one JSON object
    access = [p for p in parsed if p["logger"] == "matcher.access" and p.get("route") == "/v1/match"]
    assert {p["request_id"] for p in access if p["status"] == 200} == {f"r-{i}" for i in range(8)}
    assert all(p["method"] == "POST" and p["latency_ms"] >= 0 for p in access)
    assert SECRET not in log.read_text(encoding="utf-8")
