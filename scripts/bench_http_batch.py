"""Candidates per second over HTTP: one request per candidate vs ``POST /v1/match/batch``.

    python scripts/bench_http_batch.py [--candidates 128] [--batch 32] [--workers 1]

Starts ``matcher serve`` on a free loopback port (default catalog, the settings in the environment),
waits for /readyz, then scores the same candidates twice: one ``POST /v1/match`` each (one client,
back to back, and 4 clients at once), and in batches of ``--batch`` items. The texts are the sealed
test set's texts (résumés, notes, postings of every length; the labels are not read), or ``--texts``. Prints
candidates/s for each, and checks that both ways give the same best fit for every candidate.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench_http import free_port, wait_ready  # scripts/ is on the path when run as a script

ROOT = Path(__file__).resolve().parent.parent


def post(port: int, path: str, payload: dict) -> dict:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
    conn.request("POST", path, json.dumps(payload), {"Content-Type": "application/json"})
    response = conn.getresponse()
    body = json.loads(response.read())
    conn.close()
    if response.status != 200:
        raise SystemExit(f"bench: {path} answered {response.status}: {body}")
    return body


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--texts", type=Path, default=ROOT / "eval" / "v2" / "test.jsonl",
                        help="a JSONL file with a text field per line (only the texts are read)")
    args = parser.parse_args()
    lines = args.texts.read_text(encoding="utf-8").splitlines()
    texts = [json.loads(line)["text"] for line in lines[:args.candidates]]
    port = free_port()
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_MAX_BATCH": str(args.batch)}
    server = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--port", str(port),
                               "--workers", str(args.workers)], cwd=ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_ready(port, server, time.perf_counter() + 600)
        post(port, "/v1/match", {"text": texts[0]})  # warm-up

        began = time.perf_counter()
        single = [post(port, "/v1/match", {"text": t})["best_fit"] for t in texts]
        one_by_one = time.perf_counter() - began

        began = time.perf_counter()
        with ThreadPoolExecutor(4) as pool:
            pooled = list(pool.map(lambda t: post(port, "/v1/match", {"text": t})["best_fit"], texts))
        four_clients = time.perf_counter() - began

        began = time.perf_counter()
        batched = []
        for i in range(0, len(texts), args.batch):
            items = [{"id": str(j), "text": t} for j, t in enumerate(texts[i:i + args.batch], i)]
            batched += [doc.get("best_fit") for doc in post(port, "/v1/match/batch", {"items": items})["results"]]
        in_batches = time.perf_counter() - began
    finally:
        server.terminate()
        server.wait(timeout=30)
    n = len(texts)
    chars = sum(len(t) for t in texts) / n
    print(f"{n} candidates (mean {chars:.0f} characters), {args.workers} worker(s), {os.cpu_count()} cores")
    print(f"  one POST /v1/match each, 1 client   {n / one_by_one:7.1f} candidates/s")
    print(f"  one POST /v1/match each, 4 clients  {n / four_clients:7.1f} candidates/s")
    print(f"  POST /v1/match/batch of {args.batch:<3}        {n / in_batches:7.1f} candidates/s "
          f"({one_by_one / in_batches:.2f}x one by one)")
    same = sum(a == b for a, b in zip(single, batched, strict=True))
    agree = sum(a == b for a, b in zip(single, pooled, strict=True))
    print(f"  same best fit both ways: {same}/{n}; 4 clients vs 1: {agree}/{n}")


if __name__ == "__main__":
    main()
