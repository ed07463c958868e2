"""Faster embedding backends: the same all-MiniLM-L6-v2, run by OpenVINO in fp32 or static int8.

Measured on this kind of machine (see ``../shared/notes/embedding-backends.md`` and
``scripts/bench.py``): OpenVINO static int8 is about 2.5× faster than the torch fp32 path with a
mean cosine of about 0.997 to its vectors, and — unlike dynamic int8 — gives the same vector for a
sentence whatever else is in the batch, so batch output stays reproducible.

The model is converted once, on first use or at ``matcher index build``, into
``<cache_dir>/openvino/<model>/<precision>/`` (never into site-packages), then reused. Tokenising
uses the model's own ``tokenizer.json`` through ``tokenizers``; pooling (mean over tokens) and
L2-normalising are done here, as sentence-transformers does them.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..catalog import load_catalog
from ..errors import MatcherError, SettingsError
from ..files import atomic_folder
from ..settings import PACKAGED_CORPUS
from .base import PACKAGED_MODEL, packaged_model_path, quiet_transformers

log = logging.getLogger("matcher")
MAX_TOKENS = 256  # the model's max_seq_length in sentence-transformers


def _calibration_texts(limit: int = 400) -> list[str]:
    """Sentences for int8 calibration: the default catalog's own statements (project text, kept
    apart from every evaluation set, and shipped inside the package), so no data set has to be
    downloaded. Without them there is no calibration: a few stand-in sentences would quietly give a
    worse model, so this refuses instead."""
    try:
        catalog = load_catalog(PACKAGED_CORPUS / "default")
    except MatcherError as exc:
        raise SettingsError(f"cannot calibrate the int8 model: the packaged default catalog is missing ({exc}); "
                            "reinstall role-matcher, or set MATCHER_BACKEND=openvino or torch") from None
    return [s.text for s in catalog.statements][:limit]


@contextlib.contextmanager
def _stdout_to_stderr():
    """Send everything written to file descriptor 1 to descriptor 2 for a while.

    NNCF draws its progress bars on stdout (through rich, which may hold the stream from before any
    ``sys.stdout`` swap), and stdout belongs to the result (``matcher match - --json | jq``): the
    redirect is done at the descriptor level so no library can get past it."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        os.dup2(2, 1)
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def _export(model_dir: str, out: Path, int8: bool) -> None:
    """Convert the transformer to OpenVINO IR (and quantise it) into ``out``, atomically.

    Whatever the converters print goes to stderr, never stdout."""
    with _stdout_to_stderr():
        _export_quietly(model_dir, out, int8)


def _export_quietly(model_dir: str, out: Path, int8: bool) -> None:
    import openvino as ov
    import torch
    from transformers import AutoModel, AutoTokenizer

    quiet_transformers()  # a one-time export: no bars or notices on stderr
    started = time.time()
    tok = AutoTokenizer.from_pretrained(model_dir)
    # Eager attention traces to a plain graph; the SDPA path bakes mask shapes into the trace.
    model = AutoModel.from_pretrained(model_dir, attn_implementation="eager").eval()
    example = tok(["a short sentence", "a slightly longer second sentence here"], padding=True,
                  return_tensors="pt")
    with torch.no_grad():
        ov_model = ov.convert_model(model, example_input=dict(example))
    if int8:
        import nncf

        texts = _calibration_texts()
        tokenizer = _tokenizer(model_dir)

        def transform(batch: list[str]) -> dict:
            return _encode(tokenizer, batch)

        batches = [texts[i:i + 8] for i in range(0, len(texts), 8)]
        ov_model = nncf.quantize(ov_model, nncf.Dataset(batches, transform), model_type=nncf.ModelType.TRANSFORMER,
                                 subset_size=len(batches))
    with atomic_folder(out) as tmp:
        ov.save_model(ov_model, tmp / "model.xml", compress_to_fp16=False)
    log.warning("exported %s (%s) to %s in %.1f s", model_dir, "int8" if int8 else "fp32", out,
                time.time() - started)


def _tokenizer(model_dir: str):
    from tokenizers import Tokenizer

    tok = Tokenizer.from_file(str(Path(model_dir) / "tokenizer.json"))
    # The shipped tokenizer.json truncates at 128 and does not pad; match sentence-transformers.
    tok.enable_truncation(MAX_TOKENS)
    tok.enable_padding(pad_id=0, pad_token="[PAD]")
    return tok


def _encode(tokenizer, texts: Sequence[str]) -> dict[str, np.ndarray]:
    encs = tokenizer.encode_batch(list(texts))
    return {"input_ids": np.array([e.ids for e in encs], dtype=np.int64),
            "attention_mask": np.array([e.attention_mask for e in encs], dtype=np.int64),
            "token_type_ids": np.array([e.type_ids for e in encs], dtype=np.int64)}


class OpenVINOEmbedder:
    """all-MiniLM-L6-v2 on the OpenVINO CPU runtime, fp32 or static int8."""

    def __init__(self, model: str = "", *, int8: bool = True, cache_dir: Path = Path(".cache"),
                 threads: int = 0, batch_size: int = 64) -> None:
        # OpenVINO keeps compiled kernels per input shape; over a long batch job (every batch a new
        # padded length) that grew RSS from ~320 to ~650 MB for 10,000 résumés. Capping both caches
        # keeps it at ~330 MB at the same speed (scripts/bench_score.py). Must be set before import.
        os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "64")
        try:
            import openvino as ov
        except ImportError:
            raise SettingsError("the openvino backends need the openvino package, a dependency of role-matcher "
                                "that is missing here: reinstall role-matcher (or pip install 'openvino>=2025.0'), "
                                "or set MATCHER_BACKEND=torch") from None
        model_dir = model or packaged_model_path()
        slug = hashlib.sha256(str(Path(model_dir).resolve()).encode()).hexdigest()[:10]
        self.precision = "int8" if int8 else "fp32"
        self.backend = "openvino-int8" if int8 else "openvino"  # the label its indexes are stored under
        self.folder = Path(cache_dir) / "openvino" / f"{Path(model_dir).name}-{slug}" / self.precision
        if not (self.folder / "model.xml").exists():
            _export(model_dir, self.folder, int8)
        core = ov.Core()
        config = {"PERFORMANCE_HINT": "LATENCY", "CPU_RUNTIME_CACHE_CAPACITY": "64"}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        self._compiled = core.compile_model(str(self.folder / "model.xml"), "CPU", config)
        self._tokenizer = _tokenizer(model_dir)
        self.name = model or PACKAGED_MODEL
        self.dimension = int(self._compiled.outputs[0].get_partial_shape()[-1].get_length())
        self.batch_size = batch_size

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        out = np.empty((len(texts), self.dimension), dtype=np.float32)
        # Sort by length so each batch pads to similar lengths (less wasted work), then restore order.
        order = np.argsort([len(t) for t in texts], kind="stable")
        for i in range(0, len(texts), self.batch_size):
            idx = order[i:i + self.batch_size]
            enc = _encode(self._tokenizer, [texts[j] for j in idx])
            hidden = self._compiled(enc)[0]
            mask = enc["attention_mask"][..., None].astype(np.float32)
            pooled = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
            out[idx] = pooled / np.clip(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12, None)
        return out
