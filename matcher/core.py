"""The Python API: ``Matcher.load()`` then ``match(text)``. Every edge (CLI, HTTP, batch) calls this."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
from threadpoolctl import ThreadpoolController

from .catalog import GAP_SECTIONS, Catalog, load_catalog
from .embed import Embedder, make_embedder
from .errors import InputError, MatcherError, UnknownRole
from .index import BuiltIndex, load_index
from .result import Contrast, Evidence, MatchResult, RoleResult
from .scoring import ScoringConfig, best_per_role, fit_from_best, sigmoid
from .segment import EMAIL, INTEREST, PHONE, URL, WORD, Passage, split_passages
from .settings import Settings
from .text import check_text

# An *approximate* (HNSW) index, built past index.EXACT_SEARCH_LIMIT statements, picks the candidate
# roles first and only their statements are scored exactly. An exact (flat) index is never searched first: its search is
# the same statements×passages product as scoring every role, so every role is scored in one numpy
# product (measured on O*NET, 48k statements: ~30 ms for a résumé, where FAISS search + re-scoring the
# candidates cost 2-20× that on a busy 2-core machine, and still kept about two thirds of the rows).
CANDIDATES_PER_PASSAGE = 64
DEFAULT_TOP_K_LARGE = 10  # with many roles, returning all of them is noise
# Scoring multiplies small matrices right after the model has run. A multi-threaded OpenBLAS then
# fights the model runtime's own (still spinning) worker threads: on 2 cores a 40-line résumé's
# match() took 63 ms instead of 36 ms. One BLAS thread while scoring; the model keeps its own pools.
_BLAS = ThreadpoolController()


@dataclass
class Prepared:
    """A checked, segmented input, ready to be embedded (or the error that stopped it)."""

    passages: list[Passage] = field(default_factory=list)
    error: MatcherError | None = None


class Matcher:
    """Match résumés against one catalog's built index."""

    def __init__(self, index: BuiltIndex, embedder: Embedder, settings: Settings,
                 scoring: ScoringConfig | None = None) -> None:
        self.index = index
        self.embedder = embedder
        self.settings = settings
        self.scoring = scoring or ScoringConfig()
        self.catalog: Catalog = index.catalog
        role_ids = [s.role_id for s in index.statements]
        self._all_roles = self.catalog.all_roles
        self._n_offered = len(self.catalog.roles)
        order = {r.id: i for i, r in enumerate(self._all_roles)}
        self._role_of = np.array([order[r] for r in role_ids], dtype=np.int64)
        # Statements are stored grouped by role, so each role is one contiguous slice.
        self._starts = np.flatnonzero(np.r_[True, self._role_of[1:] != self._role_of[:-1]])
        self._ends = np.r_[self._starts[1:], len(role_ids)]
        self._gap_mask = np.array([s.section in GAP_SECTIONS for s in index.statements])
        self._distinct = self._distinctiveness()

    def _distinctiveness(self) -> np.ndarray:
        """Per statement, 1 − its highest cosine to any other role's statement: how much it says
        about *this* role. Gaps are listed most distinctive first. Skipped (all zeros) for very large
        catalogs, where the full statement×statement product would cost more than it tells."""
        n = len(self.index.statements)
        if n > 20_000 or len(self._all_roles) < 2:
            return np.zeros(n)
        sims = self.index.vectors @ self.index.vectors.T
        sims[self._role_of[:, None] == self._role_of[None, :]] = -1.0
        return 1.0 - sims.max(axis=1)

    @classmethod
    def load(cls, settings: Settings | None = None, *, catalog: str | Path | None = None,
             embedder: Embedder | None = None, scoring: ScoringConfig | None = None) -> Matcher:
        """Load the catalog, the embedder and the index (building or refreshing it when needed).

        ``catalog`` is a catalog name under ``settings.corpus_dir`` or a path to a catalog folder.
        """
        settings = settings or Settings.from_env()
        cat = resolve_catalog(settings, catalog)
        embedder = embedder or make_embedder(settings)
        built = load_index(cat, embedder, settings.index_dir, backend=settings.backend,
                           auto_rebuild=settings.auto_rebuild)
        return cls(built, embedder, settings, scoring)

    # -- the public calls -------------------------------------------------------------------------

    def match(self, text: str, top_k: int | None = None) -> MatchResult:
        """Rank the catalog's roles for ``text``; raises :class:`InputError` for unusable input."""
        check_top_k(top_k, self.settings.max_top_k)
        prepared = self.prepare(text)
        if prepared.error:
            raise prepared.error
        vectors = self.embedder.embed([p.text for p in prepared.passages])
        return self.score(prepared.passages, vectors, top_k)

    def match_many(self, texts: Sequence[str], top_k: int | None = None) -> list[MatchResult | MatcherError]:
        """Match several inputs with one embedding call across all of them (batch throughput).

        A bad input yields its error in its slot; the others are scored.
        """
        check_top_k(top_k, self.settings.max_top_k)
        prepared = [self.prepare(t) for t in texts]
        flat = [p.text for item in prepared if not item.error for p in item.passages]
        vectors = self.embedder.embed(flat) if flat else np.zeros((0, self.embedder.dimension), np.float32)
        out: list[MatchResult | MatcherError] = []
        pos = 0
        for item in prepared:
            if item.error:
                out.append(item.error)
                continue
            n = len(item.passages)
            out.append(self.score(item.passages, vectors[pos:pos + n], top_k))
            pos += n
        return out

    def prepare(self, text: str) -> Prepared:
        """Check and segment one input without embedding it."""
        try:
            check_text(text, self.settings.max_text_chars)
            passages = split_passages(text) or _one_line_query(text)
            if not passages:
                raise InputError("found no sentences to match (only headings, contact details or very short "
                                 "fragments); send résumé text with at least one full sentence or bullet",
                                 code="no_text")
            return Prepared(passages)
        except MatcherError as exc:
            return Prepared(error=exc)

    def role(self, role_id: str):
        """The catalog role with this id; :class:`UnknownRole` lists the valid ids."""
        try:
            return self.catalog.role(role_id)
        except KeyError:
            raise UnknownRole(f"no role {role_id!r} in catalog {self.catalog.name!r}; valid ids: "
                              f"{', '.join(self.catalog.role_ids)}") from None

    # -- scoring ----------------------------------------------------------------------------------

    def _candidate_roles(self, vectors: np.ndarray) -> np.ndarray:
        """Indices (into ``all_roles``) of the roles worth scoring exactly for these passages."""
        if not isinstance(self.index.faiss_index, faiss.IndexHNSW):  # exact index: score every role
            return np.arange(len(self._all_roles))
        k = min(CANDIDATES_PER_PASSAGE, len(self.index.statements))
        _, ids = self.index.faiss_index.search(vectors, k)
        return np.unique(self._role_of[ids[ids >= 0]])

    def score(self, passages: list[Passage], vectors: np.ndarray, top_k: int | None = None) -> MatchResult:
        """Score pre-embedded passages (the second half of :meth:`match`)."""
        with _BLAS.limit(limits=1, user_api="blas"):
            return self._score(passages, vectors, top_k)

    def _score(self, passages: list[Passage], vectors: np.ndarray, top_k: int | None) -> MatchResult:
        cfg = self.scoring
        roles = self._candidate_roles(vectors)
        lengths = self._ends[roles] - self._starts[roles]
        starts = np.r_[0, np.cumsum(lengths)[:-1]]
        if len(roles) == len(self._all_roles):  # every role: one product, no copy of the matrix
            rows = np.arange(len(self.index.statements))
            sims = self.index.vectors @ vectors.T  # (S, P)
        else:  # rows of the candidate roles only, still grouped by role
            rows = np.concatenate([np.arange(self._starts[r], self._ends[r]) for r in roles])
            sims = self.index.vectors[rows] @ vectors.T  # (S_candidates, P)
        best = best_per_role(sims, starts)  # (R_candidates, P)
        kinds = np.array([p.kind for p in passages])
        has_exp, has_int = (kinds == "experience").any(), (kinds == "interest").any()
        fit = fit_from_best(best, cfg)
        exp = fit_from_best(best, cfg, kinds == "experience")
        interest = fit_from_best(best, cfg, kinds == "interest")

        offered = roles < self._n_offered
        # The bar an offered role must clear: the global threshold, and any adjacent (not offered)
        # role the text reads closer to.
        bar, outside = cfg.threshold, None
        if (~offered).any():
            j = int(np.argmax(np.where(offered, -np.inf, fit)))
            if fit[j] + cfg.adjacent_margin > bar:
                bar, outside = float(fit[j] + cfg.adjacent_margin), self._all_roles[roles[j]]

        def calibrated(v: np.ndarray) -> np.ndarray:
            return sigmoid((v - bar) / cfg.temperature)

        scores = np.where(offered, calibrated(fit), -1.0)
        # Exact ties: roles that share the very statement that matched best (one job title in several
        # O*NET occupations: a sixth of title queries there). The role whose runner-up statements match
        # better goes first, not whichever the catalog lists first; no score changes.
        offered_scores = scores[offered]
        if len(np.unique(offered_scores)) < len(offered_scores):  # only then is the extra pass needed
            runner_up = fit_from_best(_runner_up_per_role(sims, starts, best), cfg)
            order = np.lexsort((-runner_up, -scores))[: int(offered.sum())]
        else:
            order = np.argsort(-scores, kind="stable")[: int(offered.sum())]
        if top_k is None and self._n_offered > 20:
            top_k = DEFAULT_TOP_K_LARGE
        if top_k is not None:
            order = order[:top_k]
        results = []
        for i in order:
            local = slice(starts[i], starts[i] + lengths[i])
            results.append(self._role_result(
                int(roles[i]), rows[local], sims[local], passages, float(scores[i]),
                float(calibrated(exp[i])) if has_exp else None,
                float(calibrated(interest[i])) if has_int else None))
        best_fit = results[0].role_id if results and results[0].score >= 0.5 else None
        contrast = None
        if len(order) >= 2:
            contrast = self._contrast(best[order[0]], best[order[1]], results[0], results[1], passages,
                                      sims, starts, lengths, order, rows)
        reads_like = {"role_id": outside.id, "title": outside.title} if best_fit is None and outside else None
        return MatchResult(best_fit=best_fit, results=tuple(results),
                           catalog={"name": self.catalog.name, "hash": self.catalog.hash},
                           model=self.embedder.name, passages=len(passages), threshold=0.5,
                           contrast=contrast, reads_like=reads_like)

    def _pairs(self, rows: np.ndarray, sims: np.ndarray, passages: list[Passage], limit: int,
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
            st, ps = self.index.statements[rows[s]], passages[p]
            out.append(Evidence(st.text, st.section, ps.text, ps.start, ps.end, float(sims[s, p]), ps.kind))
        return out

    def _role_result(self, role_index: int, rows: np.ndarray, sims: np.ndarray, passages: list[Passage],
                     score: float, exp: float, interest: float) -> RoleResult:
        cfg = self.scoring
        role = self._all_roles[role_index]
        evidence = self._pairs(rows, sims, passages, cfg.max_evidence, cfg.evidence_floor)
        coverage = sims.max(axis=1) if sims.shape[1] else np.zeros(len(rows))
        gap_rows = [(coverage[i], rows[i]) for i in range(len(rows))
                    if self._gap_mask[rows[i]] and coverage[i] < cfg.gap_floor]
        gap_rows.sort(key=lambda t: -self._distinct[t[1]])  # the most role-specific first
        gaps = tuple(self.index.statements[r].text for _, r in gap_rows[:cfg.max_gaps])
        return RoleResult(role.id, role.title, score, exp, interest, tuple(evidence), gaps)

    def _contrast(self, best_top, best_second, top: RoleResult, second: RoleResult, passages, sims,
                  starts, lengths, order, rows) -> Contrast:
        """Passages that favour the top role over the runner-up, and the other way round."""
        margin = best_top - best_second
        def pick(role_pos: int, sign: float) -> tuple[Evidence, ...]:
            chosen = np.flatnonzero(sign * margin > 0.02)
            chosen = chosen[np.argsort(-sign * margin[chosen])][:3]
            local = slice(starts[role_pos], starts[role_pos] + lengths[role_pos])
            sub = sims[local][:, chosen]
            ev = self._pairs(rows[local], sub, [passages[c] for c in chosen], 3, self.scoring.evidence_floor)
            return tuple(ev)
        return Contrast(top.role_id, second.role_id, pick(order[0], 1.0), pick(order[1], -1.0))


def _runner_up_per_role(sims: np.ndarray, starts: np.ndarray, best: np.ndarray) -> np.ndarray:
    """``(R, P)``: per role and passage, the best similarity *below* the role's best (−inf if none)."""
    lengths = np.diff(np.r_[starts, len(sims)])
    below = np.where(sims < np.repeat(best, lengths, axis=0), sims, -np.inf)
    return best_per_role(below, starts)


def _one_line_query(text: str) -> list[Passage]:
    """A bare job title ("Registered Nurse") is the whole question, though the segmenter drops it as a
    heading; one short line is kept as one passage. Contact details alone still count as no text."""
    line = text.strip()
    if not line or len(line) > 200 or "\n" in line or "\r" in line or not WORD.search(line) \
            or any(p.search(line) for p in (EMAIL, URL, PHONE)):
        return []
    start = text.index(line)
    return [Passage(line, start, start + len(line), "interest" if INTEREST.search(line) else "experience")]


def check_top_k(top_k: int | None, limit: int) -> int | None:
    """The one rule for how many roles a caller may ask for: ``None`` (the default: all of them, or
    the best ten of a catalog of more than 20) or a whole number from 1 to ``limit``
    (``MATCHER_MAX_TOP_K``). Edges may call it early, before loading or queueing, to fail fast."""
    if top_k is None:
        return None
    if isinstance(top_k, bool) or not isinstance(top_k, int) or not 1 <= top_k <= limit:
        raise InputError(f"top_k must be at least 1 and less than or equal to {limit} (MATCHER_MAX_TOP_K), "
                         f"got {top_k!r}", code="invalid_request")
    return top_k


def resolve_catalog(settings: Settings, catalog: str | Path | None) -> Catalog:
    """A catalog by name (a folder, ``.csv`` or ``.jsonl`` under ``corpus_dir``) or by path."""
    name = str(catalog or settings.catalog)
    if "/" not in name and "\\" not in name:  # a bare name: look in the corpus folder first
        for candidate in (settings.corpus_dir / name, settings.corpus_dir / f"{name}.csv",
                          settings.corpus_dir / f"{name}.jsonl"):
            if candidate.exists():
                return load_catalog(candidate)
    return load_catalog(Path(name))
