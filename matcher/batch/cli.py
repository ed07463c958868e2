"""The command line of a batch job: ``matcher score`` and ``scripts/score.py`` share these options.

Exit codes (the same as ``matcher``'s): 0 every row scored; 1 some rows failed (error rows, the rest
scored); 2 a usage error (a bad flag, setting or combination of options); 3 the job could not run
(unreadable INPUT, OUTPUT in the way, a broken catalog, ...); 130 interrupted.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import sys
from pathlib import Path
from typing import IO

from ..errors import BatchError, MatcherError, SettingsError
from ..settings import Settings, add_flags
from .job import CHUNK_SIZE, BatchOptions, Summary, run
from .output import OUTPUT_FORMATS
from .records import file_format

STDOUT = "-"  # OUTPUT meaning standard output


class UsageError(BatchError):
    """Options that cannot work together, or an OUTPUT name the job cannot use: exit 2, as argparse's
    own usage errors, not 3 (the job did not fail: it was asked for something it cannot do)."""

    code = "bad_options"


def exit_code(exc: MatcherError) -> int:
    """2 for a usage error (a bad flag, a bad ``MATCHER_*`` value, options that do not go together),
    3 for an error while running (a missing file, a broken catalog or index, OUTPUT in the way, ...)."""
    return 2 if isinstance(exc, (SettingsError, UsageError)) else 3


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``matcher score`` / ``scripts/score.py``."""
    p.add_argument("input", metavar="INPUT", help="a .jsonl file ({\"id\", \"text\"} per line), a .csv file, a "
                   "folder of .txt/.md/.pdf/.docx résumés (id = relative path), or - for JSON lines on stdin")
    p.add_argument("-o", "--output", required=True, metavar="OUTPUT",
                   help=".jsonl (one result document per candidate) or .csv (one row per candidate × role), "
                   "or - for standard output (JSON lines unless --format csv)")
    p.add_argument("--format", choices=OUTPUT_FORMATS, default=None, help="the output format (default: from "
                   "OUTPUT's name; jsonl for -o -); a named OUTPUT must end in .jsonl or .csv to match")
    p.add_argument("--role", metavar="ROLE_ID", help="score everyone for this role; write candidates best first "
                   "(sorted at the end) with the evidence for that role")
    p.add_argument("--top-k", type=int, default=None, help="roles per candidate (default: all, at most 10 for "
                   "catalogs of more than 20 roles)")
    add_flags(p)
    p.add_argument("--id-column", default="id", help="CSV column (or JSON field) holding the id (default: id)")
    p.add_argument("--text-column", default="text", help="CSV column (or JSON field) holding the text "
                   "(default: text)")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--resume", action="store_true", help="skip candidates already in OUTPUT (same INPUT) and "
                      "finish the job (not with -o -)")
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


def options_from_args(args) -> BatchOptions:
    """The job's options from the parsed command line."""
    return BatchOptions(input=args.input, output=Path(args.output), top_k=args.top_k, role=args.role,
                        catalog=args.catalog, id_column=args.id_column, text_column=args.text_column,
                        resume=args.resume, overwrite=args.overwrite, quiet=args.quiet, engine=args.engine,
                        address=args.address, actors=args.actors, cpus_per_actor=args.cpus_per_actor,
                        chunk_size=args.chunk_size)


def output_format_from_args(args) -> str:
    """``jsonl`` or ``csv``: ``--format``, else OUTPUT's name (jsonl for ``-o -``). Refuses (:class:`UsageError`)
    ``--resume`` with ``-o -`` and a ``--format`` that OUTPUT's name contradicts."""
    if args.output == STDOUT:
        if args.resume:
            raise UsageError("--resume needs an OUTPUT file: rows sent to standard output (-o -) cannot be "
                             "read back; write to a file to be able to resume")
        return args.format or "jsonl"
    named = file_format(Path(args.output))
    if named is None:
        raise UsageError(f"OUTPUT must end in .jsonl or .csv, or be - for standard output (got {args.output!r})")
    # The job reads a named OUTPUT's format from its name (and --resume reads the file back by it), so
    # --format may confirm the name but not contradict it.
    if args.format and args.format != named:
        raise UsageError(f"--format {args.format} does not match OUTPUT {args.output!r} ({named}); "
                         f"name the file .{args.format} or leave --format out")
    return named


