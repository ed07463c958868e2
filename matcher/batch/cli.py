"""The command line of a batch job: ``matcher score`` and ``scripts/score.py`` share these options."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import IO

from ..errors import MatcherError
from ..settings import Settings, add_flags
from .job import CHUNK_SIZE, BatchOptions, Summary, run


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
    add_flags(p)
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


def options_from_args(args) -> BatchOptions:
    """The job's options from the parsed command line."""
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
        summary = run(options, Settings.from_args(args), stderr=stderr)
    except KeyboardInterrupt:
        print(f"score: interrupted; rows written so far are kept in {options.output}; run again with --resume "
              "to finish", file=stderr)
        return 130
    if summary.failed or not options.quiet:
        print(summary_line(summary, options.output), file=stderr)
    return summary.exit_code


def summary_line(s: Summary, output: Path) -> str:
    """The one line a finished job prints: candidates, failures, time and rate."""
    busy = s.seconds - s.startup
    rate = s.new / busy if busy > 0 else 0.0
    done = f" ({s.skipped:,} already in {output.name}, not redone)" if s.skipped else ""
    failed = f", {s.failed:,} failed (error rows in {output.name})" if s.failed else ", 0 failed"
    return (f"score: {s.total:,} candidates{done}: {s.total - s.failed:,} scored{failed}; "
            f"{s.seconds:.1f} s ({s.startup:.1f} s start-up), {rate:.1f} candidates/s")


def main(argv: list[str] | None = None) -> int:
    """``scripts/score.py``: the same job as ``matcher score``, as a program of its own."""
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
