"""The one result type. The API, the CLI and batch output all serialise it with :meth:`to_dict`."""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import MatcherError, NonFiniteScore, error_body


@dataclass(frozen=True)
class Evidence:
    """A role statement and the résumé passage that supports it."""

    role_statement: str
    section: str
    resume_passage: str
    start: int  # character offsets of the passage in the submitted text
    end: int
    similarity: float
    kind: str  # "experience" (done it) or "interest" (wants it)
    # With the learned scorer: how much this passage adds to the role's logit (its exact share of the
    # score; the passages' terms and the role's bias sum to the logit). None with the similarity scorer.
    contribution: float | None = None


@dataclass(frozen=True)
class RoleResult:
    """How well one role fits, and why."""

    role_id: str
    title: str
    score: float  # calibrated fit in [0, 1]; see README "What a score means"
    experience: float | None  # sub-score from what the person has done (None: no such passages)
    interest: float | None  # sub-score from what the person says they want next (None: none said)
    evidence: tuple[Evidence, ...]
    gaps: tuple[str, ...]


@dataclass(frozen=True)
class Contrast:
    """Why the top role rather than the runner-up: statements that favour each."""

    role_id: str
    versus: str
    favouring_top: tuple[Evidence, ...]
    favouring_runner_up: tuple[Evidence, ...]


@dataclass(frozen=True)
class MatchResult:
    """Ranked roles for one input, with the catalog and model that produced them."""

    best_fit: str | None
    results: tuple[RoleResult, ...]
    catalog: dict
    model: str
    passages: int  # how many passages of the input were matched
    threshold: float  # the "no good fit" cut on ``score``
    contrast: Contrast | None = None
    # With "no good fit": the adjacent role (not offered by the catalog) the text reads closest to,
    # e.g. {"role_id": "software-engineer", "title": "Software Engineer"}; else None.
    reads_like: dict | None = None

    def to_dict(self) -> dict:
        """A JSON-ready dict; tuples become lists, floats are rounded to 4 decimals.

        Written out by hand rather than with ``dataclasses.asdict``: batch jobs serialise thousands
        of results, and the generic deep copy was a fifth of everything that is not the model.
        """
        c = self.contrast
        return {
            "best_fit": self.best_fit,
            "results": [_role(r) for r in self.results],
            "catalog": dict(self.catalog),
            "model": self.model,
            "passages": self.passages,
            "threshold": _r(self.threshold),
            "contrast": None if c is None else {
                "role_id": c.role_id, "versus": c.versus,
                "favouring_top": [_evidence(e) for e in c.favouring_top],
                "favouring_runner_up": [_evidence(e) for e in c.favouring_runner_up]},
            "reads_like": None if self.reads_like is None else dict(self.reads_like),
        }


def document(outcome: MatchResult | MatcherError) -> dict:
    """What one slot of ``match_many`` becomes on the wire: the result document, or the error body of
    an input that could not be matched (the batch job's rows and the HTTP batch's items alike)."""
    return outcome.to_dict() if isinstance(outcome, MatchResult) else error_body(outcome.code, outcome.message)


def _r(value: float | None) -> float | None:
    # The edge where numbers leave the core: NaN or infinity would be invalid JSON for most
    # parsers and a meaningless score for every reader, so it is refused here, for every output.
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        raise NonFiniteScore("a score or similarity is not a finite number; the index or model is damaged: "
                             "rebuild it with `matcher index build`")
    return round(value, 4)


def _evidence(e: Evidence) -> dict:
    return {"role_statement": e.role_statement, "section": e.section, "resume_passage": e.resume_passage,
            "start": e.start, "end": e.end, "similarity": _r(e.similarity), "kind": e.kind,
            "contribution": _r(e.contribution)}


def _role(r: RoleResult) -> dict:
    return {"role_id": r.role_id, "title": r.title, "score": _r(r.score), "experience": _r(r.experience),
            "interest": _r(r.interest), "evidence": [_evidence(e) for e in r.evidence], "gaps": list(r.gaps)}
