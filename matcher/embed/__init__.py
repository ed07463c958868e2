"""Embedding models behind one seam: ``embed(texts) -> unit vectors``."""

from .base import PACKAGED_MODEL, Embedder, SentenceTransformerEmbedder, make_embedder, packaged_model_path

__all__ = ["PACKAGED_MODEL", "Embedder", "SentenceTransformerEmbedder", "make_embedder", "packaged_model_path"]
