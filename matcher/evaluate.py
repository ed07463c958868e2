"""``matcher eval``: accuracy of the matcher and of two baselines on a labelled JSONL set.

Each line is ``{"id", "text", "label"}`` with ``label`` a role id or ``"none"``; optional ``kind``
and ``difficulty`` fields give per-group breakdowns. Baselines, on the same catalog in the same run:

* **BM25** over the catalog statements (``bm25s``): a role scores the mean of its three best
  statement scores for the whole text as the query.
* **one-vector cosine**: the whole text as one embedding (the model truncates it at its window)
  against each role's mean statement vector.
"""

from __future__ import annotations

import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .core import Matcher
from .errors import InputError

NONE = "none"


@dataclass
class Item:
    id: str
    text: str
    label: str
    kind: str = ""
    difficulty: str = ""


@dataclass
class Ranked:
    """One system's answer for one item: roles best first, and its no-fit decision if it has one."""

    ranking: list[str]
    best_fit: str | None = None
    decides_fit: bool = False


@dataclass
class Report:
    system: str
    items: list[Item]
    answers: list[Ranked]
    extra: dict = field(default_factory=dict)

    def metrics(self, subset: list[int] | None = None) -> dict:
        idx = range(len(self.items)) if subset is None else subset
        inscope = [i for i in idx if self.items[i].label != NONE]
        none = [i for i in idx if self.items[i].label == NONE]
        out: dict = {"n": len(inscope) + len(none), "in_scope": len(inscope), "none_items": len(none)}
        if inscope:
            out["top1"] = float(np.mean([self.answers[i].ranking[0] == self.items[i].label for i in inscope]))
            rr = []
            for i in inscope:
                r = self.answers[i].ranking
                rr.append(1.0 / (r.index(self.items[i].label) + 1) if self.items[i].label in r else 0.0)
            out["mrr"] = float(np.mean(rr))
        if self.answers and self.answers[0].decides_fit:
            if none:
                out["none_rejected"] = float(np.mean([self.answers[i].best_fit is None for i in none]))
            if inscope:
                out["in_scope_null"] = float(np.mean([self.answers[i].best_fit is None for i in inscope]))
            out["accuracy_with_none"] = float(np.mean([
                (self.answers[i].best_fit or NONE) == self.items[i].label for i in idx])) if idx else 0.0
        return out


def load_items(path: Path, role_ids: list[str]) -> list[Item]:
    """Read and validate a labelled JSONL file; errors name the line."""
    items = []
    valid = [*role_ids, NONE]
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            item = Item(str(row["id"]), row["text"], row["label"], row.get("kind", ""), row.get("difficulty", ""))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{n}: expected a JSON object with id, text and label ({exc})") from None
        if item.label not in valid:
            raise InputError(f"{path}:{n}: label {item.label!r} is not one of {', '.join(valid)}")
        items.append(item)
    if not items:
        raise InputError(f"{path}: no items")
    return items


def run_matcher(matcher: Matcher, items: list[Item]) -> Report:
    results = matcher.match_many([it.text for it in items])
    answers = []
    for res in results:
        if isinstance(res, Exception):
            answers.append(Ranked(["(error)"], None, True))
        else:
            answers.append(Ranked([r.role_id for r in res.results], res.best_fit, True))
    return Report("matcher", items, answers)


def run_bm25(matcher: Matcher, items: list[Item]) -> Report:
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.ERROR)

    role_ids = matcher.catalog.role_ids  # offered roles only: baselines have no "no fit" notion
    statements = [s for s in matcher.index.statements if s.role_id in role_ids]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([s.text for s in statements], stopwords="en", show_progress=False),
                    show_progress=False)
    role_of = np.array([role_ids.index(s.role_id) for s in statements])
    answers = []
    for it in items:
        query = bm25s.tokenize([it.text], stopwords="en", return_ids=False, show_progress=False)[0]
        scores = retriever.get_scores(query) if query else np.zeros(len(statements))
        role_scores = []
        for r in range(len(role_ids)):
            top = np.sort(scores[role_of == r])[::-1][:3]
            role_scores.append(float(top.mean()) if len(top) else 0.0)
        order = np.argsort(-np.array(role_scores), kind="stable")
        answers.append(Ranked([role_ids[i] for i in order]))
    return Report("bm25", items, answers)