def run_from_args(args, *, stderr: IO[str] | None = None, stdout: IO[bytes] | None = None) -> int:
    """Run the job the parsed arguments describe; print the summary line; return the exit code.

    With ``-o -`` the rows go to ``stdout`` (default: this process's standard output) and nothing
    else does: the summary, the progress bar and logs stay on ``stderr``."""
    stderr = stderr or sys.stderr
    out_format = output_format_from_args(args)
    settings = Settings.from_args(args)
    options = options_from_args(args)
    if args.output != STDOUT:
        try:
            summary = run(options, settings, stderr=stderr)
        except KeyboardInterrupt:
            print(f"score: interrupted; rows written so far are kept in {options.output}; run again with --resume "
                  "to finish", file=stderr)
            return 130
        return _finish(summary, options, options.output.name, stderr)
    return _run_to_stdout(options, settings, out_format, stderr, stdout or sys.stdout.buffer)


def _run_to_stdout(options: BatchOptions, settings: Settings, out_format: str, stderr: IO[str],
                   stdout: IO[bytes]) -> int:
    """``-o -``: the job writes its rows to ``stdout`` chunk by chunk; nothing goes to disk."""
    try:
        # Anything the libraries print while the model loads goes to stderr: stdout carries rows only.
        with contextlib.redirect_stdout(stderr):
            summary = run(options, settings, stderr=stderr, stream=stdout, stream_format=out_format)
    except KeyboardInterrupt:
        print("score: interrupted; the rows scored so far were written to standard output (a run to -o - "
              "cannot be resumed)", file=stderr)
        return 130
    except BrokenPipeError:
        raise  # the reader left (`| head`): the command ends quietly, as for `matcher match | head`
    except OSError as exc:
        raise BatchError(f"cannot write to standard output: {exc.strerror or exc}") from None
    return _finish(summary, options, "standard output", stderr)


def _finish(summary: Summary, options: BatchOptions, output_name: str, stderr: IO[str]) -> int:
    if summary.failed or not options.quiet:
        print(summary_line(summary, output_name), file=stderr)
    return summary.exit_code


def summary_line(s: Summary, output_name: str) -> str:
    """The one line a finished job prints: candidates, failures, time and rate (``output_name``: where the
    rows went, as the line names it)."""
    busy = s.seconds - s.startup
    rate = s.new / busy if busy > 0 else 0.0
    done = f" ({s.skipped:,} already in {output_name}, not redone)" if s.skipped else ""
    failed = f", {s.failed:,} failed (error rows in {output_name})" if s.failed else ", 0 failed"
    return (f"score: {s.total:,} candidates{done}: {s.total - s.failed:,} scored{failed}; "
            f"{s.seconds:.1f} s ({s.startup:.1f} s start-up), {rate:.1f} candidates/s")


def main(argv: list[str] | None = None) -> int:
    """``scripts/score.py``: the same job as ``matcher score``, as a program of its own."""
    parser = argparse.ArgumentParser(prog="score.py", description="Score many candidates against the catalog: "
                                     "JSONL/CSV/a folder in, JSONL or CSV out. Exit 0: all scored; 1: some rows "
                                     "failed (error rows); 2: a usage error; 3: the job could not run; "
                                     "130: interrupted.")
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="score: %(message)s", stream=sys.stderr)
    try:
        return run_from_args(args)
    except MatcherError as exc:
        print(f"score: error: {exc.message}", file=sys.stderr)
        return exit_code(exc)
    except BrokenPipeError:
        return 1
