"""Batch scoring (matcher.batch, scripts/score.py): input and output formats, --role, bad rows,
resume after a torn write and after a real SIGKILL, progress and privacy. Unit tests use the fake
embedder; the kill-and-resume test runs the real model in subprocesses."""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import pytest

from matcher import Matcher
from matcher.batch import BatchError, BatchOptions, LocalEngine, job_path, partial_path, run, run_from_args
from matcher.errors import MatcherError
from tests import ROOT
from tests.documents import docx_bytes, pdf_bytes

SECRET = "Zebulon Quaxworth"  # a name that must never reach stderr

TEXTS = [
    "Product manager for an internal developer platform. Led the roadmap for CI pipelines and model serving.",
    "Data analyst building dashboards in SQL and Python. Worked with finance on forecasting and reporting.",
    "Machine learning engineer training ranking models. Shipped feature stores and offline evaluation.",
    "Registered nurse in a busy emergency department. Triage, patient care and medication rounds.",
    "AI product manager for a support assistant. Ran evaluations of model answers with the engineers.",
    "Designer of onboarding flows. Ran user interviews and usability tests every sprint.",
    "Platform product manager for GPU infrastructure. Owned quotas, scheduling and developer experience.",
]


def candidates(n: int) -> list[dict]:
    return [{"id": f"c{i:03d}", "text": f"{TEXTS[i % len(TEXTS)]} Also mentored {i % 5 + 1} juniors."}
            for i in range(n)]


def write_jsonl(path: Path, rows: list) -> Path:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r)) + "\n" for r in rows), encoding="utf-8")
    return path


