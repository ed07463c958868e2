"""``scripts/setup.sh`` says what is wrong in one line when it cannot start (no venv module, an
unknown option), before it installs anything."""

from __future__ import annotations

import os
import shutil
import subprocess

from tests import ROOT


def run_setup(tmp_path, *args: str, python: str) -> subprocess.CompletedProcess:
    # A bare copy of the script in a folder of its own: nothing to install from, no .venv yet.
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    return subprocess.run(["bash", str(tmp_path / "scripts" / "setup.sh"), *args], capture_output=True, text=True,
                          env={**os.environ, "PYTHON": python}, timeout=60)


def test_a_python_without_venv_gets_one_line_with_the_fix(tmp_path):
    fake = tmp_path / "python3"  # answers like Debian's python3 without python3-venv: no ensurepip
    fake.write_text('#!/bin/sh\nif [ "$1" = "-c" ]; then exit 1; fi\nexit 0\n')
    fake.chmod(0o755)
    done = run_setup(tmp_path, python=str(fake))
    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"setup: {fake} cannot make a virtual environment (no venv/ensurepip); install it: "
        "sudo apt-get install python3-venv"]
    assert not (tmp_path / ".venv").exists()


def test_an_unknown_option_is_refused_before_anything_is_installed(tmp_path):
    result = run_setup(tmp_path, "--dev", "--gpu", python="python3")
    assert result.returncode == 2
    assert result.stderr.strip() == "setup: unknown option --gpu (accepted: --dev, --browser, --ray)"
    assert not (tmp_path / ".venv").exists()
