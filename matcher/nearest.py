"""The example scorer: a calibrated classifier for large catalogs (O*NET's 1,016 occupations).

A large catalog says a lot about each role in its own words: its title, the other titles people
hold in it (``aliases``) and its statements. Every one of those is a labelled *example* of the
role. For one passage, each role gets six features from those examples:

- the best and the mean of the three best cosine similarities to the role's *titles*;
- the same two over the role's *statements*;
- a linear head's logit (a softmax classifier over the roles, trained on all the examples),
  standardised over the roles so its scale is comparable with the similarities;
- the word head's logit (:mod:`.wordhead`: a classifier over the passage's exact words and
  character n-grams, trained on the same examples), standardised the same way.

A role's logit is a weighted sum of its features, averaged over the text's best passages for that
role (the better half, at most three), so each passage's share of a logit is exact (the evidence
and the contrast use it, as for the learned scorer). The six weights and the logit of ``none`` (a
constant: text that resembles no example of any role gets "no good fit") are fitted on data held
out of the catalog itself (see :mod:`.example_training`) plus texts that describe no work at all,
by minimising the negative log-likelihood: the scale of the weights is the temperature, so the
softmax over roles + ``none`` is a calibrated probability.

A passage of a few words reads like a job title; a longer one like a sentence about the work. The
weights are fitted on the catalog's own held-out lines, which calibrates titles; sentences that
people write about their own work are easier to place than a catalog's task lines, so where a
catalog ships such texts, labelled (``_labelled/train.jsonl``), a sentence passage's logits get a
scale and an offset of their own, fitted on them (a temperature: a text made only of sentences,
or only of titles, keeps its ranking).

Nearest neighbours alone confuse mention with identity ("under the direction of registered
nurses" is a personal care aide's task); the head, trained on every example at once, learns
which words separate one role from the others.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from .learned import NONE, Explained, softmax
from .wordhead import WordConfig, WordHead, fit_words

TITLE, STATEMENT = 0, 1  # example groups
TOP = 3  # the "mean of the best few" feature
POOLED = 3  # a text's logit: the mean over at most this many of its best passages (see _pooled_terms)
FEATURES = ("title_best", "title_top3", "statement_best", "statement_top3", "head", "words")
TITLE_WORDS = 5  # a passage of at most this many words reads like a title (see the module docstring)
SENTENCE_SCALE = (0.25, 4.0)  # the bounds of the sentence calibration's scale (see fit_sentence_calibration)


def sentence_mask(passages: Sequence[str]) -> np.ndarray:
    """Which passages read like a sentence rather than a title (more than ``TITLE_WORDS`` words)."""
    return np.array([len(p.split()) > TITLE_WORDS for p in passages], dtype=bool)


@dataclass(frozen=True)
class Segments:
    """Examples of one group, sorted by role: ``vectors[starts[i]:ends[i]]`` belong to ``roles[i]``."""

    vectors: np.ndarray  # (E, D) unit vectors
    roles: np.ndarray  # (S,) role index of each segment
    starts: np.ndarray  # (S,)
    lengths: np.ndarray  # (S,)

    @classmethod
    def build(cls, vectors: np.ndarray, role_index: np.ndarray) -> Segments:
        """Group ``vectors`` (one per example, ``role_index`` its role) by role, stably."""
        order = np.argsort(role_index, kind="stable")
        roles = role_index[order]
        starts = np.flatnonzero(np.r_[True, roles[1:] != roles[:-1]]) if len(roles) else np.zeros(0, np.int64)
        lengths = np.diff(np.r_[starts, len(roles)])
        return cls(np.ascontiguousarray(vectors[order], dtype=np.float32), roles[starts], starts, lengths)

    def best(self, queries: np.ndarray, n_roles: int) -> tuple[np.ndarray, np.ndarray]:
        """(P, R) best similarity and mean of the ``TOP`` best (missing ones count 0) per role;
        roles without examples in this group get 0 for both."""
        best = np.zeros((len(queries), n_roles), dtype=np.float32)
        top = np.zeros_like(best)
        if not len(self.roles):
            return best, top
        sims = queries @ self.vectors.T  # (P, E)
        total = np.zeros((len(queries), len(self.roles)), dtype=np.float32)
        for k in range(TOP):
            m = np.maximum.reduceat(sims, self.starts, axis=1)
            m = np.where((self.lengths > k) & np.isfinite(m), m, 0.0)  # ties may knock out several
            if k == 0:
                best[:, self.roles] = m
            total += m
            if k + 1 < TOP:  # knock out each role's current best, then take the max again
                sims = np.where(sims >= np.repeat(m, self.lengths, axis=1), -np.inf, sims)
        top[:, self.roles] = total / TOP
        return best, top


@dataclass(frozen=True)
class ExampleScorer:
    """Weights of a trained example scorer (see the module docstring); build with :func:`fit`."""

    classes: tuple[str, ...]  # the roles, then ``none``
    titles: Segments
    statements: Segments
    w_head: np.ndarray  # (R, D)
    b_head: np.ndarray  # (R,)
    weights: np.ndarray  # (F,) one per feature, temperature included
    b_none: float
    words: WordHead
    # A sentence passage's logits are ``sentence_scale * logits + sentence_offset`` (1 and 0 unless
    # the catalog ships labelled texts people wrote).
    sentence_scale: float = 1.0
    sentence_offset: float = 0.0

    @property
    def n_roles(self) -> int:
        return len(self.classes) - 1

    def features(self, passages: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """(P, F, R): every feature of every role for each passage (its text and unit vector)."""
        vectors = np.asarray(vectors, dtype=np.float32)
        t_best, t_top = self.titles.best(vectors, self.n_roles)
        s_best, s_top = self.statements.best(vectors, self.n_roles)
        head = vectors @ self.w_head.T + self.b_head
        head = (head - head.mean(1, keepdims=True)) / (head.std(1, keepdims=True) + 1e-6)
        return np.stack([t_best, t_top, s_best, s_top, head, self.words.features(passages)], axis=1)

    def fits(self, ex: Explained, fit_line: float) -> bool:
        """Whether the top role is a fit. Close occupations share the probability (Registered /
        Critical Care / Acute Care Nurses), so the rule is on "none": it must hold less than the
        fit line leaves to the roles."""
        return float(ex.probs[-1]) < 1 - fit_line

    def passage_logits(self, passages: Sequence[str], vectors: np.ndarray) -> np.ndarray:
        """(P, R): each passage's weighted features per role, a sentence's scaled and offset (a
        text's logit pools them, see :func:`_pooled_terms`)."""
        return self.calibrate(np.einsum("pfr,f->pr", self.features(passages, vectors), self.weights),
                              sentence_mask(passages))

    def calibrate(self, logits: np.ndarray, sentences: np.ndarray) -> np.ndarray:
        """Rows of ``logits`` (one per passage or text) with the sentence ones scaled and offset."""
        sentences = np.asarray(sentences, dtype=bool)[:, None]
        return np.where(sentences, logits * self.sentence_scale + self.sentence_offset, logits)

    def explain(self, passages: Sequence[str], vectors: np.ndarray,
                passage_logits: np.ndarray | None = None) -> Explained:
        """Score one text given its passages and their unit vectors (same order); ``passage_logits``
        of those vectors may be passed when already computed."""
        n, c = len(passages), len(self.classes)
        bias = np.r_[np.zeros(self.n_roles), self.b_none]
        if n == 0:
            return Explained(self.classes, bias, softmax(bias), np.zeros((0, c)), bias)
        pl = self.passage_logits(passages, vectors) if passage_logits is None else passage_logits  # (P, R)
        per_passage = _pooled_terms(pl)
        terms = np.concatenate([per_passage, np.zeros((n, 1))], axis=1).astype(np.float64)
        logits = terms.sum(0) + bias
        return Explained(self.classes, logits, softmax(logits), terms, bias)


def _pooled_terms(pl: np.ndarray) -> np.ndarray:
    """Each passage's share of each role's logit. A role's logit is the mean of its best ⌈P/2⌉
    passages, at most ``POOLED``: a résumé's contact lines, hobbies and goals do not drown the
    passages that describe the work, and a long résumé is read by its most telling lines, as the
    one or two sentences the weights were calibrated on are (one passage: its own logit)."""
    best = _pooled_passages(pl)
    if best is None:
        return pl / len(pl)
    out = np.zeros_like(pl)
    np.put_along_axis(out, best, np.take_along_axis(pl, best, axis=0) / len(best), axis=0)
    return out


def _pooled_passages(pl: np.ndarray) -> np.ndarray | None:
    """(k, R): the passages each role's logit pools (its best ⌈P/2⌉, at most ``POOLED``), or
    ``None`` when that is every passage."""
    k = min((len(pl) + 1) // 2, POOLED)
    return None if k == len(pl) else np.argpartition(-pl, k - 1, axis=0)[:k]


# -- training ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ExampleConfig:
    """Training choices (README "Quality on any catalog"); the defaults are what ships."""

    # 10 epochs at 0.02 scored as 20 at 0.01 on dev (titles 0.564 vs 0.567, person dev 0.744 vs 0.738)
    # in half the time (27 s instead of 49 s on O*NET's 96,000 examples, 2 cores).
    head_epochs: int = 10
    head_batch: int = 1024
    head_lr: float = 0.02
    statement_weight: float = 0.5  # a statement counts half a title in the head's loss
    none_share: float = 0.2  # of the weight-fitting loss, what the texts that describe no work carry
    # A small L2 penalty on the feature weights: on separable dev data (a toy catalog) the weights
    # would otherwise grow without bound and one stray similarity would decide everything.
    weight_decay: float = 1e-5
    seed: int = 0
    words: WordConfig = field(default_factory=WordConfig)


def fit_head(vectors: np.ndarray, role_index: np.ndarray, sample_weight: np.ndarray, n_roles: int,
             config: ExampleConfig) -> tuple[np.ndarray, np.ndarray]:
    """A softmax classifier over the roles (Adam, fixed seed: deterministic on one machine)."""
    import torch

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    x = torch.from_numpy(np.ascontiguousarray(vectors, dtype=np.float32))
    y = torch.from_numpy(role_index.astype(np.int64))
    w = torch.from_numpy(sample_weight.astype(np.float32))
    head = torch.nn.Linear(x.shape[1], n_roles)
    torch.nn.init.zeros_(head.weight)
    torch.nn.init.zeros_(head.bias)
    opt = torch.optim.Adam(head.parameters(), lr=config.head_lr)
    for _ in range(config.head_epochs):
        perm = torch.randperm(len(x), generator=generator)
        for i in range(0, len(x), config.head_batch):
            b = perm[i:i + config.head_batch]
            loss = (torch.nn.functional.cross_entropy(head(x[b]), y[b], reduction="none") * w[b]).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
    return head.weight.detach().numpy().copy(), head.bias.detach().numpy().copy()


def share_weights(labels: np.ndarray, none_share: float) -> np.ndarray:
    """Per-text weights of a fitting loss: the texts that fit ``none`` (label ``-1``) carry
    ``none_share`` of it, so a few of them are not drowned by thousands of titles, the rest the
    remainder; all texts of a group weigh the same (one group only: it carries everything)."""
    is_none = np.asarray(labels) < 0
    groups = [(m, share) for m, share in ((is_none, none_share), (~is_none, 1 - none_share)) if m.any()]
    total = sum(share for _, share in groups)
    out = np.zeros(len(is_none))
    for m, share in groups:
        out[m] = share / total / m.sum()
    return out


def fit_weights(features: Sequence[np.ndarray], labels: np.ndarray, sample_weight: np.ndarray,
                weight_decay: float = 0.0) -> tuple[np.ndarray, float]:
    """Feature weights and the ``none`` logit that minimise the weighted NLL of ``labels`` (a role
    index, or ``-1`` for none) given each text's (F, R) features (``sample_weight``: see
    :func:`share_weights`). Deterministic (L-BFGS from a fixed start)."""
    import torch

    f = torch.from_numpy(np.stack(features).astype(np.float64))  # (N, F, R)
    y = torch.from_numpy(np.where(labels < 0, f.shape[2], labels).astype(np.int64))
    sw = torch.from_numpy(np.asarray(sample_weight, dtype=np.float64))
    w = torch.full((f.shape[1],), 5.0, dtype=torch.float64, requires_grad=True)
    b = torch.tensor([5.0], dtype=torch.float64, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        logits = torch.cat([torch.einsum("nfr,f->nr", f, w), b.expand(len(f), 1)], dim=1)
        loss = (torch.nn.functional.cross_entropy(logits, y, reduction="none") * sw).sum()
        loss = loss + weight_decay * (w * w).sum()
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach().numpy().astype(np.float32), float(b.detach()[0])


Labelled = tuple[Sequence[Sequence[str]], Sequence[np.ndarray], np.ndarray]  # passages, vectors, role index


def fit(titles: tuple[Sequence[str], np.ndarray, np.ndarray], statements: tuple[Sequence[str], np.ndarray, np.ndarray],
        classes: Sequence[str], dev: Labelled, config: ExampleConfig | None = None,
        labelled: Labelled | None = None) -> tuple[ExampleScorer, np.ndarray]:
    """Train on ``(texts, vectors, role_index)`` of the title and statement examples; fit the
    weights on ``dev``: each dev text's passages, their vectors, and its role index (``-1``: fits
    none). ``labelled``: texts people wrote, in the same form, which fit the sentence calibration.
    Returns the scorer and the dev texts' :func:`mean_features` (the features do not depend on the
    weights: reporting on dev need not score it twice)."""
    config = config or ExampleConfig()
    roles = [c for c in classes if c != NONE]
    x = np.vstack([titles[1], statements[1]])
    y = np.r_[titles[2], statements[2]]
    sw = np.r_[np.ones(len(titles[2])), np.full(len(statements[2]), config.statement_weight)]
    w_head, b_head = fit_head(x, y, sw, len(roles), config)
    words = fit_words([*titles[0], *statements[0]], y, sw, len(roles), config.words)
    draft = ExampleScorer((*roles, NONE), Segments.build(*titles[1:]), Segments.build(*statements[1:]),
                          w_head.astype(np.float32), b_head.astype(np.float32),
                          np.ones(len(FEATURES), np.float32), 0.0, words)
    labels = np.asarray(dev[2])
    dev_features = mean_features(draft, dev[0], dev[1])
    weights, b_none = fit_weights(list(dev_features), labels, share_weights(labels, config.none_share),
                                  config.weight_decay)
    scorer = replace(draft, weights=weights, b_none=b_none)
    if labelled is not None:
        scale, offset = fit_sentence_calibration(scorer, *labelled, none_share=config.none_share)
        scorer = replace(scorer, sentence_scale=scale, sentence_offset=offset)
    return scorer, dev_features


def fit_sentence_calibration(scorer: ExampleScorer, passages: Sequence[Sequence[str]], vectors: Sequence[np.ndarray],
                             labels: np.ndarray, none_share: float) -> tuple[float, float]:
    """The scale and offset of a sentence passage's logits that minimise the NLL of the labelled
    texts made of sentences only (the rest are skipped); ``(1, 0)`` when there are none. The weights
    stay as fitted on the catalog, so a text of one kind of passage keeps its ranking: only what its
    score means changes. The scale stays within the bounds ``SENTENCE_SCALE``: texts the features
    cannot tell apart would otherwise drive it to 0, every role would get the same score, and the
    ranking would be lost in ties."""
    import torch

    rows = [i for i, p in enumerate(passages) if len(p) and sentence_mask(p).all()]
    if not rows:
        return 1.0, 0.0
    pooled = [pooled_features(scorer, passages[i], vectors[i]) for i in rows]
    z = torch.from_numpy(np.stack([np.einsum("fr,f->r", f, scorer.weights) for f in pooled]).astype(np.float64))
    y_np = np.asarray(labels)[rows]
    y = torch.from_numpy(np.where(y_np < 0, z.shape[1], y_np).astype(np.int64))
    sw = torch.from_numpy(share_weights(y_np, none_share))
    u = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    offset = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    none = torch.full((len(z), 1), scorer.b_none, dtype=torch.float64)
    opt = torch.optim.LBFGS([u, offset], lr=0.5, max_iter=200, line_search_fn="strong_wolfe")
    low, high = SENTENCE_SCALE

    def scale():  # low at u = -inf, 1 at u = 0, high at u = +inf
        return low * (high / low) ** torch.sigmoid(u)

    def closure():
        opt.zero_grad()
        logits = torch.cat([z * scale() + offset, none], dim=1)
        loss = (torch.nn.functional.cross_entropy(logits, y, reduction="none") * sw).sum()
        loss.backward()
        return loss

    opt.step(closure)
    with torch.no_grad():
        return float(scale()[0]), float(offset[0])


def pooled_features(scorer: ExampleScorer, passages: Sequence[str], vectors: np.ndarray) -> np.ndarray:
    """(F, R): one text's features as :meth:`ExampleScorer.explain` pools them (for each role, the
    mean over its best passages under the scorer's weights), so ``weights · features`` is its logit
    before the sentence calibration (:meth:`ExampleScorer.calibrate`)."""
    f = scorer.features(passages, vectors)
    best = _pooled_passages(np.einsum("pfr,f->pr", f, scorer.weights))
    return f.mean(0) if best is None else np.take_along_axis(f, best[:, None, :], axis=0).mean(0)


def mean_features(scorer: ExampleScorer, passages: Sequence[Sequence[str]], vectors: Sequence[np.ndarray],
                  chunk: int = 256) -> np.ndarray:
    """(N, F, R): each text's features averaged over all its passages (``passages`` and
    ``vectors``: each text's, in the same order); for a one-passage text, exactly what
    :meth:`ExampleScorer.explain` scores (training's dev texts are single passages). Passages are
    scored ``chunk`` at a time: one matrix product for many texts is ~20× faster than one per text
    (training scores thousands)."""
    owner = np.repeat(np.arange(len(vectors)), [len(v) for v in vectors])
    out = np.zeros((len(vectors), len(FEATURES), scorer.n_roles))
    if not len(owner):
        return out
    flat = np.vstack([np.asarray(v, dtype=np.float32).reshape(-1, scorer.w_head.shape[1]) for v in vectors])
    texts = [p for ps in passages for p in ps]
    for i in range(0, len(flat), chunk):
        np.add.at(out, owner[i:i + chunk], scorer.features(texts[i:i + chunk], flat[i:i + chunk]))
    return out / np.maximum(np.bincount(owner, minlength=len(texts)), 1)[:, None, None]


def probabilities(scorer: ExampleScorer, features: np.ndarray, sentences: np.ndarray | None = None) -> np.ndarray:
    """(N, R + 1) class probabilities from :func:`mean_features` (for one-passage texts, what
    :meth:`ExampleScorer.explain` gives when ``sentences`` says which texts are sentences)."""
    logits = np.einsum("nfr,f->nr", features, scorer.weights)
    if sentences is not None:
        logits = scorer.calibrate(logits, sentences)
    return softmax(np.concatenate([logits, np.full((len(features), 1), scorer.b_none)], axis=1))
