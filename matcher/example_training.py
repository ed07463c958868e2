"""Training the example scorer of a large catalog (:mod:`.nearest`) from what the catalog says.

- **Title examples**: each role's title and its aliases (O*NET: every reported and alternate title
  not held out of the catalog).
- **Statement examples**: each role's statements, whose vectors the built index already holds
  (so a 48,000-statement catalog is not embedded twice).
- **Dev** (fits the six feature weights and ``none``, i.e. the calibration): up to two aliases per
  role (only aliases no other role shares, of roles with at least four titles); one statement per
  role (of roles with at least four, a responsibility where it can) and, for roles with more than
  nine, three more joined into one sentence; all held out of the examples and chosen by hash, so
  the split is deterministic; and the texts that describe no work at all, shipped in
  ``matcher/data/no_work.txt``.
"""

from __future__ import annotations

import hashlib
import io
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .catalog import Catalog
from .errors import BuiltIndexError
from .files import atomic_write
from .nearest import ExampleConfig, ExampleScorer, Segments, fit, probabilities, sentence_mask
from .wordhead import from_arrays

NO_WORK = Path(__file__).with_name("data") / "no_work.txt"
HOLD_OUT_PER_ROLE = 2
JOINED = 3  # held-out statements joined into one dev sentence (roles with more than 3 × JOINED)
ARRAYS = ("title_vectors", "title_roles", "statement_vectors", "statement_roles", "w_head", "b_head", "weights")
WORD_ARRAYS = ("word_vocab", "word_idf", "word_embedding", "word_weight", "word_bias")


@dataclass(frozen=True)
class ExampleData:
    """Texts and role indices (into ``catalog.roles``) of the examples and the dev set (-1: none)."""

    titles: tuple[list[str], np.ndarray]
    statements: tuple[list[str], np.ndarray, np.ndarray]  # texts, vectors from the index, role index
    dev: tuple[list[str], np.ndarray]
    dev_source: str


def _norm(text: str) -> str:
    return " ".join(text.casefold().split())


def _by_hash(texts: list[str]) -> list[str]:
    return sorted(texts, key=lambda t: hashlib.sha1(t.encode("utf-8")).hexdigest())


def _join(parts: list[str]) -> str:
    if len(parts) == 1:
        return parts[0]
    return "; ".join(p.rstrip(". ")[:1].lower() + p.rstrip(". ")[1:] for p in parts) + "."


def no_work_texts() -> list[str]:
    """The shipped texts that describe no work (a shopping list, keyboard mashing, a greeting...)."""
    return [t.strip() for t in NO_WORK.read_text(encoding="utf-8").splitlines() if t.strip()]


def example_data(catalog: Catalog, statement_vectors: np.ndarray) -> ExampleData:
    """Split ``catalog`` into examples and dev data; ``statement_vectors`` are the index's rows, in
    ``catalog.statements`` order."""
    roles = catalog.roles
    owners: dict[str, set[int]] = {}
    for r, role in enumerate(roles):
        for t in (role.title, *role.aliases):
            owners.setdefault(_norm(t), set()).add(r)
    titles: list[str] = []
    title_roles: list[int] = []
    dev_texts: list[str] = []
    dev_roles: list[int] = []
    held_aliases = 0
    for r, role in enumerate(roles):
        names = list(dict.fromkeys((role.title, *role.aliases)))
        held: set[str] = set()
        if len(names) >= 4:
            unique = [t for t in names[1:] if len(owners[_norm(t)]) == 1]
            held = set(_by_hash(unique)[:HOLD_OUT_PER_ROLE])
            held_aliases += len(held)
        for t in names:
            (dev_texts if t in held else titles).append(t)
            (dev_roles if t in held else title_roles).append(r)
    row_role = {role.id: r for r, role in enumerate(roles)}
    statements = catalog.statements
    s_roles = np.array([row_role.get(s.role_id, -1) for s in statements], dtype=np.int64)
    keep = s_roles >= 0
    # One statement per role (of roles with four or more) is held out too: people describe their
    # work in sentences, not only titles, so the weights must also fit text that reads like a task.
    # A responsibility is preferred (a skill like "Microsoft Excel" says little about the role).
    rows_of: dict[int, list[int]] = {}
    for i in np.flatnonzero(keep):
        rows_of.setdefault(int(s_roles[i]), []).append(int(i))
    for r, rows in rows_of.items():
        duties = [i for i in rows if statements[i].section == "responsibilities"]
        rows_of[r] = duties if len(duties) >= 4 else rows
    for r, rows in rows_of.items():
        if len(rows) < 4:
            continue
        ordered = sorted(rows[1:], key=lambda k: hashlib.sha1(statements[k].text.encode("utf-8")).hexdigest())
        # Where a role has plenty, three more are held out and joined into one sentence, the way a
        # person sums up a job ("I pull wire; install panels; troubleshoot circuits"): a text with
        # several cues is easier than one task, and the calibration has to see such texts too.
        picked = [ordered[:1]] + ([ordered[1:1 + JOINED]] if len(rows) > 3 * JOINED else [])
        for group in picked:
            keep[group] = False
            dev_texts.append(_join([statements[k].text for k in group]))
            dev_roles.append(r)
    source = "held-out aliases and statements" if held_aliases else "held-out statements"
    none = no_work_texts()
    return ExampleData((titles, np.array(title_roles, dtype=np.int64)),
                       ([statements[i].text for i in np.flatnonzero(keep)], statement_vectors[keep], s_roles[keep]),
                       (dev_texts + none, np.array(dev_roles + [-1] * len(none), dtype=np.int64)), source)


