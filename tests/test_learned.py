"""The learned scorer: exact per-passage attributions, deterministic training, a manifest checked
like the index's (stale or damaged → retrained or refused), and catalogs without labelled profiles.
Fast: the fake embedder throughout (the real model's quality is in test_quality.py)."""

from __future__ import annotations

import json
import logging
import shutil
from dataclasses import replace

import numpy as np
import pytest

from matcher import Matcher
from matcher.catalog import load_catalog
from matcher.errors import BuiltIndexError
from matcher.learned import NONE, fit
from matcher.training import LABELLED_DIR, load_or_train, scorer_dir, train

LABELLED = [
    ("Product manager for our support copilot: I review its answers, write the instructions it follows "
     "and pick the model vendor.", "ai-pm"),
    ("I own the chat assistant customers use to draft replies; weekly output reviews and guardrails.", "ai-pm"),
    ("PM for the recommendation and ranking models: A/B tests with the data scientists, label quality.", "ml-pm"),
    ("I decide the fraud model's thresholds, read the experiment results and audit the training labels.", "ml-pm"),
    ("Data product manager for the warehouse and the metrics layer; pipeline SLAs and data governance.", "data-pm"),
    ("I own our dashboards, the data catalog and the schemas analysts query every day.", "data-pm"),
    ("Platform PM for the internal model serving platform, its SDKs, docs and GPU quotas.", "platform-pm"),
    ("I run the prompt management service and eval tooling other product teams build on.", "platform-pm"),
    ("Registered nurse on a cardiac ward: medication rounds and patient care.", NONE),
    ("Backend engineer writing Go services and on-call for the payments API.", NONE),
]


