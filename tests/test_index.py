import json
import logging

import pytest

from matcher import index as index_mod
from matcher.catalog import load_catalog
from matcher.errors import IndexError_
from matcher.index import build_index, load_index, read_manifest


def test_build_writes_manifest_and_loads_back(catalog_copy, fake_embedder, tmp_path):
    cat = load_catalog(catalog_copy)
    built = build_index(cat, fake_embedder, tmp_path / "idx")
    m = read_manifest(tmp_path / "idx", "default")
    for key in ("model", "dimension", "corpus_hash", "built_at", "package_version", "index_type"):
        assert key in m
    assert m["corpus_hash"] == cat.hash and m["statements"] == len(cat.statements)
    loaded = load_index(cat, fake_embedder, tmp_path / "idx")
    assert loaded.statements == built.statements
    assert loaded.vectors.shape == (len(cat.statements), fake_embedder.dimension)


def test_missing_index_is_built_or_refused(catalog_copy, fake_embedder, tmp_path):
    cat = load_catalog(catalog_copy)
    with pytest.raises(IndexError_, match="matcher index build"):
        load_index(cat, fake_embedder, tmp_path / "idx", auto_rebuild=False)
    assert load_index(cat, fake_embedder, tmp_path / "idx").manifest["corpus_hash"] == cat.hash


def test_stale_index_is_rebuilt_and_says_so(catalog_copy, fake_embedder, tmp_path, caplog):
    build_index(load_catalog(catalog_copy), fake_embedder, tmp_path / "idx")
    f = catalog_copy / "ml-pm.yaml"
    f.write_text(f.read_text() + "  - Tunes churn prediction models with the retention team\n")
    cat = load_catalog(catalog_copy)
    with pytest.raises(IndexError_, match="stale"):
        load_index(cat, fake_embedder, tmp_path / "idx", auto_rebuild=False)
    with caplog.at_level(logging.WARNING, logger="matcher"):
        loaded = load_index(cat, fake_embedder, tmp_path / "idx")
    assert "stale" in caplog.text
    assert loaded.manifest["corpus_hash"] == cat.hash
    assert any("churn" in s.text for s in loaded.statements)


def test_other_model_is_refused(catalog_copy, fake_embedder, tmp_path):
    from fakes import FakeEmbedder

    cat = load_catalog(catalog_copy)
    build_index(cat, fake_embedder, tmp_path / "idx")
    with pytest.raises(IndexError_, match="built with model 'fake-bow-64'"):
        load_index(cat, FakeEmbedder(32, "other-model"), tmp_path / "idx")


def test_corrupt_files_are_refused(catalog_copy, fake_embedder, tmp_path):
    cat = load_catalog(catalog_copy)
    build_index(cat, fake_embedder, tmp_path / "idx")
    m = read_manifest(tmp_path / "idx", "default")
    (tmp_path / "idx" / "default" / m["files"]["vectors"]).write_bytes(b"garbage")
    with pytest.raises(IndexError_, match="corrupt"):
        load_index(cat, fake_embedder, tmp_path / "idx")
    (tmp_path / "idx" / "default" / "manifest.json").write_text("{not json")
    with pytest.raises(IndexError_, match="corrupt"):
        load_index(cat, fake_embedder, tmp_path / "idx")


def test_crash_mid_build_keeps_the_previous_index(catalog_copy, fake_embedder, tmp_path, monkeypatch):
    cat = load_catalog(catalog_copy)
    build_index(cat, fake_embedder, tmp_path / "idx")
    before = json.loads((tmp_path / "idx" / "default" / "manifest.json").read_text())
    real_write = index_mod._atomic_write

    def dying_write(path, data):
        if path.name == "manifest.json":
            raise OSError("disk full")
        real_write(path, data)

    monkeypatch.setattr(index_mod, "_atomic_write", dying_write)
    with pytest.raises(OSError):
        build_index(cat, fake_embedder, tmp_path / "idx")
    monkeypatch.undo()
    assert json.loads((tmp_path / "idx" / "default" / "manifest.json").read_text()) == before
    assert load_index(cat, fake_embedder, tmp_path / "idx", auto_rebuild=False).statements
