"""The one result type. The API, the CLI and batch output all serialise it with :meth:`to_dict`."""

from __future__ import annotations

from dataclasses import asdict, dataclass


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
        """A JSON-ready dict; tuples become lists, floats are rounded for readability."""
        data = asdict(self)
        return _round(data)


def _round(value):
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_round(v) for v in value]
    return value
