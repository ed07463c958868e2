"""The example scorer of large catalogs (nearest.py, example_training.py): its features against a
brute-force reading, exact per-passage terms, deterministic training, aliases as examples, held-out
dev data, "no good fit" for text that describes no work, and a manifest checked on load.
Fast: a synthetic 210-role catalog and the bag-of-words fake (O*NET with the real model is in
test_onet_quality.py)."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from matcher import Matcher
from matcher.catalog import Catalog, Role, load_catalog
from matcher.catalog.table import write_jsonl_catalog
from matcher.errors import BuiltIndexError
from matcher.example_training import example_data, no_work_texts
from matcher.nearest import (
    TOP,
    ExampleScorer,
    Segments,
    mean_features,
    pooled_features,
    probabilities,
    sentence_mask,
    share_weights,
)
from matcher.training import TRAIN_MAX_ROLES, load_or_train, scorer_dir, train
from tests.fakes import FakeEmbedder

N_ROLES = TRAIN_MAX_ROLES + 10


def _role(i: int) -> Role:
    # One word is the role's own; the rest every role shares, so a held-out "w007x operator" is as
    # close to another role's "w123x operator" as to its own "w007x keeper", as titles often are.
    w = f"w{i:03d}x"
    return Role(f"r{i:03d}", f"{w} keeper", f"Looks after {w} kit.", {
        "responsibilities": (f"tend the {w} machines", f"repair {w} parts daily", f"log every {w} shipment",
                             f"train new {w} staff"),
        "aliases": (f"{w} handler", f"{w} operator", f"{w} lead", f"{w} aide"),
    })


@pytest.fixture(scope="module")
def big(tmp_path_factory):
    """A catalog past TRAIN_MAX_ROLES, written as a JSONL file (aliases included), and an 8192-d fake
    (so few words share a hash bucket)."""
    path = tmp_path_factory.mktemp("big") / "ladder.jsonl"
    write_jsonl_catalog(path, [_role(i) for i in range(N_ROLES)])
    return load_catalog(path), FakeEmbedder(dimension=8192)


def _vectors(catalog: Catalog, embedder) -> np.ndarray:
    return embedder.embed([s.text for s in catalog.statements])


def _train(catalog, embedder, tmp_path):
    return train(catalog, embedder, index_root=tmp_path / "index", cache_dir=tmp_path / "cache", backend="torch",
                 statement_vectors=_vectors(catalog, embedder))


def test_segments_best_matches_a_brute_force_reading():
    rng = np.random.default_rng(0)
    vectors = rng.normal(size=(40, 8)).astype(np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    roles = rng.integers(0, 6, size=40)
    roles[roles == 4] = 3  # role 4 has no examples; role 5 gets few
    queries = rng.normal(size=(5, 8)).astype(np.float32)
    best, top = Segments.build(vectors, roles).best(queries, 6)
    for r in range(6):
        sims = np.sort(queries @ vectors[roles == r].T, axis=1)[:, ::-1]
        if not sims.shape[1]:
            assert not best[:, r].any() and not top[:, r].any()
            continue
        assert np.allclose(best[:, r], sims[:, 0], atol=1e-6)
        padded = np.pad(sims[:, :TOP], ((0, 0), (0, max(0, TOP - sims.shape[1]))))
        assert np.allclose(top[:, r], padded.mean(1), atol=1e-6)


def test_aliases_travel_through_the_catalog_file_and_are_never_indexed(big):
    catalog, _ = big
    role = catalog.role("r007")
    assert role.aliases == ("w007x handler", "w007x operator", "w007x lead", "w007x aide")
    assert not any(s.text == "w007x handler" for s in catalog.statements)


def test_dev_data_is_held_out_of_the_examples(big):
    catalog, embedder = big
    data = example_data(catalog, _vectors(catalog, embedder))
    dev = {(t, int(r)) for t, r in zip(*data.dev, strict=True) if r >= 0}
    titles = set(zip(data.titles[0], data.titles[1].tolist(), strict=True))
    assert dev and not dev & titles
    assert data.dev_source == "held-out aliases and statements"
    # two aliases and one responsibility per role, plus every no-work text
    assert len(data.dev[1]) == 3 * N_ROLES + len(no_work_texts())
    assert len(data.statements[1]) == len(catalog.statements) - N_ROLES


def test_training_a_large_catalog_gives_a_calibrated_example_scorer(big, tmp_path):
    catalog, embedder = big
    scorer, manifest = _train(catalog, embedder, tmp_path)
    assert isinstance(scorer, ExampleScorer) and manifest["scorer"] == "examples"
    assert manifest["dev"]["source"] == "held-out aliases and statements"
    assert manifest["dev_metrics"]["top1"] >= 0.9 and manifest["dev_metrics"]["none_to_no_fit"] >= 0.9
    _, manifest2 = _train(catalog, embedder, tmp_path / "again")
    assert manifest2["weights_sha256"] == manifest["weights_sha256"]  # deterministic


def test_a_passages_share_of_every_logit_is_exact(big, tmp_path):
    catalog, embedder = big
    scorer, _ = _train(catalog, embedder, tmp_path)
    passages = ["I repair w011x parts", "and log w011x shipments", "milk, eggs, bread"]
    ex = scorer.explain(passages, embedder.embed(passages))
    assert np.allclose(ex.logits, ex.bias + ex.terms.sum(0))
    assert abs(ex.probs.sum() - 1) < 1e-9
    assert ex.classes[int(np.argmax(ex.probs[:-1]))] == "r011"
    # The batched path training uses gives the same probabilities for one-passage texts, chunk
    # boundaries included.
    texts = [embedder.embed([p]) for p in passages]
    batched = probabilities(scorer, mean_features(scorer, [[p] for p in passages], texts, chunk=2))
    for i, p in enumerate(passages):
        assert np.allclose(batched[i], scorer.explain([p], texts[i]).probs, atol=1e-5)


def test_a_roles_logit_is_its_best_passages_so_padding_does_not_drown_it(big, tmp_path):
    """A résumé's contact lines and hobbies do not dilute the lines that describe the work: a role's
    logit pools its best half of the passages, at most three."""
    catalog, embedder = big
    scorer, _ = _train(catalog, embedder, tmp_path)
    work = ["I repair w011x parts", "and log every w011x shipment", "I train new w011x staff",
            "tend the w011x machines", "w011x keeper for six years"]  # five passages: its best three count
    noise = [f"hobby number {i}: pottery, cycling and chess" for i in range(8)]
    alone = scorer.explain(work, embedder.embed(work))
    padded = scorer.explain(work + noise, embedder.embed(work + noise))
    r = scorer.classes.index("r011")
    assert np.isclose(padded.logits[r], alone.logits[r], rtol=1e-6, atol=1e-6)  # the same three passages
    assert np.allclose(padded.logits, padded.bias + padded.terms.sum(0))
    assert np.count_nonzero(padded.terms[:, r]) == 3 and not padded.terms[len(work):, r].any()


def test_matcher_on_a_large_catalog_ranks_fits_and_refuses_no_work(big, settings, tmp_path):
    catalog, embedder = big
    m = Matcher.load(replace(settings, scorer="learned", index_dir=tmp_path / "index"), catalog=catalog.source,
                     embedder=embedder)
    assert isinstance(m.scorer, ExampleScorer)
    res = m.match("w042x lead")  # an alias, maybe held out: the role either way
    assert res.results[0].role_id == "r042" and res.best_fit == "r042"
    assert 0.0 <= res.results[0].score <= 1.0
    for text in ("asdf jkl qwerty uiop", "Remember to buy milk, eggs and bread on the way home."):
        assert m.match(text).best_fit is None, text


def test_the_example_scorers_manifest_is_checked_on_load(big, tmp_path):
    catalog, embedder = big
    kw = {"index_root": tmp_path / "index", "cache_dir": tmp_path / "cache", "backend": "torch",
          "statement_vectors": _vectors(catalog, embedder)}
    trained, _ = train(catalog, embedder, **kw)
    loaded = load_or_train(catalog, embedder, auto_train=False, **kw)
    assert isinstance(loaded, ExampleScorer) and np.array_equal(loaded.weights, trained.weights)
    folder = scorer_dir(kw["index_root"], catalog.name, "torch")
    data = dict(np.load(folder / "weights.npz"))
    data["weights"] = data["weights"] * 2
    np.savez(folder / "weights.npz", **data)
    with pytest.raises(BuiltIndexError, match="checksum"):
        load_or_train(catalog, embedder, auto_train=False, **kw)
    assert json.loads((folder / "manifest.json").read_text())["scorer"] == "examples"
    assert isinstance(load_or_train(catalog, embedder, **kw), ExampleScorer)  # retrained


def test_pooled_features_are_what_explain_scores(big, tmp_path):
    """The sentence calibration is fitted on ``pooled_features``: the weights times those features,
    scaled and offset for a text of sentences, must be the logit ``explain`` gives, or the fit
    calibrates a different score than the one users see. Title-like passages are not scaled."""
    catalog, embedder = big
    scorer, _ = _train(catalog, embedder, tmp_path)
    scorer = replace(scorer, sentence_scale=1.7, sentence_offset=-0.4)
    for passages in (["Most days I repair the w011x parts here"],
                     ["Most days I repair the w011x parts here", "and my hobbies are chess and long walks"],
                     ["Most days I repair the w011x parts here", "and I log every w011x shipment too",
                      "I also train the new w012x staff", "then I tend the w011x machines all afternoon",
                      "hobbies: chess, and the w013x handler memes online"]):
        vectors = embedder.embed(passages)
        logits = np.einsum("fr,f->r", pooled_features(scorer, passages, vectors), scorer.weights)
        assert np.allclose(1.7 * logits - 0.4, scorer.explain(passages, vectors).logits[:-1], atol=1e-5)
    title = ["w011x keeper"]
    logits = np.einsum("fr,f->r", pooled_features(scorer, title, embedder.embed(title)), scorer.weights)
    assert np.allclose(logits, scorer.explain(title, embedder.embed(title)).logits[:-1], atol=1e-5)
    assert list(sentence_mask(["Registered nurse", "I run the night shift on a cardiac ward"])) == [False, True]


def test_share_weights_split_the_loss_between_none_and_the_rest():
    labels = np.array([0, 1, 2, -1, 3, -1])
    w = share_weights(labels, 0.2)
    assert np.isclose(w.sum(), 1.0) and np.allclose(w[labels < 0], 0.1) and np.allclose(w[labels >= 0], 0.2)
    assert np.allclose(share_weights(np.array([0, 1]), 0.2), 0.5)  # one group carries everything


def test_labelled_texts_beside_a_large_catalog_calibrate_sentences_only(big, tmp_path):
    """Texts people wrote, shipped beside a large catalog, fit the scale and offset of sentence
    passages: the weights (so every ranking) stay as the catalog alone gives them, titles score the
    same, and a sentence's score moves."""
    _, embedder = big
    folder = tmp_path / "ladder"
    folder.mkdir()
    write_jsonl_catalog(folder / "catalog.jsonl", [_role(i) for i in range(N_ROLES)])
    plain_scorer, before = _train(load_catalog(folder), embedder, tmp_path / "plain")
    assert before["training_data"] == "catalog" and before["labelled_texts"] == 0
    assert before["sentence_calibration"] == {"scale": 1.0, "offset": 0.0}
    rows = [{"text": f"I tend w{i:03d}x machines, repair w{i:03d}x parts and log w{i:03d}x shipments",
             "label": f"r{i:03d}"} for i in range(0, N_ROLES, 3)]
    rows += [{"text": t, "label": "none"} for t in ("hello?? is this thing on, can anyone read me",
                                                    "Pick up the kids at five and then the dry cleaning.")]
    (folder / "_labelled").mkdir()
    (folder / "_labelled" / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    scorer, after = _train(load_catalog(folder), embedder, tmp_path / "labelled")
    assert after["training_data"] == "catalog and labelled texts" and after["labelled_texts"] == len(rows)
    assert after["training_data_hash"] != before["training_data_hash"]  # a changed file retrains
    assert after["weights_sha256"] != before["weights_sha256"]
    assert np.array_equal(scorer.weights, plain_scorer.weights) and scorer.b_none == plain_scorer.b_none
    assert after["sentence_calibration"] != before["sentence_calibration"] and scorer.sentence_scale > 0
    title = ["w100x operator"]
    assert np.allclose(scorer.explain(title, embedder.embed(title)).probs,
                       plain_scorer.explain(title, embedder.embed(title)).probs)
    said = ["Most days I repair the w100x parts and log the w100x shipments"]
    now, then = scorer.explain(said, embedder.embed(said)), plain_scorer.explain(said, embedder.embed(said))
    assert now.classes[int(np.argmax(now.probs[:-1]))] == "r100" == then.classes[int(np.argmax(then.probs[:-1]))]
    assert not np.allclose(now.probs, then.probs)
