"""A small deterministic embedder for fast unit tests: hashed bag of words, L2-normalised.

Texts that share words get a positive cosine, texts that share none get zero, which is enough to
exercise indexing, scoring and serialisation without the real model.
"""

from __future__ import annotations

import hashlib
import re

import numpy as np


class FakeEmbedder:
    def __init__(self, dimension: int = 64, name: str = "fake-bow-64") -> None:
        self.dimension = dimension
        self.name = name
        self.calls: list[int] = []  # batch sizes seen, so tests can check batching

    def embed(self, texts):
        self.calls.append(len(texts))
        out = np.zeros((len(texts), self.dimension), dtype=np.float32)
        for i, text in enumerate(texts):
            for word in re.findall(r"[a-z0-9]+", text.lower()):
                if len(word) < 3:
                    continue
                h = int(hashlib.md5(word.encode()).hexdigest(), 16)
                out[i, h % self.dimension] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
            if not norm:
                out[i, 0] = 1.0
        return out


class FakeEngine:
    """A batch engine with no model: every text gets a canned result document, so a job's reading,
    chunking, writing and resuming run in unit tests without loading anything. It keeps the work
    items of every chunk it was given (``chunks``) so tests can check what crossed the seam."""

    name = "fake"

    def __init__(self) -> None:
        self.chunks: list[list] = []

    def map(self, chunks, top_k):
        for token, items in chunks:
            self.chunks.append(list(items))
            yield token, [self.document(item) for item in items]

    @staticmethod
    def document(item) -> dict:
        if item.error is not None:
            return {"error": {"code": item.error.code, "message": item.error.message}}
        text = item.text if item.content is None else item.content.decode("utf-8", "replace")
        score = round(min(1.0, len(text) / 200), 4)
        role = {"role_id": "ai-pm", "title": "AI Product Manager", "score": score, "experience": None,
                "interest": None, "evidence": [], "gaps": []}
        return {"best_fit": "ai-pm" if score >= 0.5 else None, "results": [role]}

    def close(self) -> None:
        pass
