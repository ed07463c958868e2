"""Batch scoring: many candidates from a JSONL file, a CSV file or a folder of résumés, scored in
chunks and streamed to a JSONL or CSV file (``matcher score`` and ``scripts/score.py``).

The shape of a run:

* The input is read lazily, one record at a time; records are grouped into chunks of
  ``chunk_size`` by their *position* in the input, so a chunk always holds the same candidates
  whether the run was interrupted or not, local or on Ray (the model's float rounding depends a
  little on which passages share a batch; identical chunks give identical bytes).
* An engine scores a chunk with one :meth:`Matcher.match_many` call (one model call for all the
  chunk's passages): :class:`LocalEngine` here, ``matcher.batch_ray.RayEngine`` on a Ray cluster.
* Each chunk's rows are appended to OUTPUT with one ``write`` as soon as the chunk is scored, in
  input order. ``--resume`` reads OUTPUT back, checks it is a prefix of this input (id by id), drops
  a torn tail, and carries on. With ``--role`` rows go to ``OUTPUT.partial`` (same rules) and OUTPUT
  is written once, sorted by that role's score, when every candidate is scored.
* A bad row becomes an error row; the exit code is 1 when any row failed, 2 when the run could not
  start (bad options, unreadable INPUT, OUTPUT in the way).

Résumé text is never logged: messages name the row (line number, id or file), never its content.
"""

from __future__ import annotations

import argparse
import csv
import io
import itertools
import json
import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from ..errors import MatcherError, UnknownRole
from ..settings import Settings

CHUNK_SIZE = 64
CSV_HEADER = ["id", "rank", "role_id", "title", "score", "best_fit", "error"]
ROLE_CSV_HEADER = ["id", "rank", "role_id", "title", "score", "best_fit", "evidence", "error"]
FILE_SUFFIXES = (".txt", ".md", ".markdown", ".text", ".pdf", ".docx")
ROLE_EVIDENCE_IN_CSV = 3


class BatchError(MatcherError):
    """The batch job cannot start or cannot go on (not a problem with one row)."""

    code = "batch_error"


# -- input records ---------------------------------------------------------------------------------


@dataclass
class Record:
    """One candidate of the input: its id and its text (or file), or why it cannot be scored."""

    pos: int  # 0-based position among the input's records
    id: Any  # as given (str or int); None when missing or unusable
    where: str  # "line 7", "a/b.pdf": names the row in messages without quoting its content
    text: str | None = None
    path: Path | None = None  # a résumé file, read only when its chunk is scored
    error: tuple[str, str] | None = None  # (code, message)
    max_bytes: int = 0

    @property
    def key(self) -> str:
        return "" if self.id is None else str(self.id)

    def work(self) -> tuple:
        """What an engine scores: ``("text", str)``, ``("file", bytes, name)`` or ``("error", code, msg)``."""
        if self.error:
            return ("error", *self.error)
        if self.path is None:
            return ("text", self.text)
        try:
            size = self.path.stat().st_size
            if self.max_bytes and size > self.max_bytes:
                return ("error", "too_large", f"{self.where} is {size:,} bytes; the limit is {self.max_bytes:,} "
                        "(set MATCHER_MAX_UPLOAD_BYTES to change it)")
            return ("file", self.path.read_bytes(), self.path.name)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return ("error", "unreadable_file", f"{self.where} could not be read ({reason})")


