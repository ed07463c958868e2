"""The input of a batch job: candidates read lazily from JSON lines, a CSV file or a folder of résumés.

Each candidate becomes a :class:`Record` (its position, its id, where it stands in the input, and its
text or file, or why it cannot be scored). What an engine scores is the record's :class:`WorkItem`.
Messages name the row (line number, id or file), never its content.
"""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from ..errors import BatchError
from ..extract import TEXT_SUFFIXES
from ..settings import Settings

FILE_SUFFIXES = (*TEXT_SUFFIXES, ".pdf", ".docx")
JSONL_SUFFIXES = (".jsonl", ".ndjson")


@dataclass(frozen=True)
class RowError:
    """Why one row cannot be scored: a stable code and a message naming the row."""

    code: str
    message: str


@dataclass(frozen=True)
class WorkItem:
    """One candidate as an engine receives it: text to match, a file to extract first, or the error
    that stopped it. Built in the driver; crosses to Ray actors by pickling."""

    text: str | None = None
    content: bytes | None = None  # a résumé file's bytes (extracted by the engine)
    name: str = ""  # that file's name: its type check and its messages
    error: RowError | None = None


@dataclass
class Record:
    """One candidate of the input: its id and its text (or file), or why it cannot be scored."""

    pos: int  # 0-based position among the input's records
    id: Any  # as given (str or int); None when missing or unusable
    where: str  # "line 7", "a/b.pdf": names the row in messages without quoting its content
    text: str | None = None
    path: Path | None = None  # a résumé file, read only when its chunk is scored
    error: RowError | None = None
    max_bytes: int = 0

    @property
    def key(self) -> str:
        """The id as compared across INPUT and OUTPUT (a string; ``""`` for none)."""
        return "" if self.id is None else str(self.id)

    def work(self) -> WorkItem:
        """What an engine scores; a file is read here, in the driver, when its chunk comes up."""
        if self.error:
            return WorkItem(error=self.error)
        if self.path is None:
            return WorkItem(text=self.text)
        try:
            size = self.path.stat().st_size
            if self.max_bytes and size > self.max_bytes:
                return WorkItem(error=RowError("too_large", f"{self.where} is {size:,} bytes; the limit is "
                                               f"{self.max_bytes:,} (set MATCHER_MAX_UPLOAD_BYTES to change it)"))
            return WorkItem(content=self.path.read_bytes(), name=self.path.name)
        except OSError as exc:
            reason = exc.strerror or type(exc).__name__
            return WorkItem(error=RowError("unreadable_file", f"{self.where} could not be read ({reason})"))


def _bad(pos: int, where: str, error: RowError, id_: Any = None) -> Record:
    return Record(pos, id_, where, error=error)


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "a number",
            float: "a number", type(None): "null"}.get(type(value), type(value).__name__)


def _check_id(value: Any, where: str) -> RowError | None:
    if value is None or value == "":
        return RowError("missing_id", f"{where}: missing 'id'; every row needs a unique id")
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return RowError("bad_id", f"{where}: 'id' must be a string or an integer, got {_json_type(value)}")
    return None


def _text_field_error(value: Any, where: str, column: str) -> RowError | None:
    if value is None:
        return RowError("missing_text", f"{where}: no '{column}' field")
    if not isinstance(value, str):
        return RowError("bad_text", f"{where}: '{column}' must be a string, got {_json_type(value)}")
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
            yield _bad(pos, where, RowError("too_large", f"{where} is longer than {max_line_bytes:,} bytes"))
        else:
            yield _jsonl_record(pos, where, raw, id_field, text_field)
        pos += 1


