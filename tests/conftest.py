"""Shared fixtures: a fake embedder for unit tests, the real model once per session for the rest."""

from __future__ import annotations

import os
import shutil
import sys
from dataclasses import replace
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from fakes import FakeEmbedder

from matcher.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CATALOG = ROOT / "corpus" / "default"
SHARED = ROOT.parent / "shared"


@pytest.fixture
def fake_embedder() -> FakeEmbedder:
    return FakeEmbedder()


@pytest.fixture
def settings(tmp_path) -> Settings:
    """Settings that write indexes into a temporary folder, never into the checkout."""
    return replace(Settings(), corpus_dir=ROOT / "corpus", index_dir=tmp_path / "index",
                   cache_dir=tmp_path / "cache")


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
    from matcher import Matcher

    s = replace(Settings(), backend="torch", corpus_dir=ROOT / "corpus", index_dir=tmp_path_factory.mktemp("index"))
    return Matcher.load(s, embedder=real_embedder)
