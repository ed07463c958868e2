"""Load test of the HTTP path on 127.0.0.1: start-up time, latency percentiles, throughput, peak RSS.

    python scripts/bench_http.py [--requests 500] [--concurrency 1,4,16] [--workers 1]

Starts ``matcher serve`` as a subprocess on a free loopback port, times how long until /readyz
answers 200, sends a bounded number of POST /v1/match requests (the 40-line example résumé) at
each concurrency, then stops the server. Also times ``match()`` in-process on the same text so the
HTTP overhead is visible. Traffic never leaves the machine.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_ready(port: int, server: subprocess.Popen, deadline: float) -> float:
    """Poll ``/readyz`` until it answers 200; the ``perf_counter`` time it did. Exits the benchmark if
    the server dies or ``deadline`` (a ``perf_counter`` time) passes first."""
    while time.perf_counter() < deadline and server.poll() is None:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            conn.request("GET", "/readyz")
            if conn.getresponse().status == 200:
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.05)
    sys.exit(f"{Path(sys.argv[0]).name}: the server did not become ready")


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def peak_rss_mb(pid: int) -> float:
    """Peak resident memory of the server and its children (workers), in MiB."""
    total = 0
    pids = [pid]
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        pids += [int(c) for c in children]
    except OSError:
        pass
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def run_load(port: int, body: bytes, n: int, concurrency: int) -> tuple[list[float], int, float]:
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    counter = iter(range(n))

    def worker() -> None:
        nonlocal errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        while True:
            with lock:
                if next(counter, None) is None:
                    break
            t = time.perf_counter()
            try:
                conn.request("POST", "/v1/match", body, {"Content-Type": "application/json"})
                resp = conn.getresponse()
                resp.read()
                ok = resp.status == 200
            except OSError:
                ok = False
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            with lock:
                latencies.append((time.perf_counter() - t) * 1000)
                errors += not ok
        conn.close()

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    return latencies, errors, time.perf_counter() - started


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=500)
    ap.add_argument("--concurrency", default="1,4,16")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--file", default=str(ROOT / "examples" / "resume-40.txt"))
    args = ap.parse_args()
    text = Path(args.file).read_text(encoding="utf-8")
    body = json.dumps({"text": text}).encode()

    # In-process reference: match() alone on the same text, before the server starts.
    from matcher import Matcher

    m = Matcher.load()
    m.match(text)
    ref = []
    for _ in range(30):
        t = time.perf_counter()
        m.match(text)
        ref.append((time.perf_counter() - t) * 1000)
    del m

    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    t0 = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--host", "127.0.0.1", "--port", str(port),
                               "--workers", str(args.workers)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        ready = wait_ready(port, server, t0 + 120) - t0
        print(f"start-up: /readyz 200 after {ready:.2f} s (workers={args.workers}, built index, exported model)")
        print(f"in-process match(): p50 {statistics.median(ref):.1f} ms\n")
        run_load(port, body, 20, 1)  # warm-up
        print(f"{'concurrency':>11}{'requests':>9}{'errors':>7}{'p50':>9}{'p95':>9}{'p99':>9}{'req/s':>8}")
        for c in (int(x) for x in args.concurrency.split(",")):
            lat, errors, wall = run_load(port, body, args.requests, c)
            print(f"{c:>11}{len(lat):>9}{errors:>7}{statistics.median(lat):>7.1f}ms{pct(lat, .95):>7.1f}ms"
                  f"{pct(lat, .99):>7.1f}ms{len(lat) / wall:>8.1f}")
        print(f"\nserver peak RSS: {peak_rss_mb(server.pid):.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
