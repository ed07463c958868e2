"""The word head: a small fastText-style classifier over the exact words of a passage.

Occupational coding leans on exact words: "RN" is a registered nurse, "reliner" a tire or
furnace trade, "paralegal" one occupation. A sentence encoder spreads such rare words over word
pieces and reads "Databases Software Consultant" close to every software role; a classifier that
sees the words themselves learns which of them single out a role. This one is the example scorer's
sixth feature (:mod:`.nearest`); on held-out O*NET titles it lifted dev top-1 by about 3½ points
with the sentences people write unchanged (README "How the scorer was chosen").

A passage becomes a bag of *grams* — its lower-cased words, adjacent word pairs and the character
3- to 5-grams of each word (so "nurses" shares grams with "nurse" and "nursing") — each weighted by
its idf and L2-normalised. The bag is summed through a small embedding (``dim`` numbers per gram)
and a linear layer gives one logit per role. Only grams seen at least ``min_count`` times in
training are kept, so the vocabulary stays about 130,000 grams on O*NET.

Inference is plain numpy; training uses torch (sparse gradients, plain SGD for the embedding: the
sparse Adam variant scored the same and was four times slower on two cores).
"""

from __future__ import annotations

import itertools
import re
from array import array
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

WORD = re.compile(r"(?u)\w+")
CHARS = (3, 4, 5)


def grams(text: str) -> list[str]:
    """The grams of one passage: words, word pairs, and character n-grams of ``<word>``."""
    words = WORD.findall(text.lower())
    out = list(words)
    out += [f"{a} {b}" for a, b in itertools.pairwise(words)]
    for w in words:
        marked = f"<{w}>"
        for n in CHARS:
            out += [marked[i:i + n] for i in range(len(marked) - n + 1)]
    return out


@dataclass(frozen=True)
class WordConfig:
    """Training choices (README "How the scorer was chosen"); the defaults are what ships."""

    # 64 scored as 128 on dev titles and better on people's sentences (a narrower layer generalises).
    dim: int = 64
    epochs: int = 4
    batch: int = 512
    lr: float = 0.01  # Adam, the linear layer
    embedding_lr: float = 50.0  # plain SGD on the sparse embedding rows (the loss is a batch mean)
    min_count: int = 2
    seed: int = 0


@dataclass(frozen=True)
class WordHead:
    """A trained word head; :meth:`logits` scores passages, :func:`fit_words` trains one."""

    vocab: dict[str, int]
    idf: np.ndarray  # (V,)
    embedding: np.ndarray  # (V, dim)
    weight: np.ndarray  # (R, dim)
    bias: np.ndarray  # (R,)

    def bags(self, passages: Sequence[str]) -> np.ndarray:
        """(P, dim): each passage's idf-weighted, normalised bag of grams through the embedding."""
        out = np.zeros((len(passages), self.embedding.shape[1]), dtype=np.float32)
        for i, text in enumerate(passages):
            ids, weights = _encode(text, self.vocab, self.idf)
            if len(ids):
                out[i] = weights @ self.embedding[ids]
        return out

    def features(self, passages: Sequence[str]) -> np.ndarray:
        """(P, R): each passage's logits standardised over the roles (comparable in scale with the
        dense head's); a passage with no known gram gets 0 for every role, so it sways nothing."""
        bags = self.bags(passages)
        logits = bags @ self.weight.T + self.bias
        z = (logits - logits.mean(1, keepdims=True)) / (logits.std(1, keepdims=True) + 1e-6)
        return np.where(np.any(bags != 0, axis=1, keepdims=True), z, 0.0).astype(np.float32)

    def arrays(self) -> dict[str, np.ndarray]:
        """What :func:`from_arrays` needs, as plain arrays (the vocabulary as UTF-8 bytes, one gram
        a line: grams never hold a newline), so an ``.npz`` stores it without pickle."""
        text = "\n".join(sorted(self.vocab, key=self.vocab.__getitem__))
        return {"word_vocab": np.frombuffer(text.encode("utf-8"), dtype=np.uint8), "word_idf": self.idf,
                "word_embedding": self.embedding, "word_weight": self.weight, "word_bias": self.bias}


def from_arrays(a: dict[str, np.ndarray]) -> WordHead:
    """The word head saved by :meth:`WordHead.arrays`."""
    text = a["word_vocab"].tobytes().decode("utf-8")
    vocab = {g: i for i, g in enumerate(text.split("\n"))} if text else {}
    return WordHead(vocab, a["word_idf"].astype(np.float32), a["word_embedding"].astype(np.float32),
                    a["word_weight"].astype(np.float32), a["word_bias"].astype(np.float32))


