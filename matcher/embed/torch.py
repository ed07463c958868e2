"""The torch backend: sentence-transformers on the CPU, the fp32 reference every other backend is
measured against (``matcher eval --backend``)."""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np

from ..errors import SettingsError
from .base import PACKAGED_MODEL, packaged_model_path, quiet_transformers


class SentenceTransformerEmbedder:
    """sentence-transformers on the CPU (the fp32 torch reference path)."""

    def __init__(self, model: str = "", *, threads: int = 0, batch_size: int = 64) -> None:
        # Never reach for a hub unless the user named a hub model on a machine that has one.
        if not model:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
        # torch and sentence-transformers load with the model (seconds), not with the package.
        import torch

        quiet_transformers()
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
