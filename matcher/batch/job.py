"""The batch job: many candidates from a JSONL file, a CSV file or a folder of résumés, scored in chunks
and streamed to a JSONL or CSV file (``matcher score`` and ``scripts/score.py``).

The shape of a run:

* The input is read lazily, one record at a time (:mod:`.records`); records are grouped into chunks
  of ``chunk_size`` by their *position* in the input, so a chunk always holds the same candidates
  whether the run was interrupted or not, local or on Ray (the model's float rounding depends a
  little on which passages share a batch; identical chunks give identical bytes).
* An engine (:mod:`.engines`, :mod:`.ray_engine`) scores a chunk with one
  :meth:`~matcher.core.Matcher.match_many` call (one model call for all the chunk's passages).
* Each chunk's rows are appended to OUTPUT with one ``write`` as soon as the chunk is scored, in
  input order (:mod:`.output`). ``--resume`` reads OUTPUT back, checks it is a prefix of this input
  (id by id), drops a torn tail, and carries on (:mod:`.resume`). With ``--role`` rows go to
  ``OUTPUT.partial`` (same rules) and OUTPUT is written once, sorted by that role's score, when every
  candidate is scored.
* A bad row becomes an error row; the exit code is 1 when any row failed, 2 when the run could not
  start (bad options, unreadable INPUT, OUTPUT in the way).

Résumé text is never logged: messages name the row (line number, id or file), never its content.
"""

from __future__ import annotations

import contextlib
import io
import json
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, Any

from ..catalog import Catalog, resolve_catalog
from ..core import Matcher, check_top_k
from ..errors import BatchError, UnknownRole
from ..settings import Settings
from .engines import Chunk, Engine, LocalEngine
from .output import (
    CSV_HEADER,
    Appender,
    StreamSink,
    count_role_output,
    csv_bytes,
    csv_rows,
    jsonl_rows,
    line_bytes,
    output_format,
    role_row,
    write_role_output,
    write_role_rows,
)
from .ray_engine import RayEngine
from .records import Record, count_records, input_kind, open_records
from .resume import (
    check_same_job,
    header_end,
    job_path,
    plan_resume,
    resume_records,
    scan_csv_output,
    scan_jsonl_output,
    truncate,
)

CHUNK_SIZE = 64


@dataclass
class BatchOptions:
    """What a job is asked to do: the command line of ``matcher score``, as values."""
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
    """What a job did, for its summary line and its exit code."""
    skipped: int = 0  # candidates already in OUTPUT, kept (--resume)
    new: int = 0  # candidates written by this run
    failed: int = 0  # error rows in OUTPUT at the end (kept ones included)
    seconds: float = 0.0  # wall time of the whole run
    startup: float = 0.0  # of which: reading OUTPUT back, loading the model or starting Ray

    @property
    def total(self) -> int:
        """Candidates in OUTPUT at the end, kept and new."""
        return self.skipped + self.new

    @property
    def exit_code(self) -> int:
        """0 when every row was scored, 1 when some rows failed."""
        return 1 if self.failed else 0


def partial_path(output: Path) -> Path:
    """Where a --role run writes its rows until it ends (``OUTPUT.partial``)."""
    return output.with_name(output.name + ".partial")


def _nonempty(path: Path) -> bool:
    return path.is_file() and path.stat().st_size > 0


