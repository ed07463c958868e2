"""Training a catalog's learned scorer, and keeping it beside the index like the index itself.

Where the examples come from:

- a catalog that ships **labelled profiles** (``<catalog>/_labelled/train.jsonl`` and, for choosing
  the temperature and reporting, ``dev.jsonl``: ``{"text", "label"}`` per line, the label an offered
  role id or ``none``) trains on them; ``none`` teaches "no good fit";
- any other catalog (a company's ladder, O*NET) trains on **its own words**: each statement, title
  and summary is an example of its role, and the statements of its adjacent roles (if any) are
  examples of ``none``.

The artefact lives in ``<index folder>/scorer/`` with a manifest (catalog hash, training-data hash,
model, backend, dev metrics, checksum of the weights). On load it is checked like the index: a
stale or damaged scorer is retrained (small catalogs, ``auto_rebuild``) or refused with the
command to run. Passage vectors of the training texts are kept under ``cache_dir/embeddings``, one
store per model and backend, so retraining after a catalog, data or config change is seconds.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np

from .catalog import Catalog
from .catalog.table import FOLDER_FILES
from .embed import Embedder
from .errors import BuiltIndexError, CatalogError
from .example_training import NO_WORK, example_digest, load_examples, save_examples, train_examples
from .files import atomic_write, utc_timestamp
from .index import index_dir_for
from .learned import NONE, LearnedScorer, TrainConfig, expected_calibration_error, fit, fit_temperature
from .nearest import ExampleConfig, ExampleScorer
from .segment import split_passages
from .version import __version__

log = logging.getLogger("matcher")

FORMAT_VERSION = 1
LABELLED_DIR = "_labelled"
# Past this, one weight row per role over a vocabulary of n-grams outgrows memory and minutes
# (O*NET: 1,016 roles): such catalogs get the example scorer (nearest.py) instead.
TRAIN_MAX_ROLES = 200
Scorer = LearnedScorer | ExampleScorer
WEIGHT_FIELDS = ("idf", "w_lex", "b_lex", "w_mean", "w_max", "b_dense")


@dataclass(frozen=True)
class Examples:
    """Labelled texts, split into passages (the scorer's input), with where they came from."""

    docs: list[list[str]]
    labels: list[str]
    source: str  # "labelled" or "catalog"


def labelled_files(catalog: Catalog) -> tuple[Path | None, Path | None]:
    """``(train, dev)`` files of a catalog's labelled profiles, ``None`` where absent."""
    source = Path(catalog.source) if catalog.source else None
    if source is not None and source.is_file():
        # A table in a folder of its own (``<folder>/catalog.jsonl``, as the O*NET import writes it)
        # keeps its labelled texts beside it; a loose CSV or JSONL file has none.
        source = source.parent if source.name in FOLDER_FILES else None
    folder = source / LABELLED_DIR if source is not None else None
    if folder is None or not folder.is_dir():
        return None, None
    train, dev = folder / "train.jsonl", folder / "dev.jsonl"
    return (train if train.is_file() else None), (dev if dev.is_file() else None)


def read_labelled(path: Path, catalog: Catalog) -> tuple[list[str], list[str]]:
    """``(texts, labels)`` of a labelled JSONL file; a label that is not a role id or ``none`` is an error."""
    valid = set(catalog.role_ids) | {NONE}
    texts, labels = [], []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            text, label = row["text"], row["label"]
        except (ValueError, KeyError, TypeError):
            raise CatalogError(f"{path}:{n}: expected a JSON object with 'text' and 'label'") from None
        if label not in valid:
            raise CatalogError(f"{path}:{n}: label {label!r} is not a role of catalog {catalog.name!r} "
                               f"(valid: {', '.join(sorted(valid))})")
        texts.append(text)
        labels.append(label)
    return texts, labels


def _passages(text: str) -> list[str]:
    return [p.text for p in split_passages(text)] or [text.strip()]


def data_digest(catalog: Catalog, config: TrainConfig) -> str:
    """What a trained scorer depends on besides the catalog and model: its training and dev data and
    the training choices (cheap: the files are hashed, not parsed)."""
    h = hashlib.sha256(json.dumps([FORMAT_VERSION, asdict(config), catalog.role_ids]).encode())
    for path in labelled_files(catalog):
        h.update(path.read_bytes() if path is not None else b"-")
    if len(catalog.roles) > TRAIN_MAX_ROLES:  # the example scorer: its own choices and "no work" texts
        h.update(json.dumps(asdict(ExampleConfig())).encode() + NO_WORK.read_bytes())
    return h.hexdigest()[:16]


def labelled_examples(catalog: Catalog, which: str = "train") -> Examples | None:
    """The labelled texts shipped beside ``catalog`` (``_labelled/<which>.jsonl``), or ``None``."""
    train_file, dev_file = labelled_files(catalog)
    path = train_file if which == "train" else dev_file
    if path is None:
        return None
    texts, labels = read_labelled(path, catalog)
    return Examples([_passages(t) for t in texts], labels, "labelled")


def examples(catalog: Catalog, which: str = "train") -> Examples | None:
    """The training (``which="train"``) or dev examples for ``catalog``; dev is ``None`` when absent."""
    if (shipped := labelled_examples(catalog, which)) is not None:
        return shipped
    if which != "train":
        return None
    docs, labels = [], []
    for role in catalog.all_roles:
        label = role.id if role.kind == "offered" else NONE
        docs += [[s.text] for s in role.statements()]
        labels += [label] * len(role.statements())
        if role.kind == "offered":
            docs.append([role.title])
            labels.append(label)
    return Examples(docs, labels, "catalog")


def embed_docs(docs: Sequence[Sequence[str]], embedder: Embedder, cache_dir: Path, backend: str) -> list[np.ndarray]:
    """Unit vectors for every passage of every doc, through a store of passage vectors kept per
    model and backend (``cache_dir/embeddings/``): only passages never seen before are embedded, so
    adding a few labelled profiles, or retraining, costs seconds rather than minutes."""
    flat = [p for doc in docs for p in doc]
    store = Path(cache_dir) / "embeddings" / f"{_slug(embedder.name)}-{backend}-{embedder.dimension}.npz"
    keys: list[str] = []
    vectors = np.zeros((0, embedder.dimension), dtype=np.float32)
    if store.is_file():
        try:
            with np.load(store, allow_pickle=False) as z:
                keys, vectors = z["keys"].tolist(), z["vectors"]
        except (OSError, ValueError, KeyError, zipfile.BadZipFile):  # a damaged cache is rebuilt
            keys, vectors = [], np.zeros((0, embedder.dimension), dtype=np.float32)
    row = {k: i for i, k in enumerate(keys)}
    wanted = [hashlib.sha1(p.encode("utf-8")).hexdigest() for p in flat]
    missing = list(dict.fromkeys(k for k in wanted if k not in row))
    if missing:
        text_of = dict(zip(wanted, flat, strict=True))
        new = np.asarray(embedder.embed([text_of[k] for k in missing]), dtype=np.float32)
        row.update({k: len(keys) + i for i, k in enumerate(missing)})
        keys, vectors = keys + missing, np.vstack([vectors, new])
        store.parent.mkdir(parents=True, exist_ok=True)
        buf = io.BytesIO()
        np.savez(buf, keys=np.array(keys), vectors=vectors)
        atomic_write(store, buf.getvalue())
    out, pos = [], 0
    for doc in docs:
        out.append(vectors[[row[k] for k in wanted[pos:pos + len(doc)]]].reshape(len(doc), embedder.dimension))
        pos += len(doc)
    return out


def _slug(name: str) -> str:
    return hashlib.sha256(name.encode("utf-8")).hexdigest()[:12]


def dev_metrics(scorer: LearnedScorer, docs, vectors, labels) -> dict:
    """Top-1 (in scope), none → no fit, in scope → no fit and expected calibration error on dev."""
    probs = np.array([scorer.explain(d, v).probs for d, v in zip(docs, vectors, strict=True)])
    y = np.array([scorer.classes.index(label) for label in labels])
    roles = np.array([c != NONE for c in scorer.classes])
    in_scope = roles[y]
    ranked = np.where(roles[None, :], probs, -1).argmax(1)
    no_fit = probs[np.arange(len(y)), ranked] < 0.5
    return _summary(ranked == y, in_scope, no_fit, expected_calibration_error(probs.max(1), probs.argmax(1) == y))


def _summary(right: np.ndarray, in_scope: np.ndarray, no_fit: np.ndarray, ece: float) -> dict:
    """The dev metrics the manifest records, rounded (``right``: top role is the label)."""
    out = {"items": len(right), "top1": _mean(right[in_scope]), "in_scope_to_no_fit": _mean(no_fit[in_scope]),
           "none_to_no_fit": _mean(no_fit[~in_scope]), "ece": ece}
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in out.items()}


