"""Batch scoring: many candidates in, one JSONL or CSV file out (``matcher score``, ``scripts/score.py``).

``records`` reads the input, ``engines`` and ``ray_engine`` score chunks of it, ``output`` writes the
rows, ``resume`` finishes an interrupted run, ``job`` runs it all and ``cli`` is its command line.
"""

from ..errors import BatchError
from .cli import add_arguments, main, run_from_args
from .engines import Engine, LocalEngine, score_items
from .job import BatchOptions, Summary, partial_path, run
from .records import Record, WorkItem, open_records
from .resume import job_path

__all__ = ["BatchError", "BatchOptions", "Engine", "LocalEngine", "Record", "Summary", "WorkItem", "add_arguments",
           "job_path", "main", "open_records", "partial_path", "run", "run_from_args", "score_items"]
