"""The terminal edge: real subprocesses, real model, one clear line and exit 2 on errors."""

import json
import os
import subprocess
import sys

import pytest

from tests import ROOT


def run(args, tmp_path, stdin=b""):
    env = {**os.environ, "MATCHER_INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-m", "matcher", *args], input=stdin, capture_output=True,
                          env=env, cwd=ROOT, timeout=300)


def one_error_line(proc):
    assert proc.returncode == 2, proc.stderr
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("matcher: error:"), lines
    assert "Traceback" not in proc.stderr.decode()
    return lines[0]


def test_missing_file(tmp_path):
    assert "no such file" in one_error_line(run(["match", str(tmp_path / "nope.txt")], tmp_path))


def test_empty_and_binary_stdin(tmp_path):
    assert "empty" in one_error_line(run(["match", "-"], tmp_path, b"  \n"))
    assert "binary" in one_error_line(run(["match", "-"], tmp_path, b"\x7fELF\x00\x01\x02"))
    assert "UTF-8" in one_error_line(run(["match", "-"], tmp_path, "caf\xe9 au lait".encode("latin-1")))


def test_broken_catalog(tmp_path):
    bad = tmp_path / "broken"
    bad.mkdir()
    (bad / "x.yaml").write_text("id: x\ntitle: [unclosed\n")
    line = one_error_line(run(["roles", "--catalog", str(bad)], tmp_path))
    assert "x.yaml" in line and "line" in line


@pytest.mark.model
def test_match_json_and_text(tmp_path):
    proc = run(["match", "examples/platform-pm.txt", "--json"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads(proc.stdout)
    assert doc["best_fit"] == "platform-pm"
    proc = run(["match", "-", "--top-k", "2"], tmp_path, (ROOT / "examples/nurse.txt").read_bytes())
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert out.startswith("No good fit") and out.count("\n1. ") + out.startswith("1. ") <= 1
    assert "2. " in out and "3. " not in out


def test_roles_lists_the_catalog(tmp_path):
    proc = run(["roles"], tmp_path)
    assert proc.returncode == 0
    assert [line.split()[0] for line in proc.stdout.decode().splitlines()] == \
        ["ai-pm", "data-pm", "ml-pm", "platform-pm"]