def _mean(a: np.ndarray) -> float | None:
    return float(a.mean()) if len(a) else None


def train(catalog: Catalog, embedder: Embedder, *, index_root: Path, cache_dir: Path, backend: str,
          config: TrainConfig | None = None, statement_vectors: np.ndarray | None = None) -> tuple[Scorer, dict]:
    """Train ``catalog``'s scorer, save it beside its index and return it with its manifest.

    Catalogs of more than ``TRAIN_MAX_ROLES`` roles get the example scorer, which needs the index's
    vectors (``statement_vectors``, in ``catalog.statements`` order)."""
    started = time.time()
    config = config or TrainConfig()
    folder = scorer_dir(index_root, catalog.name, backend)
    common = {"format_version": FORMAT_VERSION, "package_version": __version__, "catalog": catalog.name,
              "corpus_hash": catalog.hash, "training_data_hash": data_digest(catalog, config),
              "model": embedder.name, "backend": backend, "dimension": embedder.dimension,
              "config": asdict(config)}
    if len(catalog.roles) > TRAIN_MAX_ROLES:
        if statement_vectors is None:
            raise CatalogError(f"catalog {catalog.name!r}: training its scorer needs its built index")

        def embed_texts(texts: list[str]) -> np.ndarray:
            vecs = embed_docs([[t] for t in texts], embedder, cache_dir, backend)
            return np.vstack(vecs) if vecs else np.zeros((0, embedder.dimension), np.float32)

        labelled = None
        if (people := labelled_examples(catalog)) is not None:  # texts people wrote: the sentence calibration
            row = {role_id: i for i, role_id in enumerate(catalog.role_ids)}
            labelled = (people.docs, embed_docs(people.docs, embedder, cache_dir, backend),
                        np.array([row.get(label, -1) for label in people.labels], dtype=np.int64))
        drafted, info = train_examples(catalog, statement_vectors, embed_texts, ExampleConfig(), labelled)
        save_examples(drafted, folder)
        example_scorer = load_examples(folder, drafted.classes)  # as saved (float16 vectors): what loads later
        probs, labels = info.pop("dev_probs"), info.pop("dev_labels")
        source = "catalog and labelled texts" if labelled is not None else "catalog"
        manifest = {**common, "scorer": "examples", "training_data": source, **info,
                    "examples": info["title_examples"] + info["statement_examples"],
                    "classes": list(example_scorer.classes), "example_config": asdict(ExampleConfig()),
                    "temperature": 1.0, "dev_metrics": _dev_metrics_from(probs, labels),
                    "weights_sha256": example_digest(example_scorer), "trained_at": utc_timestamp(),
                    "train_seconds": round(time.time() - started, 1)}
        atomic_write(folder / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))
        return example_scorer, manifest
    data = examples(catalog, "train")
    classes = [r.id for r in catalog.roles] + ([NONE] if NONE in data.labels else [])
    if len(classes) < 2:
        raise CatalogError(f"catalog {catalog.name!r} offers one role and has no labelled 'none' texts: the learned "
                           "scorer has nothing to tell apart; use the similarity scorer (MATCHER_SCORER=similarity "
                           "or --scorer similarity), or add roles")
    vectors = embed_docs(data.docs, embedder, cache_dir, backend)
    scorer = fit(data.docs, vectors, data.labels, classes, config)
    dev = examples(catalog, "dev")
    metrics = None
    if dev is not None:
        dev_vectors = embed_docs(dev.docs, embedder, cache_dir, backend)
        scorer = replace(scorer, temperature=fit_temperature(scorer, dev.docs, dev_vectors, dev.labels))
        metrics = dev_metrics(scorer, dev.docs, dev_vectors, dev.labels)
    manifest = {
        **common, "scorer": "learned", "training_data": data.source, "examples": len(data.labels),
        "classes": classes, "temperature": scorer.temperature, "dev_metrics": metrics,
        "weights_sha256": weights_digest(scorer), "trained_at": utc_timestamp(),
        "train_seconds": round(time.time() - started, 1),
    }
    save(scorer, manifest, folder)
    return scorer, manifest


