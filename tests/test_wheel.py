"""The package as an operator installs it: a wheel, in a fresh virtual environment, run from a folder
that has nothing to do with the checkout.

The wheel must carry everything the matcher reads at run time (the default catalog with its labelled
profiles, the no-work texts, the web page) and put what it builds in the user's cache folder, never
in the current folder. The new environment borrows the test environment's dependencies (a ``.pth``
line, so nothing is downloaded) but not the checkout: ``import matcher`` finds the wheel's copy.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import sysconfig
import time
import urllib.request
from pathlib import Path

import pytest

from tests import ROOT

pytestmark = pytest.mark.model

AI_PM = ("Product manager, 5 years. Owned the roadmap for our generative AI assistant: prompt design, "
         "evaluation of model outputs, hallucination guardrails, launch with legal review.")


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> dict:
    """Build the wheel, install it into a new venv; return its paths and the environment to run it in."""
    tmp = tmp_path_factory.mktemp("wheel")
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation",
                            str(ROOT), "-w", str(tmp / "dist")], capture_output=True, text=True)
    assert built.returncode == 0, built.stderr
    (wheel,) = (tmp / "dist").glob("role_matcher-*.whl")
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(tmp / "venv")], check=True)
    python = tmp / "venv" / "bin" / "python"
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
                           str(wheel)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    purelib = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                             capture_output=True, text=True, check=True).stdout.strip()
    # The dependencies come from this environment; its own editable role-matcher does not (a path
    # added by a .pth line is not itself scanned for .pth files, so the editable finder stays out).
    Path(purelib, "_test_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    cache = tmp / "xdg"
    # Seed the user cache with the checkout's embedding cache and int8 export (when setup made them)
    # so that training the default scorer takes seconds, not minutes; what is seeded is only vectors
    # of the packaged labelled texts, so the test still proves those texts are in the wheel.
    for part in ("embeddings", "openvino"):
        if (ROOT / ".cache" / part).is_dir():
            shutil.copytree(ROOT / ".cache" / part, cache / "role-matcher" / "cache" / part)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MATCHER_")}
    env.update(HF_HUB_OFFLINE="1", XDG_CACHE_HOME=str(cache), PYTHONPATH="")
    elsewhere = tmp / "elsewhere"
    elsewhere.mkdir()
    return {"bin": tmp / "venv" / "bin", "env": env, "cwd": elsewhere, "cache": cache / "role-matcher",
            "purelib": Path(purelib), "wheel": wheel}


def run(installed: dict, *args: str, stdin: str = "") -> subprocess.CompletedProcess:
    return subprocess.run([str(installed["bin"] / "matcher"), *args], input=stdin, capture_output=True, text=True,
                          env=installed["env"], cwd=installed["cwd"], timeout=900)


def test_the_wheel_carries_its_data_and_its_own_code(installed):
    out = subprocess.run([str(installed["bin"] / "python"), "-c",
                          "import matcher, matcher.settings as s; print(matcher.__file__); print(s.in_checkout())"],
                         capture_output=True, text=True, env=installed["env"], cwd=installed["cwd"], check=True)
    where, checkout = out.stdout.split()
    assert Path(where).is_relative_to(installed["purelib"]) and checkout == "False"
    data = installed["purelib"] / "matcher" / "data" / "corpus" / "default"
    assert (data / "ai-pm.yaml").is_file() and (data / "_labelled" / "train.jsonl").is_file()
    assert not (data).is_symlink()  # a real copy, not the checkout's link
    assert run(installed, "--version").stdout.strip() == f"matcher {_version()}"


def test_the_wheel_metadata(installed):
    """SPDX licence with its file, the one version, BM25 only as an extra, and the data files the
    code reads (the no-work texts and the O*NET import's labelled texts)."""
    import zipfile

    with zipfile.ZipFile(installed["wheel"]) as z:
        info = next(n for n in z.namelist() if n.endswith(".dist-info/METADATA"))
        metadata = z.read(info).decode()
        assert any(n.endswith(".dist-info/licenses/LICENSE") for n in z.namelist())
        assert {"matcher/data/no_work.txt", "matcher/data/onet_labelled.jsonl"} <= set(z.namelist())
    lines = metadata.splitlines()
    assert f"Version: {_version()}" in lines and "License-Expression: Apache-2.0" in lines
    assert "License-File: LICENSE" in lines
    requires = [line for line in lines if line.startswith("Requires-Dist: bm25s")]
    assert requires and all('extra == "eval"' in line for line in requires)


def test_match_and_score_from_an_unrelated_folder(installed):
    matched = run(installed, "match", "-", "--json", stdin=AI_PM)
    assert matched.returncode == 0, matched.stderr
    result = json.loads(matched.stdout)
    assert result["catalog"]["name"] == "default" and result["best_fit"] == "ai-pm"
    # What was built went to the user's cache folder; the current folder stays empty.
    assert list((installed["cache"] / "index").glob("default*/manifest.json"))
    assert list((installed["cache"] / "index").glob("default*/scorer/*"))
    (installed["cwd"] / "in.jsonl").write_text(
        json.dumps({"id": "a", "text": AI_PM}) + "\n" + json.dumps({"id": "b", "text": ""}) + "\n")
    scored = run(installed, "score", "in.jsonl", "-o", "out.jsonl")
    assert scored.returncode == 1, scored.stderr  # row b is empty: partial success
    rows = [json.loads(line) for line in (installed["cwd"] / "out.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["a", "b"] and rows[0]["best_fit"] == "ai-pm" and rows[1]["error"]
    assert sorted(p.name for p in installed["cwd"].iterdir()) == ["in.jsonl", "out.jsonl"]


def test_serve_from_an_unrelated_folder(installed):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([str(installed["bin"] / "matcher"), "serve", "--port", str(port)],
                              env=installed["env"], cwd=installed["cwd"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 300
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                time.sleep(0.5)
        request = urllib.request.Request(base + "/v1/match", data=json.dumps({"text": AI_PM}).encode(),
                                         headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=60) as r:
            assert json.load(r)["best_fit"] == "ai-pm"
        with urllib.request.urlopen(base + "/", timeout=10) as r:  # the page ships in the wheel
            assert "<html" in r.read().decode().lower()
    finally:
        server.terminate()
        server.wait(timeout=30)


def _version() -> str:
    from matcher.version import __version__

    return __version__