def _bad(pos: int, where: str, code: str, message: str, id_: Any = None) -> Record:
    return Record(pos, id_, where, error=(code, message))


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _check_id(value: Any, where: str) -> tuple[str, str] | None:
    if value is None or value == "":
        return ("missing_id", f"{where}: missing 'id'; every row needs a unique id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return ("bad_id", f"{where}: 'id' must be a string or an integer, got {_json_type(value)}")
    return None


def _text_field_error(value: Any, where: str, column: str) -> tuple[str, str] | None:
    if value is None:
        return ("missing_text", f"{where}: no '{column}' field")
    if not isinstance(value, str):
        return ("bad_text", f"{where}: '{column}' must be a string, got {_json_type(value)}")
    return None


def _lines(stream: IO[bytes], limit: int) -> Iterator[tuple[int, bytes | None]]:
    """``(line number, bytes)`` for each line; ``None`` for a line longer than ``limit`` (skipped)."""
    number = 0
    while True:
        raw = stream.readline(limit + 1)
        if not raw:
            return
        number += 1
        if len(raw) > limit and not raw.endswith(b"\n"):
            while True:  # drain the rest of the overlong line without keeping it
                more = stream.readline(1 << 20)
                if not more or more.endswith(b"\n"):
                    break
            yield number, None
            continue
        yield number, raw


def read_jsonl(stream: IO[bytes], *, id_field: str = "id", text_field: str = "text",
               max_line_bytes: int = 1 << 20) -> Iterator[Record]:
    """Records from JSON lines ``{"id": ..., "text": ...}``; blank lines are skipped."""
    pos = 0
    for number, raw in _lines(stream, max_line_bytes):
        where = f"line {number}"
        if raw is not None and not raw.strip():
            continue
        if raw is None:
            yield _bad(pos, where, "too_large", f"{where} is longer than {max_line_bytes:,} bytes")
        else:
            yield _jsonl_record(pos, where, raw, id_field, text_field)
        pos += 1


def _jsonl_record(pos: int, where: str, raw: bytes, id_field: str, text_field: str) -> Record:
    try:
        line = raw.decode("utf-8-sig" if pos == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        return _bad(pos, where, "bad_encoding", f"{where} is not valid UTF-8 (bad byte at position {exc.start})")
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return _bad(pos, where, "bad_json", f"{where} is not valid JSON ({exc.msg} at column {exc.colno})")
    if not isinstance(obj, dict):
        shape = f'{{"{id_field}": ..., "{text_field}": ...}}'
        return _bad(pos, where, "bad_json", f"{where}: expected an object like {shape}, got {_json_type(obj)}")
    id_ = obj.get(id_field)
    problem = _check_id(id_, where)
    if problem:
        return _bad(pos, where, *problem)
    problem = _text_field_error(obj.get(text_field), where, text_field)
    if problem:
        return _bad(pos, where, *problem, id_=id_)
    return Record(pos, id_, where, text=obj[text_field])


def _decoded_lines(stream: IO[bytes], state: dict) -> Iterator[str]:
    """Lines for the csv module, decoded with surrogateescape so a bad byte spoils one row, not the file."""
    for number, raw in enumerate(stream, 1):
        state["line"] = number
        yield raw.decode("utf-8-sig" if number == 1 else "utf-8", errors="surrogateescape")


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in value)


def read_csv(stream: IO[bytes], *, id_column: str = "id", text_column: str = "text") -> Iterator[Record]:
    """Records from a CSV file with a header row; the id and text columns are chosen by name."""
    csv.field_size_limit(1 << 30)  # long résumés are refused by the size check, with a clear message
    state = {"line": 0}
    reader = csv.reader(_decoded_lines(stream, state))
    try:
        header = next(reader)
    except StopIteration:
        raise BatchError("the CSV input is empty (it needs a header row naming the id and text columns)") from None
    except csv.Error as exc:
        raise BatchError(f"the CSV input's header row cannot be read ({exc})") from None
    names = [h.strip() for h in header]
    missing = [c for c in (id_column, text_column) if c not in names]
    if missing:
        raise BatchError(f"the CSV input has no {' or '.join(repr(m) for m in missing)} column (columns: "
                         f"{', '.join(repr(n) for n in names) or 'none'}); choose them with --id-column/--text-column")
    id_at, text_at = names.index(id_column), names.index(text_column)
    pos = 0
    while True:
        start = state["line"] + 1
        where = f"line {start}"
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _bad(pos, where, "bad_csv", f"{where} is not valid CSV ({exc})")
            pos += 1
            continue
        if not row or all(not cell.strip() for cell in row):
            continue
        if any(_has_surrogates(cell) for cell in row):
            yield _bad(pos, where, "bad_encoding", f"{where} is not valid UTF-8; save the file as UTF-8")
        else:
            id_ = row[id_at] if id_at < len(row) else None
            problem = _check_id(id_, where)
            text = row[text_at] if text_at < len(row) else None
            if not problem:
                problem = _text_field_error(text, where, text_column)
            yield _bad(pos, where, *problem, id_=None if problem[0] in ("missing_id", "bad_id") else id_) \
                if problem else Record(pos, id_, where, text=text)
        pos += 1


def _walk(root: Path, rel: str = "") -> Iterator[tuple[str, Path]]:
    try:
        entries = sorted(os.scandir(root / rel if rel else root), key=lambda e: e.name)
    except OSError as exc:
        raise BatchError(f"cannot list {root / rel}: {exc.strerror}") from None
    for entry in entries:
        if entry.name.startswith("."):
            continue
        name = f"{rel}/{entry.name}" if rel else entry.name
        if entry.is_dir(follow_symlinks=False):
            yield from _walk(root, name)
        elif entry.is_file() and entry.name.lower().endswith(FILE_SUFFIXES):
            yield name, Path(entry.path)


def read_dir(root: Path, *, max_bytes: int = 0) -> Iterator[Record]:
    """One record per résumé file (.txt, .md, .pdf, .docx) under ``root``, in sorted path order; the id
    is the path relative to ``root``. Files are read when their chunk is scored."""
    for pos, (name, path) in enumerate(_walk(root)):
        yield Record(pos, name, name, path=path, max_bytes=max_bytes)


def dedupe(records: Iterable[Record]) -> Iterator[Record]:
    """Mark the second and later rows with an id already seen as errors (the first one is scored)."""
    seen: dict[str, str] = {}
    for rec in records:
        if rec.id is not None:
            first = seen.get(rec.key)
            if first is not None:
                rec = Record(rec.pos, rec.id, rec.where, error=(
                    "duplicate_id", f"{rec.where}: duplicate id {rec.key!r} (first used on {first}); not scored"))
            else:
                seen[rec.key] = rec.where
        yield rec


def input_kind(source: str) -> str:
    """``jsonl``, ``csv`` or ``dir`` for an INPUT argument (``-`` is JSONL on stdin)."""
    if source == "-":
        return "jsonl"
    path = Path(source)
    if path.is_dir():
        return "dir"
    if not path.exists():
        raise BatchError(f"no such file or folder: {source}")
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise BatchError(f"cannot tell the format of {source}: INPUT must be a .jsonl or .csv file, a folder of "
                     "résumés, or - for JSON lines on standard input")


def output_format(path: Path) -> str:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    raise BatchError(f"OUTPUT must end in .jsonl or .csv (got {path.name!r})")


def open_records(source: str, *, settings: Settings, id_column: str = "id", text_column: str = "text",
                 stdin: IO[bytes] | None = None) -> Iterator[Record]:
    """The lazy record stream for INPUT, duplicates marked."""
    kind = input_kind(source)
    if kind == "dir":
        return dedupe(read_dir(Path(source), max_bytes=settings.max_upload_bytes))

    def gen() -> Iterator[Record]:
        stream = stdin if source == "-" else open(source, "rb")  # noqa: SIM115 (closed below)
        if stream is None:
            stream = sys.stdin.buffer
        try:
            if kind == "csv":
                yield from read_csv(stream, id_column=id_column, text_column=text_column)
            else:
                yield from read_jsonl(stream, id_field=id_column, text_field=text_column,
                                      max_line_bytes=settings.max_text_chars * 6 + 65536)
        finally:
            if source != "-":
                stream.close()

    return dedupe(gen())


def count_records(source: str, *, id_column: str = "id", text_column: str = "text") -> int | None:
    """How many records INPUT holds (a cheap pass for the progress bar); ``None`` for stdin."""
    kind = input_kind(source)
    if source == "-":
        return None
    if kind == "dir":
        return sum(1 for _ in _walk(Path(source)))
    with open(source, "rb") as f:
        if kind == "jsonl":
            return sum(1 for line in f if line.strip())
        reader = csv.reader(line.decode("utf-8", errors="replace") for line in f)
        try:
            next(reader)
            return sum(1 for row in reader if row and any(c.strip() for c in row))
        except (StopIteration, csv.Error):
            return None


# -- scoring (shared by the local engine and the Ray actors) ---------------------------------------


def error_doc(code: str, message: str) -> dict:
    return {"error": {"code": code, "message": message}}


def score_items(matcher, items: list[tuple], top_k: int | None) -> list[dict]:
    """Score one chunk: extract files, then one ``match_many`` call for all the chunk's texts.

    Returns, per item, the core's result document or ``{"error": {"code", "message"}}``.
    """
    from ..extract import extract_text
    from ..result import MatchResult

    out: list[dict | None] = [None] * len(items)
    texts, slots = [], []
    for i, item in enumerate(items):
        if item[0] == "error":
            out[i] = error_doc(item[1], item[2])
            continue
        if item[0] == "text":
            texts.append(item[1])
            slots.append(i)
            continue
        try:
            texts.append(extract_text(item[1], item[2]))
            slots.append(i)
        except MatcherError as exc:
            out[i] = error_doc(exc.code, exc.message)
        except Exception as exc:  # pypdf/python-docx raise many types on broken files
            out[i] = error_doc("unreadable_file", f"{item[2]} could not be read ({type(exc).__name__}); "
                               "export it again or send the text")
    for i, result in zip(slots, _match_many_isolated(matcher, texts, top_k), strict=True):
        out[i] = result.to_dict() if isinstance(result, MatchResult) else error_doc(result.code, result.message)
    return out  # type: ignore[return-value]


def _match_many_isolated(matcher, texts: list[str], top_k: int | None) -> list:
    """``match_many``; if it raises (not a per-row error: a bug or a crash), retry one by one so one
    bad text cannot sink its chunk. If every text fails that way the failure is not the rows': raise."""
    if not texts:
        return []
    try:
        return matcher.match_many(texts, top_k=top_k)  # scoring already runs on one BLAS thread
    except Exception:
        results, crashes = [], 0
        for text in texts:
            try:
                results.append(matcher.match(text, top_k=top_k))
            except MatcherError as exc:
                results.append(exc)
            except Exception as exc:
                crashes += 1
                results.append(MatcherError(f"internal error while scoring this row ({type(exc).__name__}); "
                                            "please report it", code="internal_error"))
        if crashes == len(texts):
            raise
        return results


class LocalEngine:
    """Scores chunks in this process, one after the other."""

    name = "local"

    def __init__(self, matcher) -> None:
        self.matcher = matcher

    def map(self, chunks: Iterable[tuple[Any, list[tuple]]], top_k: int | None) -> Iterator[tuple[Any, list[dict]]]:
        for token, items in chunks:
            yield token, score_items(self.matcher, items, top_k)

    def close(self) -> None:
        pass


# -- output rows -----------------------------------------------------------------------------------


def _dumps(obj: dict) -> str:
    return json.dumps(obj, ensure_ascii=False)


def _csv_bytes(rows: list[list]) -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    return buf.getvalue().encode("utf-8", errors="surrogateescape")


def _fmt_score(value: float | None) -> str:
    return "" if value is None else f"{value:.4f}"


def _id_cell(id_: Any) -> str:
    return "" if id_ is None else str(id_)


def _error_cell(doc: dict) -> str:
    return f"{doc['error']['code']}: {doc['error']['message']}"


def jsonl_rows(id_: Any, doc: dict) -> bytes:
    return (_dumps({"id": id_, **doc}) + "\n").encode("utf-8", errors="surrogateescape")


def csv_rows(id_: Any, doc: dict) -> bytes:
    if "error" in doc:
        return _csv_bytes([[_id_cell(id_), "", "", "", "", "", _error_cell(doc)]])
    best = doc.get("best_fit") or ""
    return _csv_bytes([[_id_cell(id_), rank, r["role_id"], r["title"], _fmt_score(r["score"]), best, ""]
                       for rank, r in enumerate(doc["results"], 1)])


def role_row(id_: Any, doc: dict, role: str) -> dict:
    """The recruiter's view of one candidate for one role (before ranking)."""
    if "error" in doc:
        return {"id": id_, **doc}
    for r in doc["results"]:
        if r["role_id"] == role:
            return {"id": id_, **r, "best_fit": doc.get("best_fit")}
    return {"id": id_, **error_doc("role_not_scored", f"role {role!r} was not among the roles scored for this "
                                   "candidate (large catalogs pre-select roles per résumé)")}


def _role_evidence_cell(row: dict) -> str:
    return " | ".join(f"{ev['resume_passage']} ↔ {ev['role_statement']} ({ev['similarity']:.2f})"
                      for ev in row.get("evidence", [])[:ROLE_EVIDENCE_IN_CSV])


# -- resume ----------------------------------------------------------------------------------------


@dataclass
class Block:
    """One candidate's rows in an existing OUTPUT."""

    key: str
    end: int  # byte offset just after its last row
    rows: int
    error: bool


def _complete_lines(f: IO[bytes], start: int = 0) -> Iterator[tuple[bytes, int]]:
    """``(line, end offset)`` for every newline-terminated line; a torn last line is left out."""
    f.seek(start)
    offset = start
    for raw in f:
        if not raw.endswith(b"\n"):
            return
        offset += len(raw)
        yield raw, offset


def scan_jsonl_output(path: Path) -> Iterator[Block]:
    with open(path, "rb") as f:
        for number, (raw, end) in enumerate(_complete_lines(f), 1):
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict) or "id" not in obj:
                    raise ValueError
            except ValueError:
                raise BatchError(f"{path} line {number} is not a row written by a batch run; cannot resume it "
                                 "(use --overwrite to start again)") from None
            yield Block(_id_cell(obj["id"]), end, 1, "error" in obj)