def _dev_metrics_from(probs: np.ndarray, labels: np.ndarray) -> dict:
    """Dev metrics of the example scorer (its dev data fitted the weights: a sanity check, not a test)."""
    in_scope = labels >= 0
    ranked = probs[:, :-1].argmax(1)
    right = ranked == labels
    return _summary(right, in_scope, probs[:, -1] >= 0.5,
                    expected_calibration_error(probs[:, :-1].max(1)[in_scope], right[in_scope]))


def scorer_dir(index_root: Path, catalog_name: str, backend: str) -> Path:
    return index_dir_for(index_root, catalog_name, backend) / "scorer"


def weights_digest(scorer: LearnedScorer) -> str:
    """SHA-256 of everything the scorer computes with (the artefact's identity, for determinism)."""
    h = hashlib.sha256()
    h.update(json.dumps([scorer.classes, sorted(scorer.vocab.items()), scorer.mix, scorer.temperature]).encode())
    for name in WEIGHT_FIELDS:
        h.update(np.ascontiguousarray(getattr(scorer, name), dtype=np.float32).tobytes())
    return h.hexdigest()


def save(scorer: LearnedScorer, manifest: dict, folder: Path) -> None:
    """Weights first, manifest last (atomic renames): a crash keeps the previous scorer whole."""
    folder.mkdir(parents=True, exist_ok=True)
    vocab = sorted(scorer.vocab, key=scorer.vocab.__getitem__)
    buf = io.BytesIO()
    np.savez(buf, vocab=np.array(vocab, dtype=str), **{k: getattr(scorer, k) for k in WEIGHT_FIELDS})
    atomic_write(folder / "weights.npz", buf.getvalue())
    atomic_write(folder / "manifest.json", json.dumps(manifest, indent=2).encode("utf-8"))


