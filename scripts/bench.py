"""Latency of ``match()`` and of the embedding call alone, for every backend, on one 40-line résumé.

    python scripts/bench.py [--repeats 30] [--backends torch,openvino,openvino-int8] [--file FILE]

Prints, per backend: median and p95 of match(), of embed() on the same passages, the share of
match() that is not the model, and the speed-up over torch fp32. All backends run in one process,
taking turns, on the same text, after a warm-up.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from matcher import Matcher  # noqa: E402
from matcher.segment import split_passages  # noqa: E402
from matcher.settings import Settings  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def cpu_description() -> str:
    model, flags = platform.processor() or "unknown CPU", set()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
    except OSError:
        pass
    wanted = [f for f in ("avx2", "avx512f", "avx512_vnni", "amx_int8") if f in flags]
    return f"{model}; {os.cpu_count()} cores; flags: {' '.join(wanted) or 'none of avx2/avx512/vnni/amx'}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=30)
    ap.add_argument("--backends", default="torch,openvino,openvino-int8")
    ap.add_argument("--file", default=str(ROOT / "examples" / "resume-40.txt"))
    args = ap.parse_args()
    text = Path(args.file).read_text(encoding="utf-8")
    passages = [p.text for p in split_passages(text)]
    print(f"{time.strftime('%Y-%m-%d')} · {cpu_description()}")
    from matcher.embed import packaged_model_path
    from matcher.embed.openvino import _tokenizer

    tokens = sum(sum(e.attention_mask) for e in _tokenizer(packaged_model_path()).encode_batch(passages))
    print(f"input: {Path(args.file).name}, {len(text.splitlines())} lines, {len(passages)} passages, "
          f"{tokens} tokens\n")
    base = Settings.from_env()
    matchers = {}
    for backend in args.backends.split(","):
        t = time.perf_counter()
        matchers[backend] = Matcher.load(replace(base, backend=backend).validated())
        print(f"loaded {backend:<14} in {time.perf_counter() - t:5.2f} s (index + model, export cached)")
    timings: dict[str, dict[str, list[float]]] = {b: {"match": [], "embed": []} for b in matchers}
    for m in matchers.values():  # warm-up
        m.match(text)
        m.embedder.embed(passages)
    for _ in range(args.repeats):
        for backend, m in matchers.items():
            t = time.perf_counter()
            m.match(text)
            timings[backend]["match"].append((time.perf_counter() - t) * 1000)
            t = time.perf_counter()
            m.embedder.embed(passages)
            timings[backend]["embed"].append((time.perf_counter() - t) * 1000)
    ref = statistics.median(timings[next(iter(timings))]["match"])
    print(f"\n{'backend':<14}{'match p50':>10}{'match p95':>10}{'embed p50':>10}{'embed p95':>10}"
          f"{'not model':>10}{'× torch':>9}")
    for backend, t in timings.items():
        mp50, ep50 = statistics.median(t["match"]), statistics.median(t["embed"])
        print(f"{backend:<14}{mp50:>8.1f}ms{pct(t['match'], .95):>8.1f}ms{ep50:>8.1f}ms{pct(t['embed'], .95):>8.1f}ms"
              f"{max(0.0, (mp50 - ep50) / mp50):>10.1%}{ref / mp50:>8.2f}×")
    # Same ranking? The fast backends must agree with the reference on this text.
    ranks = {b: [r.role_id for r in m.match(text).results] for b, m in matchers.items()}
    print("\nrankings:", "; ".join(f"{b}: {','.join(r)}" for b, r in ranks.items()))


if __name__ == "__main__":
    main()
