"""Shared fixtures: a fake embedder for unit tests, the real model once per session for the rest."""

from __future__ import annotations

import os
import shutil
from dataclasses import replace
from pathlib import Path

import pytest

from matcher import Matcher
from matcher.settings import Settings
from tests import ROOT
from tests.fakes import FakeEmbedder

os.environ.setdefault("HF_HUB_OFFLINE", "1")
# The tests of the HTTP, CLI and batch edges, and of the similarity scorer, run the similarity
# scorer: the learned one would train per temporary index folder (minutes on a cold cache). The
# learned scorer has its own tests (test_learned.py with the fake embedder, test_quality_learned.py
# and tests/hostile/ as shipped, on the checkout's trained scorer).
os.environ.setdefault("MATCHER_SCORER", "similarity")

DEFAULT_CATALOG = ROOT / "corpus" / "default"


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings that write indexes into a temporary folder, never into the checkout."""
    return replace(Settings(), scorer="similarity", corpus_dir=ROOT / "corpus", index_dir=tmp_path / "index",
                   cache_dir=tmp_path / "cache")


@pytest.fixture
def matcher(settings, fake_embedder) -> Matcher:
    """A Matcher on the default catalog with the fake embedder (no model), its index in tmp_path."""
    return Matcher.load(settings, embedder=fake_embedder)


@pytest.fixture
def catalog_copy(tmp_path) -> Path:
    """A writable copy of the default catalog, for tests that edit or break it."""
    dst = tmp_path / "corpus" / "default"
    shutil.copytree(DEFAULT_CATALOG, dst)
    return dst


@pytest.fixture(scope="session")
def real_embedder():
    """The real all-MiniLM-L6-v2, loaded once for the whole test session."""
    from matcher.embed import SentenceTransformerEmbedder

    return SentenceTransformerEmbedder()


@pytest.fixture(scope="session")
def real_matcher(real_embedder, tmp_path_factory):
    """A Matcher on the default catalog with the real model and a fresh index."""
    s = replace(Settings(), scorer="similarity",
                backend="torch", corpus_dir=ROOT / "corpus", index_dir=tmp_path_factory.mktemp("index"))
    return Matcher.load(s, embedder=real_embedder)
