import json
import logging

import numpy as np
import pytest

from matcher import index as index_mod
from matcher.catalog import load_catalog
from matcher.errors import BuiltIndexError
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
    with pytest.raises(BuiltIndexError, match="matcher index build"):
        load_index(cat, fake_embedder, tmp_path / "idx", auto_rebuild=False)
    assert load_index(cat, fake_embedder, tmp_path / "idx").manifest["corpus_hash"] == cat.hash


def test_stale_index_is_rebuilt_and_says_so(catalog_copy, fake_embedder, tmp_path, caplog):
    build_index(load_catalog(catalog_copy), fake_embedder, tmp_path / "idx")
    f = catalog_copy / "ml-pm.yaml"
    f.write_text(f.read_text() + "  - Tunes churn prediction models with the retention team\n")
    cat = load_catalog(catalog_copy)
    with pytest.raises(BuiltIndexError, match="stale"):
        load_index(cat, fake_embedder, tmp_path / "idx", auto_rebuild=False)
    with caplog.at_level(logging.WARNING, logger="matcher"):
        loaded = load_index(cat, fake_embedder, tmp_path / "idx")
    assert "stale" in caplog.text
    assert loaded.manifest["corpus_hash"] == cat.hash
    assert any("churn" in s.text for s in loaded.statements)


def test_other_model_is_refused(catalog_copy, fake_embedder, tmp_path):
    from tests.fakes import FakeEmbedder

    cat = load_catalog(catalog_copy)
    build_index(cat, fake_embedder, tmp_path / "idx")
    with pytest.raises(BuiltIndexError, match="built with model 'fake-bow-64'"):
        load_index(cat, FakeEmbedder(32, "other-model"), tmp_path / "idx")


def _corrupt(path, how: str) -> None:
    data = bytearray(path.read_bytes())
    if how == "truncate":
        path.write_bytes(bytes(data[: len(data) // 2]))
    elif how == "zero":
        path.write_bytes(bytes(len(data)))  # same size, every byte zero
    else:  # flip 100 bits spread over the file, size kept
        for i in range(100):
            pos = (i * 7919) % len(data)
            data[pos] ^= 1 << (i % 8)
        path.write_bytes(bytes(data))


@pytest.mark.parametrize("how", ["truncate", "zero", "flip"])
@pytest.mark.parametrize("which", ["vectors", "statements", "manifest"])
def test_damaged_files_are_refused_or_rebuilt_never_used(catalog_copy, fake_embedder, tmp_path, how, which, caplog):
    cat = load_catalog(catalog_copy)
    good = build_index(cat, fake_embedder, tmp_path / "idx")
    folder = tmp_path / "idx" / "default"
    target = folder / ("manifest.json" if which == "manifest" else good.manifest["files"][which])
    _corrupt(target, how)
    with pytest.raises(BuiltIndexError, match=r"damaged.*matcher index build"):
        load_index(cat, fake_embedder, tmp_path / "idx", auto_rebuild=False)
    with caplog.at_level(logging.WARNING, logger="matcher"):
        rebuilt = load_index(cat, fake_embedder, tmp_path / "idx")
    assert "damaged" in caplog.text
    assert rebuilt.statements == good.statements
    assert np.array_equal(rebuilt.vectors, good.vectors)
    # and the rebuilt files verify cleanly on the next load
    assert load_index(cat, fake_embedder, tmp_path / "idx", auto_rebuild=False).manifest["checksum"]


def test_crash_mid_build_keeps_the_previous_index(catalog_copy, fake_embedder, tmp_path, monkeypatch):
    cat = load_catalog(catalog_copy)
    build_index(cat, fake_embedder, tmp_path / "idx")
    before = json.loads((tmp_path / "idx" / "default" / "manifest.json").read_text())
    real_write = index_mod.atomic_write

    def dying_write(path, data):
        if path.name == "manifest.json":
            raise OSError("disk full")
        real_write(path, data)

    monkeypatch.setattr(index_mod, "atomic_write", dying_write)
    with pytest.raises(OSError):
        build_index(cat, fake_embedder, tmp_path / "idx")
    monkeypatch.undo()
    assert json.loads((tmp_path / "idx" / "default" / "manifest.json").read_text()) == before
    assert load_index(cat, fake_embedder, tmp_path / "idx", auto_rebuild=False).statements


def test_non_finite_numbers_never_reach_a_result_document(real_matcher):
    from dataclasses import replace

    from matcher.errors import NonFiniteScore

    result = real_matcher.match("Product manager for the internal model serving platform and its SDKs.")
    assert result.to_dict()["results"]
    poisoned = replace(result, results=(replace(result.results[0], score=float("nan")), *result.results[1:]))
    with pytest.raises(NonFiniteScore, match="matcher index build"):
        poisoned.to_dict()


def test_a_text_repeated_across_roles_is_embedded_once(tmp_path):
    """Large catalogs repeat statements (O*NET lists the same software under hundreds of
    occupations): each distinct text goes to the model once, and every row still gets its vector."""
    from matcher.catalog import Catalog
    from tests.fakes import FakeEmbedder

    shared = "Spreadsheet software: Microsoft Excel"
    cat = Catalog.from_roles([
        {"id": "clerk", "title": "Clerk", "summary": "Keeps the ledgers of a small office.", "skills": [shared]},
        {"id": "analyst", "title": "Analyst", "summary": "Reads the numbers behind sales.", "skills": [shared]},
    ], name="repeats")
    counting = FakeEmbedder()
    built = build_index(cat, counting, tmp_path / "idx")
    texts = [s.text for s in cat.statements]
    assert texts.count(shared) == 2
    assert sum(counting.calls) == len(set(texts)) == len(texts) - 1
    rows = [i for i, t in enumerate(texts) if t == shared]
    np.testing.assert_array_equal(built.vectors[rows[0]], built.vectors[rows[1]])
    np.testing.assert_allclose(built.vectors, FakeEmbedder().embed(texts), atol=1e-6)
    loaded = load_index(cat, counting, tmp_path / "idx", auto_rebuild=False)
    assert [s.role_id for s in loaded.statements] == [s.role_id for s in cat.statements]