@dataclass
class _Target:
    """Where this run's rows go: OUTPUT, or ``OUTPUT.partial`` (JSON lines) until a --role run ends."""

    path: Path
    csv: bool
    header: list[str] | None
    sorted_at_end: bool  # a --role run: rows are held back and written sorted once every one is in

    @classmethod
    def of(cls, options: BatchOptions, out_format: str) -> _Target:
        csv_rows_here = out_format == "csv" and not options.role
        path = partial_path(options.output) if options.role else options.output
        return cls(path, csv_rows_here, CSV_HEADER if csv_rows_here else None, bool(options.role))

    @contextlib.contextmanager
    def appending(self, cut_to: int, chunk_size: int) -> Iterator[Appender]:
        """Cut OUTPUT back to ``cut_to`` bytes (0: create or empty it), note the chunking, and append."""
        try:
            if cut_to:
                truncate(self.path, cut_to)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                with open(self.path, "wb"):
                    pass  # create, or empty it (--overwrite)
            if self.csv and self.path.stat().st_size == 0:
                self.path.write_bytes(csv_bytes([self.header]))
            # While a run is unfinished its chunking is kept beside OUTPUT, so --resume can refuse a
            # different --chunk-size (rows are only byte-identical chunk for chunk); removed at the end.
            job_path(self.path).write_text(json.dumps({"chunk_size": chunk_size}) + "\n", encoding="utf-8")
            appender = Appender(self.path)
        except OSError as exc:
            raise BatchError(f"cannot write {self.path}: {exc.strerror or exc}") from None
        try:
            yield appender
        finally:
            appender.close()

    @contextlib.contextmanager
    def streaming(self, stream: IO[bytes]) -> Iterator[Any]:
        """Rows to a stream instead of a file: written and flushed chunk by chunk (a reader downstream
        sees them as they are scored), or, for a --role run, kept in memory until they can be sorted."""
        if self.sorted_at_end:
            yield io.BytesIO()
            return
        sink = StreamSink(stream)
        if self.csv:
            sink.write(csv_bytes([self.header]))
        yield sink

    def resume(self, records: Iterator[Record], chunk_size: int, summary: Summary) -> tuple[Iterator[Record], int]:
        """Skip what OUTPUT already holds (counted in ``summary``); the size to cut OUTPUT to."""
        check_same_job(job_path(self.path), chunk_size)

        def scan():
            return scan_csv_output(self.path, self.header) if self.csv else scan_jsonl_output(self.path)

        start = header_end(self.path, self.csv)
        plan = plan_resume(scan(), chunk_size, start, self.csv)
        records, summary.skipped, summary.failed, cut_to = resume_records(records, self.path, scan(), plan, start)
        return records, cut_to


def _check_options(options: BatchOptions, max_top_k: int, stream_format: str | None = None) -> str:
    """Refuse options that cannot work together, before anything is read; OUTPUT's format (or the
    stream's, for rows written to a stream)."""
    out_format = stream_format or output_format(options.output)
    input_kind(options.input)  # fail fast on a missing or unknown INPUT
    if options.chunk_size < 1:
        raise BatchError("--chunk-size must be at least 1")
    check_top_k(options.top_k, max_top_k)  # the core's rule, before the model loads
    if options.role and options.top_k is not None:
        raise BatchError("--top-k does not apply with --role (every candidate is scored for that role)")
    if options.resume and options.overwrite:
        raise BatchError("choose --resume or --overwrite, not both")
    if options.engine != "ray" and (options.address or options.actors):
        raise BatchError("--address and --actors go with --engine ray")
    if stream_format is None and options.input != "-" and Path(options.input).resolve() == options.output.resolve():
        raise BatchError("OUTPUT is the same file as INPUT")
    return out_format


def run(options: BatchOptions, settings: Settings | None = None, *, matcher: Matcher | None = None,
        engine: Engine | None = None, stdin: IO[bytes] | None = None, stderr: IO[str] | None = None,
        stream: IO[bytes] | None = None, stream_format: str = "jsonl") -> Summary:
    """Run a batch job; row errors are counted in the summary, job errors raise :class:`MatcherError`.

    ``matcher`` (a loaded :class:`Matcher`) or ``engine`` may be passed in (tests, benchmarks);
    otherwise the engine named in ``options`` is started. With ``stream`` (``matcher score -o -``) the
    rows go to that binary stream in ``stream_format`` instead of OUTPUT, chunk by chunk, and nothing
    is written to disk (a ``--role`` run keeps its rows in memory to sort them); it cannot be resumed.
    """
    started = time.perf_counter()
    settings = settings or Settings.from_env()
    stderr = stderr or sys.stderr
    if stream is not None:
        options = replace(options, resume=False, overwrite=False)
    out_format = _check_options(options, (matcher.settings if matcher is not None else settings).max_top_k,
                                stream_format if stream is not None else None)
    # The catalog first: an unknown --role should not wait for the model.
    catalog = matcher.catalog if matcher is not None else resolve_catalog(settings, options.catalog)
    if options.role and options.role not in catalog.role_ids:
        raise UnknownRole(f"no role {options.role!r} in catalog {catalog.name!r}; valid ids: "
                          f"{', '.join(catalog.role_ids)}")
    top_k, settings = _top_k(options, catalog, settings, matcher)
    target, summary = _Target.of(options, out_format), Summary()
    if options.role and options.resume and not target.path.exists() and _nonempty(options.output):
        print(f"score: {options.output} is complete (a --role run writes it once, sorted, at the end); "
              "nothing to resume", file=stderr)
        summary.skipped, summary.failed = count_role_output(options.output, out_format)
        summary.seconds = time.perf_counter() - started
        return summary
    if stream is None and not options.resume and not options.overwrite:
        for path in {target.path, options.output}:
            if _nonempty(path):
                raise BatchError(f"{path} exists and is not empty; use --resume to finish it or --overwrite "
                                 "to replace it")
    records = open_records(options.input, settings=settings, id_column=options.id_column,
                           text_column=options.text_column, stdin=stdin)
    cut_to = 0  # OUTPUT's size to start from (0: empty it)
    if options.resume and _nonempty(target.path):
        records, cut_to = target.resume(records, options.chunk_size, summary)
    show = options.progress if options.progress is not None else (not options.quiet and stderr.isatty())
    total = _bar_total(options.input, summary.skipped) if show else None
    own_engine = engine is None
    if engine is None:
        engine = _make_engine(options, settings, matcher)
    summary.startup = time.perf_counter() - started
    try:
        # OUTPUT is touched only now that the engine is up: a job that cannot start leaves it as it was.
        sink = target.appending(cut_to, options.chunk_size) if stream is None else target.streaming(stream)
        with sink as appender, _bar(show, total, stderr) as bar:
            for chunk, docs in engine.map(_work(records, options.chunk_size), top_k):
                appender.write(_rows(chunk, docs, options.role, target.csv, summary))
                if bar is not None:
                    bar.update(len(chunk))
    finally:
        if own_engine:
            engine.close()
    if stream is not None:
        if options.role:  # the rows were kept in memory (the sink): sorted now, straight to the stream
            write_role_rows(appender, stream, out_format)
            stream.flush()
    else:
        if options.role:
            write_role_output(target.path, options.output, out_format)
            target.path.unlink()
        job_path(target.path).unlink(missing_ok=True)
    summary.seconds = time.perf_counter() - started
    return summary


