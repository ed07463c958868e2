"""Embedding models behind one seam: ``embed(texts) -> unit vectors``.

``base`` is the seam and the packaged model's facts, ``torch`` and ``openvino`` the backends, and
``factory`` picks one from the settings. A ``SentenceTransformer`` already loaded (in a notebook)
becomes an embedder with ``SentenceTransformerEmbedder.from_model(model)``.
"""

from .base import PACKAGED_MODEL, Embedder, packaged_model_path
from .factory import make_embedder
from .openvino import OpenVINOEmbedder
from .torch import SentenceTransformerEmbedder

__all__ = ["PACKAGED_MODEL", "Embedder", "OpenVINOEmbedder", "SentenceTransformerEmbedder", "make_embedder",
           "packaged_model_path"]
