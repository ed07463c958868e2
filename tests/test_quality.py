"""End-to-end behaviour with the real model on the default catalog."""


import pytest

from matcher.evaluate import evaluate
from tests import ROOT

pytestmark = pytest.mark.model


def test_clear_platform_resume_ranks_platform_first_with_evidence(real_matcher):
    text = (ROOT / "examples" / "platform-pm.txt").read_text()
    result = real_matcher.match(text)
    assert result.best_fit == "platform-pm"
    top = result.results[0]
    assert top.role_id == "platform-pm" and top.score > result.results[1].score
    assert len(top.evidence) >= 3
    assert any("SDK" in ev.resume_passage for ev in top.evidence)
    for ev in top.evidence:
        assert text[ev.start:ev.end] == ev.resume_passage
    assert "priya.raman@example.com" not in {ev.resume_passage for r in result.results for ev in r.evidence}


def test_off_domain_resume_gets_no_fit(real_matcher):
    result = real_matcher.match((ROOT / "examples" / "nurse.txt").read_text())
    assert result.best_fit is None
    assert result.results
    assert all(r.score < 0.5 for r in result.results)


def test_matcher_beats_both_baselines_on_dev(real_matcher):
    reports = {r.system: r.metrics() for r in evaluate(real_matcher, ROOT / "eval" / "dev.jsonl")}
    assert reports["similarity"]["top1"] > reports["bm25"]["top1"]
    assert reports["similarity"]["top1"] > reports["one-vector"]["top1"]


def test_near_miss_engineer_gets_no_fit_and_a_reason(real_matcher):
    text = ("Senior backend engineer, 8 years. I write Go and Python services every day, review pull requests, "
            "and carry the pager for our payments API. I tuned Postgres queries and cut p99 latency by 40%. "
            "I want to stay hands-on and keep writing production code; I am not interested in management "
            "or product roles.")
    result = real_matcher.match(text)
    assert result.best_fit is None
    assert result.reads_like and result.reads_like["role_id"] == "software-engineer"


def test_goals_paragraph_counts_as_interest(real_matcher):
    text = ("I am a product manager on a checkout team today. I want to move into owning the recommendation "
            "and ranking systems that decide what each user sees, and run the A/B tests that prove them.")
    result = real_matcher.match(text)
    top = result.results[0]
    assert top.role_id == "ml-pm"
    assert top.interest is not None and top.interest > 0.5
    assert any(ev.kind == "interest" for ev in top.evidence)


def test_contrast_explains_top_two(real_matcher):
    result = real_matcher.match((ROOT / "examples" / "platform-pm.txt").read_text())
    c = result.contrast
    assert c is not None and c.role_id == "platform-pm" and c.versus == result.results[1].role_id
    assert c.favouring_top, "some passage should favour the top role over the runner-up"


def test_catalog_check_finds_shared_statements(real_matcher):
    from matcher.catalog_check import check_catalog

    report = check_catalog(real_matcher.index)
    assert set(report.confusion) >= {"ai-pm", "ml-pm", "data-pm", "platform-pm"}
    # Every reported shared pair really is two roles saying nearly the same thing.
    assert report.shared
    for cosine, role_a, _, role_b, _ in report.shared:
        assert cosine >= 0.85 and role_a != role_b
