"""The output of a batch job: JSONL or CSV rows, appended a chunk at a time, and the sorted ``--role`` file.

* ``.jsonl``: one line per candidate, ``{"id": ..., **the result document}`` or ``{"id", "error"}``.
* ``.csv``: one row per candidate × role (``CSV_HEADER``); an error is one row with only id and error.
* ``--role``: rows go to ``OUTPUT.partial`` as JSON lines while the job runs; :func:`write_role_output`
  sorts them by the role's score and writes OUTPUT once, at the end.
* ``-o -`` (standard output): rows go to the stream chunk by chunk (:class:`StreamSink`); a ``--role``
  run holds them in memory and writes them sorted at the end (:func:`write_role_rows`).
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

from ..errors import BatchError, error_body
from ..files import atomic_file
from .records import file_format

OUTPUT_FORMATS = ("jsonl", "csv")
CSV_HEADER = ["id", "rank", "role_id", "title", "score", "best_fit", "error"]
ROLE_CSV_HEADER = ["id", "rank", "role_id", "title", "score", "best_fit", "evidence", "error"]
ROLE_EVIDENCE_IN_CSV = 3


def output_format(path: Path) -> str:
    """``jsonl`` or ``csv`` from OUTPUT's extension."""
    fmt = file_format(path)
    if fmt is not None:
        return fmt
    raise BatchError(f"OUTPUT must end in .jsonl or .csv (got {path.name!r})")


def dumps(obj: dict) -> str:
    """JSON with the text as it is (no ``\\u`` escapes)."""
    return json.dumps(obj, ensure_ascii=False)


def line_bytes(obj: dict) -> bytes:
    """One JSON line; résumé text that was not valid UTF-8 goes out as the bytes it came in as."""
    return (dumps(obj) + "\n").encode("utf-8", errors="surrogateescape")


def csv_bytes(rows: list[list]) -> bytes:
    """CSV rows as the bytes appended to OUTPUT."""
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8", errors="surrogateescape")


def _fmt_score(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def id_cell(id_: Any) -> str:
    """An id as it stands in a CSV cell (and in a resume check): ``""`` for none."""
    return "" if id_ is None else str(id_)


def _error_cell(doc: dict) -> str:
    return f"{doc['error']['code']}: {doc['error']['message']}"


def jsonl_rows(id_: Any, doc: dict) -> bytes:
    """One candidate's JSONL row: its id, then the result document or the error."""
    return line_bytes({"id": id_, **doc})


def csv_rows(id_: Any, doc: dict) -> bytes:
    """One candidate's CSV rows: one per role, ranked, or one error row."""
    if "error" in doc:
        return csv_bytes([[id_cell(id_), "", "", "", "", "", _error_cell(doc)]])
    best = doc.get("best_fit") or ""
    return csv_bytes([[id_cell(id_), rank, r["role_id"], r["title"], _fmt_score(r["score"]), best, ""]
                      for rank, r in enumerate(doc["results"], 1)])


def role_row(id_: Any, doc: dict, role: str) -> dict:
    """The recruiter's view of one candidate for one role (before ranking)."""
    if "error" in doc:
        return {"id": id_, **doc}
    for r in doc["results"]:
        if r["role_id"] == role:
            return {"id": id_, **r, "best_fit": doc.get("best_fit")}
    return {"id": id_, **error_body("role_not_scored", f"role {role!r} was not among the roles scored for this "
                                    "candidate (large catalogs pre-select roles per résumé)")}


def _role_evidence_cell(row: dict) -> str:
    return " | ".join(f"{ev['resume_passage']} ↔ {ev['role_statement']} ({ev['similarity']:.2f})"
                      for ev in row.get("evidence", [])[:ROLE_EVIDENCE_IN_CSV])


def complete_lines(f: IO[bytes], start: int = 0) -> Iterator[tuple[bytes, int]]:
    """``(line, end offset)`` for every newline-terminated line; a torn last line is left out."""
    f.seek(start)
    offset = start
    for raw in f:
        if not raw.endswith(b"\n"):
            return
        offset += len(raw)
        yield raw, offset


def _role_order(f: IO[bytes]) -> list[tuple[int, float, int, int, int]]:
    """``(is error, -score, input position, start, end)`` per row of the partial rows, sorted."""
    keys: list[tuple[int, float, int, int, int]] = []
    start = 0
    for pos, (raw, end) in enumerate(complete_lines(f)):
        row = json.loads(raw)
        if "error" in row:
            keys.append((1, 0.0, pos, start, end))
        else:
            keys.append((0, -row["score"], pos, start, end))
        start = end
    return sorted(keys)


def write_role_output(partial: Path, output: Path, out_format: str) -> None:
    """Sort the partial rows by the role's score and write OUTPUT in one go (a temporary file renamed
    over it); see :func:`write_role_rows`."""
    with open(partial, "rb") as src, atomic_file(output, mode=0o644) as dst:
        write_role_rows(src, dst, out_format)


def write_role_rows(src: IO[bytes], dst: IO[bytes], out_format: str) -> None:
    """The partial rows of a --role run (JSON lines in ``src``, seekable), sorted by the role's score
    (best first; ties and error rows keep input order), written to ``dst`` as JSONL or CSV."""
    keys = _role_order(src)
    if out_format == "csv":
        dst.write(csv_bytes([ROLE_CSV_HEADER]))
    for rank, (is_error, _, _, start, end) in enumerate(keys, 1):
        src.seek(start)
        row = json.loads(src.read(end - start))
        if out_format == "csv":
            if is_error:
                cells = [id_cell(row["id"]), "", "", "", "", "", "", _error_cell(row)]
            else:
                cells = [id_cell(row["id"]), rank, row["role_id"], row["title"], _fmt_score(row["score"]),
                         row.get("best_fit") or "", _role_evidence_cell(row), ""]
            dst.write(csv_bytes([cells]))
        else:
            ranked = row if is_error else {"id": row.pop("id"), "rank": rank, **row}
            dst.write(line_bytes(ranked))


def count_role_output(path: Path, out_format: str) -> tuple[int, int]:
    """(candidates, error rows) in a finished --role OUTPUT."""
    total = failed = 0
    with open(path, "rb") as f:
        if out_format == "csv":
            reader = csv.reader(line.decode("utf-8", errors="surrogateescape") for line in f)
            next(reader, None)
            for row in reader:
                total += 1
                failed += bool(row and row[-1])
        else:
            for raw, _ in complete_lines(f):
                total += 1
                failed += "error" in json.loads(raw)
    return total, failed


class Appender:
    """Append bytes to a file with one ``write`` per chunk; nothing is buffered in this process."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, data: bytes) -> None:
        """Append ``data`` with as few ``write`` calls as the OS allows."""
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self) -> None:
        """Flush to disk and close."""
        os.fsync(self.fd)
        os.close(self.fd)


class StreamSink:
    """Rows to a stream (``matcher score -o -``): each chunk written and flushed at once, so a reader
    downstream sees rows as they are scored; nothing touches the disk."""

    def __init__(self, out: IO[bytes]) -> None:
        self.out = out

    def write(self, data: bytes) -> None:
        """Write ``data`` and flush."""
        self.out.write(data)
        self.out.flush()