def scan_csv_output(path: Path, header: list[str]) -> Iterator[Block]:
    with open(path, "rb") as f:
        state = {"end": 0}

        def lines() -> Iterator[str]:
            for raw, end in _complete_lines(f):
                state["end"] = end
                yield raw.decode("utf-8", errors="surrogateescape")

        reader = csv.reader(lines())
        try:
            first = next(reader, None)
            if first is None:
                return
            if first != header:
                raise BatchError(f"{path} does not start with the header {','.join(header)}; cannot resume it "
                                 "(use --overwrite to start again, or the options of the run that wrote it)")
            current: Block | None = None
            for row in reader:
                if len(row) != len(header):
                    raise BatchError(f"{path} line {reader.line_num} is not a row written by a batch run; cannot "
                                     "resume it (use --overwrite to start again)")
                rank = row[1]
                if current is not None and rank not in ("", "1") and row[0] == current.key:
                    current.rows += 1
                    current.end = state["end"]
                    continue
                if current is not None:
                    yield current
                current = Block(row[0], state["end"], 1, rank == "")
            if current is not None:
                yield current
        except csv.Error:
            return  # a torn quoted field at the end


@dataclass
class ResumePlan:
    """What an existing OUTPUT already holds: how many candidates, and where each chunk ends."""

    done: int = 0  # candidates kept (a whole number of chunks, or all of them)
    tail: int = 0  # candidates after the last whole chunk (kept only if the input ends with them)
    offsets: dict[int, int] = field(default_factory=dict)  # candidates -> byte offset after them


