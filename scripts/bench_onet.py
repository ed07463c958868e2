#!/usr/bin/env python
"""The O*NET benchmark: job titles as queries, their occupation as the right answer.

    python scripts/bench_onet.py                 # 2,000 titles, seed 13, real model (a few minutes on 2 cores)
    python scripts/bench_onet.py --n 3000 --json bench.json

1. Samples ``--n`` alternate and reported job titles (fixed seed) from ``../shared/data/onet-29.3``:
   only titles that name exactly one occupation and are not an occupation's own title, at most
   ``--per-occupation`` per occupation so the few occupations with thousands of titles do not
   dominate.
2. Imports O*NET with those titles excluded (no leakage) into a temporary folder, builds the
   index with the real model and loads it as a user would.
3. Ranks every query with the matcher and, in the same run, with two baselines: BM25 over the
   same statements (a role scores the mean of its three best statements, as in ``matcher eval``)
   and one-vector cosine (the query against one embedding of "occupation title. description").
   Reports top-1, top-5 and MRR@10 (every system ranks ten roles).
4. Scale: import/load/build times, index size on disk, memory (peak of this process, and a fresh
   process that loads the built index and matches a résumé), match latency for titles and résumés,
   and HNSW against exact search (recall of the candidate search, end-to-end accuracy, latency),
   whether or not the catalog crosses the HNSW limit.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import replace
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared"
DEFAULT_DATA = SHARED / "data" / "onet-29.3"
sys.path.insert(0, str(ROOT))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import faiss  # noqa: E402

from matcher.catalog import load_catalog  # noqa: E402
from matcher.catalog.onet import import_onet, normalise_title, read_onet, title_rows  # noqa: E402
from matcher.core import CANDIDATES_PER_PASSAGE, Matcher  # noqa: E402
from matcher.evaluate import evaluate, rank_bm25  # noqa: E402
from matcher.index import HNSW_EF_SEARCH, HNSW_M, build_index, index_dir_for, load_index  # noqa: E402
from matcher.learned import expected_calibration_error, reliability  # noqa: E402
from matcher.settings import Settings  # noqa: E402
from matcher.training import train  # noqa: E402

TOP = 10  # every system returns its ten best roles; MRR is MRR@10
NURSE = "Registered nurse on a cardiac step-down unit; administer medications and monitor telemetry."


def sample_queries(data: Path, n: int, seed: int, per_occupation: int) -> list[tuple[str, str, str]]:
    """``(title, code, source)`` queries: unambiguous titles, never an occupation's own title."""
    official = {normalise_title(o.title) for o in read_onet(data)}
    codes_of: dict[str, set[str]] = defaultdict(set)
    first: dict[str, tuple[str, str, str]] = {}
    for code, title, source in title_rows(data):
        norm = normalise_title(title)
        codes_of[norm].add(code)
        if norm not in first or source == "reported":  # a title incumbents reported counts as reported
            first[norm] = (title.strip(), code, source)
    pool = sorted(v for k, v in first.items() if len(codes_of[k]) == 1 and k not in official)
    random.Random(seed).shuffle(pool)
    taken: Counter = Counter()
    out = []
    for title, code, source in pool:
        if taken[code] < per_occupation:
            taken[code] += 1
            out.append((title, code, source))
            if len(out) == n:
                break
    return out


def metrics(rankings: list[list[str]], labels: list[str]) -> dict:
    ranks = [r.index(lab) + 1 if lab in r[:TOP] else 0 for r, lab in zip(rankings, labels, strict=True)]
    ranks = np.array(ranks)
    return {"top1": float(np.mean(ranks == 1)), "top5": float(np.mean((ranks >= 1) & (ranks <= 5))),
            "mrr": float(np.mean(np.where(ranks > 0, 1.0 / np.maximum(ranks, 1), 0.0)))}


def rank_matcher(m: Matcher, titles: list[str], vectors: np.ndarray) -> tuple[list[list[str]], list[tuple], int]:
    """The matcher's ranking for each title, scoring pre-embedded passages (what ``match_many`` does),
    with ``(top score, best_fit)`` per title."""
    out, tops, errors = [], [], 0
    for i, t in enumerate(titles):
        prep = m.prepare(t)
        if prep.error or len(prep.passages) != 1:
            errors += 1
            out.append([])
            tops.append((0.0, None))
            continue
        res = m.score(prep.passages, vectors[i:i + 1], top_k=TOP)
        out.append([r.role_id for r in res.results])
        tops.append((res.results[0].score, res.best_fit))
    return out, tops, errors


