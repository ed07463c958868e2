"""The embedder the settings ask for: backend, model, threads and batch size."""

from __future__ import annotations

from ..errors import SettingsError
from ..settings import BACKENDS, Settings
from .base import Embedder
from .openvino import OpenVINOEmbedder
from .torch import SentenceTransformerEmbedder


def make_embedder(settings: Settings) -> Embedder:
    """The embedder the settings ask for (``MATCHER_BACKEND``, ``MATCHER_MODEL``); loads the model."""
    if settings.backend == "torch":
        return SentenceTransformerEmbedder(settings.model, threads=settings.intra_op_threads(),
                                           batch_size=settings.batch_size)
    if settings.backend in ("openvino", "openvino-int8"):
        return OpenVINOEmbedder(settings.model, int8=settings.backend == "openvino-int8",
                                cache_dir=settings.cache_dir, threads=settings.intra_op_threads(),
                                batch_size=settings.batch_size)
    raise SettingsError(f"MATCHER_BACKEND={settings.backend!r} is not one of {', '.join(BACKENDS)}")