def score(matcher, settings, input, output, **kw):
    """Run a job in-process; return (summary, stderr text)."""
    err = io.StringIO()
    summary = run(BatchOptions(str(input), Path(output), **kw), settings, matcher=matcher, stderr=err)
    return summary, err.getvalue()


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_csv(path: Path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


# -- formats ---------------------------------------------------------------------------------------


def test_jsonl_to_jsonl_is_the_core_document_in_input_order(matcher, settings, fake_embedder, tmp_path):
    rows = candidates(10)
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    fake_embedder.calls.clear()
    summary, _ = score(matcher, settings, src, tmp_path / "out.jsonl", chunk_size=4, top_k=3)
    assert (summary.total, summary.new, summary.failed, summary.exit_code) == (10, 10, 0, 0)
    assert len(fake_embedder.calls) == 3, "one model call per chunk of 4 candidates, not one per candidate"
    out = read_jsonl(tmp_path / "out.jsonl")
    assert [o["id"] for o in out] == [r["id"] for r in rows]
    for row, doc in zip(rows, out, strict=True):
        assert doc == {"id": row["id"], **matcher.match(row["text"], top_k=3).to_dict()}


def test_csv_in_with_chosen_columns_to_long_csv(matcher, settings, tmp_path):
    src = tmp_path / "people.csv"
    with open(src, "w", newline="", encoding="utf-8-sig") as f:  # a BOM, as spreadsheets write it
        w = csv.writer(f)
        w.writerow(["candidate", "notes", "resume"])
        w.writerow(["a-1", "x", TEXTS[0] + "\n- Second line, quoted across lines."])
        w.writerow(["a-2", "y", TEXTS[1]])
    score(matcher, settings, src, tmp_path / "out.csv", id_column="candidate", text_column="resume", top_k=2)
    text = (tmp_path / "out.csv").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "id,rank,role_id,title,score,best_fit,error"
    rows = read_csv(tmp_path / "out.csv")
    assert [(r["id"], r["rank"]) for r in rows] == [("a-1", "1"), ("a-1", "2"), ("a-2", "1"), ("a-2", "2")]
    doc = matcher.match(TEXTS[1], top_k=2).to_dict()
    assert [r["role_id"] for r in rows[2:]] == [x["role_id"] for x in doc["results"]]
    assert rows[2]["score"] == f"{doc['results'][0]['score']:.4f}"
    assert rows[2]["best_fit"] == (doc["best_fit"] or "") and rows[2]["error"] == ""


def test_csv_input_without_the_text_column_is_one_clear_error(matcher, settings, tmp_path):
    src = tmp_path / "bad.csv"
    src.write_text("id,body\n1,hello\n")
    with pytest.raises(BatchError, match=r"no 'text' column.*--text-column"):
        score(matcher, settings, src, tmp_path / "out.jsonl")


def test_folder_of_resume_files(matcher, settings, tmp_path):
    folder = tmp_path / "cvs"
    (folder / "team").mkdir(parents=True)
    (folder / "a.txt").write_text(TEXTS[0])
    (folder / "b.md").write_text("# Experience\n\n- " + TEXTS[1])
    (folder / "team" / "c.pdf").write_bytes(pdf_bytes([TEXTS[2]]))
    (folder / "team" / "d.docx").write_bytes(docx_bytes([TEXTS[3]]))
    (folder / "team" / "broken.pdf").write_bytes(b"%PDF-1.4\nthis is not really a pdf\n%%EOF")
    (folder / "photo.png").write_bytes(b"\x89PNG\r\n")  # not a résumé type: skipped
    (folder / ".DS_Store").write_bytes(b"\x00\x01")  # hidden: skipped
    summary, _ = score(matcher, settings, folder, tmp_path / "out.jsonl")
    out = {o["id"]: o for o in read_jsonl(tmp_path / "out.jsonl")}
    assert list(out) == ["a.txt", "b.md", "team/broken.pdf", "team/c.pdf", "team/d.docx"]
    assert out["team/broken.pdf"]["error"]["code"] == "bad_pdf"
    assert "broken.pdf" in out["team/broken.pdf"]["error"]["message"]
    for name in ("a.txt", "b.md", "team/c.pdf", "team/d.docx"):
        assert out[name]["results"], name
    assert out["team/c.pdf"]["results"] == matcher.match(TEXTS[2]).to_dict()["results"]
    assert (summary.failed, summary.exit_code) == (1, 1)


def test_stdin_jsonl(matcher, settings, tmp_path):
    data = "".join(json.dumps(r) + "\n" for r in candidates(3)).encode()
    err = io.StringIO()
    run(BatchOptions("-", tmp_path / "out.jsonl"), settings, matcher=matcher, stdin=io.BytesIO(data), stderr=err)
    assert [o["id"] for o in read_jsonl(tmp_path / "out.jsonl")] == ["c000", "c001", "c002"]


# -- bad rows --------------------------------------------------------------------------------------


def test_bad_rows_are_error_rows_and_the_rest_is_scored(matcher, settings, tmp_path):
    src = tmp_path / "in.jsonl"
    lines = [
        json.dumps({"id": "ok-1", "text": TEXTS[0]}),
        json.dumps({"id": "empty", "text": "   "}),
        '{"id": "torn", "text": "unterminated',
        json.dumps({"text": SECRET + " has no id."}),
        json.dumps({"id": "ok-1", "text": TEXTS[1]}),
        json.dumps({"id": 5, "text": ["not", "a", "string"]}),
        json.dumps({"id": {"nested": 1}, "text": TEXTS[2]}),
        json.dumps(["an", "array"]),
        "",  # a blank line is not a row
        json.dumps({"id": 7, "text": TEXTS[4]}),
    ]
    src.write_bytes(("\n".join(lines) + "\n").encode() + b'{"id": "latin", "text": "caf\xe9"}\n')
    summary, err = score(matcher, settings, src, tmp_path / "out.jsonl")
    out = read_jsonl(tmp_path / "out.jsonl")
    codes = [(o["id"], o.get("error", {}).get("code")) for o in out]
    assert codes == [("ok-1", None), ("empty", "empty_input"), (None, "bad_json"), (None, "missing_id"),
                     ("ok-1", "duplicate_id"), (5, "bad_text"), (None, "bad_id"), (None, "bad_json"),
                     (7, None), (None, "bad_encoding")]
    messages = [o["error"]["message"] for o in out if "error" in o]
    assert "line 3 is not valid JSON" in messages[1]
    assert "line 4: missing 'id'" in messages[2]
    assert "duplicate id 'ok-1' (first used on line 1)" in messages[3]
    assert "line 11 is not valid UTF-8" in messages[-1]
    assert (summary.total, summary.failed, summary.exit_code) == (10, 8, 1)
    assert SECRET not in err


def test_cli_exit_codes_summary_and_privacy(matcher, settings, tmp_path, monkeypatch, capsys):
    """The command-line path: exit 1 and a summary naming the failures; one line and exit 3 when the
    job cannot run, 2 when it was asked for something it cannot do; no résumé text on stderr."""
    from matcher import cli
    from matcher.batch import job as batch

    src = write_jsonl(tmp_path / "in.jsonl", [{"id": "a", "text": SECRET + " led the platform roadmap."},
                                              {"id": "b", "text": ""}])
    monkeypatch.setattr(batch, "_make_engine", lambda options, s, m: batch.LocalEngine(matcher))
    args = cli.build_parser().parse_args(["score", str(src), "-o", str(tmp_path / "out.csv")])
    err = io.StringIO()
    assert run_from_args(args, stderr=err) == 1
    line = err.getvalue().strip()
    assert line.startswith("score: 2 candidates: 1 scored, 1 failed") and SECRET not in line
    assert cli.main(["score", str(src), "-o", str(tmp_path / "other.csv")]) == 1  # partial: the same through main
    assert "1 failed (error rows in other.csv)" in capsys.readouterr().err
    assert cli.main(["score", str(src), "-o", str(tmp_path / "out.csv")]) == 3  # exists, not overwritten
    assert "exists and is not empty; use --resume" in capsys.readouterr().err
    assert cli.main(["score", str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "x.jsonl")]) == 3
    assert cli.main(["score", str(src), "-o", str(tmp_path / "x.jsonl"), "--role", "astronaut"]) == 3
    assert cli.main(["score", str(src), "-o", str(tmp_path / "x.txt")]) == 2
    assert cli.main(["score", str(src), "-o", str(tmp_path / "x.jsonl"), "--format", "csv"]) == 2
    assert cli.main(["score", str(src), "-o", "-", "--resume"]) == 2
    assert cli.main(["score", str(src), "-o", str(tmp_path / "x.jsonl"), "--backend", "quantum"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 6 and all(e.startswith("matcher: error:") for e in err), err
    assert "no such file" in err[0] and "no role 'astronaut'" in err[1] and ".jsonl or .csv" in err[2]
    assert "--format csv does not match OUTPUT" in err[3] and "--resume needs an OUTPUT file" in err[4]
    assert "--backend='quantum'" in err[5]
    assert "Traceback" not in "".join(err) and SECRET not in "".join(err)
    assert not (tmp_path / "x.jsonl").exists() and not (tmp_path / "x.txt").exists()
    with pytest.raises(SystemExit) as exc:  # argparse: a bad --format value is a usage error too
        cli.main(["score", str(src), "-o", "-", "--format", "xml"])
    assert exc.value.code == 2 and "invalid choice: 'xml'" in capsys.readouterr().err


def test_score_py_has_the_same_exit_codes(tmp_path, capsys):
    """scripts/score.py (matcher.batch.main): 2 for a usage error, 3 when the job cannot run."""
    from matcher.batch import main

    src = write_jsonl(tmp_path / "in.jsonl", candidates(1))
    assert main([str(src), "-o", str(tmp_path / "out.txt")]) == 2
    assert main([str(tmp_path / "nope.jsonl"), "-o", str(tmp_path / "out.jsonl")]) == 3
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(e.startswith("score: error:") for e in err)


# -- -o -: standard output -------------------------------------------------------------------------


@pytest.fixture
def fake_engine_for_cli(matcher, monkeypatch):
    """`matcher score` run in this process scores with the fake-embedder matcher (no model load)."""
    from matcher.batch import job as batch

    monkeypatch.setattr(batch, "_make_engine", lambda options, s, m: batch.LocalEngine(matcher))


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_score_to_stdout_is_the_file_a_named_output_gets(fake_engine_for_cli, tmp_path, capsysbinary, fmt):
    """`-o -` writes exactly the bytes `-o out.FMT` writes, on stdout and nothing else (JSON lines
    unless --format csv); the summary stays on stderr and the exit code counts the bad row."""
    from matcher import cli

    rows = [*candidates(5), {"id": "empty", "text": ""}, *candidates(9)[5:]]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    named = tmp_path / f"out.{fmt}"
    assert cli.main(["score", str(src), "-o", str(named), "--chunk-size", "4", "--top-k", "2"]) == 1
    capsysbinary.readouterr()
    to_stdout = ["score", str(src), "-o", "-", "--chunk-size", "4", "--top-k", "2"]
    assert cli.main([*to_stdout, *(["--format", "csv"] if fmt == "csv" else [])]) == 1
    out, err = capsysbinary.readouterr()
    assert out == named.read_bytes()
    if fmt == "jsonl":
        docs = [json.loads(line) for line in out.decode().splitlines()]
        assert [d["id"] for d in docs] == [r["id"] for r in rows]  # one line per input row, in order
        assert docs[5]["error"]["code"] == "empty_input" and len(docs[0]["results"]) == 2
    else:
        table = list(csv.DictReader(io.StringIO(out.decode())))
        assert [(t["id"], t["rank"]) for t in table[:2]] == [("c000", "1"), ("c000", "2")]
        assert table[10]["id"] == "empty" and table[10]["error"].startswith("empty_input:")
        assert len(table) == 2 * 9 + 1
    assert err.decode().startswith("score: 10 candidates: 9 scored, 1 failed (error rows in standard output)")


def test_role_view_to_stdout(fake_engine_for_cli, tmp_path, capsysbinary):
    """--role to stdout: the sorted shortlist, written once at the end, as a named OUTPUT gets it."""
    from matcher import cli

    src = write_jsonl(tmp_path / "in.jsonl", candidates(7))
    assert cli.main(["score", str(src), "-o", str(tmp_path / "ref.csv"), "--role", "ml-pm", "-q"]) == 0
    before = sorted(tmp_path.iterdir())
    assert cli.main(["score", str(src), "-o", "-", "--format", "csv", "--role", "ml-pm", "-q"]) == 0
    out, err = capsysbinary.readouterr()
    assert out == (tmp_path / "ref.csv").read_bytes() and err == b""
    assert sorted(tmp_path.iterdir()) == before  # sorted in memory: no .partial file


def test_stdout_run_writes_nothing_to_disk(settings, tmp_path, monkeypatch):
    """`-o -` keeps the rows off the disk (they quote résumés), and stray prints go to stderr, not into
    the rows."""
    from matcher import cli
    from matcher.batch import job as batch
    from tests.fakes import FakeEngine

    class ChattyEngine(FakeEngine):
        def map(self, chunks, top_k):
            print("a library says hello")  # as libraries do while a model loads
            yield from super().map(chunks, top_k)

    monkeypatch.setattr(batch, "_make_engine", lambda options, s, m: ChattyEngine())
    (tmp_path / "tmp").mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    monkeypatch.chdir(tmp_path / "tmp")
    src = write_jsonl(tmp_path / "in.jsonl", candidates(3))
    args = cli.build_parser().parse_args(["score", str(src), "-o", "-"])
    out, err = io.BytesIO(), io.StringIO()
    assert run_from_args(args, stderr=err, stdout=out) == 0
    assert [json.loads(line)["id"] for line in out.getvalue().splitlines()] == ["c000", "c001", "c002"]
    assert "a library says hello" in err.getvalue()
    assert list((tmp_path / "tmp").iterdir()) == [] and sorted(p.name for p in tmp_path.iterdir()) == \
        ["in.jsonl", "tmp"]


def test_stdout_rows_stream_chunk_by_chunk_and_a_reader_that_leaves_stops_the_job(tmp_path, monkeypatch):
    from matcher import cli
    from matcher.batch import job as batch
    from tests.fakes import FakeEngine

    engine = FakeEngine()
    monkeypatch.setattr(batch, "_make_engine", lambda options, s, m: engine)
    src = write_jsonl(tmp_path / "in.jsonl", candidates(10))
    args = cli.build_parser().parse_args(["score", str(src), "-o", "-", "--chunk-size", "3", "-q"])

    class Recorder(io.BytesIO):
        """Notes how many complete rows had been written at each flush."""

        def __init__(self):
            super().__init__()
            self.flushed = []

        def flush(self):
            self.flushed.append(self.getvalue().count(b"\n"))

    out = Recorder()
    assert run_from_args(args, stderr=io.StringIO(), stdout=out) == 0
    assert out.flushed == [3, 6, 9, 10]  # each chunk reaches the reader as soon as it is scored

    class GoneReader(io.BytesIO):
        def write(self, data):
            raise BrokenPipeError(32, "Broken pipe")

    engine.chunks.clear()
    with pytest.raises(BrokenPipeError):
        run_from_args(args, stderr=io.StringIO(), stdout=GoneReader())
    assert len(engine.chunks) == 1  # nobody reads: no more chunks are scored


def test_progress_bar_and_quiet(matcher, settings, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", candidates(5))
    _, err = score(matcher, settings, src, tmp_path / "a.jsonl", progress=True, chunk_size=2)
    assert "5/5" in err and "cand/s" in err
    _, err = score(matcher, settings, src, tmp_path / "b.jsonl", quiet=True)
    assert err == ""


def test_same_input_same_bytes(matcher, settings, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", candidates(9))
    score(matcher, settings, src, tmp_path / "a.csv", chunk_size=4)
    score(matcher, settings, src, tmp_path / "b.csv", chunk_size=4)
    assert (tmp_path / "a.csv").read_bytes() == (tmp_path / "b.csv").read_bytes()


# -- --role ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_role_view_sorted_best_first_with_evidence(matcher, settings, tmp_path, fmt):
    rows = [*candidates(8), {"id": "broken", "text": ""}]
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    out = tmp_path / f"shortlist.{fmt}"
    summary, _ = score(matcher, settings, src, out, role="platform-pm", chunk_size=3)
    assert not partial_path(out).exists()
    expected = {}
    for r in rows[:-1]:
        doc = matcher.match(r["text"], top_k=len(matcher.catalog.roles)).to_dict()
        expected[r["id"]] = (next(x for x in doc["results"] if x["role_id"] == "platform-pm"), doc["best_fit"])
    order = sorted(expected, key=lambda i: -expected[i][0]["score"])  # stable: ties keep input order
    if fmt == "jsonl":
        got = read_jsonl(out)
        assert [g["id"] for g in got] == [*order, "broken"]
        assert [g.get("rank") for g in got] == [*range(1, 9), None]
        first = got[0]
        assert first == {"id": order[0], "rank": 1, **expected[order[0]][0], "best_fit": expected[order[0]][1]}
        assert first["evidence"]
        assert all(ev["role_statement"] for ev in first["evidence"])
        assert got[-1]["error"]["code"] == "empty_input"
    else:
        got = read_csv(out)
        assert list(got[0]) == ["id", "rank", "role_id", "title", "score", "best_fit", "evidence", "error"]
        assert [g["id"] for g in got] == [*order, "broken"]
        assert [g["score"] for g in got[:-1]] == [f"{expected[i][0]['score']:.4f}" for i in order]
        assert {g["role_id"] for g in got[:-1]} == {"platform-pm"}
        if expected[order[0]][0]["evidence"]:
            assert expected[order[0]][0]["evidence"][0]["resume_passage"] in got[0]["evidence"]
        assert got[-1]["error"].startswith("empty_input:")
    assert (summary.failed, summary.exit_code) == (1, 1)


def test_role_and_top_k_together_is_refused(matcher, settings, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", candidates(1))
    with pytest.raises(BatchError, match="--top-k does not apply with --role"):
        score(matcher, settings, src, tmp_path / "out.jsonl", role="platform-pm", top_k=2)


# -- nothing lost: overwrite, resume ---------------------------------------------------------------


def test_refuses_to_overwrite_unless_asked(matcher, settings, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", candidates(2))
    out = tmp_path / "out.jsonl"
    out.write_text("precious\n")
    with pytest.raises(BatchError, match="exists and is not empty"):
        score(matcher, settings, src, out)
    assert out.read_text() == "precious\n"
    score(matcher, settings, src, out, overwrite=True)
    assert [o["id"] for o in read_jsonl(out)] == ["c000", "c001"]


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
@pytest.mark.parametrize("cut", ["torn_line", "line_boundary", "chunk_boundary", "complete"])
def test_resume_after_a_cut_equals_an_uninterrupted_run(matcher, settings, fake_embedder, tmp_path, fmt, cut):
    rows = candidates(11)
    rows[4] = {"id": "c004", "text": ""}  # an error row inside the resumed part
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    full = tmp_path / f"full.{fmt}"
    score(matcher, settings, src, full, chunk_size=4, top_k=3)
    data = full.read_bytes()
    after = candidate_ends(data, fmt)  # after[k]: byte offset just after the k-th candidate's last row
    if cut == "torn_line":  # killed in the middle of a write
        kept = data[:after[6] + 17]
    elif cut == "line_boundary":  # CSV: the 6th candidate has 1 of its 3 rows
        kept = data[:data.index(b"\n", after[5]) + 1]
    elif cut == "chunk_boundary":  # exactly the first chunk of 4
        kept = data[:after[4]]
    else:
        kept = data
    part = tmp_path / f"part.{fmt}"
    part.write_bytes(kept)
    fake_embedder.calls.clear()
    summary, _ = score(matcher, settings, src, part, chunk_size=4, top_k=3, resume=True)
    assert part.read_bytes() == data
    assert summary.total == 11 and summary.failed == 1 and summary.exit_code == 1
    if cut == "complete":
        assert summary.skipped == 11 and fake_embedder.calls == []
    elif cut == "chunk_boundary":
        assert summary.skipped == 4 and len(fake_embedder.calls) == 2  # nothing redone


def candidate_ends(data: bytes, fmt: str) -> dict[int, int]:
    ends, count, offset = {0: 0}, 0, 0
    lines = data.splitlines(keepends=True)
    if fmt == "csv":
        offset = len(lines[0])
        ends[0] = offset
        lines = lines[1:]
    for line in lines:
        offset += len(line)
        if fmt == "jsonl" or line.split(b",")[1] in (b"", b"1"):
            count += 1
        ends[count] = offset
    return ends


def test_resume_refuses_an_output_from_another_input(matcher, settings, tmp_path):
    src = write_jsonl(tmp_path / "in.jsonl", candidates(6))
    out = tmp_path / "out.jsonl"
    score(matcher, settings, src, out, chunk_size=2)
    other = write_jsonl(tmp_path / "other.jsonl", [{"id": "zz", "text": TEXTS[0]}, *candidates(6)])
    with pytest.raises(BatchError, match=r"candidate 1 is 'c000' in .* but 'zz' in INPUT"):
        score(matcher, settings, other, out, chunk_size=2, resume=True)
    short = write_jsonl(tmp_path / "short.jsonl", candidates(3))
    with pytest.raises(BatchError, match="holds more candidates"):
        score(matcher, settings, short, out, chunk_size=2, resume=True)


def test_resume_with_another_chunk_size_is_refused(matcher, settings, tmp_path, monkeypatch):
    src = write_jsonl(tmp_path / "in.jsonl", candidates(9))
    out = tmp_path / "out.jsonl"
    real_map = LocalEngine.map

    def dying_map(self, work, top_k):  # the job dies after its first chunk is written
        for i, item in enumerate(real_map(self, work, top_k)):
            if i == 1:
                raise Crash()
            yield item

    monkeypatch.setattr(LocalEngine, "map", dying_map)
    with pytest.raises(Crash):
        score(matcher, settings, src, out, chunk_size=4)
    monkeypatch.undo()
    assert out.stat().st_size > 0 and job_path(out).exists()
    with pytest.raises(BatchError, match="written with --chunk-size 4, not 3"):
        score(matcher, settings, src, out, chunk_size=3, resume=True)
    summary, _ = score(matcher, settings, src, out, chunk_size=4, resume=True)
    assert summary.skipped == 4 and summary.new == 5
    assert not job_path(out).exists()  # a finished run leaves only its OUTPUT


class Crash(Exception):
    pass


def test_role_run_interrupted_then_resumed(matcher, settings, tmp_path):
    """--role writes rows to OUTPUT.partial as it goes and OUTPUT (sorted) at the end."""
    from matcher.batch import LocalEngine

    class Dies(LocalEngine):
        def map(self, chunks, top_k):
            for i, item in enumerate(super().map(chunks, top_k)):
                if i == 2:
                    raise Crash
                yield item

    src = write_jsonl(tmp_path / "in.jsonl", candidates(10))
    ref = tmp_path / "ref.csv"
    score(matcher, settings, src, ref, role="ai-pm", chunk_size=3)
    out = tmp_path / "out.csv"
    with pytest.raises(Crash):
        run(BatchOptions(str(src), out, role="ai-pm", chunk_size=3), settings, engine=Dies(matcher),
            matcher=matcher, stderr=io.StringIO())
    assert not out.exists() and len(partial_path(out).read_text().splitlines()) == 6
    with pytest.raises(BatchError, match="exists and is not empty"):
        score(matcher, settings, src, out, role="ai-pm", chunk_size=3)
    summary, _ = score(matcher, settings, src, out, role="ai-pm", chunk_size=3, resume=True)
    assert summary.skipped == 6 and out.read_bytes() == ref.read_bytes() and not partial_path(out).exists()
    summary, err = score(matcher, settings, src, out, role="ai-pm", chunk_size=3, resume=True)
    assert "nothing to resume" in err and out.read_bytes() == ref.read_bytes()
    assert (summary.total, summary.new, summary.failed) == (10, 0, 0)


def test_missing_ray_is_one_clear_line(monkeypatch):
    from matcher.batch.ray_engine import import_ray

    monkeypatch.setitem(sys.modules, "ray", None)
    with pytest.raises(MatcherError, match=r"pip install 'role-matcher\[ray\]'"):
        import_ray()


# -- the real thing: SIGKILL a running job, resume it ----------------------------------------------


@pytest.mark.model
def test_sigkill_then_resume_equals_an_uninterrupted_run(real_embedder, tmp_path):
    """Kill ``scripts/score.py`` (real model) after some chunks are written, tear its last line as a
    kill during a write would, resume: the file equals an uninterrupted in-process run's, byte for byte."""
    from matcher.settings import Settings

    texts = [json.loads(line)["text"] for line in (ROOT / "eval" / "dev.jsonl").read_text().splitlines()]
    rows = [{"id": f"p{i:02d}", "text": texts[i]} for i in range(20)]
    rows[9] = {"id": "p09", "text": ""}
    src = write_jsonl(tmp_path / "in.jsonl", rows)
    env = {**os.environ, "MATCHER_INDEX_DIR": str(tmp_path / "index"), "MATCHER_BACKEND": "torch",
           "HF_HUB_OFFLINE": "1"}
    out = tmp_path / "out.jsonl"
    cmd = [sys.executable, str(ROOT / "scripts" / "score.py"), str(src), "-o", str(out), "--chunk-size", "2"]
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 4:
            break
        time.sleep(0.02)
    assert proc.poll() is None, f"the job ended before it could be killed: {proc.stderr.read().decode()[-500:]}"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    proc.stderr.close()
    written = out.read_bytes().count(b"\n")
    assert 4 <= written < 20
    with open(out, "ab") as f:
        f.write(b'{"id": "p99", "best_fit": "ai-p')  # a torn line, as a kill mid-write leaves
    resumed = subprocess.run([*cmd, "--resume"], env=env, cwd=ROOT, capture_output=True, timeout=300)
    assert resumed.returncode == 1, resumed.stderr.decode()  # one bad row (p09)
    summary = resumed.stderr.decode().strip().splitlines()[-1]
    assert summary.startswith("score: 20 candidates (") and "1 failed" in summary, summary

    # The uninterrupted run, in this process, on the index the subprocesses built.
    settings = replace(Settings(), scorer="similarity",
                       corpus_dir=ROOT / "corpus", index_dir=tmp_path / "index", backend="torch")
    ref = tmp_path / "ref.jsonl"
    run(BatchOptions(str(src), ref, chunk_size=2), settings, matcher=Matcher.load(settings, embedder=real_embedder),
        stderr=io.StringIO())
    assert [o["id"] for o in read_jsonl(out)] == [r["id"] for r in rows]
    assert out.read_bytes() == ref.read_bytes()


# -- the engine seam, without the model --------------------------------------------------------------


def test_a_job_runs_on_a_fake_engine_without_the_model(settings, tmp_path):
    """Typed work items in, documents out, rows in input order; nothing loads a model."""
    from matcher.batch import WorkItem
    from tests.fakes import FakeEngine

    src = write_jsonl(tmp_path / "in.jsonl", [*candidates(5), {"id": "no-text"}, "{not json"])
    engine = FakeEngine()
    summary = run(BatchOptions(str(src), tmp_path / "out.csv", chunk_size=3), settings, engine=engine,
                  stderr=io.StringIO())
    assert (summary.total, summary.failed) == (7, 2)
    assert [len(chunk) for chunk in engine.chunks] == [3, 3, 1]
    items = [item for chunk in engine.chunks for item in chunk]
    assert items and all(isinstance(item, WorkItem) for item in items)
    assert [item.text for item in items[:5]] == [c["text"] for c in candidates(5)]
    assert [item.error.code for item in items[5:]] == ["missing_text", "bad_json"]
    rows = read_csv(tmp_path / "out.csv")
    assert [r["id"] for r in rows] == ["c000", "c001", "c002", "c003", "c004", "no-text", ""]


def test_a_fake_engine_gets_files_as_bytes(settings, tmp_path):
    from tests.fakes import FakeEngine

    folder = tmp_path / "cvs"
    (folder / "team").mkdir(parents=True)
    (folder / "a.txt").write_text(TEXTS[0], encoding="utf-8")
    (folder / "team" / "b.md").write_text(TEXTS[1], encoding="utf-8")
    engine = FakeEngine()
    run(BatchOptions(str(folder), tmp_path / "out.jsonl"), settings, engine=engine, stderr=io.StringIO())
    items = [item for chunk in engine.chunks for item in chunk]
    assert [(item.name, item.content) for item in items] == [("a.txt", TEXTS[0].encode()),
                                                              ("b.md", TEXTS[1].encode())]
    assert [o["id"] for o in read_jsonl(tmp_path / "out.jsonl")] == ["a.txt", "team/b.md"]


def test_top_k_out_of_range_stops_the_job_before_it_starts(settings, tmp_path):
    from matcher.errors import InputError
    from tests.fakes import FakeEngine

    src = write_jsonl(tmp_path / "in.jsonl", candidates(2))
    for bad in (0, settings.max_top_k + 1):
        with pytest.raises(InputError, match="top_k"):
            run(BatchOptions(str(src), tmp_path / "out.jsonl", top_k=bad), settings, engine=FakeEngine())
    assert not (tmp_path / "out.jsonl").exists()
