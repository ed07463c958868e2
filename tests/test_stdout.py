"""stdout carries the result and nothing else, even on a fresh install (empty model cache), when
the one-time int8 export runs and its libraries draw progress bars."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

TEXT = "Product manager for our internal model serving platform: SDKs, quotas, docs and migrations."

pytestmark = pytest.mark.model


def run_cold(tmp_path: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    """``matcher ARGS`` with an empty model cache and index folder of its own (the default backend)."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_CACHE_DIR": str(tmp_path / "cache"),
           "MATCHER_INDEX_DIR": str(tmp_path / "index")}
    env.pop("MATCHER_BACKEND", None)
    run = subprocess.run([sys.executable, "-m", "matcher", *args], cwd=tmp_path, env=env, input=stdin,
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "exported" in run.stderr  # the cache really was cold: the export ran in this command
    return run


def test_match_json_on_a_cold_cache_is_only_json(tmp_path):
    doc = json.loads(run_cold(tmp_path, "match", "-", "--json", stdin=TEXT).stdout)
    assert doc["results"] and doc["model"]


def test_index_build_on_a_cold_cache_prints_one_summary_line(tmp_path):
    lines = run_cold(tmp_path, "index", "build").stdout.splitlines()
    assert len(lines) == 1 and lines[0].startswith("built index for catalog 'default'")


def test_quiet_score_on_a_cold_cache_prints_nothing(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": TEXT}) + "\n", encoding="utf-8")
    run = run_cold(tmp_path, "score", str(src), "-o", str(tmp_path / "out.jsonl"), "-q")
    assert run.stdout == ""
    assert json.loads((tmp_path / "out.jsonl").read_text().splitlines()[0])["id"] == "a"