def _jsonl_record(pos: int, where: str, raw: bytes, id_field: str, text_field: str) -> Record:
    try:
        line = raw.decode("utf-8-sig" if pos == 0 else "utf-8")
    except UnicodeDecodeError as exc:
        return _bad(pos, where, RowError("bad_encoding", f"{where} is not valid UTF-8 (bad byte at position "
                                         f"{exc.start})"))
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as exc:
        return _bad(pos, where, RowError("bad_json", f"{where} is not valid JSON ({exc.msg} at column {exc.colno})"))
    if not isinstance(obj, dict):
        shape = f'{{"{id_field}": ..., "{text_field}": ...}}'
        return _bad(pos, where, RowError("bad_json", f"{where}: expected an object like {shape}, got "
                                         f"{_json_type(obj)}"))
    id_ = obj.get(id_field)
    problem = _check_id(id_, where)
    if problem:
        return _bad(pos, where, problem)
    problem = _text_field_error(obj.get(text_field), where, text_field)
    if problem:
        return _bad(pos, where, problem, id_=id_)
    return Record(pos, id_, where, text=obj[text_field])


def _decoded_lines(stream: IO[bytes], state: dict) -> Iterator[str]:
    """Lines for the csv module, decoded with surrogateescape so a bad byte spoils one row, not the file."""
    for number, raw in enumerate(stream, 1):
        state["line"] = number
        yield raw.decode("utf-8-sig" if number == 1 else "utf-8", errors="surrogateescape")


def _has_surrogates(value: str) -> bool:
    return any("\udc80" <= c <= "\udcff" for c in value)


def _csv_header(reader: Iterator[list[str]], id_column: str, text_column: str) -> tuple[int, int]:
    """The positions of the id and text columns, from the header row."""
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
    return names.index(id_column), names.index(text_column)


def _csv_record(pos: int, where: str, row: list[str], id_at: int, text_at: int, text_column: str) -> Record:
    if any(_has_surrogates(cell) for cell in row):
        return _bad(pos, where, RowError("bad_encoding", f"{where} is not valid UTF-8; save the file as UTF-8"))
    id_ = row[id_at] if id_at < len(row) else None
    problem = _check_id(id_, where)
    text = row[text_at] if text_at < len(row) else None
    if not problem:
        problem = _text_field_error(text, where, text_column)
    if problem:
        return _bad(pos, where, problem, id_=None if problem.code in ("missing_id", "bad_id") else id_)
    return Record(pos, id_, where, text=text)


def read_csv(stream: IO[bytes], *, id_column: str = "id", text_column: str = "text") -> Iterator[Record]:
    """Records from a CSV file with a header row; the id and text columns are chosen by name."""
    csv.field_size_limit(1 << 30)  # long résumés are refused by the size check, with a clear message
    state = {"line": 0}
    reader = csv.reader(_decoded_lines(stream, state))
    id_at, text_at = _csv_header(reader, id_column, text_column)
    pos = 0
    while True:
        start = state["line"] + 1
        where = f"line {start}"
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield _bad(pos, where, RowError("bad_csv", f"{where} is not valid CSV ({exc})"))
            pos += 1
            continue
        if not row or all(not cell.strip() for cell in row):
            continue
        yield _csv_record(pos, where, row, id_at, text_at, text_column)
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
                rec = Record(rec.pos, rec.id, rec.where, error=RowError(
                    "duplicate_id", f"{rec.where}: duplicate id {rec.key!r} (first used on {first}); not scored"))
            else:
                seen[rec.key] = rec.where
        yield rec


def file_format(path: Path) -> str | None:
    """``jsonl`` or ``csv`` from a file's suffix (any case), for INPUT and OUTPUT alike; else ``None``."""
    suffix = path.suffix.lower()
    return "jsonl" if suffix in JSONL_SUFFIXES else "csv" if suffix == ".csv" else None


def input_kind(source: str) -> str:
    """``jsonl``, ``csv`` or ``dir`` for an INPUT argument (``-`` is JSONL on stdin)."""
    if source == "-":
        return "jsonl"
    path = Path(source)
    if path.is_dir():
        return "dir"
    if not path.exists():
        raise BatchError(f"no such file or folder: {source}")
    fmt = file_format(path)
    if fmt is not None:
        return fmt
    raise BatchError(f"cannot tell the format of {source}: INPUT must be a .jsonl or .csv file, a folder of "
                     "résumés, or - for JSON lines on standard input")


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


def count_records(source: str) -> int | None:
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
