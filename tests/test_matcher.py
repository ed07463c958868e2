import json

import pytest

from matcher.errors import InputError, InputTooLarge
from matcher.result import MatchResult

PLATFORM = """Built the internal SDK and client libraries that product teams use to call hosted models.
Planned deprecation timelines and migration paths for the older model serving APIs.
Tracked developer experience metrics such as onboarding time for internal engineers."""


def test_result_document_shape(matcher):
    result = matcher.match(PLATFORM)
    assert isinstance(result, MatchResult)
    doc = json.loads(json.dumps(result.to_dict()))
    assert set(doc) >= {"best_fit", "results", "catalog", "model"}
    assert doc["catalog"]["name"] == "default" and doc["model"] == "fake-bow-64"
    assert len(doc["results"]) == 4
    scores = [r["score"] for r in doc["results"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0.0 <= s <= 1.0 for s in scores)
    top = doc["results"][0]
    assert top["role_id"] == "platform-pm"
    assert top["evidence"], "the top role should carry evidence"
    for ev in top["evidence"]:
        assert PLATFORM[ev["start"]:ev["end"]] == ev["resume_passage"]
        assert set(ev) >= {"role_statement", "section", "resume_passage", "similarity"}


def test_top_k_limits_results(matcher):
    assert len(matcher.match(PLATFORM, top_k=2).results) == 2


def test_bad_inputs_raise_clear_errors(matcher):
    with pytest.raises(InputError, match="empty"):
        matcher.match("   \n ")
    with pytest.raises(InputError, match="binary"):
        matcher.match("abc\x00def")
    with pytest.raises(InputTooLarge, match="limit"):
        matcher.match("a" * (matcher.settings.max_text_chars + 1))
    with pytest.raises(InputError, match="no sentences"):
        matcher.match("EXPERIENCE\nbob@example.com\n")


def test_match_many_batches_and_isolates_bad_rows(matcher, fake_embedder):
    fake_embedder.calls.clear()
    out = matcher.match_many([PLATFORM, "", PLATFORM])
    assert isinstance(out[1], InputError)
    assert isinstance(out[0], MatchResult) and out[0].to_dict() == out[2].to_dict()
    assert fake_embedder.calls == [6], "all passages of all inputs go to the model in one call"


def test_unknown_role_lists_valid_ids(matcher):
    from matcher.errors import UnknownRole

    with pytest.raises(UnknownRole, match="ai-pm, data-pm, ml-pm, platform-pm"):
        matcher.role("chef")


def test_to_dict_matches_the_dataclass_fields(matcher):
    """The hand-written serialiser must cover every field of the result types."""
    from dataclasses import fields

    from matcher.result import Evidence, RoleResult

    doc = matcher.match(PLATFORM).to_dict()
    assert set(doc) == {f.name for f in fields(MatchResult)}
    assert set(doc["results"][0]) == {f.name for f in fields(RoleResult)}
    assert set(doc["results"][0]["evidence"][0]) == {f.name for f in fields(Evidence)}
    assert json.loads(json.dumps(doc)) == doc


def test_the_core_owns_top_k(matcher):
    """Below 1 or above MATCHER_MAX_TOP_K is an InputError from the core, whatever the edge."""
    for bad in (0, -1, matcher.settings.max_top_k + 1, True, "2"):
        with pytest.raises(InputError, match="top_k"):
            matcher.match(PLATFORM, top_k=bad)
        with pytest.raises(InputError, match="top_k"):
            matcher.match_many([PLATFORM], top_k=bad)
    assert len(matcher.match(PLATFORM, top_k=matcher.settings.max_top_k).results) == 4


def test_the_fit_line_is_the_scoring_config_s(matcher):
    result = matcher.match(PLATFORM)
    assert result.threshold == matcher.scoring.fit_line == 0.5
