"""Load past the queue limit: throughput, latency percentiles, 503 share and memory, per client kind.

    python scripts/bench_load.py [--seconds 20] [--concurrency 16,64] [--max-queue 16]

Starts ``matcher serve`` on a free loopback port (``MATCHER_MAX_QUEUE`` as given), measures one
request alone, then for each concurrency runs two kinds of client for ``--seconds`` each:

- *plain*: sends, counts a 503 ``busy`` as a refusal and sends the next request at once;
- *retrying*: on 503 waits ``Retry-After`` and tries again; its latency runs from the first attempt
  to the answer, which is what a user of a well-behaved client feels.

Prints requests answered per second, p50/p95/p99 of answered requests, the share of 503s and the
server's resident memory before and after. Used to choose the default ``MATCHER_MAX_QUEUE``.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench_http import free_port, pct, wait_ready

ROOT = Path(__file__).resolve().parent.parent


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def post(conn: http.client.HTTPConnection, body: bytes) -> tuple[int, float]:
    """(status, Retry-After seconds) of one POST /v1/match."""
    conn.request("POST", "/v1/match", body, {"Content-Type": "application/json"})
    resp = conn.getresponse()
    resp.read()
    return resp.status, float(resp.getheader("Retry-After") or 0)


def load(port: int, body: bytes, clients: int, seconds: float, retrying: bool) -> dict:
    answered: list[float] = []
    refused = errors = 0
    lock = threading.Lock()
    stop = time.perf_counter() + seconds

    def client() -> None:
        nonlocal refused, errors
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
        while time.perf_counter() < stop:
            first = time.perf_counter()
            while True:
                try:
                    status, wait = post(conn, body)
                except OSError:
                    conn.close()
                    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
                    status, wait = -1, 0.0
                with lock:
                    refused += status == 503
                    errors += status not in (200, 503)
                if status == 503 and retrying and time.perf_counter() < stop:
                    time.sleep(wait or 1.0)
                    continue
                if status == 200:
                    with lock:
                        answered.append((time.perf_counter() - first) * 1000)
                break
        conn.close()

    threads = [threading.Thread(target=client) for _ in range(clients)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    wall = time.perf_counter() - started
    sent = len(answered) + refused + errors
    return {"answered/s": len(answered) / wall, "p50": statistics.median(answered) if answered else float("nan"),
            "p95": pct(answered, .95) if answered else float("nan"),
            "p99": pct(answered, .99) if answered else float("nan"),
            "503 share": refused / sent if sent else 0.0, "errors": errors}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--concurrency", default="16,64")
    ap.add_argument("--max-queue", type=int, default=None, help="MATCHER_MAX_QUEUE for the server (default: its own)")
    ap.add_argument("--file", default=str(ROOT / "examples" / "resume-40.txt"))
    args = ap.parse_args()
    body = json.dumps({"text": Path(args.file).read_text(encoding="utf-8")}).encode()

    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    if args.max_queue is not None:
        env["MATCHER_MAX_QUEUE"] = str(args.max_queue)
    server = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, server, time.perf_counter() + 120)
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        single = []
        for _ in range(30):
            t = time.perf_counter()
            post(conn, body)
            single.append((time.perf_counter() - t) * 1000)
        queue = args.max_queue if args.max_queue is not None else "default"
        print(f"MATCHER_MAX_QUEUE={queue}; one request alone: p50 {statistics.median(single):.0f} ms, "
              f"p99 {pct(single, .99):.0f} ms; RSS {rss_mib(server.pid):.0f} MiB")
        print(f"{'clients':>8} {'kind':>9} {'answered/s':>10} {'p50':>8} {'p95':>8} {'p99':>8} {'503 share':>9} "
              f"{'errors':>6} {'RSS before→after':>17}")
        for clients in (int(c) for c in args.concurrency.split(",")):
            for retrying in (False, True):
                before = rss_mib(server.pid)
                r = load(port, body, clients, args.seconds, retrying)
                print(f"{clients:>8} {'retrying' if retrying else 'plain':>9} {r['answered/s']:>10.1f} "
                      f"{r['p50']:>6.0f}ms {r['p95']:>6.0f}ms {r['p99']:>6.0f}ms {r['503 share']:>9.1%} "
                      f"{r['errors']:>6} {before:>8.0f}→{rss_mib(server.pid):.0f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
