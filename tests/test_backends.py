"""The fast backends against the fp32 torch reference, with the real model."""

from dataclasses import replace

import numpy as np
import pytest

from matcher.embed import PACKAGED_MODEL, SentenceTransformerEmbedder, packaged_model_path
from matcher.embed.openvino import OpenVINOEmbedder
from matcher.errors import SettingsError
from matcher.evaluate import guard, load_items, run_matcher
from matcher.settings import Settings
from tests import ROOT

pytestmark = pytest.mark.model
SENTENCES = ["Owned the fraud detection model roadmap and its precision/recall trade-offs.",
             "Built Looker dashboards and dbt models for the finance team.",
             "I want to move into platform product management.",
             "Registered nurse on a cardiac ward."]


@pytest.fixture(scope="module")
def int8(tmp_path_factory):
    return OpenVINOEmbedder(int8=True, cache_dir=tmp_path_factory.mktemp("cache"))


def test_int8_vectors_are_close_to_fp32_and_batch_independent(int8, real_embedder):
    fast, ref = int8.embed(SENTENCES), real_embedder.embed(SENTENCES)
    assert fast.shape == ref.shape and fast.dtype == np.float32
    assert np.allclose(np.linalg.norm(fast, axis=1), 1.0, atol=1e-5)
    assert (fast * ref).sum(axis=1).min() > 0.98
    # Static quantisation: a sentence's vector does not depend on what else is in the batch.
    alone = int8.embed(SENTENCES[:1])
    assert float(alone[0] @ fast[0]) > 0.9999


def test_export_is_cached_and_recorded(int8, tmp_path):
    assert (int8.folder / "model.xml").exists()
    again = OpenVINOEmbedder(int8=True, cache_dir=int8.folder.parents[2])
    assert again.folder == int8.folder


def test_quality_guard_on_a_sample(int8, real_matcher, tmp_path):
    from matcher import Matcher

    settings = replace(Settings(), scorer="similarity", backend="openvino-int8", index_dir=tmp_path / "index")
    fast = Matcher.load(settings, embedder=int8)
    assert fast.index.manifest["backend"] == "openvino-int8" and fast.index.manifest["export"]
    items = load_items(ROOT / "eval" / "dev.jsonl", fast.catalog.role_ids)[::4]  # a quarter of dev
    check = guard(run_matcher(fast, items), run_matcher(real_matcher, items))
    assert check["top1_agreement"] >= 0.95, check
    assert check["top1_fast"] >= check["top1_reference"] - 0.05, check


def test_a_loaded_sentence_transformer_is_an_embedder(real_embedder):
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(packaged_model_path(), device="cpu")  # as the torch backend loads it
    adapted = SentenceTransformerEmbedder.from_model(model)
    # The packaged model keeps the torch backend's name, so the indexes it built are shared.
    assert adapted.dimension == 384 and adapted.name == PACKAGED_MODEL == real_embedder.name
    vectors = adapted.embed(SENTENCES[:2])
    assert vectors.shape == (2, 384) and vectors.dtype == np.float32
    assert np.allclose(vectors, real_embedder.embed(SENTENCES[:2]), atol=1e-6)
    assert adapted.embed([]).shape == (0, 384)
    assert SentenceTransformerEmbedder.from_model(model, name="my-finetune").name == "my-finetune"
    with pytest.raises(SettingsError, match="loaded SentenceTransformer"):
        SentenceTransformerEmbedder.from_model(packaged_model_path())