def plan_resume(blocks: Iterable[Block], chunk_size: int, header_end: int, csv_format: bool) -> ResumePlan:
    plan = ResumePlan(offsets={0: header_end})
    count, max_rows, last = 0, 0, None
    for block in blocks:
        if last is not None and not last.error:
            max_rows = max(max_rows, last.rows)
        count += 1
        if count % chunk_size == 0:
            plan.offsets[count] = block.end
        last = block
    suspect = csv_format and last is not None and not last.error and last.rows < max_rows
    if suspect:  # the last candidate's rows were cut at a line boundary: redo its whole chunk
        whole = ((count - 1) // chunk_size) * chunk_size
        plan.done, plan.tail = whole, 0
    else:
        whole = (count // chunk_size) * chunk_size
        plan.done, plan.tail = whole, count - whole
    return plan


def _header_end(path: Path, csv_format: bool) -> int:
    if not csv_format:
        return 0
    with open(path, "rb") as f:
        first = f.readline()
    return len(first) if first.endswith(b"\n") else 0


def resume_records(records: Iterator[Record], target: Path, blocks: Iterable[Block], plan: ResumePlan,
                   header_end: int) -> tuple[Iterator[Record], int, int, int]:
    """Skip the candidates OUTPUT already holds, checking their ids in order against INPUT.

    OUTPUT is to be cut back to the last whole chunk when the input goes on past it (a torn tail, or
    the chunk the job was killed in), so that chunk is scored again as a whole. Returns
    ``(remaining records, candidates kept, error rows among them, the size to cut OUTPUT to)``.
    """
    existing = iter(blocks)
    keep = plan.done + plan.tail
    kept_failed = tail_failed = 0
    tail: list[Record] = []
    last_end = header_end
    for i in range(keep):
        rec = next(records, None)
        if rec is None:
            raise BatchError(f"--resume: {target} holds more candidates ({keep}) than INPUT ({i}); it was not "
                             "written from this input (use --overwrite to start again)")
        block = next(existing)
        if block.key != rec.key:
            raise BatchError(f"--resume: candidate {i + 1} is {block.key!r} in {target} but {rec.key!r} in INPUT "
                             f"({rec.where}); resume needs the same input (use --overwrite to start again)")
        last_end = block.end
        if i < plan.done:
            kept_failed += block.error
        else:
            tail.append(rec)
            tail_failed += block.error
    nxt = next(records, None)
    if nxt is None:  # the input ends here: everything is done (drop anything torn after it)
        return iter(()), keep, kept_failed + tail_failed, last_end
    return itertools.chain(tail, [nxt], records), plan.done, kept_failed, plan.offsets[plan.done]


def _truncate(path: Path, size: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(size)


# -- the job ---------------------------------------------------------------------------------------


@dataclass
class BatchOptions:
    input: str
    output: Path
    top_k: int | None = None
    role: str | None = None
    catalog: str | None = None
    id_column: str = "id"
    text_column: str = "text"
    resume: bool = False
    overwrite: bool = False
    quiet: bool = False
    progress: bool | None = None  # None: a bar when stderr is a terminal and not quiet
    engine: str = "local"
    address: str | None = None
    actors: int | None = None
    cpus_per_actor: float = 1.0
    chunk_size: int = CHUNK_SIZE


@dataclass
class Summary:
    skipped: int = 0  # candidates already in OUTPUT, kept (--resume)
    new: int = 0  # candidates written by this run
    failed: int = 0  # error rows in OUTPUT at the end (kept ones included)
    seconds: float = 0.0  # wall time of the whole run
    startup: float = 0.0  # of which: reading OUTPUT back, loading the model or starting Ray

    @property
    def total(self) -> int:
        return self.skipped + self.new

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def partial_path(output: Path) -> Path:
    return output.with_name(output.name + ".partial")


def _nonempty(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


def _chunks(records: Iterator[Record], chunk_size: int) -> Iterator[list[Record]]:
    """Group records by ``pos // chunk_size`` (aligned to the input, whatever was skipped)."""
    chunk: list[Record] = []
    for rec in records:
        if chunk and rec.pos // chunk_size != chunk[0].pos // chunk_size:
            yield chunk
            chunk = []
        chunk.append(rec)
    if chunk:
        yield chunk


class _Appender:
    """Append bytes to a file with one ``write`` per chunk; nothing is buffered in this process."""

    def __init__(self, path: Path) -> None:
        self.fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)

    def write(self, data: bytes) -> None:
        view = memoryview(data)
        while view:
            n = os.write(self.fd, view)
            view = view[n:]

    def close(self) -> None:
        os.fsync(self.fd)
        os.close(self.fd)


def run(options: BatchOptions, settings: Settings | None = None, *, matcher=None, engine=None,
        stdin: IO[bytes] | None = None, stderr: IO[str] | None = None) -> Summary:
    """Run a batch job; row errors are counted in the summary, job errors raise :class:`MatcherError`.

    ``matcher`` (a loaded :class:`Matcher`) or ``engine`` may be passed in (tests, benchmarks);
    otherwise the engine named in ``options`` is started.
    """
    started = time.perf_counter()
    settings = settings or Settings.from_env()
    stderr = stderr or sys.stderr
    out_format = output_format(options.output)
    input_kind(options.input)  # fail fast on a missing or unknown INPUT
    if options.chunk_size < 1:
        raise BatchError("--chunk-size must be at least 1")
    if options.top_k is not None and options.top_k < 1:
        raise BatchError("--top-k must be at least 1")
    if options.role and options.top_k is not None:
        raise BatchError("--top-k does not apply with --role (every candidate is scored for that role)")
    if options.resume and options.overwrite:
        raise BatchError("choose --resume or --overwrite, not both")
    if options.engine != "ray" and (options.address or options.actors):
        raise BatchError("--address and --actors go with --engine ray")
    if options.input != "-" and Path(options.input).resolve() == options.output.resolve():
        raise BatchError("OUTPUT is the same file as INPUT")

    # The catalog first: an unknown --role should not wait for the model.
    if matcher is not None:
        catalog = matcher.catalog
    else:
        from ..core import resolve_catalog

        catalog = resolve_catalog(settings, options.catalog)
    if options.role and options.role not in catalog.role_ids:
        raise UnknownRole(f"no role {options.role!r} in catalog {catalog.name!r}; valid ids: "
                          f"{', '.join(catalog.role_ids)}")
    top_k = len(catalog.roles) if options.role else options.top_k

    target = partial_path(options.output) if options.role else options.output
    target_csv = out_format == "csv" and not options.role
    header = CSV_HEADER if target_csv else None
    summary = Summary()

    if options.role and options.resume and not target.exists() and _nonempty(options.output):
        print(f"score: {options.output} is complete (a --role run writes it once, sorted, at the end); "
              "nothing to resume", file=stderr)
        summary.skipped, summary.failed = _count_role_output(options.output, out_format)
        summary.seconds = time.perf_counter() - started
        return summary
    if not options.resume and not options.overwrite:
        for path in {target, options.output}:
            if _nonempty(path):
                raise BatchError(f"{path} exists and is not empty; use --resume to finish it or --overwrite "
                                 "to replace it")

    records = open_records(options.input, settings=settings, id_column=options.id_column,
                           text_column=options.text_column, stdin=stdin)
    cut_to = 0  # OUTPUT's size to start from (0: empty it)
    job = job_path(target)
    if options.resume and _nonempty(target):
        _check_same_job(job, options.chunk_size)
        scan = (lambda: scan_csv_output(target, header)) if target_csv else (lambda: scan_jsonl_output(target))
        header_end = _header_end(target, target_csv)
        plan = plan_resume(scan(), options.chunk_size, header_end, target_csv)
        records, summary.skipped, summary.failed, cut_to = resume_records(records, target, scan(), plan,
                                                                           header_end)

    show = options.progress if options.progress is not None else (not options.quiet and stderr.isatty())
    total = None
    if show:
        counted = count_records(options.input, id_column=options.id_column, text_column=options.text_column)
        total = None if counted is None else max(0, counted - summary.skipped)

    own_engine = engine is None
    if engine is None:
        engine = _make_engine(options, settings, matcher)
    summary.startup = time.perf_counter() - started
    # OUTPUT is touched only now that the engine is up: a job that cannot start leaves it as it was.
    try:
        if cut_to:
            _truncate(target, cut_to)
        else:
            target.parent.mkdir(parents=True, exist_ok=True)
            with open(target, "wb"):
                pass  # create, or empty it (--overwrite)
        if target_csv and target.stat().st_size == 0:
            target.write_bytes(_csv_bytes([header]))
        # While a run is unfinished its chunking is kept beside OUTPUT, so --resume can refuse a
        # different --chunk-size (rows are only byte-identical chunk for chunk); removed at the end.
        job.write_text(json.dumps({"chunk_size": options.chunk_size}) + "\n", encoding="utf-8")
        appender = _Appender(target)
    except OSError as exc:
        if own_engine:
            engine.close()
        raise BatchError(f"cannot write {target}: {exc.strerror or exc}") from None
    bar = None
    try:
        if show:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="cand", file=stderr, dynamic_ncols=True, smoothing=0.1)
        write_rows = csv_rows if target_csv else jsonl_rows

        def work() -> Iterator[tuple[list[Record], list[tuple]]]:
            for chunk in _chunks(records, options.chunk_size):
                yield chunk, [rec.work() for rec in chunk]

        for chunk, docs in engine.map(work(), top_k):
            parts = []
            for rec, doc in zip(chunk, docs, strict=True):
                if options.role:
                    row = role_row(rec.id, doc, options.role)
                    parts.append((_dumps(row) + "\n").encode("utf-8", errors="surrogateescape"))
                    failed = "error" in row
                else:
                    parts.append(write_rows(rec.id, doc))
                    failed = "error" in doc
                summary.failed += failed
                summary.new += 1
            appender.write(b"".join(parts))
            if bar is not None:
                bar.update(len(chunk))
    finally:
        if bar is not None:
            bar.close()
        appender.close()
        if own_engine:
            engine.close()

    if options.role:
        write_role_output(target, options.output, out_format)
        target.unlink()
    job.unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - started
    return summary


def job_path(target: Path) -> Path:
    """Where an unfinished run notes how it was chunked (``OUTPUT.job.json``)."""
    return target.with_name(target.name + ".job.json")


def _check_same_job(job: Path, chunk_size: int) -> None:
    try:
        before = json.loads(job.read_text(encoding="utf-8")).get("chunk_size")
    except (OSError, ValueError, AttributeError):
        return  # no note (a run of an older version, or one that finished): nothing to compare
    if before != chunk_size:
        raise BatchError(f"--resume: OUTPUT was written with --chunk-size {before}, not {chunk_size}; resume with "
                         f"--chunk-size {before} (rows are only identical chunk for chunk), or use --overwrite")


def _count_role_output(path: Path, out_format: str) -> tuple[int, int]:
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
            for raw, _ in _complete_lines(f):
                total += 1
                failed += "error" in json.loads(raw)
    return total, failed


def _make_engine(options: BatchOptions, settings: Settings, matcher):
    if options.engine == "ray":
        from .ray_engine import RayEngine

        engine = RayEngine(settings, options.catalog, address=options.address, actors=options.actors,
                           cpus_per_actor=options.cpus_per_actor)
        engine.start()
        return engine
    if options.engine != "local":
        raise BatchError(f"unknown engine {options.engine!r}; use local or ray")
    if matcher is None:
        from ..core import Matcher

        matcher = Matcher.load(settings, catalog=options.catalog)
    return LocalEngine(matcher)


def write_role_output(partial: Path, output: Path, out_format: str) -> None:
    """Sort the partial rows by the role's score (best first; ties and error rows keep input order)
    and write OUTPUT in one go (a temporary file renamed over it)."""
    keys: list[tuple[int, float, int, int, int]] = []
    with open(partial, "rb") as f:
        start = 0
        for pos, (raw, end) in enumerate(_complete_lines(f)):
            row = json.loads(raw)
            if "error" in row:
                keys.append((1, 0.0, pos, start, end))
            else:
                keys.append((0, -row["score"], pos, start, end))
            start = end
    keys.sort()
    tmp = output.with_name(f".{output.name}.{os.getpid()}.tmp")
    with open(partial, "rb") as src, open(tmp, "wb") as dst:
        if out_format == "csv":
            dst.write(_csv_bytes([ROLE_CSV_HEADER]))
        for rank, (is_error, _, _, start, end) in enumerate(keys, 1):
            src.seek(start)
            row = json.loads(src.read(end - start))
            if out_format == "csv":
                if is_error:
                    cells = [_id_cell(row["id"]), "", "", "", "", "", "", _error_cell(row)]
                else:
                    cells = [_id_cell(row["id"]), rank, row["role_id"], row["title"], _fmt_score(row["score"]),
                             row.get("best_fit") or "", _role_evidence_cell(row), ""]
                dst.write(_csv_bytes([cells]))
            else:
                ranked = row if is_error else {"id": row.pop("id"), "rank": rank, **row}
                dst.write((_dumps(ranked) + "\n").encode("utf-8", errors="surrogateescape"))
        dst.flush()
        os.fsync(dst.fileno())
    os.replace(tmp, output)


# -- command line ----------------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``matcher score`` / ``scripts/score.py``."""
    p.add_argument("input", metavar="INPUT", help="a .jsonl file ({\"id\", \"text\"} per line), a .csv file, a "
                   "folder of .txt/.md/.pdf/.docx résumés (id = relative path), or - for JSON lines on stdin")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help=".jsonl (one result document per candidate) or .csv (one row per candidate × role)")
    p.add_argument("--role", metavar="ROLE_ID", help="score everyone for this role; write candidates best first "
                   "(sorted at the end) with the evidence for that role")
    p.add_argument("--top-k", type=int, default=None, help="roles per candidate (default: all, at most 10 for "
                   "catalogs of more than 20 roles)")
    p.add_argument("--catalog", help="catalog name under corpus/ or a path (default: MATCHER_CATALOG)")
    p.add_argument("--index-dir", help="where built indexes live (default: MATCHER_INDEX_DIR or index/)")
    p.add_argument("--backend", help="embedding backend: torch, openvino, openvino-int8 (default: MATCHER_BACKEND)")
    p.add_argument("--id-column", default="id", help="CSV column (or JSON field) holding the id (default: id)")
    p.add_argument("--text-column", default="text", help="CSV column (or JSON field) holding the text "
                   "(default: text)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="skip candidates already in OUTPUT (same INPUT) and "
                      "finish the job")
    mode.add_argument("--overwrite", action="store_true", help="replace a non-empty OUTPUT")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress bar; no summary when every row "
                   "is scored")
    p.add_argument("--chunk-size", type=int, default=CHUNK_SIZE, help=f"candidates per model call (default "
                   f"{CHUNK_SIZE}; keep it the same when resuming)")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="where to score (default: local)")
    p.add_argument("--address", help="Ray cluster to use: auto, host:port or ray://host:10001 (default: start a "
                   "local Ray)")
    p.add_argument("--actors", type=int, default=None, help="Ray actors, each loading the model once (default: "
                   "the cluster's CPUs / --cpus-per-actor)")
    p.add_argument("--cpus-per-actor", type=float, default=1.0, help="CPUs (and torch threads) per Ray actor")