def _encode(text: str, vocab: dict[str, int], idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    ids = np.fromiter((vocab[g] for g in grams(text) if g in vocab), dtype=np.int64)
    weights = idf[ids]
    norm = float(np.linalg.norm(weights))
    return ids, (weights / norm if norm else weights).astype(np.float32)


def _vocabulary(texts: Sequence[str], min_count: int) -> tuple[dict[str, int], np.ndarray,
                                                              tuple[np.ndarray, np.ndarray], np.ndarray]:
    """The grams seen in at least ``min_count`` texts (sorted), their idf, and every text's bag as
    :func:`_encode` gives it, flattened: (ids, weights) and each text's length. Each text's grams
    are computed once (O*NET: 97,000 texts, ten million grams), as provisional ids in a compact
    array rather than strings."""
    provisional: dict[str, int] = {}
    flat = array("q")
    lengths = np.zeros(len(texts), dtype=np.int64)
    for i, text in enumerate(texts):
        g = grams(text)
        flat.extend(provisional.setdefault(x, len(provisional)) for x in g)
        lengths[i] = len(g)
    ids = np.frombuffer(flat, dtype=np.int64) if len(flat) else np.zeros(0, np.int64)
    owner = np.repeat(np.arange(len(texts)), lengths)
    pairs = np.sort(owner * max(len(provisional), 1) + ids)  # (text, gram) once each: document frequency
    pairs = pairs[np.r_[True, pairs[1:] != pairs[:-1]]] if len(pairs) else pairs  # (np.unique is 10x slower)
    df = np.bincount(pairs % max(len(provisional), 1), minlength=len(provisional))
    names = list(provisional)
    kept = sorted(np.flatnonzero(df >= min_count).tolist(), key=names.__getitem__)
    remap = np.full(len(provisional), -1, dtype=np.int64)
    remap[kept] = np.arange(len(kept))
    vocab = {names[k]: i for i, k in enumerate(kept)}
    idf = np.log(len(texts) / df[kept].astype(np.float64)).astype(np.float32)
    ids = remap[ids]
    known = ids >= 0
    ids, owner = ids[known], owner[known]
    weights = idf[ids]
    norms = np.sqrt(np.bincount(owner, weights.astype(np.float64) ** 2, minlength=len(texts)))
    weights = (weights / np.where(norms > 0, norms, 1.0)[owner]).astype(np.float32)
    return vocab, idf, (ids, weights), np.bincount(owner, minlength=len(texts))


def fit_words(texts: Sequence[str], role_index: np.ndarray, sample_weight: np.ndarray, n_roles: int,
              config: WordConfig | None = None) -> WordHead:
    """Train a word head on labelled ``texts`` (``role_index`` each; ``sample_weight`` its share of
    the loss). Deterministic on one machine (fixed seeds)."""
    import torch

    config = config or WordConfig()
    vocab, idf, flat, lengths = _vocabulary(texts, config.min_count)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    flat_ids = torch.from_numpy(flat[0])
    flat_w = torch.from_numpy(flat[1])

    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    # One spare row when no gram is frequent enough (a tiny catalog): every bag is then empty.
    embedding = torch.nn.EmbeddingBag(max(len(vocab), 1), config.dim, mode="sum", sparse=True)
    torch.nn.init.normal_(embedding.weight, std=0.1)
    linear = torch.nn.Linear(config.dim, n_roles)
    torch.nn.init.zeros_(linear.weight)
    torch.nn.init.zeros_(linear.bias)
    opt_linear = torch.optim.Adam(linear.parameters(), lr=config.lr)
    opt_embedding = torch.optim.SGD(embedding.parameters(), lr=config.embedding_lr)
    y = torch.from_numpy(np.asarray(role_index, dtype=np.int64))
    w = torch.from_numpy(np.asarray(sample_weight, dtype=np.float32))
    for _ in range(config.epochs):
        perm = torch.randperm(len(texts), generator=generator).numpy()
        for i in range(0, len(perm), config.batch):
            b = perm[i:i + config.batch]
            take = torch.from_numpy(np.concatenate([np.arange(starts[k], starts[k] + lengths[k]) for k in b]))
            offsets = torch.from_numpy(np.r_[0, np.cumsum(lengths[b])[:-1]])
            logits = linear(embedding(flat_ids[take], offsets, per_sample_weights=flat_w[take]))
            loss = (torch.nn.functional.cross_entropy(logits, y[b], reduction="none") * w[b]).mean()
            opt_linear.zero_grad()
            opt_embedding.zero_grad()
            loss.backward()
            opt_linear.step()
            opt_embedding.step()
    return WordHead(vocab, idf, embedding.weight.detach().numpy().copy(),
                    linear.weight.detach().numpy().copy(), linear.bias.detach().numpy().copy())
