"""Why a role scored as it did: its evidence (statement ↔ passage pairs), its gaps (what no passage
covers, the most role-specific first) and, for the top two roles, the passages that favour each.

Pure numpy over the similarities the core already computed; only the few reported roles get here.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .catalog import GAP_SECTIONS, Role, Statement
from .result import Contrast, Evidence, RoleResult
from .scoring import ScoringConfig
from .segment import Passage

DISTINCT_LIMIT = 20_000  # statements; past this the statement×statement product costs more than it tells
CONTRAST_MARGIN = 0.02  # a passage favours one role when its best similarity there is this much higher
CONTRAST_PAIRS = 3  # passages shown on each side of a contrast
# A passage counts as evidence for a role under the learned scorer when it adds at least this much to
# the role's (calibrated) logit: smaller terms are noise, e.g. "B.Sc." nudging an unlikely role.
LEARNED_EVIDENCE_FLOOR = 0.1


def distinctiveness(vectors: np.ndarray, role_of: np.ndarray, n_roles: int) -> np.ndarray:
    """Per statement, 1 − its highest cosine to any other role's statement: how much it says about
    *this* role. Gaps are listed most distinctive first. Skipped (all zeros) for very large catalogs,
    where the full statement×statement product would cost more than it tells."""
    n = len(vectors)
    if n > DISTINCT_LIMIT or n_roles < 2:
        return np.zeros(n)
    sims = vectors @ vectors.T
    sims[role_of[:, None] == role_of[None, :]] = -1.0
    return 1.0 - sims.max(axis=1)


class Explainer:
    """Evidence, gaps and contrasts for one index (its statements, in row order)."""

    def __init__(self, statements: Sequence[Statement], vectors: np.ndarray, role_of: np.ndarray, n_roles: int,
                 scoring: ScoringConfig) -> None:
        self.statements = statements
        self.scoring = scoring
        self._gap_mask = np.array([s.section in GAP_SECTIONS for s in statements])
        self._distinct = distinctiveness(vectors, role_of, n_roles)

    def pairs(self, rows: np.ndarray, sims: np.ndarray, passages: list[Passage], limit: int,
              floor: float) -> list[Evidence]:
        """Best statement↔passage pairs, each passage and statement used once."""
        flat = np.argsort(-sims, axis=None)
        used_s, used_p, out = set(), set(), []
        for f in flat:
            s, p = divmod(int(f), sims.shape[1])
            if sims[s, p] < floor or len(out) >= limit:
                break
            if s in used_s or p in used_p:
                continue
            used_s.add(s)
            used_p.add(p)
            st, ps = self.statements[rows[s]], passages[p]
            out.append(Evidence(st.text, st.section, ps.text, ps.start, ps.end, float(sims[s, p]), ps.kind))
        return out

    def role_result(self, role: Role, rows: np.ndarray, sims: np.ndarray, passages: list[Passage], score: float,
                    experience: float | None, interest: float | None) -> RoleResult:
        """One role's result: ``rows`` are its statements' index rows, ``sims`` their similarities to
        the passages."""
        cfg = self.scoring
        evidence = self.pairs(rows, sims, passages, cfg.max_evidence, cfg.evidence_floor)
        return RoleResult(role.id, role.title, score, experience, interest, tuple(evidence), self.gaps(rows, sims))

    def learned_evidence(self, rows: np.ndarray, sims: np.ndarray, passages: list[Passage], terms: np.ndarray,
                         limit: int) -> list[Evidence]:
        """The passages that raised the role's logit most (``terms``: each passage's share of it),
        each paired with the role statement it most resembles."""
        out = []
        for p in np.argsort(-terms, kind="stable")[:limit]:
            if terms[p] < LEARNED_EVIDENCE_FLOOR or not len(rows):
                break
            s = int(np.argmax(sims[:, p]))
            st, ps = self.statements[rows[s]], passages[p]
            out.append(Evidence(st.text, st.section, ps.text, ps.start, ps.end, float(sims[s, p]), ps.kind,
                                float(terms[p])))
        return out

    def gaps(self, rows: np.ndarray, sims: np.ndarray) -> tuple[str, ...]:
        """The role's responsibilities and skills no passage comes close to, most role-specific first."""
        cfg = self.scoring
        coverage = sims.max(axis=1) if sims.shape[1] else np.zeros(len(rows))
        gap_rows = [(coverage[i], rows[i]) for i in range(len(rows))
                    if self._gap_mask[rows[i]] and coverage[i] < cfg.gap_floor]
        gap_rows.sort(key=lambda t: -self._distinct[t[1]])  # the most role-specific first
        return tuple(self.statements[r].text for _, r in gap_rows[:cfg.max_gaps])

    def learned_contrast(self, top: RoleResult, second: RoleResult, margin: np.ndarray,
                         top_part: tuple[np.ndarray, np.ndarray], second_part: tuple[np.ndarray, np.ndarray],
                         passages: list[Passage]) -> Contrast:
        """With the learned scorer: ``margin`` is, per passage, its term in the top role's logit minus
        its term in the runner-up's, so the passages listed are exactly those that decided the order."""

        def pick(part: tuple[np.ndarray, np.ndarray], sign: float) -> tuple[Evidence, ...]:
            chosen = np.flatnonzero(sign * margin > CONTRAST_MARGIN)
            terms = np.zeros(len(passages))
            terms[chosen] = sign * margin[chosen]  # only the passages that lean this way
            return tuple(self.learned_evidence(part[0], part[1], passages, terms, CONTRAST_PAIRS))

        return Contrast(top.role_id, second.role_id, pick(top_part, 1.0), pick(second_part, -1.0))

    def contrast(self, top: RoleResult, second: RoleResult, margin: np.ndarray,
                 top_part: tuple[np.ndarray, np.ndarray], second_part: tuple[np.ndarray, np.ndarray],
                 passages: list[Passage]) -> Contrast:
        """Passages that favour the top role over the runner-up, and the other way round.

        ``margin`` is, per passage, the top role's best similarity minus the runner-up's; each part is
        a role's ``(rows, sims)`` as in :meth:`role_result`."""

        def pick(part: tuple[np.ndarray, np.ndarray], sign: float) -> tuple[Evidence, ...]:
            rows, sims = part
            chosen = np.flatnonzero(sign * margin > CONTRAST_MARGIN)
            chosen = chosen[np.argsort(-sign * margin[chosen])][:CONTRAST_PAIRS]
            return tuple(self.pairs(rows, sims[:, chosen], [passages[c] for c in chosen], CONTRAST_PAIRS,
                                    self.scoring.evidence_floor))

        return Contrast(top.role_id, second.role_id, pick(top_part, 1.0), pick(second_part, -1.0))
