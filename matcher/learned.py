"""The learned scorer: a calibrated classifier over a text's passages, trained per catalog.

Two linear heads over the same passages, blended in log space:

- **lexical**: word unigrams and bigrams (counted inside each passage), tf-idf weighted and
  L2-normalised over the whole text;
- **dense**: the mean and the element-wise max of the passages' sentence vectors.

Both are linear in per-passage terms, so a class's logit is *exactly* its bias plus one term per
passage (the max-pool term of a dimension belongs to the passage that holds the max). Those terms
are the scorer's own reasons: the evidence for a role is the passages with the largest terms, and
"why A rather than B" is the passages whose terms differ most. Probabilities are a softmax over
the classes (the offered roles, plus ``none`` when the training data has people who fit no role),
divided by a temperature fitted on dev data, so a score is a calibrated probability.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

NONE = "none"
TOKEN = re.compile(r"(?u)\b\w\w+\b")


def ngrams(text: str) -> list[str]:
    """Lower-cased word unigrams and bigrams of one passage (bigrams never cross passages)."""
    words = TOKEN.findall(text.lower())
    return words + [f"{a} {b}" for a, b in itertools.pairwise(words)]


@dataclass(frozen=True)
class Explained:
    """One text through the scorer: per-class logits, probabilities and per-passage terms."""

    classes: tuple[str, ...]
    logits: np.ndarray  # (C,) calibrated (already divided by the temperature)
    probs: np.ndarray  # (C,) softmax of ``logits``
    terms: np.ndarray  # (P, C): logits == terms.sum(0) + bias, exactly
    bias: np.ndarray  # (C,)


@dataclass(frozen=True)
class LearnedScorer:
    """Weights of a trained scorer (see module docstring); build with :func:`fit`."""

    classes: tuple[str, ...]
    vocab: dict[str, int]
    idf: np.ndarray  # (V,)
    w_lex: np.ndarray  # (C, V)
    b_lex: np.ndarray  # (C,)
    w_mean: np.ndarray  # (C, D)
    w_max: np.ndarray  # (C, D)
    b_dense: np.ndarray  # (C,)
    mix: float  # weight of the lexical head in the blend (1 - mix for the dense head)
    temperature: float

    def _lexical_terms(self, passages: Sequence[str]) -> np.ndarray:
        """(P, C): each passage's share of the lexical logits (its n-grams' tf-idf weights over the
        whole text's L2 norm, as in training)."""
        found = []
        total: dict[int, float] = {}
        for text in passages:
            counts: dict[int, float] = {}
            for g in ngrams(text):
                j = self.vocab.get(g)
                if j is not None:
                    counts[j] = counts.get(j, 0.0) + 1.0
                    total[j] = total.get(j, 0.0) + 1.0
            found.append(counts)
        terms = np.zeros((len(passages), len(self.classes)), dtype=np.float64)
        if not total:
            return terms
        keys = np.fromiter(total, dtype=np.int64)
        norm = float(np.linalg.norm(np.fromiter(total.values(), dtype=np.float64) * self.idf[keys]))
        for i, counts in enumerate(found):
            if counts:
                idx = np.fromiter(counts, dtype=np.int64)
                weights = np.fromiter(counts.values(), dtype=np.float64) * self.idf[idx]
                terms[i] = self.w_lex[:, idx] @ weights / norm
        return terms

    def fits(self, ex: Explained, fit_line: float) -> bool:
        """Whether the top role is a fit: its probability reaches the fit line."""
        roles = [k for k, c in enumerate(self.classes) if c != NONE]
        return bool(roles) and float(ex.probs[roles].max()) >= fit_line

    def explain(self, passages: Sequence[str], vectors: np.ndarray) -> Explained:
        """Score one text given its passages and their unit vectors (same order)."""
        n = len(passages)
        c = len(self.classes)
        if n == 0:
            bias = (self.mix * self.b_lex + (1 - self.mix) * self.b_dense) / self.temperature
            return Explained(self.classes, bias, softmax(bias), np.zeros((0, c)), bias)
        lex_terms = self._lexical_terms(passages)
        vectors = np.asarray(vectors, dtype=np.float32)
        holder = vectors.argmax(0)  # which passage holds each dimension's max
        owns = holder[None, :] == np.arange(n)[:, None]
        dense_terms = vectors @ self.w_mean.T / n + (vectors * owns) @ self.w_max.T
        terms = (self.mix * lex_terms + (1 - self.mix) * dense_terms) / self.temperature
        bias = (self.mix * self.b_lex + (1 - self.mix) * self.b_dense) / self.temperature
        logits = terms.sum(0) + bias
        return Explained(self.classes, logits, softmax(logits), terms, bias)


def softmax(z: np.ndarray, axis: int = -1) -> np.ndarray:
    """Softmax along ``axis`` (shifted by the max, so large logits do not overflow)."""
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


