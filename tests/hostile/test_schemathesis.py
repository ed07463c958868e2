"""Schemathesis against the served OpenAPI document, all checks on, a bounded number of cases."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent


def test_schemathesis_finds_no_failures(server):
    exe = shutil.which("schemathesis", path=str(Path(sys.executable).parent)) or "schemathesis"
    run = subprocess.run([exe, "--config-file", str(HERE / "schemathesis.toml"), "run", server.url + "/openapi.json",
                          "--checks", "all", "--max-examples", "25", "--phases", "examples,coverage,fuzzing",
                          "--request-timeout", "20", "--seed", "20261126", "--no-color"],
                         capture_output=True, text=True, timeout=600)
    tail = run.stdout[-3000:]
    assert run.returncode == 0, tail
    assert " passed" in tail and "failures" not in tail.split("SUMMARY")[-1].lower(), tail
