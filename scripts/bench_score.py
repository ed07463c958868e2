#!/usr/bin/env python
"""Benchmark batch scoring: candidates/second for the whole job, and for the model call alone on the
same passages in the same chunks, so the cost of everything that is not the model is visible.
Also peak and per-chunk memory (RSS), to show memory stays flat whatever the input size.

    python scripts/bench_score.py --candidates 2000            # synthetic candidates, default backend
    python scripts/bench_score.py --candidates 10000 --no-embed-only   # the memory run
    MATCHER_BACKEND=torch python scripts/bench_score.py         # the fp32 reference path

The candidates are generated here (seeded, never committed): 6–14 résumé bullets from a pool
across the catalog's kinds of work, a contact line, sometimes a goal sentence.
"""

from __future__ import annotations

import argparse
import io
import json
import os
import random
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from matcher import Matcher
from matcher.batch import BatchOptions, LocalEngine, open_records, run
from matcher.settings import Settings

BULLETS = [
    "Led the roadmap for an internal developer platform used by {n} engineering teams.",
    "Shipped a self-serve CI pipeline that cut build times by {p} percent.",
    "Owned GPU quota and scheduling policy for the model training cluster.",
    "Ran weekly reviews of assistant answers with engineers and support leads.",
    "Defined evaluation sets and acceptance criteria for an LLM-based support bot.",
    "Wrote prompts and guardrails, and tracked hallucination rates in production.",
    "Built dashboards in SQL and Looker for the finance and sales teams.",
    "Owned the company metrics layer and the definitions of {n} core KPIs.",
    "Partnered with data engineering on a warehouse migration to dbt and Snowflake.",
    "Trained and deployed ranking models that lifted click-through by {p} percent.",
    "Built a feature store and offline evaluation for {n} production models.",
    "Managed model monitoring, drift alerts and retraining schedules.",
    "Interviewed {n} customers a quarter and turned findings into product requirements.",
    "Wrote PRDs and prioritised the backlog with engineering and design.",
    "Ran A/B tests on onboarding and grew activation by {p} percent.",
    "Designed onboarding flows and ran usability tests every sprint.",
    "Managed a team of {n} engineers and ran hiring for the backend group.",
    "Coordinated releases across {n} teams and kept the delivery plan on track.",
    "Maintained Kubernetes clusters and Terraform modules for {n} services.",
    "Wrote backend services in Go and Python with on-call ownership.",
    "Planned campaigns and managed a paid acquisition budget.",
    "Cared for patients on a busy surgical ward and trained new nurses.",
    "Taught mathematics to classes of {n} students and led the exam board.",
    "Analysed churn with Python and presented the results to leadership.",
]
GOALS = [
    "I want to move into a product role where I own the roadmap for AI features.",
    "Looking for my next role in machine learning platform product management.",
    "My goal is to lead data products that people across the company rely on.",
]


def synthetic(n: int, seed: int = 7):
    rng = random.Random(seed)
    for i in range(n):
        bullets = [b.format(n=rng.randint(2, 40), p=rng.randint(5, 60))
                   for b in rng.sample(BULLETS, rng.randint(6, 14))]
        lines = [f"Candidate {i}", f"candidate{i}@example.com", "", "Experience"]
        lines += [f"- {b}" for b in bullets]
        if rng.random() < 0.4:
            lines += ["", "Goals", rng.choice(GOALS)]
        yield {"id": f"cand-{i:06d}", "text": "\n".join(lines)}


def rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class TimedEmbedder:
    """The matcher's embedder, timing every call."""

    def __init__(self, inner) -> None:
        self.inner, self.name, self.dimension = inner, inner.name, inner.dimension
        self.seconds, self.calls, self.texts = 0.0, 0, 0

    def embed(self, texts):
        started = time.perf_counter()
        try:
            return self.inner.embed(texts)
        finally:
            self.seconds += time.perf_counter() - started
            self.calls += 1
            self.texts += len(texts)