# -- training ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class TrainConfig:
    """Choices made on dev data (README "Quality"); the defaults are what ships."""

    min_df: int = 2
    c_lexical: float = 16.0
    c_dense: float = 1.0
    mix: float = 0.7


def _features(scorer_vocab: dict[str, int], idf: np.ndarray, docs: Sequence[Sequence[str]],
              vectors: Sequence[np.ndarray]):
    from scipy import sparse

    rows, cols, vals = [], [], []
    for i, passages in enumerate(docs):
        counts: dict[int, float] = {}
        for text in passages:
            for g in ngrams(text):
                j = scorer_vocab.get(g)
                if j is not None:
                    counts[j] = counts.get(j, 0.0) + 1.0
        if counts:
            keys = np.fromiter(counts, dtype=np.int64)
            x = np.fromiter(counts.values(), dtype=np.float64) * idf[keys]
            x /= np.linalg.norm(x)
            rows += [i] * len(keys)
            cols += keys.tolist()
            vals += x.tolist()
    lexical = sparse.csr_matrix((vals, (rows, cols)), shape=(len(docs), len(scorer_vocab)))
    dim = next((v.shape[1] for v in vectors if len(v)), 0)
    dense = np.array([np.concatenate([v.mean(0), v.max(0)]) if len(v) else np.zeros(2 * dim) for v in vectors])
    return lexical, dense


def fit(docs: Sequence[Sequence[str]], vectors: Sequence[np.ndarray], labels: Sequence[str],
        classes: Sequence[str], config: TrainConfig | None = None) -> LearnedScorer:
    """Train both heads on labelled texts (``docs[i]`` = passages, ``vectors[i]`` = their vectors).

    Deterministic: the same data gives the same weights (lbfgs from zeros, no sampling)."""
    from sklearn.linear_model import LogisticRegression

    config = config or TrainConfig()
    df: dict[str, int] = {}
    for passages in docs:
        for g in {g for text in passages for g in ngrams(text)}:
            df[g] = df.get(g, 0) + 1
    kept = sorted(g for g, n in df.items() if n >= config.min_df)
    # A tiny catalog (a notebook's two roles) may share no n-gram between texts: keep every one then.
    vocab = {g: i for i, g in enumerate(kept or sorted(df))}
    n_docs = len(docs)
    idf = np.array([math.log((1 + n_docs) / (1 + df[g])) + 1.0 for g in vocab], dtype=np.float64)
    lexical, dense = _features(vocab, idf, docs, vectors)
    y = np.array([classes.index(label) for label in labels])
    lex = LogisticRegression(C=config.c_lexical, max_iter=5000).fit(lexical, y)
    den = LogisticRegression(C=config.c_dense, max_iter=5000).fit(dense, y)
    dim = dense.shape[1] // 2
    return LearnedScorer(tuple(classes), vocab, idf.astype(np.float32), lex.coef_.astype(np.float32),
                         lex.intercept_.astype(np.float32), den.coef_[:, :dim].astype(np.float32),
                         den.coef_[:, dim:].astype(np.float32), den.intercept_.astype(np.float32),
                         config.mix, 1.0)


def fit_temperature(scorer: LearnedScorer, docs, vectors, labels) -> float:
    """The temperature that minimises the negative log-likelihood of ``labels`` (dev data)."""
    from dataclasses import replace

    raw = replace(scorer, temperature=1.0)
    logits = np.array([raw.explain(d, v).logits for d, v in zip(docs, vectors, strict=True)])
    y = np.array([scorer.classes.index(label) for label in labels])
    best, best_nll = 1.0, float("inf")
    for t in np.exp(np.linspace(math.log(0.2), math.log(5.0), 161)):
        z = logits / t
        z = z - z.max(1, keepdims=True)
        nll = float(-(z[np.arange(len(y)), y] - np.log(np.exp(z).sum(1))).mean())
        if nll < best_nll:
            best, best_nll = float(t), nll
    return best


# -- calibration (dev metrics here, `matcher eval` at the edge) ------------------------------------

def expected_calibration_error(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> float:
    """Σ over equal-width score bins of |share right − mean score| × share of items in the bin."""
    return float(sum(len(c) / len(confidence) * abs(r.mean() - c.mean())
                     for c, r, _ in reliability(confidence, correct, bins)))


Bins = list[tuple[np.ndarray, np.ndarray, str]]


def reliability(confidence: np.ndarray, correct: np.ndarray, bins: int = 10) -> Bins:
    """The non-empty bins of a reliability table: (scores, outcomes, "lo–hi") each."""
    edges = np.linspace(0, 1, bins + 1)
    out = []
    for k, (lo, hi) in enumerate(itertools.pairwise(edges)):
        sel = (confidence > lo) & (confidence <= hi) if k else (confidence >= lo) & (confidence <= hi)
        if sel.any():
            out.append((confidence[sel], correct[sel], f"{lo:.1f}–{hi:.1f}"))
    return out
