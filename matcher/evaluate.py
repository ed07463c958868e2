"""``matcher eval``: accuracy of the matcher and of three baselines on a labelled JSONL set.

Each line is ``{"id", "text", "label"}`` with ``label`` a role id or ``"none"``; optional ``kind``,
``difficulty`` and ``near_domain`` fields give per-group breakdowns. Systems, on the same catalog in
the same run:

* **learned**: the matcher as it ships, with the catalog's learned scorer (when it has one);
* **similarity**: the same index and model with the untrained statement-similarity scorer (the
  matcher before the learned scorer);

* **BM25** over the catalog statements (``bm25s``): a role scores the mean of its three best
  statement scores for the whole text as the query.
* **one-vector cosine**: the whole text as one embedding (the model truncates it at its window)
  against each role's mean statement vector.

Top-1, top-5, MRR, the "no good fit" decisions, and the expected calibration error of the top
role's score with its reliability table.
"""

from __future__ import annotations

import importlib.util
import json
import logging
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .core import Matcher
from .errors import InputError
from .learned import expected_calibration_error, reliability

log = logging.getLogger("matcher")

NONE = "none"
CONFUSION_MAX_ROLES = 12  # more roles than this: the report lists the most frequent confusions instead


@dataclass
class Item:
    id: str
    text: str
    label: str
    kind: str = ""
    difficulty: str = ""
    near_domain: bool = False