class SampledEngine(LocalEngine):
    """The local engine, noting the process's RSS after every chunk."""

    def __init__(self, matcher) -> None:
        super().__init__(matcher)
        self.rss: list[float] = []

    def map(self, chunks, top_k):
        for item in super().map(chunks, top_k):
            self.rss.append(rss_mb())
            yield item


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=1000)
    parser.add_argument("--chunk-size", type=int, default=64)
    parser.add_argument("--input", help="a JSONL file to score instead of synthetic candidates")
    parser.add_argument("--format", choices=("jsonl", "csv"), default="jsonl", help="output format")
    parser.add_argument("--no-embed-only", action="store_true", help="skip the model-only pass")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each pass; the best is reported")
    args = parser.parse_args()

    settings = Settings.from_env()
    work = Path(tempfile.mkdtemp(prefix="bench-score-"))
    src = Path(args.input) if args.input else work / "candidates.jsonl"
    if not args.input:
        with open(src, "w", encoding="utf-8") as f:
            for row in synthetic(args.candidates):
                f.write(json.dumps(row) + "\n")
    out = work / f"out.{args.format}"

    t = time.perf_counter()
    matcher = Matcher.load(settings)
    load_s = time.perf_counter() - t
    timed = TimedEmbedder(matcher.embedder)
    matcher.embedder = timed
    rss_before = rss_mb()

    def job() -> tuple[float, float, SampledEngine, object]:
        timed.seconds = 0.0
        engine = SampledEngine(matcher)
        started = time.perf_counter()
        summary = run(BatchOptions(str(src), out, chunk_size=args.chunk_size, quiet=True, overwrite=True), settings,
                      matcher=matcher, engine=engine, stderr=io.StringIO())
        return time.perf_counter() - started, timed.seconds, engine, summary

    def model_only() -> float:
        """The model call alone on the same passages, grouped in the same chunks (segmenting not timed)."""
        total, chunk = 0.0, []

        def flush() -> float:
            prepared = [matcher.prepare(x) for x in chunk]
            flat = [p.text for item in prepared if not item.error for p in item.passages]
            chunk.clear()
            started = time.perf_counter()
            timed.inner.embed(flat)
            return time.perf_counter() - started

        for rec in open_records(str(src), settings=settings):
            chunk.append(rec.text or "")
            if len(chunk) == args.chunk_size:
                total += flush()
        if chunk:
            total += flush()
        return total

    # The machine may be shared: alternate the two passes and keep the best of each.
    job_s, in_model_s, engine, summary = job()
    peak = peak_rss_mb()
    embed_s = None
    for _ in range(args.repeat - 1):
        j = job()
        if j[0] < job_s:
            job_s, in_model_s = j[0], j[1]
    if not args.no_embed_only:
        embed_s = min(model_only() for _ in range(args.repeat))

    n = summary.total
    rss = engine.rss
    print(f"backend {settings.backend}, {os.cpu_count()} CPUs, chunk {args.chunk_size}, model load {load_s:.1f} s, "
          f"best of {args.repeat}")
    print(f"batch job:   {n:,} candidates ({summary.failed} failed), {timed.texts // args.repeat:,} passages in "
          f"{timed.calls // args.repeat} model calls, {job_s:.1f} s → {n / job_s:.1f} candidates/s")
    other = job_s - in_model_s
    print(f"  of which in the model: {in_model_s:.1f} s ({100 * in_model_s / job_s:.1f}% of the job); everything "
          f"else {other:.2f} s ({1000 * other / max(n, 1):.2f} ms/candidate)")
    print(f"memory (first run): RSS {rss_before:.0f} MB before the job; after chunk 1 {rss[0]:.0f} / at 10% "
          f"{rss[len(rss) // 10]:.0f} / 50% {rss[len(rss) // 2]:.0f} / end {rss[-1]:.0f} MB; peak RSS of the "
          f"process {peak:.0f} MB; output {out.stat().st_size / 2**20:.1f} MB")
    if embed_s is not None:
        print(f"model alone: same passages, same chunks: {embed_s:.1f} s → {n / embed_s:.1f} candidates/s; the "
              f"job runs at {100 * embed_s / job_s:.1f}% of the model-only speed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
