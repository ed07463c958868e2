"""``matcher catalog check``: can the model tell the catalog's roles apart?

Two checks on the embedded statements (pure numpy over the built index):

* **role confusion**: for each statement, the role of its nearest *other* statement. When many of
  role A's statements sit nearest to role B, the model will have trouble telling A from B.
* **shared statements**: pairs of statements in different roles that say nearly the same thing
  (cosine above ``duplicate_cosine``); they add nothing to tell the roles apart.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .index import BuiltIndex

CONFUSION_WARN = 0.35  # share of a role's statements whose nearest neighbour is in one other role
DUPLICATE_COSINE = 0.85
MAX_DENSE = 20_000  # beyond this, neighbours come from the FAISS index instead of a full matrix


@dataclass(frozen=True)
class CheckReport:
    confusion: dict[str, dict[str, float]]  # role → {other role: share of its statements nearest there}
    close_pairs: list[tuple[str, str, float]]  # (role a, role b, share) above the warning level
    shared: list[tuple[float, str, str, str, str]]  # (cosine, role a, text a, role b, text b)

    @property
    def ok(self) -> bool:
        return not self.close_pairs and not self.shared


def nearest_neighbours(built: BuiltIndex, k: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """``(sims, ids)`` of each statement's ``k`` nearest other statements."""
    vectors = built.vectors
    if len(vectors) <= MAX_DENSE:
        sims = vectors @ vectors.T
        np.fill_diagonal(sims, -np.inf)
        k = min(k, len(vectors) - 1)
        ids = np.argpartition(-sims, k - 1, axis=1)[:, :k]
        return np.take_along_axis(sims, ids, axis=1), ids
    sims, ids = built.faiss_index.search(vectors, k + 1)
    return sims[:, 1:], ids[:, 1:]


def check_catalog(built: BuiltIndex, duplicate_cosine: float = DUPLICATE_COSINE) -> CheckReport:
    """Run both checks over a built index."""
    statements = built.statements
    role_of = np.array([s.role_id for s in statements])
    sims, ids = nearest_neighbours(built)
    confusion: dict[str, dict[str, float]] = {}
    close: list[tuple[str, str, float]] = []
    for role in dict.fromkeys(role_of):
        mine = np.flatnonzero(role_of == role)
        # Nearest neighbour outside the statement itself (any role).
        nearest = ids[mine, np.argmax(sims[mine], axis=1)]
        others = role_of[nearest]
        shares = {o: float(np.mean(others == o)) for o in set(others) if o != role}
        confusion[str(role)] = dict(sorted(shares.items(), key=lambda t: -t[1]))
        close += [(str(role), o, s) for o, s in shares.items() if s >= CONFUSION_WARN]
    shared = []
    for i, (row_s, row_i) in enumerate(zip(sims, ids, strict=True)):
        for s, j in zip(row_s, row_i, strict=True):
            if j > i and s >= duplicate_cosine and role_of[i] != role_of[j]:
                a, b = statements[i], statements[j]
                shared.append((float(s), a.role_id, a.text, b.role_id, b.text))
    shared.sort(reverse=True)
    return CheckReport(confusion, sorted(close, key=lambda t: -t[2]), shared)


def render_check(report: CheckReport) -> str:
    lines = ["Nearest-neighbour confusion (share of a role's statements whose closest statement is in another role):"]
    for role, shares in report.confusion.items():
        top = ", ".join(f"{o} {s:.0%}" for o, s in list(shares.items())[:3]) or "none"
        lines.append(f"  {role:<20} {top}")
    for a, b, s in report.close_pairs:
        lines.append(f"WARNING: {a} and {b} are hard to tell apart: {s:.0%} of {a}'s statements sit closest to {b}. "
                     f"Make {a}'s statements more specific to what only {a} does.")
    for s, ra, ta, rb, tb in report.shared[:30]:
        lines.append(f"WARNING: statement in two roles (cosine {s:.2f}): {ra}: \"{ta}\"  ~  {rb}: \"{tb}\"")
    if report.ok:
        lines.append("OK: every role is distinct and no statement sits in two roles.")
    return "\n".join(lines)