def run_one_vector(matcher: Matcher, items: list[Item]) -> Report:
    role_ids = matcher.catalog.role_ids
    statements = matcher.index.statements
    vecs = matcher.index.vectors
    centroids = np.stack([vecs[[s.role_id == r for s in statements]].mean(axis=0) for r in role_ids])
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    text_vecs = matcher.embedder.embed([it.text for it in items])
    sims = text_vecs @ centroids.T
    answers = [Ranked([role_ids[i] for i in np.argsort(-row, kind="stable")]) for row in sims]
    return Report("one-vector", items, answers)


def evaluate(matcher: Matcher, path: Path, baselines: bool = True) -> list[Report]:
    """Run the matcher (and the baselines) over a labelled file."""
    items = load_items(path, matcher.catalog.role_ids)
    reports = [run_matcher(matcher, items)]
    if baselines:
        reports += [run_bm25(matcher, items), run_one_vector(matcher, items)]
    return reports


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def render(reports: list[Report], role_ids: list[str]) -> str:
    """The human-readable report: overall table, per kind/difficulty, and the confusion table."""
    items = reports[0].items
    lines = []
    cols = ["top1", "mrr", "none_rejected", "in_scope_null", "accuracy_with_none"]
    head = f"{'system':<12}" + "".join(f"{c:>20}" for c in cols)
    lines += [f"{len(items)} items ({sum(i.label != NONE for i in items)} in scope, "
              f"{sum(i.label == NONE for i in items)} none)", "", head]
    for rep in reports:
        m = rep.metrics()
        lines.append(f"{rep.system:<12}" + "".join(f"{_fmt(m.get(c, '-')):>20}" for c in cols))
    for field_name in ("difficulty", "kind"):
        groups = defaultdict(list)
        for i, it in enumerate(items):
            groups[getattr(it, field_name) or "(unset)"].append(i)
        if len(groups) <= 1:
            continue
        lines += ["", f"by {field_name} (top-1 on in-scope items; none-rejected for the matcher)"]
        lines.append(f"{field_name:<16}{'n':>5}" + "".join(f"{r.system:>14}" for r in reports) + f"{'none_rej':>12}")
        for g in sorted(groups):
            idx = groups[g]
            ms = [r.metrics(idx) for r in reports]
            lines.append(f"{g:<16}{len(idx):>5}" + "".join(f"{_fmt(m.get('top1', '-')):>14}" for m in ms)
                         + f"{_fmt(ms[0].get('none_rejected', '-')):>12}")
    # Confusion: label → matcher's best_fit (none when it said "no good fit").
    rep = reports[0]
    labels = [*role_ids, NONE]
    counts = Counter((it.label, ans.best_fit or NONE) for it, ans in zip(items, rep.answers, strict=True))
    lines += ["", "confusion (rows: label, columns: matcher best_fit)",
              f"{'':<14}" + "".join(f"{lab:>13}" for lab in labels)]
    for lab in labels:
        lines.append(f"{lab:<14}" + "".join(f"{counts.get((lab, p), 0):>13}" for p in labels))
    return "\n".join(lines)


def misses(report: Report) -> list[str]:
    """One line per wrong answer, for error analysis on the dev set."""
    out = []
    for it, ans in zip(report.items, report.answers, strict=True):
        got = ans.best_fit or NONE
        if got != it.label or (it.label != NONE and ans.ranking[0] != it.label):
            out.append(f"{it.id:<10} label={it.label:<12} best_fit={got:<12} ranking={','.join(ans.ranking)} "
                       f"[{it.kind}/{it.difficulty}]")
    return out


def guard(fast: Report, reference: Report) -> dict:
    """The quality guard for a fast backend: how often its top-1 role equals the reference's, and
    whether its accuracy is lower. Passes at ≥ 99% agreement and no loss of top-1 accuracy."""
    same = [a.ranking[0] == b.ranking[0] for a, b in zip(fast.answers, reference.answers, strict=True)]
    same_fit = [a.best_fit == b.best_fit for a, b in zip(fast.answers, reference.answers, strict=True)]
    f, r = fast.metrics(), reference.metrics()
    agreement = float(np.mean(same))
    passed = agreement >= 0.99 and f.get("top1", 0) >= r.get("top1", 0)
    return {"top1_agreement": agreement, "best_fit_agreement": float(np.mean(same_fit)),
            "top1_fast": f.get("top1"), "top1_reference": r.get("top1"), "passed": passed}
