"""``--resume``: read an unfinished OUTPUT back and carry on from its last whole chunk.

OUTPUT is scanned candidate by candidate (a :class:`Block` of rows each), checked against INPUT id by
id, and cut back to the end of its last whole chunk unless the input ends there; that chunk is then
scored again as a whole, so a resumed file is byte for byte an uninterrupted run's. While a run is
unfinished its chunk size is kept beside OUTPUT (``OUTPUT.job.json``), and a resume with another one
is refused.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import BatchError
from .output import complete_lines, id_cell
from .records import Record


@dataclass
class Block:
    """One candidate's rows in an existing OUTPUT."""

    key: str
    end: int  # byte offset just after its last row
    rows: int
    error: bool


def scan_jsonl_output(path: Path) -> Iterator[Block]:
    """The candidates of a JSONL OUTPUT, one row each."""
    with open(path, "rb") as f:
        for number, (raw, end) in enumerate(complete_lines(f), 1):
            try:
                obj = json.loads(raw)
                if not isinstance(obj, dict) or "id" not in obj:
                    raise ValueError
            except ValueError:
                raise BatchError(f"{path} line {number} is not a row written by a batch run; cannot resume it "
                                 "(use --overwrite to start again)") from None
            yield Block(id_cell(obj["id"]), end, 1, "error" in obj)


def scan_csv_output(path: Path, header: list[str]) -> Iterator[Block]:
    """The candidates of a CSV OUTPUT: a candidate's rows run from rank 1 (or one error row)."""
    with open(path, "rb") as f:
        state = {"end": 0}

        def lines() -> Iterator[str]:
            for raw, end in complete_lines(f):
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
    """Where OUTPUT's whole chunks end, and how many candidates to keep."""
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


def header_end(path: Path, csv_format: bool) -> int:
    """Where the rows start: after a CSV header line, at 0 for JSONL."""
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


def truncate(path: Path, size: int) -> None:
    """Cut a file back to ``size`` bytes."""
    with open(path, "r+b") as f:
        f.truncate(size)


def job_path(target: Path) -> Path:
    """Where an unfinished run notes how it was chunked (``OUTPUT.job.json``)."""
    return target.with_name(target.name + ".job.json")


def check_same_job(job: Path, chunk_size: int) -> None:
    """Refuse to resume with another ``--chunk-size`` than the run that wrote OUTPUT."""
    try:
        before = json.loads(job.read_text(encoding="utf-8")).get("chunk_size")
    except (OSError, ValueError, AttributeError):
        return  # no note (a run of an older version, or one that finished): nothing to compare
    if before != chunk_size:
        raise BatchError(f"--resume: OUTPUT was written with --chunk-size {before}, not {chunk_size}; resume with "
                         f"--chunk-size {before} (rows are only identical chunk for chunk), or use --overwrite")