def train_examples(catalog: Catalog, statement_vectors: np.ndarray, embed_texts,
                   config: ExampleConfig | None = None,
                   labelled: tuple[list[list[str]], list[np.ndarray], np.ndarray] | None = None,
                   ) -> tuple[ExampleScorer, dict]:
    """Train the example scorer; ``embed_texts(list[str]) -> (N, D)`` embeds titles and dev texts
    (through the passage-vector store). ``labelled``: texts people wrote about their work, labelled
    for this catalog (each text's passages, their vectors, its role index or -1), which fit the
    calibration of sentences. Returns the scorer and what the manifest records of it."""
    data = example_data(catalog, statement_vectors)
    title_vectors = _embed_reusing(data.titles[0], catalog, statement_vectors, embed_texts)
    dev_vectors = _embed_reusing(data.dev[0], catalog, statement_vectors, embed_texts)
    dev_passages = [[t] for t in data.dev[0]]
    dev_texts = [dev_vectors[i:i + 1] for i in range(len(dev_vectors))]
    classes = [r.id for r in catalog.roles]
    scorer, dev_features = fit((data.titles[0], title_vectors, data.titles[1]), data.statements, classes,
                               (dev_passages, dev_texts, data.dev[1]), config, labelled)
    dev_probs = probabilities(scorer, dev_features, sentence_mask(data.dev[0]))
    info = {"title_examples": len(data.titles[0]), "statement_examples": len(data.statements[2]),
            "word_grams": len(scorer.words.vocab),
            "dev": {"source": data.dev_source, "items": len(data.dev[1])},
            "labelled_texts": 0 if labelled is None else len(labelled[2]),
            "sentence_calibration": {"scale": round(scorer.sentence_scale, 4),
                                     "offset": round(scorer.sentence_offset, 4)}}
    return scorer, {**info, "dev_probs": dev_probs, "dev_labels": data.dev[1]}


def _embed_reusing(texts: list[str], catalog: Catalog, statement_vectors: np.ndarray, embed_texts) -> np.ndarray:
    """Vectors of ``texts``, taken from the index where a statement has the same text (O*NET lists
    its first titles as statements: a quarter of the titles are embedded already; a held-out
    statement is one too)."""
    known = {s.text: i for i, s in enumerate(catalog.statements)}
    missing = list(dict.fromkeys(t for t in texts if t not in known))
    fresh = dict(zip(missing, embed_texts(missing), strict=True)) if missing else {}
    return np.array([statement_vectors[known[t]] if t in known else fresh[t] for t in texts],
                    dtype=np.float32).reshape(len(texts), statement_vectors.shape[1])


def save_examples(scorer: ExampleScorer, folder: Path) -> None:
    """Write the arrays (vectors as float16: half the disk, cosines change by < 1e-3)."""
    buf = io.BytesIO()
    np.savez(buf, title_vectors=scorer.titles.vectors.astype(np.float16),
             title_roles=np.repeat(scorer.titles.roles, scorer.titles.lengths),
             statement_vectors=scorer.statements.vectors.astype(np.float16),
             statement_roles=np.repeat(scorer.statements.roles, scorer.statements.lengths),
             w_head=scorer.w_head, b_head=scorer.b_head, weights=scorer.weights, b_none=np.array([scorer.b_none]),
             sentence=np.array([scorer.sentence_scale, scorer.sentence_offset]),
             **scorer.words.arrays())
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "weights.npz", buf.getvalue())


def load_examples(folder: Path, classes: tuple[str, ...]) -> ExampleScorer:
    """The saved example scorer; :class:`BuiltIndexError` when unreadable."""
    try:
        with np.load(folder / "weights.npz", allow_pickle=False) as z:
            a = {k: z[k] for k in (*ARRAYS, "b_none", "sentence", *WORD_ARRAYS)}
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
        raise BuiltIndexError(f"the scorer in {folder} is unreadable ({type(exc).__name__})") from None
    return ExampleScorer(classes, Segments.build(a["title_vectors"].astype(np.float32), a["title_roles"]),
                         Segments.build(a["statement_vectors"].astype(np.float32), a["statement_roles"]),
                         a["w_head"], a["b_head"], a["weights"], float(a["b_none"][0]),
                         from_arrays({k: a[k] for k in WORD_ARRAYS}), float(a["sentence"][0]), float(a["sentence"][1]))


def example_digest(scorer: ExampleScorer) -> str:
    """SHA-256 of everything the scorer computes with (as saved: vectors in float16)."""
    h = hashlib.sha256(repr(scorer.classes).encode())
    for seg in (scorer.titles, scorer.statements):
        h.update(np.ascontiguousarray(seg.vectors.astype(np.float16)).tobytes())
        h.update(np.repeat(seg.roles, seg.lengths).astype(np.int64).tobytes())
    for arr in (scorer.w_head, scorer.b_head, scorer.weights,
                np.array([scorer.b_none, scorer.sentence_scale, scorer.sentence_offset])):
        h.update(np.ascontiguousarray(arr, dtype=np.float32).tobytes())
    for name, arr in scorer.words.arrays().items():
        h.update(name.encode() + np.ascontiguousarray(arr).tobytes())
    return h.hexdigest()
