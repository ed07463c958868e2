"""The torch backend: sentence-transformers on the CPU, the fp32 reference every other backend is
measured against (``matcher eval --backend``). :meth:`SentenceTransformerEmbedder.from_model` wraps a
model already loaded (in a notebook, say) instead of loading one."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ..errors import SettingsError
from .base import PACKAGED_MODEL, packaged_model_path, quiet_transformers

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer


class SentenceTransformerEmbedder:
    """sentence-transformers (the fp32 torch reference path): loads a model on the CPU, or wraps one
    already loaded (:meth:`from_model`)."""

    backend = "torch"  # the label its indexes are stored under (index/<catalog>.<backend>)

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
            loaded = SentenceTransformer(path, device="cpu")
        except Exception as exc:  # the library raises many types; all mean "cannot load this model"
            raise SettingsError(
                f"cannot load embedding model {path!r}: {exc}. Set MATCHER_MODEL to a local model folder, "
                "or unset it to use the packaged all-MiniLM-L6-v2."
            ) from None
        self._adopt(loaded, model or PACKAGED_MODEL, batch_size)

    @classmethod
    def from_model(cls, model: SentenceTransformer, *, name: str = "",
                   batch_size: int = 64) -> SentenceTransformerEmbedder:
        """An embedder over a ``SentenceTransformer`` that is already loaded, on whatever device it is.

        ``dimension`` comes from the model (its ``truncate_dim`` included). ``name`` is what the index
        manifest and the scorer's caches record to tell models apart; by default it is the name the
        settings would give the same model, so indexes built either way are shared: the packaged
        MiniLM is ``PACKAGED_MODEL``, any other model the path or hub id it was loaded from (else its
        model card's ``base_model``). A model changed in memory (fine-tuned, say) still reports where
        it was loaded from: give it a ``name`` of its own, or a built index of the original would be
        used with its vectors.
        """
        from sentence_transformers import SentenceTransformer

        if not isinstance(model, SentenceTransformer):
            raise SettingsError(f"from_model takes a loaded SentenceTransformer, got {type(model).__name__}; "
                                "for a model name or folder use SentenceTransformerEmbedder(name_or_path)")
        embedder = cls.__new__(cls)
        embedder._adopt(model, name or _model_name(model), batch_size)
        return embedder

    def _adopt(self, model: SentenceTransformer, name: str, batch_size: int) -> None:
        """Take ``model`` as this embedder's, with the two facts the index records."""
        self._model = model
        self.name = name
        self.dimension = _dimension(model)
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=self.batch_size, normalize_embeddings=True,
                                     convert_to_numpy=True, show_progress_bar=False)
        return np.ascontiguousarray(vectors, dtype=np.float32)


def _dimension(model: SentenceTransformer) -> int:
    """The length of the model's vectors (sentence-transformers 6 renamed the method)."""
    dim = model.get_embedding_dimension() if hasattr(model, "get_embedding_dimension") \
        else model.get_sentence_embedding_dimension()
    if dim is None:  # no module declares it (a custom stack): measure it
        dim = model.encode(["dimension probe"], convert_to_numpy=True, show_progress_bar=False).shape[-1]
    return int(dim)


def _loaded_from(model: SentenceTransformer) -> str:
    """The folder or hub id the model's transformer was loaded from, or ``""``."""
    inner = getattr(model, "transformers_model", None)
    if inner is None and len(model):  # sentence-transformers 5 may lack the property
        inner = getattr(model[0], "auto_model", None)
    return str(getattr(getattr(inner, "config", None), "_name_or_path", "") or "")


def _model_name(model: SentenceTransformer) -> str:
    """The name the settings would give this model (``MATCHER_MODEL``, or the packaged model's)."""
    source = _loaded_from(model)
    if source and Path(source).exists() and Path(source).resolve() == Path(packaged_model_path()).resolve():
        return PACKAGED_MODEL
    name = source or getattr(model.model_card_data, "base_model", None) or ""
    if not name:
        raise SettingsError("cannot tell which model this SentenceTransformer is (it records no folder or hub id); "
                            "pass name= to SentenceTransformerEmbedder.from_model")
    return name