@dataclass
class Ranked:
    """One system's answer for one item: roles best first, and its no-fit decision if it has one."""

    ranking: list[str]
    best_fit: str | None = None
    decides_fit: bool = False
    score: float | None = None  # the top role's score (a probability with the learned scorer)


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
            out["top5"] = float(np.mean([self.items[i].label in self.answers[i].ranking[:5] for i in inscope]))
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
            near = [i for i in none if self.items[i].near_domain]
            if near:
                out["near_domain_rejected"] = float(np.mean([self.answers[i].best_fit is None for i in near]))
            out["accuracy_with_none"] = float(np.mean([
                (self.answers[i].best_fit or NONE) == self.items[i].label for i in idx])) if idx else 0.0
        scored = [i for i in idx if self.answers[i].score is not None]
        if scored:
            conf, correct = self.calibration(scored)
            out["ece"] = expected_calibration_error(conf, correct)
        return out

    def calibration(self, idx: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """(the top role's score, whether the top role is the label) per item: what a score of 0.8
        should mean is "right four times in five"."""
        conf = np.array([self.answers[i].score for i in idx], dtype=float)
        correct = np.array([self.answers[i].ranking[0] == self.items[i].label for i in idx])
        return conf, correct


def load_items(path: Path, role_ids: list[str]) -> list[Item]:
    """Read and validate a labelled JSONL file; errors name the line."""
    items = []
    valid = [*role_ids, NONE]
    for n, line in enumerate(Path(path).read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            item = Item(str(row["id"]), row["text"], row["label"], row.get("kind", ""), row.get("difficulty", ""),
                        bool(row.get("near_domain", False)))
        except (ValueError, KeyError, TypeError) as exc:
            raise InputError(f"{path}:{n}: expected a JSON object with id, text and label ({exc})") from None
        if item.label not in valid:
            raise InputError(f"{path}:{n}: label {item.label!r} is not one of {', '.join(valid)}")
        items.append(item)
    if not items:
        raise InputError(f"{path}: no items")
    return items


def run_matcher(matcher: Matcher, items: list[Item], name: str = "") -> Report:
    results = matcher.match_many([it.text for it in items])
    answers = []
    for res in results:
        if isinstance(res, Exception):
            answers.append(Ranked(["(error)"], None, True))
        else:
            answers.append(Ranked([r.role_id for r in res.results], res.best_fit, True,
                                  res.results[0].score if res.results else None))
    return Report(name or ("learned" if matcher.scorer is not None else "similarity"), items, answers)


def rank_bm25(matcher: Matcher, texts: list[str], top: int | None = None) -> list[list[str]]:
    """BM25 over the offered roles' statements (``bm25s``); a role scores the mean of its three best
    statement scores for the whole text as the query. Vectorised over roles: O*NET has 1,016."""
    import bm25s

    logging.getLogger("bm25s").setLevel(logging.ERROR)
    role_ids = matcher.catalog.role_ids  # offered roles only: baselines have no "no fit" notion
    statements = [s for s in matcher.index.statements if s.role_id in set(role_ids)]
    retriever = bm25s.BM25()
    retriever.index(bm25s.tokenize([s.text for s in statements], stopwords="en", show_progress=False),
                    show_progress=False)
    order = {r: i for i, r in enumerate(role_ids)}
    role_of = np.array([order[s.role_id] for s in statements])
    per_role = np.minimum(np.bincount(role_of, minlength=len(role_ids)), 3)
    out = []
    for text in texts:
        query = bm25s.tokenize([text], stopwords="en", return_ids=False, show_progress=False)[0]
        scores = retriever.get_scores(query) if query else np.zeros(len(statements))
        role_score = np.zeros(len(role_ids))
        hit = np.flatnonzero(scores > 0)
        if len(hit):
            # The three best statements per role: sort hits by (role, -score), keep ranks 0-2 in each role.
            idx = hit[np.lexsort((-scores[hit], role_of[hit]))]
            roles = role_of[idx]
            first = np.r_[0, np.flatnonzero(roles[1:] != roles[:-1]) + 1]
            rank_in_role = np.arange(len(idx)) - np.repeat(first, np.diff(np.r_[first, len(idx)]))
            keep = rank_in_role < 3
            np.add.at(role_score, roles[keep], scores[idx][keep])
            role_score /= np.maximum(per_role, 1)
        best = np.argsort(-role_score, kind="stable")[:top]
        out.append([role_ids[i] for i in best])
    return out


def run_bm25(matcher: Matcher, items: list[Item]) -> Report:
    return Report("bm25", items, [Ranked(r) for r in rank_bm25(matcher, [it.text for it in items])])


def role_centroids(matcher: Matcher) -> np.ndarray:
    """Each offered role's mean statement vector, normalised (the one-vector baseline)."""
    role_ids = matcher.catalog.role_ids
    order = {r: i for i, r in enumerate(role_ids)}
    rows = np.array([order.get(s.role_id, -1) for s in matcher.index.statements])
    sums = np.zeros((len(role_ids), matcher.index.vectors.shape[1]))
    np.add.at(sums, rows[rows >= 0], matcher.index.vectors[rows >= 0])
    return sums / np.linalg.norm(sums, axis=1, keepdims=True)


def run_one_vector(matcher: Matcher, items: list[Item]) -> Report:
    role_ids = matcher.catalog.role_ids
    sims = matcher.embedder.embed([it.text for it in items]) @ role_centroids(matcher).T
    answers = [Ranked([role_ids[i] for i in np.argsort(-row, kind="stable")]) for row in sims]
    return Report("one-vector", items, answers)


def evaluate(matcher: Matcher, path: Path, baselines: bool = True) -> list[Report]:
    """Run the matcher (and the baselines) over a labelled file."""
    items = load_items(path, matcher.catalog.role_ids)
    reports = [run_matcher(matcher, items)]
    if baselines:
        if matcher.scorer is not None:
            reports.append(run_matcher(matcher.with_scorer(None), items))
        if importlib.util.find_spec("bm25s") is None:  # an optional extra: say so rather than fail the run
            log.warning("BM25 baseline skipped: install the eval extra (pip install 'role-matcher[eval]')")
        else:
            reports.append(run_bm25(matcher, items))
        reports.append(run_one_vector(matcher, items))
    return reports


def _fmt(v) -> str:
    return f"{v:.3f}" if isinstance(v, float) else str(v)


def render(reports: list[Report], role_ids: list[str]) -> str:
    """The human-readable report: overall table, per kind/difficulty, and the confusion table."""
    items = reports[0].items
    lines = []
    cols = ["top1", "top5", "mrr", "none_rejected", "near_domain_rejected", "in_scope_null", "accuracy_with_none",
            "ece"]
    head = f"{'system':<12}" + "".join(f"{c:>21}" for c in cols)
    lines += [f"{len(items)} items ({sum(i.label != NONE for i in items)} in scope, "
              f"{sum(i.label == NONE for i in items)} none)", "", head]
    for rep in reports:
        m = rep.metrics()
        lines.append(f"{rep.system:<12}" + "".join(f"{_fmt(m.get(c, '-')):>21}" for c in cols))
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
    lines += _calibration_lines(reports[0])
    # Confusion: label → matcher's best_fit (none when it said "no good fit").
    rep = reports[0]
    labels = [*role_ids, NONE]
    counts = Counter((it.label, ans.best_fit or NONE) for it, ans in zip(items, rep.answers, strict=True))
    if len(labels) > CONFUSION_MAX_ROLES:  # a large catalog: its most frequent confusions only
        wrong = [(n, lab, got) for (lab, got), n in counts.most_common() if lab != got][:15]
        return "\n".join([*lines, "", "most frequent confusions (label → matcher best_fit)",
                          *(f"{n:>4}  {lab} → {got}" for n, lab, got in wrong)])
    lines += ["", "confusion (rows: label, columns: matcher best_fit)",
              f"{'':<14}" + "".join(f"{lab:>13}" for lab in labels)]
    for lab in labels:
        lines.append(f"{lab:<14}" + "".join(f"{counts.get((lab, p), 0):>13}" for p in labels))
    return "\n".join(lines)


def _calibration_lines(rep: Report) -> list[str]:
    scored = [i for i, a in enumerate(rep.answers) if a.score is not None]
    if not scored:
        return []
    conf, correct = rep.calibration(scored)
    lines = ["", f"reliability of the top role's score ({rep.system}, every item; for a 'none' item no role is "
             "right): is a score of p right a share p of the time?",
             f"{'score':<12}{'n':>6}{'mean score':>12}{'share right':>13}"]
    for c, r, label in reliability(conf, correct):
        lines.append(f"{label:<12}{len(c):>6}{c.mean():>12.3f}{r.mean():>13.3f}")
    return lines


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
    """The quality guard for a fast backend: how often its top-1 role (on in-scope items: for a
    "none" item the top of a row of near-zero scores is noise) and its best fit (every item) equal
    the reference's, and whether its accuracy is lower. Passes at ≥ 99% top-1 agreement, ≥ 98% best-fit
    agreement (an item sitting on the fit line may flip with a 0.997-cosine backend: one in a hundred)
    and no loss of top-1 accuracy."""
    pairs = list(zip(fast.answers, reference.answers, fast.items, strict=True))
    same = [a.ranking[0] == b.ranking[0] for a, b, it in pairs if it.label != NONE]
    same_fit = [a.best_fit == b.best_fit for a, b, _ in pairs]
    f, r = fast.metrics(), reference.metrics()
    agreement, fit_agreement = float(np.mean(same)), float(np.mean(same_fit))
    passed = agreement >= 0.99 and fit_agreement >= 0.98 and f.get("top1", 0) >= r.get("top1", 0)
    return {"top1_agreement": agreement, "best_fit_agreement": fit_agreement,
            "top1_fast": f.get("top1"), "top1_reference": r.get("top1"), "passed": passed}
