"""The word head (wordhead.py): its grams, training on exact words, save/load, and that a passage
with no known word sways nothing."""

from __future__ import annotations

import numpy as np

from matcher.wordhead import WordConfig, fit_words, from_arrays, grams

TEXTS = ["registered nurse", "rn on a cardiac ward", "charge nurse", "staff nurse",
         "truck driver", "long haul trucker", "cdl driver", "tractor trailer driver",
         "line cook", "prep cook", "short order cook", "kitchen cook"]
ROLES = np.repeat(np.arange(3), 4)


def _head():
    return fit_words(TEXTS, ROLES, np.ones(len(TEXTS)), 3, WordConfig(dim=16, epochs=30, min_count=1))


def test_grams_are_words_pairs_and_character_ngrams():
    g = grams("Nurse, RN")
    assert {"nurse", "rn", "nurse rn", "<nu", "urse>", "<rn>"} <= set(g)
    assert "<n" not in g and grams("") == []


def test_the_head_learns_which_words_single_out_a_role():
    head = _head()
    for text, role in (("nurses", 0), ("a trucker", 1), ("cook", 2), ("rn", 0)):
        assert int(np.argmax(head.features([text])[0])) == role, text


def test_training_is_deterministic_and_survives_save_and_load():
    head, again = _head(), _head()
    assert np.array_equal(head.embedding, again.embedding) and np.array_equal(head.weight, again.weight)
    loaded = from_arrays(head.arrays())
    assert loaded.vocab == head.vocab
    assert np.allclose(loaded.features(["line cook", "nurse"]), head.features(["line cook", "nurse"]))


def test_a_passage_with_no_known_gram_gets_zero_for_every_role():
    f = _head().features(["zzzz qqqq", "cook"])
    assert not f[0].any() and f[1].any()
    assert np.allclose(f[1].mean(), 0, atol=1e-5) and np.isclose(f[1].std(), 1, atol=1e-3)


def test_a_catalog_with_no_frequent_gram_gets_a_head_that_sways_nothing():
    head = fit_words(["alpha", "beta"], np.array([0, 1]), np.ones(2), 2, WordConfig(dim=4, epochs=1))
    assert head.vocab == {} and not head.features(["alpha"]).any()
    assert from_arrays(head.arrays()).vocab == {}


def test_training_reads_each_text_as_inference_does():
    """Training encodes every text in one flat pass (fast), inference one passage at a time: the two
    must give the same bag of grams and weights, or the head is trained on other inputs than it scores."""
    from matcher.wordhead import _encode, _vocabulary

    texts = [*TEXTS, "nurse nurse rn", "", "zzzz"]
    vocab, idf, (ids, weights), lengths = _vocabulary(texts, 2)
    starts = np.r_[0, np.cumsum(lengths)[:-1]]
    for text, start, n in zip(texts, starts, lengths, strict=True):
        one_ids, one_weights = _encode(text, vocab, idf)
        assert np.array_equal(one_ids, ids[start:start + n]), text
        assert np.allclose(one_weights, weights[start:start + n], atol=1e-6), text
