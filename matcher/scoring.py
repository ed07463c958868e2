"""Score roles from statement↔passage similarities. Pure numpy: no model, no I/O.

The shape of the computation, for ``R`` roles, ``S`` statements and ``P`` passages:

1. ``best[r, p]``: the highest cosine between passage ``p`` and any statement of role ``r``
   (one ``np.maximum.reduceat`` over the statement×passage matrix, statements grouped by role).
2. A role's *fit* is the mean of its best passage similarities over the passages that carry
   signal (the top half, at least ``min_passages``), so one lucky sentence cannot carry a role.
3. ``score = sigmoid((fit - threshold) / temperature)``: 0.5 sits exactly on the "no good fit"
   line, which is chosen on the labelled dev set (``matcher eval``); see the README.

Everything here is vectorised over roles and passages; per-role Python work happens only for the
few roles whose evidence is reported.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class ScoringConfig:
    """Knobs of the scorer. ``threshold`` is the one place the "no good fit" line lives."""

    threshold: float = 0.38  # raw fit at which score == 0.5; chosen on eval/dev.jsonl
    temperature: float = 0.05  # how fast score moves around the threshold
    top_fraction: float = 0.5  # share of passages that count towards fit
    min_passages: int = 3
    max_passages: int = 12
    evidence_floor: float = 0.35  # a pair below this is not shown as evidence
    gap_floor: float = 0.40  # a statement no passage reaches this close to is a gap
    max_evidence: int = 5
    max_gaps: int = 5
    # An offered role must beat the closest adjacent role's fit by this much to count as a fit.
    adjacent_margin: float = -0.015  # chosen on eval/dev.jsonl (none→null vs in-scope→null)

    @property
    def fit_line(self) -> float:
        """The "no good fit" line on the score scale: a fit exactly on the bar scores sigmoid(0) = 0.5,
        whatever the threshold and temperature (a role at or above it is a fit)."""
        return float(sigmoid(0.0))


def sigmoid(x: np.ndarray | float) -> np.ndarray:
    """The logistic function, in float64."""
    return 1.0 / (1.0 + np.exp(-np.asarray(x, dtype=np.float64)))


def best_per_role(sims: np.ndarray, role_starts: np.ndarray) -> np.ndarray:
    """``(S, P)`` similarities with statements grouped by role → ``(R, P)`` per-role maxima."""
    if sims.shape[1] == 0:
        return np.zeros((len(role_starts), 0), dtype=sims.dtype)
    return np.maximum.reduceat(sims, role_starts, axis=0)


def fit_from_best(best: np.ndarray, cfg: ScoringConfig, mask: np.ndarray | None = None) -> np.ndarray:
    """Per-role fit: mean of the top passages' best similarities (only passages in ``mask``)."""
    if mask is not None:
        best = best[:, mask]
    n = best.shape[1]
    if n == 0:
        return np.zeros(best.shape[0])
    k = int(np.clip(np.ceil(n * cfg.top_fraction), min(cfg.min_passages, n), cfg.max_passages))
    k = min(k, n)
    top = -np.partition(-best, k - 1, axis=1)[:, :k]
    return top.mean(axis=1)


def runner_up_per_role(sims: np.ndarray, starts: np.ndarray, best: np.ndarray) -> np.ndarray:
    """``(R, P)``: per role and passage, the best similarity *below* the role's best (−inf if none);
    it breaks exact ties between roles that share the statement that matched best."""
    lengths = np.diff(np.r_[starts, len(sims)])
    below = np.where(sims < np.repeat(best, lengths, axis=0), sims, -np.inf)
    return best_per_role(below, starts)