def calibration(rankings: list[list[str]], tops: list[tuple], labels: list[str]) -> dict:
    """ECE of the top role's score and its reliability table; how often a right-domain title got "no good fit"."""
    conf = np.array([t[0] for t in tops], dtype=float)
    right = np.array([bool(r) and r[0] == lab for r, lab in zip(rankings, labels, strict=True)])
    table = [{"bin": label, "n": len(c), "mean_score": float(c.mean()), "share_right": float(r.mean())}
             for c, r, label in reliability(conf, right)]
    return {"ece": expected_calibration_error(conf, right), "reliability": table,
            "no_fit": float(np.mean([t[1] is None for t in tops]))}


def rank_one_vector(role_vectors: np.ndarray, role_ids: list[str], vectors: np.ndarray) -> list[list[str]]:
    sims = vectors @ role_vectors.T
    top = np.argsort(-sims, axis=1, kind="stable")[:, :TOP]
    return [[role_ids[i] for i in row] for row in top]


def folder_size(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


SERVE_PROBE = """
import json, sys, time
from dataclasses import replace
from pathlib import Path
from matcher import Matcher
from matcher.settings import Settings
def rss(key):
    for line in open("/proc/self/status"):
        if line.startswith(key):
            return int(line.split()[1]) / 1024
t = time.time()
m = Matcher.load(replace(Settings(), index_dir=Path(sys.argv[1]), backend=sys.argv[4], auto_rebuild=False),
                 catalog=sys.argv[2])
load = time.time() - t
loaded_rss = rss("VmRSS")
text = Path(sys.argv[3]).read_text(encoding="utf-8")
m.match(text)
times = []
for _ in range(21):  # the median of 21: with 5 the default catalog's p50 moved 185-260 ms between runs
    t = time.perf_counter(); m.match(text); times.append(time.perf_counter() - t)
print(json.dumps({"load_s": load, "match_ms": 1000 * sorted(times)[10], "rss_loaded_mb": loaded_rss,
                  "rss_after_match_mb": rss("VmRSS"), "rss_peak_mb": rss("VmHWM")}))
"""


def serve_probe(index_dir: Path, catalog: str, resume: Path, backend: str) -> dict:
    """A fresh process: load the built index (no rebuild), match a résumé; its load time and peak memory."""
    proc = subprocess.run([sys.executable, "-c", SERVE_PROBE, str(index_dir), catalog, str(resume), backend],
                          capture_output=True, text=True, cwd=ROOT, timeout=600)
    if proc.returncode:
        raise SystemExit(f"serve probe failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def hnsw_study(m: Matcher, probes: list, titles: list[str], title_vectors: np.ndarray,
               labels: list[str], flat_rankings: list[list[str]]) -> dict:
    """HNSW (as ``index.py`` would build it past its limit) against exact search on the same vectors."""
    vectors = m.index.vectors
    probe_vectors = np.concatenate([v for _, v in probes])
    started = time.time()
    hnsw = faiss.IndexHNSWFlat(vectors.shape[1], HNSW_M, faiss.METRIC_INNER_PRODUCT)
    hnsw.add(vectors)
    build_s = time.time() - started
    hnsw.hnsw.efSearch = HNSW_EF_SEARCH
    size = len(faiss.serialize_index(hnsw))
    k = CANDIDATES_PER_PASSAGE
    exact = faiss.IndexFlatIP(vectors.shape[1])
    exact.add(vectors)
    out = {"build_s": build_s, "size_mb": size / 2**20, "M": HNSW_M, "efSearch": HNSW_EF_SEARCH}
    for name, q in (("titles", title_vectors), ("resume_passages", probe_vectors)):
        _, e_ids = exact.search(q, k)
        _, h_ids = hnsw.search(q, k)
        recall = np.mean([len(set(a) & set(b)) / k for a, b in zip(e_ids, h_ids, strict=True)])
        role_of = m._role_of
        role_recall = np.mean([len(set(role_of[a]) & set(role_of[b[b >= 0]])) / len(set(role_of[a]))
                               for a, b in zip(e_ids, h_ids, strict=True)])
        out[f"recall@{k}_{name}"] = float(recall)
        out[f"candidate_role_recall_{name}"] = float(role_recall)
    for name, index in (("flat", exact), ("hnsw", hnsw)):
        t = time.perf_counter()
        for _ in range(20):
            index.search(probe_vectors, k)
        out[f"search_ms_resume_{name}"] = 1000 * (time.perf_counter() - t) / 20
    mh = Matcher(replace(m.index, faiss_index=hnsw), m.embedder, m.settings, m.scoring, m.scorer)
    for name, matcher in (("exact", m), ("hnsw", mh)):
        t = time.perf_counter()
        for passages, vecs in probes * 5:
            matcher.score(passages, vecs)
        out[f"score_ms_resume_{name}"] = 1000 * (time.perf_counter() - t) / (5 * len(probes))
    rankings, _, _ = rank_matcher(mh, titles, title_vectors)
    out["matcher_with_hnsw"] = metrics(rankings, labels)
    out["top10_identical_to_exact"] = float(np.mean([a == b for a, b in zip(rankings, flat_rankings, strict=True)]))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the O*NET text database folder")
    ap.add_argument("--n", type=int, default=2000, help="number of title queries (default 2000)")
    ap.add_argument("--seed", type=int, default=13)
    ap.add_argument("--per-occupation", type=int, default=3, help="at most this many queries per occupation")
    ap.add_argument("--max-titles", type=int, default=15, help="title statements per occupation in the catalog")
    ap.add_argument("--work", type=Path, help="keep the catalog and index here (default: a temporary folder)")
    ap.add_argument("--backend", help="embedding backend (default: MATCHER_BACKEND or the settings default)")
    ap.add_argument("--reuse", action="store_true", help="with --work: reuse the index built by an earlier run")
    ap.add_argument("--no-hnsw", action="store_true", help="skip the HNSW-versus-exact study")
    ap.add_argument("--json", type=Path, help="also write every number to this JSON file")
    args = ap.parse_args()
    if not args.data.is_dir():
        raise SystemExit(f"no O*NET data at {args.data}; pass --data")
    logging.basicConfig(level=logging.WARNING, format="matcher: %(message)s")
    work = args.work or Path(tempfile.mkdtemp(prefix="bench-onet-"))
    work.mkdir(parents=True, exist_ok=True)  # --work may name a folder that does not exist yet
    report: dict = {"n": args.n, "seed": args.seed, "per_occupation": args.per_occupation,
                    "cores": len(os.sched_getaffinity(0))}
    try:
        queries = sample_queries(args.data, args.n, args.seed, args.per_occupation)
        titles, labels = [q[0] for q in queries], [q[1] for q in queries]
        report["queries"] = {"n": len(queries), **Counter(q[2] for q in queries)}
        (work / "excluded-titles.txt").write_text("\n".join(titles) + "\n", encoding="utf-8")

        summary = import_onet(args.data, work / "onet", exclude_titles=work / "excluded-titles.txt",
                              max_titles=args.max_titles)
        t = time.time()
        catalog = load_catalog(work / "onet")
        report["catalog"] = {"roles": len(catalog.roles), "statements": len(catalog.statements),
                             "by_section": summary.statements, "excluded_titles": summary.excluded_titles,
                             "import_s": summary.seconds, "load_s": time.time() - t,
                             "file_mb": (work / "onet" / "catalog.jsonl").stat().st_size / 2**20}
        leaked = {normalise_title(s.text) for s in catalog.statements} & {normalise_title(x) for x in titles}
        assert not leaked, f"query titles leaked into the catalog: {sorted(leaked)[:5]}"

        from matcher.embed import make_embedder
        from matcher.index import read_manifest

        settings = Settings.from_env()
        settings = replace(settings, index_dir=work / "index", backend=args.backend or settings.backend).validated()
        report["backend"] = settings.backend
        embedder = make_embedder(settings)
        if not (args.reuse and read_manifest(settings.index_dir, catalog.name, settings.backend)):
            build_index(catalog, embedder, settings.index_dir, settings.backend)
        t = time.time()
        built = load_index(catalog, embedder, settings.index_dir, backend=settings.backend, auto_rebuild=False)
        build_s = built.manifest["build_seconds"]
        report["index"] = {"type": built.manifest["index_type"], "build_s": build_s,
                           "statements_per_s": len(built.statements) / build_s, "load_s": time.time() - t,
                           "disk_mb": folder_size(index_dir_for(settings.index_dir, catalog.name,
                                                                settings.backend)) / 2**20}
        t = time.time()
        scorer, scorer_manifest = train(catalog, embedder, index_root=settings.index_dir, cache_dir=settings.cache_dir,
                                        backend=settings.backend, statement_vectors=built.vectors)
        report["scorer"] = {"kind": scorer_manifest["scorer"], "train_s": time.time() - t,
                            "examples": scorer_manifest["examples"], "dev": scorer_manifest["dev"],
                            "dev_metrics": scorer_manifest["dev_metrics"]}
        report["build_total_s"] = build_s + report["scorer"]["train_s"]
        m = Matcher(built, embedder, settings, scorer=scorer)
        similarity = m.with_scorer(None)

        t = time.time()
        title_vectors = embedder.embed(titles)
        embed_s = time.time() - t
        t = time.time()
        ranked, tops = {}, {}
        ranked["matcher"], tops["matcher"], errors = rank_matcher(m, titles, title_vectors)
        score_s = time.time() - t
        ranked["similarity only"], tops["similarity only"], _ = rank_matcher(similarity, titles, title_vectors)
        report["matcher_errors"] = errors
        ranked["BM25"] = rank_bm25(m, titles, TOP)
        role_ids = [r.id for r in catalog.roles]
        role_vectors = embedder.embed([f"{r.title}. {r.summary}" for r in catalog.roles])
        ranked["one-vector cosine"] = rank_one_vector(role_vectors, role_ids, title_vectors)
        report["accuracy"] = {name: metrics(r, labels) for name, r in ranked.items()}
        report["accuracy_by_source"] = {
            src: {name: metrics([r[i] for i in idx], [labels[i] for i in idx]) for name, r in ranked.items()}
            for src in ("alternate", "reported")
            for idx in [[i for i, q in enumerate(queries) if q[2] == src]] if idx}
        report["calibration"] = calibration(ranked["matcher"], tops["matcher"], labels)

        # Person-written task descriptions (eval/onet): the matcher and the baselines, as `matcher eval`.
        report["tasks"] = {}
        for split in ("test", "dev"):
            path = ROOT / "eval" / "onet" / f"tasks-{split}.jsonl"
            reports = evaluate(m, path)
            out = {rep.system: rep.metrics() for rep in reports}
            conf, right = reports[0].calibration([i for i, it in enumerate(reports[0].items) if it.label != "none"])
            out["reliability_in_scope"] = [{"bin": label, "n": len(c), "mean_score": float(c.mean()),
                                            "share_right": float(r.mean())} for c, r, label in reliability(conf, right)]
            out["ece_in_scope"] = expected_calibration_error(conf, right)
            report["tasks"][split] = out
        nurse = m.match(NURSE, top_k=5)
        report["nurse"] = {"text": NURSE, "best_fit": nurse.best_fit,
                           "top": [(r.title, round(r.score, 3)) for r in nurse.results]}

        # Latency: a title end to end (embed + score) one at a time; résumés of three sizes.
        lat = []
        for title in titles[:100]:
            t = time.perf_counter()
            m.match(title, top_k=TOP)
            lat.append(time.perf_counter() - t)
        report["latency"] = {"title_ms_p50": 1000 * float(np.median(lat)),
                             "title_ms_p95": 1000 * float(np.percentile(lat, 95)),
                             "titles_batch_per_s": len(titles) / (embed_s + score_s)}
        probes = []
        for name in ("platform-pm.txt", "nurse.txt", "resume-40.txt"):
            text = (ROOT / "examples" / name).read_text(encoding="utf-8")
            m.match(text)
            times = []
            for _ in range(5):
                t = time.perf_counter()
                res = m.match(text)
                times.append(time.perf_counter() - t)
            prep = m.prepare(text)
            vecs = embedder.embed([p.text for p in prep.passages])
            t = time.perf_counter()
            for _ in range(10):
                m.score(prep.passages, vecs)
            report["latency"][name] = {"passages": res.passages, "match_ms": 1000 * float(np.median(times)),
                                       "score_only_ms": 100 * (time.perf_counter() - t),
                                       "top": res.results[0].title}
            probes.append((prep.passages, vecs))
        report["memory"] = {"bench_peak_rss_mb": peak_rss_mb()}
        if not args.no_hnsw:
            report["hnsw"] = hnsw_study(m, probes, titles, title_vectors, labels, ranked["matcher"])
        resume = ROOT / "examples" / "resume-40.txt"
        report["memory"]["serve_onet"] = serve_probe(settings.index_dir, str(work / "onet"), resume, settings.backend)
        _build_default(work / "index-default", embedder, settings.backend)
        report["memory"]["serve_default"] = serve_probe(work / "index-default", "default", resume, settings.backend)
    finally:
        if args.json:
            args.json.write_text(json.dumps(report, indent=2), encoding="utf-8")
        if not args.work:
            shutil.rmtree(work, ignore_errors=True)
    print(render(report))
    return 0


def _build_default(index_dir: Path, embedder, backend: str) -> None:
    from matcher.catalog import resolve_catalog

    catalog = resolve_catalog(Settings(), "default")
    built = build_index(catalog, embedder, index_dir, backend)
    train(catalog, embedder, index_root=index_dir, cache_dir=Settings().cache_dir, backend=backend,
          statement_vectors=built.vectors)


def _table(rows: list[dict]) -> list[str]:
    return ["| score | n | mean score | share right |", "| --- | --- | --- | --- |",
            *(f"| {b['bin']} | {b['n']} | {b['mean_score']:.3f} | {b['share_right']:.3f} |" for b in rows)]


def render(r: dict) -> str:
    q, c, ix = r["queries"], r["catalog"], r["index"]
    lines = [f"O*NET benchmark: {q['n']} job titles ({q.get('alternate', 0)} alternate, {q.get('reported', 0)} "
             f"reported; seed {r['seed']}, at most {r['per_occupation']} per occupation), left out of the catalog",
             f"catalog: {c['roles']} roles, {c['statements']:,} statements "
             f"({', '.join(f'{k} {v:,}' for k, v in c['by_section'].items())}); "
             f"{c['excluded_titles']} title statements excluded", "",
             "| system | top-1 | top-5 | MRR@10 |", "| --- | --- | --- | --- |"]
    for name, mt in r["accuracy"].items():
        lines.append(f"| {name} | {mt['top1']:.3f} | {mt['top5']:.3f} | {mt['mrr']:.3f} |")
    for src, acc in r.get("accuracy_by_source", {}).items():
        lines.append(f"\n{src} titles: " + "; ".join(f"{n} top-1 {m['top1']:.3f} / top-5 {m['top5']:.3f}"
                                                      for n, m in acc.items()))
    if r.get("matcher_errors"):
        lines.append(f"\n{r['matcher_errors']} queries the matcher refused (counted as misses)")
    cal = r["calibration"]
    lines += ["", f"calibration of the matcher's top score on the titles: ECE {cal['ece']:.3f}; "
              f"titles given 'no good fit' {cal['no_fit']:.3f}", *_table(cal["reliability"])]
    for split, t in r.get("tasks", {}).items():
        lines += ["", f"person-written task descriptions, {split} (eval/onet/tasks-{split}.jsonl: "
                  f"{t['learned']['in_scope']} in scope + {t['learned']['none_items']} that describe no work)",
                  "| system | top-1 | top-5 | MRR | no-work → no fit | in scope → no fit | ECE (all) |",
                  "| --- | --- | --- | --- | --- | --- | --- |"]
        for name in ("learned", "similarity", "bm25", "one-vector"):
            mt = t[name]
            lines.append(f"| {name} | {mt['top1']:.3f} | {mt['top5']:.3f} | {mt['mrr']:.3f} | "
                         + " | ".join(f"{mt[k]:.3f}" if k in mt else "-"
                                      for k in ("none_rejected", "in_scope_null", "ece")) + " |")
        lines += [f"in-scope items only: ECE {t['ece_in_scope']:.3f}", *_table(t["reliability_in_scope"])]
    nurse = r.get("nurse")
    if nurse:
        lines += ["", f"nurse sentence: {nurse['text']!r} → best fit {nurse['best_fit']}; "
                  + "; ".join(f"{t} {s_:.3f}" for t, s_ in nurse["top"])]
    lat, mem = r["latency"], r["memory"]
    lines += ["", f"scale ({r['cores']} cores, backend {r.get('backend')}):", "| measure | value |", "| --- | --- |",
              f"| import (read O*NET, write catalog.jsonl) | {c['import_s']:.1f} s ({c['file_mb']:.1f} MB) |",
              f"| load catalog | {c['load_s']:.2f} s |",
              f"| build index ({ix['type']}) | {ix['build_s']:.0f} s ({ix['statements_per_s']:.0f} statements/s) |",
              f"| train the scorer ({r['scorer']['kind']}, {r['scorer']['examples']:,} examples) | "
              f"{r['scorer']['train_s']:.0f} s |",
              f"| index + scorer | {r['build_total_s'] / 60:.1f} min |",
              f"| index on disk | {ix['disk_mb']:.0f} MB |",
              f"| load built index | {ix['load_s']:.2f} s |",
              f"| match one title (embed + score), p50 / p95 | {lat['title_ms_p50']:.0f} / "
              f"{lat['title_ms_p95']:.0f} ms |",
              f"| titles in a batch | {lat['titles_batch_per_s']:.0f} per s |"]
    for name in ("platform-pm.txt", "nurse.txt", "resume-40.txt"):
        v = lat[name]
        lines.append(f"| match {name} ({v['passages']} passages), whole / scoring only | "
                     f"{v['match_ms']:.0f} / {v['score_only_ms']:.1f} ms |")
    for key, label in (("serve_onet", "fresh process: load the O*NET matcher / then match resume-40"),
                       ("serve_default", "same with the default catalog (for comparison)")):
        m = mem.get(key)
        if m:
            lines.append(f"| {label} | {m['load_s']:.1f} s, RSS {m['rss_loaded_mb']:.0f} MB / {m['match_ms']:.0f} ms, "
                         f"RSS {m['rss_after_match_mb']:.0f} MB (peak {m['rss_peak_mb']:.0f} MB) |")
    if mem.get("serve_onet") and mem.get("serve_default"):
        ratio = mem["serve_onet"]["match_ms"] / mem["serve_default"]["match_ms"]
        lines.append(f"| O*NET / default catalog, p50 match of resume-40 in a fresh process | {ratio:.2f}× |")
    lines.append(f"| peak RSS of this benchmark (build + all of the above) | {mem['bench_peak_rss_mb']:.0f} MB |")
    h = r.get("hnsw")
    if h:
        k = CANDIDATES_PER_PASSAGE
        mh = h["matcher_with_hnsw"]
        lines += ["", f"HNSW (M={h['M']}, efSearch={h['efSearch']}) against exact search on the same vectors:",
                  "| measure | value |", "| --- | --- |",
                  f"| build | {h['build_s']:.1f} s, {h['size_mb']:.0f} MB |",
                  f"| recall@{k} statements, title queries / résumé passages | "
                  f"{h[f'recall@{k}_titles']:.3f} / {h[f'recall@{k}_resume_passages']:.3f} |",
                  f"| candidate roles found, title queries / résumé passages | "
                  f"{h['candidate_role_recall_titles']:.3f} / {h['candidate_role_recall_resume_passages']:.3f} |",
                  f"| matcher with HNSW: top-1 / top-5 / MRR@10 | {mh['top1']:.3f} / {mh['top5']:.3f} / "
                  f"{mh['mrr']:.3f} |",
                  f"| same top-10 as exact search | {h['top10_identical_to_exact']:.3f} |",
                  f"| candidate search for all résumé passages, exact / HNSW | "
                  f"{h['search_ms_resume_flat']:.1f} / {h['search_ms_resume_hnsw']:.1f} ms |",
                  f"| matcher scoring per résumé (mean of the three), exact product / HNSW candidates | "
                  f"{h['score_ms_resume_exact']:.1f} / {h['score_ms_resume_hnsw']:.1f} ms |"]
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