def _labelled_catalog(folder, rows=LABELLED):
    (folder / LABELLED_DIR).mkdir(exist_ok=True)
    lines = [json.dumps({"id": f"t{i}", "text": t, "label": lab}) for i, (t, lab) in enumerate(rows)]
    (folder / LABELLED_DIR / "train.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / LABELLED_DIR / "dev.jsonl").write_text("\n".join(lines[::2]) + "\n", encoding="utf-8")
    return load_catalog(folder)


@pytest.fixture
def small_catalog(catalog_copy):
    """The default catalog with a tiny labelled set in place of the shipped 1,600 profiles."""
    shutil.rmtree(catalog_copy / LABELLED_DIR, ignore_errors=True)
    return _labelled_catalog(catalog_copy)


def test_a_roles_logit_is_exactly_its_bias_plus_one_term_per_passage(small_catalog, fake_embedder, tmp_path):
    scorer, _ = train(small_catalog, fake_embedder, index_root=tmp_path / "idx", cache_dir=tmp_path / "cache",
                      backend="torch")
    passages = ["I review the copilot's answers every week", "and set the fraud model thresholds",
                "Nurse before that"]
    vectors = fake_embedder.embed(passages)
    ex = scorer.explain(passages, vectors)
    assert ex.terms.shape == (3, len(scorer.classes))
    assert np.allclose(ex.terms.sum(0) + ex.bias, ex.logits, atol=1e-5)
    assert np.allclose(ex.probs, np.exp(ex.logits) / np.exp(ex.logits).sum())
    # dropping a passage changes the logits by exactly... not its term (the L2 norm and mean change),
    # but an empty text is the bias alone
    empty = scorer.explain([], np.zeros((0, fake_embedder.dimension)))
    assert np.allclose(empty.logits, ex.bias) and empty.terms.shape == (0, len(scorer.classes))


def test_training_is_deterministic(small_catalog, fake_embedder, tmp_path):
    _, first = train(small_catalog, fake_embedder, index_root=tmp_path / "a", cache_dir=tmp_path / "ca",
                     backend="torch")
    _, second = train(small_catalog, fake_embedder, index_root=tmp_path / "b", cache_dir=tmp_path / "cb",
                      backend="torch")
    assert first["weights_sha256"] == second["weights_sha256"]
    assert first["training_data_hash"] == second["training_data_hash"]
    assert first["classes"] == [*small_catalog.role_ids, NONE]
    assert first["dev_metrics"]["items"] == 5


def test_a_stale_scorer_is_retrained_or_refused_with_the_command(catalog_copy, fake_embedder, tmp_path, caplog):
    shutil.rmtree(catalog_copy / LABELLED_DIR, ignore_errors=True)
    catalog = _labelled_catalog(catalog_copy)
    kw = {"index_root": tmp_path / "idx", "cache_dir": tmp_path / "cache", "backend": "torch"}
    _, before = train(catalog, fake_embedder, **kw)
    assert load_or_train(catalog, fake_embedder, auto_train=False, **kw) is not None  # fresh: loads
    catalog = _labelled_catalog(catalog_copy, [*LABELLED, ("Data PM for a data feed sold to insurers.", "data-pm")])
    with pytest.raises(BuiltIndexError, match=r"stale \(training_data_hash changed\).*matcher train --catalog default"):
        load_or_train(catalog, fake_embedder, auto_train=False, **kw)
    with caplog.at_level(logging.WARNING, logger="matcher"):
        assert load_or_train(catalog, fake_embedder, **kw) is not None
    assert "training it" in caplog.text
    after = json.loads((scorer_dir(kw["index_root"], "default", "torch") / "manifest.json").read_text())
    assert after["training_data_hash"] != before["training_data_hash"]


def test_damaged_weights_are_never_used(small_catalog, fake_embedder, tmp_path):
    kw = {"index_root": tmp_path / "idx", "cache_dir": tmp_path / "cache", "backend": "torch"}
    train(small_catalog, fake_embedder, **kw)
    weights = scorer_dir(kw["index_root"], "default", "torch") / "weights.npz"
    weights.write_bytes(weights.read_bytes()[:-200] + bytes(200))
    with pytest.raises(BuiltIndexError, match="damaged"):
        load_or_train(small_catalog, fake_embedder, auto_train=False, **kw)
    assert load_or_train(small_catalog, fake_embedder, **kw) is not None  # retrained


def test_a_catalog_without_labelled_profiles_trains_on_its_own_statements(catalog_copy, fake_embedder, settings):
    shutil.rmtree(catalog_copy / LABELLED_DIR, ignore_errors=True)
    m = Matcher.load(replace(settings, corpus_dir=catalog_copy.parent, scorer="learned"), embedder=fake_embedder)
    assert m.scorer is not None and m.scorer.classes[-1] == NONE  # adjacent roles' statements teach "none"
    manifest = json.loads((scorer_dir(settings.index_dir, "default", settings.backend) / "manifest.json").read_text())
    assert manifest["training_data"] == "catalog" and manifest["dev_metrics"] is None
    result = m.match("I own the model serving platform, its SDKs, quotas and migration guides for internal teams.")
    scores = [r.score for r in result.results]
    assert scores == sorted(scores, reverse=True) and 0.0 <= scores[-1] <= scores[0] <= 1.0
    top = result.results[0]
    assert top.evidence and all(e.contribution is not None and e.contribution > 0 for e in top.evidence)
    assert result.to_dict()["results"][0]["evidence"][0]["contribution"] == round(top.evidence[0].contribution, 4)


def test_labels_outside_the_catalog_are_one_clear_error(catalog_copy, fake_embedder, tmp_path):
    from matcher.errors import CatalogError

    shutil.rmtree(catalog_copy / LABELLED_DIR, ignore_errors=True)
    catalog = _labelled_catalog(catalog_copy, [*LABELLED, ("A text.", "astronaut")])
    with pytest.raises(CatalogError, match=r"train.jsonl:11: label 'astronaut' is not a role"):
        train(catalog, fake_embedder, index_root=tmp_path / "i", cache_dir=tmp_path / "c", backend="torch")


def test_fit_needs_no_embedding_dimension_agreement_beyond_its_input(fake_embedder):
    docs = [[t] for t, _ in LABELLED]
    scorer = fit(docs, [fake_embedder.embed(d) for d in docs], [lab for _, lab in LABELLED],
                 ["ai-pm", "ml-pm", "data-pm", "platform-pm", NONE])
    assert scorer.w_mean.shape == (5, fake_embedder.dimension) and scorer.temperature == 1.0


def test_a_tiny_in_memory_catalog_trains_or_says_why_not(settings, fake_embedder):
    """Two roles with three statements share no n-gram between texts: training still works (every
    n-gram kept). One role with no 'none' texts has nothing to learn: one clear error naming the fix."""
    from matcher.catalog import Catalog
    from matcher.errors import CatalogError

    learned = replace(settings, scorer="learned")
    cafe = Catalog.from_roles([
        {"id": "barista", "title": "Barista", "responsibilities": ["Pulls espresso shots", "Steams milk"]},
        {"id": "baker", "title": "Baker", "skills": ["Laminates croissant dough"]}], name="cafe")
    m = Matcher.load(learned, catalog=cafe, embedder=fake_embedder)
    result = m.match("Pulls espresso shots and steams milk every morning")
    assert result.results[0].role_id == "barista" and m.scorer is not None
    one = Catalog.from_roles([{"id": "barista", "title": "Barista", "skills": ["Pulls espresso shots"]}], name="one")
    with pytest.raises(CatalogError, match="MATCHER_SCORER=similarity"):
        Matcher.load(learned, catalog=one, embedder=fake_embedder)
