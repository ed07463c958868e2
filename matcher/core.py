"""The Python API: ``Matcher.load()`` then ``match(text)``. Every edge (CLI, HTTP, batch) calls this.

The core owns the rules every edge shares: how many roles a caller may ask for (:func:`check_top_k`),
what text is matchable (:mod:`.text`), where catalogs live (:mod:`.catalog`). Ranking is here; the
scoring arithmetic is :mod:`.scoring`, the explanations :mod:`.explain`, segmenting :mod:`.segment`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import faiss
import numpy as np
from threadpoolctl import ThreadpoolController

from .catalog import Catalog, Role, resolve_catalog
from .embed import Embedder, make_embedder
from .errors import InputError, MatcherError, UnknownRole
from .explain import Explainer
from .index import BuiltIndex, load_index
from .nearest import ExampleScorer
from .result import MatchResult, RoleResult
from .scoring import ScoringConfig, best_per_role, fit_from_best, runner_up_per_role, sigmoid
from .segment import Passage, one_line_query, split_passages
from .settings import Settings
from .text import check_text
from .training import Scorer, load_or_train

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


@dataclass
class Prepared:
    """A checked, segmented input, ready to be embedded (or the error that stopped it)."""

    passages: list[Passage] = field(default_factory=list)
    error: MatcherError | None = None


@dataclass(frozen=True)
class _Similarities:
    """One input's passages against the statements of the roles worth scoring, grouped by role."""

    roles: np.ndarray  # the candidate roles (indices into ``all_roles``)
    rows: np.ndarray  # their statements' index rows, grouped by role
    sims: np.ndarray  # (statements, passages) cosines, in ``rows`` order
    starts: np.ndarray  # where each candidate role's statements start in ``rows``
    lengths: np.ndarray  # how many statements each has

    def part(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        """Candidate role ``i``'s ``(rows, sims)``."""
        local = slice(self.starts[i], self.starts[i] + self.lengths[i])
        return self.rows[local], self.sims[local]


class Matcher:
    """Match résumés against one catalog's built index."""

    def __init__(self, index: BuiltIndex, embedder: Embedder, settings: Settings,
                 scoring: ScoringConfig | None = None, scorer: Scorer | None = None) -> None:
        self.index = index
        # The learned scorer ranks and scores when the catalog has one (README "What a score means");
        # without one (a large catalog never trained, or MATCHER_SCORER=similarity) the similarity
        # scorer does. Evidence pairs, gaps and "reads like" come from the index either way.
        self.scorer = scorer
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
        self._explain = Explainer(index.statements, index.vectors, self._role_of, len(self._all_roles),
                                  self.scoring)

    @classmethod
    def load(cls, settings: Settings | None = None, *, catalog: str | Path | Catalog | None = None,
             embedder: Embedder | None = None, scoring: ScoringConfig | None = None) -> Matcher:
        """Load the catalog, the embedder and the index (building or refreshing it when needed).

        ``catalog`` is a catalog name under ``settings.corpus_dir``, a path to a catalog, or a
        :class:`Catalog` built in memory (``Catalog.from_roles``). An ``embedder`` given here (e.g.
        ``SentenceTransformerEmbedder.from_model(model)``) stores its indexes under its own backend label.
        """
        settings = settings or Settings.from_env()
        cat = catalog if isinstance(catalog, Catalog) else resolve_catalog(settings, catalog)
        embedder = embedder or make_embedder(settings)
        # An index holds one backend's vectors: a torch model given in a notebook must not reuse int8 ones.
        backend = getattr(embedder, "backend", settings.backend)
        built = load_index(cat, embedder, settings.index_dir, backend=backend, auto_rebuild=settings.auto_rebuild)
        scorer = None
        if settings.scorer == "learned":
            scorer = load_or_train(cat, embedder, index_root=settings.index_dir, cache_dir=settings.cache_dir,
                                   backend=backend, auto_train=settings.auto_rebuild,
                                   statement_vectors=built.vectors)
        return cls(built, embedder, settings, scoring, scorer)

    def with_scorer(self, scorer: Scorer | None) -> Matcher:
        """The same index and model with another scorer (``None``: the similarity scorer), e.g. to
        compare the two in ``matcher eval``."""
        return Matcher(self.index, self.embedder, self.settings, self.scoring, scorer)

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
            passages = split_passages(text) or one_line_query(text)
            if not passages:
                raise InputError("found no sentences to match (only headings, contact details or very short "
                                 "fragments); send résumé text with at least one full sentence or bullet",
                                 code="no_text")
            return Prepared(passages)
        except MatcherError as exc:
            return Prepared(error=exc)

    def role(self, role_id: str) -> Role:
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

    def _similarities(self, vectors: np.ndarray, roles: np.ndarray | None = None) -> _Similarities:
        """Passages against the statements of ``roles`` (indices into ``all_roles``; default: the
        candidate roles, every role for an exact index)."""
        roles = self._candidate_roles(vectors) if roles is None else roles
        if len(roles) == len(self._all_roles):
            # Every role: in index order, so the rows below (the index as it is) line up with starts.
            roles = np.arange(len(self._all_roles))
        lengths = self._ends[roles] - self._starts[roles]
        starts = np.r_[0, np.cumsum(lengths)[:-1]]
        if len(roles) == len(self._all_roles):  # every role: one product, no copy of the matrix
            rows = np.arange(len(self.index.statements))
            sims = self.index.vectors @ vectors.T  # (S, P)
        else:  # rows of the candidate roles only, still grouped by role
            rows = np.concatenate([np.arange(self._starts[r], self._ends[r]) for r in roles])
            sims = self.index.vectors[rows] @ vectors.T  # (S_candidates, P)
        return _Similarities(roles, rows, sims, starts, lengths)

    def score(self, passages: list[Passage], vectors: np.ndarray, top_k: int | None = None) -> MatchResult:
        """Score pre-embedded passages (the second half of :meth:`match`)."""
        with _BLAS.limit(limits=1, user_api="blas"):
            return self._score(passages, vectors, top_k)

    def _bar(self, fit: np.ndarray, offered: np.ndarray, roles: np.ndarray) -> tuple[float, Role | None]:
        """The fit an offered role must clear: the global threshold, and any adjacent (not offered)
        role the text reads closer to, which is returned too."""
        cfg = self.scoring
        bar, outside = cfg.threshold, None
        if (~offered).any():
            j = int(np.argmax(np.where(offered, -np.inf, fit)))
            if fit[j] + cfg.adjacent_margin > bar:
                bar, outside = float(fit[j] + cfg.adjacent_margin), self._all_roles[roles[j]]
        return bar, outside

    def _ranking(self, scores: np.ndarray, offered: np.ndarray, sim: _Similarities, best: np.ndarray,
                 top_k: int | None) -> np.ndarray:
        """The offered candidates, best first, cut to ``top_k``."""
        # Exact ties: roles that share the very statement that matched best (one job title in several
        # O*NET occupations: a sixth of title queries there). The role whose runner-up statements match
        # better goes first, not whichever the catalog lists first; no score changes.
        offered_scores = scores[offered]
        if len(np.unique(offered_scores)) < len(offered_scores):  # only then is the extra pass needed
            runner_up = fit_from_best(runner_up_per_role(sim.sims, sim.starts, best), self.scoring)
            order = np.lexsort((-runner_up, -scores))[: int(offered.sum())]
        else:
            order = np.argsort(-scores, kind="stable")[: int(offered.sum())]
        if top_k is None and self._n_offered > 20:
            top_k = DEFAULT_TOP_K_LARGE
        return order if top_k is None else order[:top_k]

    def _score(self, passages: list[Passage], vectors: np.ndarray, top_k: int | None) -> MatchResult:
        if self.scorer is not None:
            return self._score_learned(passages, vectors, top_k)
        cfg = self.scoring
        sim = self._similarities(vectors)
        best = best_per_role(sim.sims, sim.starts)  # (R_candidates, P)
        kinds = np.array([p.kind for p in passages])
        has_exp, has_int = (kinds == "experience").any(), (kinds == "interest").any()
        fit = fit_from_best(best, cfg)
        exp = fit_from_best(best, cfg, kinds == "experience")
        interest = fit_from_best(best, cfg, kinds == "interest")
        offered = sim.roles < self._n_offered
        bar, outside = self._bar(fit, offered, sim.roles)

        def calibrated(v: np.ndarray) -> np.ndarray:
            return sigmoid((v - bar) / cfg.temperature)

        scores = np.where(offered, calibrated(fit), -1.0)
        order = self._ranking(scores, offered, sim, best, top_k)
        results: list[RoleResult] = []
        for i in order:
            rows, sims = sim.part(i)
            results.append(self._explain.role_result(
                self._all_roles[int(sim.roles[i])], rows, sims, passages, float(scores[i]),
                float(calibrated(exp[i])) if has_exp else None,
                float(calibrated(interest[i])) if has_int else None))
        best_fit = results[0].role_id if results and results[0].score >= cfg.fit_line else None
        contrast = None
        if len(order) >= 2:
            contrast = self._explain.contrast(results[0], results[1], best[order[0]] - best[order[1]],
                                              sim.part(order[0]), sim.part(order[1]), passages)
        reads_like = {"role_id": outside.id, "title": outside.title} if best_fit is None and outside else None
        return MatchResult(best_fit=best_fit, results=tuple(results),
                           catalog={"name": self.catalog.name, "hash": self.catalog.hash},
                           model=self.embedder.name, passages=len(passages), threshold=cfg.fit_line,
                           contrast=contrast, reads_like=reads_like)

    def _score_learned(self, passages: list[Passage], vectors: np.ndarray, top_k: int | None) -> MatchResult:
        """Rank by the learned scorer's calibrated probabilities; explain with its per-passage terms."""
        cfg, scorer = self.scoring, self.scorer
        assert scorer is not None
        texts = [p.text for p in passages]
        # The example scorer's per-passage logits are computed once and reused for the subsets below
        # (its features are most of a large catalog's scoring time).
        per_passage = scorer.passage_logits(texts, vectors) if isinstance(scorer, ExampleScorer) else None
        ex = scorer.explain(texts, vectors) if per_passage is None else scorer.explain(texts, vectors, per_passage)
        column = {c: i for i, c in enumerate(scorer.classes)}
        cols = np.array([column[r.id] for r in self.catalog.roles])
        probs = ex.probs[cols]
        kinds = np.array([p.kind for p in passages])

        def sub_score(mask: np.ndarray) -> np.ndarray | None:
            """The same scorer on a subset of passages (what was done / what is wanted)."""
            if not mask.any() or mask.all():
                return probs if mask.any() else None
            keep = np.flatnonzero(mask)
            sub = [texts[k] for k in keep]
            if per_passage is not None:
                return scorer.explain(sub, vectors[keep], per_passage[keep]).probs[cols]
            return scorer.explain(sub, vectors[keep]).probs[cols]

        exp, interest = sub_score(kinds == "experience"), sub_score(kinds == "interest")
        order = np.argsort(-probs, kind="stable")
        if top_k is None and self._n_offered > 20:
            top_k = DEFAULT_TOP_K_LARGE
        order = order if top_k is None else order[:top_k]
        # Evidence and gaps need the statements of the listed roles only, and "reads like" those of
        # the adjacent roles: on O*NET ten roles' rows, not 48,000 (and no candidate search for HNSW).
        needed = np.r_[order, np.arange(self._n_offered, len(self._all_roles))].astype(np.int64)
        sim = self._similarities(vectors, needed)
        where = {int(r): k for k, r in enumerate(sim.roles)}
        results: list[RoleResult] = []
        for i in order:
            rows, sims = sim.part(where[int(i)])
            role = self.catalog.roles[int(i)]
            evidence = self._explain.learned_evidence(rows, sims, passages, ex.terms[:, cols[i]], cfg.max_evidence)
            results.append(RoleResult(role.id, role.title, float(probs[i]),
                                      None if exp is None else float(exp[i]),
                                      None if interest is None else float(interest[i]),
                                      tuple(evidence), self._explain.gaps(rows, sims)))
        # "No good fit" is each scorer's own rule (the example scorer's is on "none": README).
        best_fit = results[0].role_id if results and scorer.fits(ex, cfg.fit_line) else None
        contrast = None
        if len(order) >= 2:
            a, b = int(order[0]), int(order[1])
            margin = ex.terms[:, cols[a]] - ex.terms[:, cols[b]]
            contrast = self._explain.learned_contrast(results[0], results[1], margin, sim.part(where[a]),
                                                      sim.part(where[b]), passages)
        reads_like = None
        if best_fit is None:
            fit = fit_from_best(best_per_role(sim.sims, sim.starts), cfg)
            _, outside = self._bar(fit, sim.roles < self._n_offered, sim.roles)
            reads_like = {"role_id": outside.id, "title": outside.title} if outside else None
        return MatchResult(best_fit=best_fit, results=tuple(results),
                           catalog={"name": self.catalog.name, "hash": self.catalog.hash},
                           model=self.embedder.name, passages=len(passages), threshold=cfg.fit_line,
                           contrast=contrast, reads_like=reads_like)
