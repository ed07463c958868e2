"""Batch scoring: many candidates in, one JSONL or CSV file out (``matcher score``)."""

from .job import (
    BatchError,
    BatchOptions,
    LocalEngine,
    Record,
    Summary,
    add_arguments,
    job_path,
    main,
    open_records,
    partial_path,
    run,
    run_from_args,
    score_items,
)

__all__ = ["BatchError", "BatchOptions", "LocalEngine", "Record", "Summary", "add_arguments", "job_path", "main",
           "open_records", "partial_path", "run", "run_from_args", "score_items"]