def _top_k(options: BatchOptions, catalog: Catalog, settings: Settings,
           matcher: Matcher | None) -> tuple[int | None, Settings]:
    """How many roles each candidate gets, and the settings to score with.

    A --role run asks for every role (the recruiter's view ranks them all): MATCHER_MAX_TOP_K bounds
    what one caller may ask for, so this run's own settings lift it to the catalog's size."""
    if not options.role:
        return options.top_k, settings
    settings = replace(settings, max_top_k=max(settings.max_top_k, len(catalog.roles)))
    return check_top_k(len(catalog.roles), (matcher.settings if matcher is not None else settings).max_top_k), settings


def _bar_total(source: str, skipped: int) -> int | None:
    counted = count_records(source)
    return None if counted is None else max(0, counted - skipped)


@contextlib.contextmanager
def _bar(show: bool, total: int | None, stderr: IO[str]) -> Iterator[Any]:
    """A tqdm progress bar on stderr, or ``None``."""
    if not show:
        yield None
        return
    from tqdm import tqdm  # only a job that shows a bar pays for importing it

    bar = tqdm(total=total, unit="cand", file=stderr, dynamic_ncols=True, smoothing=0.1)
    try:
        yield bar
    finally:
        bar.close()


def _work(records: Iterator[Record], chunk_size: int) -> Iterator[Chunk]:
    """Chunks of ``(records, work items)``, grouped by ``pos // chunk_size`` (aligned to the input,
    whatever was skipped)."""
    chunk: list[Record] = []
    for rec in records:
        if chunk and rec.pos // chunk_size != chunk[0].pos // chunk_size:
            yield chunk, [r.work() for r in chunk]
            chunk = []
        chunk.append(rec)
    if chunk:
        yield chunk, [r.work() for r in chunk]


def _rows(chunk: list[Record], docs: list[dict], role: str | None, csv_format: bool, summary: Summary) -> bytes:
    """One chunk's rows, as the bytes appended to the target; counts them in ``summary``."""
    parts = []
    for rec, doc in zip(chunk, docs, strict=True):
        if role:
            row = role_row(rec.id, doc, role)
            parts.append(line_bytes(row))
            failed = "error" in row
        else:
            parts.append(csv_rows(rec.id, doc) if csv_format else jsonl_rows(rec.id, doc))
            failed = "error" in doc
        summary.failed += failed
        summary.new += 1
    return b"".join(parts)


def _make_engine(options: BatchOptions, settings: Settings, matcher: Matcher | None) -> Engine:
    if options.engine == "ray":
        engine = RayEngine(settings, options.catalog, address=options.address, actors=options.actors,
                           cpus_per_actor=options.cpus_per_actor)
        engine.start()
        return engine
    if options.engine != "local":
        raise BatchError(f"unknown engine {options.engine!r}; use local or ray")
    if matcher is None:
        matcher = Matcher.load(settings, catalog=options.catalog)
    return LocalEngine(matcher)