def load(folder: Path, manifest: dict) -> Scorer:
    """The scorer a manifest describes; :class:`BuiltIndexError` if its weights do not match it."""
    if manifest.get("scorer") == "examples":
        scorer: Scorer = load_examples(folder, tuple(manifest["classes"]))
        if example_digest(scorer) != manifest.get("weights_sha256"):
            raise BuiltIndexError(f"the scorer in {folder} does not match its manifest's checksum")
        return scorer
    try:
        with np.load(folder / "weights.npz", allow_pickle=False) as z:
            arrays = {k: z[k] for k in (*WEIGHT_FIELDS, "vocab")}
        scorer = LearnedScorer(tuple(manifest["classes"]), {g: i for i, g in enumerate(arrays.pop("vocab").tolist())},
                               mix=float(manifest["config"]["mix"]), temperature=float(manifest["temperature"]),
                               **arrays)
    except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as exc:
        raise BuiltIndexError(f"the scorer in {folder} is unreadable ({type(exc).__name__})") from None
    if weights_digest(scorer) != manifest.get("weights_sha256"):
        raise BuiltIndexError(f"the scorer in {folder} does not match its manifest's checksum")
    return scorer


def load_or_train(catalog: Catalog, embedder: Embedder, *, index_root: Path, cache_dir: Path, backend: str,
                  auto_train: bool = True, statement_vectors: np.ndarray | None = None) -> Scorer:
    """The catalog's scorer, checked against the catalog, data, model and backend.

    Missing, stale or damaged: trained (once) when ``auto_train``, like the index; otherwise an error
    naming the command to run.
    """
    folder = scorer_dir(index_root, catalog.name, backend)
    reason = _staleness(catalog, embedder, folder, backend)
    if reason is None:
        try:
            return load(folder, json.loads((folder / "manifest.json").read_text(encoding="utf-8")))
        except (BuiltIndexError, KeyError, ValueError) as exc:
            reason = f"damaged ({getattr(exc, 'message', type(exc).__name__)})"
    if not auto_train:
        raise BuiltIndexError(f"the learned scorer of catalog {catalog.name!r} is {reason}; "
                              f"run `matcher train --catalog {catalog.name}`")
    log.warning("the learned scorer of catalog %r is %s: training it (once)", catalog.name, reason)
    return train(catalog, embedder, index_root=index_root, cache_dir=cache_dir, backend=backend,
                 statement_vectors=statement_vectors)[0]


def _staleness(catalog: Catalog, embedder: Embedder, folder: Path, backend: str) -> str | None:
    path = folder / "manifest.json"
    if not path.is_file():
        return "missing"
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        config = TrainConfig(**manifest["config"])
    except (ValueError, KeyError, TypeError):
        return "damaged (unreadable manifest)"
    expected = {"format_version": FORMAT_VERSION, "corpus_hash": catalog.hash, "model": embedder.name,
                "backend": backend, "dimension": embedder.dimension,
                "training_data_hash": data_digest(catalog, config)}
    changed = [k for k, v in expected.items() if manifest.get(k) != v]
    return f"stale ({', '.join(changed)} changed)" if changed else None