def settings_from_args(args) -> Settings:
    from dataclasses import replace

    settings = Settings.from_env()
    changes: dict[str, Any] = {}
    if getattr(args, "index_dir", None):
        changes["index_dir"] = Path(args.index_dir)
    if getattr(args, "backend", None):
        changes["backend"] = args.backend
    return replace(settings, **changes).validated() if changes else settings


def options_from_args(args) -> BatchOptions:
    return BatchOptions(input=args.input, output=Path(args.output), top_k=args.top_k, role=args.role,
                        catalog=args.catalog, id_column=args.id_column, text_column=args.text_column,
                        resume=args.resume, overwrite=args.overwrite, quiet=args.quiet, engine=args.engine,
                        address=args.address, actors=args.actors, cpus_per_actor=args.cpus_per_actor,
                        chunk_size=args.chunk_size)


def run_from_args(args, *, stderr: IO[str] | None = None) -> int:
    """Run the job the parsed arguments describe; print the summary line; return the exit code."""
    stderr = stderr or sys.stderr
    options = options_from_args(args)
    try:
        summary = run(options, settings_from_args(args), stderr=stderr)
    except KeyboardInterrupt:
        print(f"score: interrupted; rows written so far are kept in {options.output}; run again with --resume "
              "to finish", file=stderr)
        return 130
    if summary.failed or not options.quiet:
        print(summary_line(summary, options.output), file=stderr)
    return summary.exit_code


def summary_line(s: Summary, output: Path) -> str:
    busy = s.seconds - s.startup
    rate = s.new / busy if busy > 0 else 0.0
    done = f" ({s.skipped:,} already in {output.name}, not redone)" if s.skipped else ""
    failed = f", {s.failed:,} failed (error rows in {output.name})" if s.failed else ", 0 failed"
    return (f"score: {s.total:,} candidates{done}: {s.total - s.failed:,} scored{failed}; "
            f"{s.seconds:.1f} s ({s.startup:.1f} s start-up), {rate:.1f} candidates/s")


def main(argv: list[str] | None = None) -> int:
    import logging

    parser = argparse.ArgumentParser(prog="score.py", description="Score many candidates against the catalog: "
                                     "JSONL/CSV/a folder in, JSONL or CSV out. Exit 0: all scored; 1: some rows "
                                     "failed (error rows); 2: the job could not run.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="score: %(message)s", stream=sys.stderr)
    try:
        return run_from_args(args)
    except MatcherError as exc:
        print(f"score: error: {exc.message}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 1


__all__ = ["BatchError", "BatchOptions", "LocalEngine", "Record", "Summary", "add_arguments", "main",
           "open_records", "run", "run_from_args", "score_items"]
