"""End-to-end behaviour with the real model on the default catalog."""

from pathlib import Path

import pytest

from matcher.evaluate import evaluate

pytestmark = pytest.mark.model
ROOT = Path(__file__).resolve().parent.parent


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
    assert all(r.score < 0.5 for r in result.results)


def test_matcher_beats_both_baselines_on_dev(real_matcher):
    reports = {r.system: r.metrics() for r in evaluate(real_matcher, ROOT / "eval" / "dev.jsonl")}
    assert reports["matcher"]["top1"] > reports["bm25"]["top1"]
    assert reports["matcher"]["top1"] > reports["one-vector"]["top1"]
