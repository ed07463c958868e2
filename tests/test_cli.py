"""The terminal edge: real subprocesses, real model, one clear line on errors and distinct exit codes
(2: usage, 3: runtime; see the docstring of matcher/cli.py)."""

import json
import os
import subprocess
import sys

import pytest

from tests import ROOT


def run(args, tmp_path, stdin=b"", **env_vars):
    env = {**os.environ, "MATCHER_INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1", **env_vars}
    return subprocess.run([sys.executable, "-m", "matcher", *args], input=stdin, capture_output=True,
                          env=env, cwd=ROOT, timeout=300)


def one_error_line(proc, code=3):
    """The one ``matcher: error:`` line of a failed command, which exited with ``code`` (3: runtime)."""
    assert proc.returncode == code, proc.stderr
    lines = proc.stderr.decode().strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("matcher: error:"), lines
    assert "Traceback" not in proc.stderr.decode()
    return lines[0]


def test_missing_file(tmp_path):
    assert "no such file" in one_error_line(run(["match", str(tmp_path / "nope.txt")], tmp_path))
    assert "no such file" in one_error_line(run(["score", str(tmp_path / "nope.jsonl"), "-o", "-"], tmp_path))


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


def test_version(tmp_path):
    from matcher.version import __version__

    proc = run(["--version"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode() == f"matcher {__version__}\n" and proc.stderr == b""


def test_help_lists_the_exit_codes(tmp_path):
    from matcher import cli

    proc = run(["--help"], tmp_path)
    assert proc.returncode == 0
    out = proc.stdout.decode()
    assert "Exit codes:" in out and cli.EXIT_CODES in out  # the table as written (RawDescriptionHelpFormatter)
    for code in ("0", "1", "2", "3", "130"):
        assert f"\n  {code} " in cli.EXIT_CODES
    assert cli.EXIT_CODES in cli.__doc__  # the same table in the module docstring


@pytest.mark.parametrize("argv", [
    ["-v", "match", "x.txt"], ["match", "-v", "x.txt"], ["match", "x.txt", "--verbose"],
    ["-v", "index", "build"], ["index", "build", "-v"], ["catalog", "check", "-v", "--strict"],
    ["score", "in.jsonl", "-o", "-", "-v"], ["-v", "score", "in.jsonl", "-o", "-", "-v"],
])
def test_verbose_before_or_after_the_command(argv):
    from matcher import cli

    assert cli.build_parser().parse_args(argv).verbose is True


def test_no_verbose_is_false_for_every_command():
    from matcher import cli

    for argv in (["match", "x.txt"], ["index", "build"], ["catalog", "check"], ["score", "in", "-o", "-"]):
        assert cli.build_parser().parse_args(argv).verbose is False, argv


def test_verbose_after_the_command_sets_up_info_logging(monkeypatch, capsys):
    """`-v` after the command reaches the logging set-up (INFO on stderr), as `-v` before it does."""
    import logging

    from matcher import cli

    levels = []
    monkeypatch.setattr(cli.logging, "basicConfig", lambda **kw: levels.append((kw["level"], kw["stream"])))
    for argv in (["roles"], ["roles", "-v"], ["-v", "roles"]):
        assert cli.main(argv) == 0
    assert levels == [(logging.WARNING, sys.stderr), (logging.INFO, sys.stderr), (logging.INFO, sys.stderr)]
    assert capsys.readouterr().out.split().count("platform-pm") == 3


def test_usage_errors_exit_2(tmp_path):
    proc = run(["match", "--no-such-flag", "x.txt"], tmp_path)  # argparse's own usage error
    assert proc.returncode == 2 and b"unrecognized arguments: --no-such-flag" in proc.stderr
    assert proc.stdout == b""
    assert "--backend='quantum' is not one of" in one_error_line(
        run(["roles", "--backend", "quantum"], tmp_path), code=2)
    assert "MATCHER_BACKEND='quantum' is not one of" in one_error_line(
        run(["roles"], tmp_path, MATCHER_BACKEND="quantum"), code=2)
    assert "MATCHER_ADMIN_KEY" in one_error_line(run(["catalog", "reload"], tmp_path, MATCHER_ADMIN_KEY=""), code=2)
    src = tmp_path / "in.jsonl"
    src.write_text(json.dumps({"id": "a", "text": "Product manager."}) + "\n")
    assert "--resume needs an OUTPUT file" in one_error_line(
        run(["score", str(src), "-o", "-", "--resume"], tmp_path), code=2)


@pytest.mark.model
def test_score_to_stdout_is_only_jsonl(tmp_path):
    """`matcher score IN -o -`: one JSON line per input row on stdout and nothing else (the summary and
    the model's start-up go to stderr); exit 1 because one row failed."""
    rows = [{"id": "pm", "text": (ROOT / "examples/platform-pm.txt").read_text()},
            {"id": "empty", "text": ""},
            {"id": "nurse", "text": (ROOT / "examples/nurse.txt").read_text()}]
    src = tmp_path / "in.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    proc = run(["score", str(src), "-o", "-", "--top-k", "2"], tmp_path)
    assert proc.returncode == 1, proc.stderr
    docs = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [d["id"] for d in docs] == ["pm", "empty", "nurse"]
    assert docs[0]["best_fit"] == "platform-pm" and len(docs[0]["results"]) == 2
    assert docs[1]["error"]["code"] == "empty_input"
    assert "1 failed (error rows in standard output)" in proc.stderr.decode()
