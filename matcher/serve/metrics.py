"""Prometheus metrics for ``GET /metrics``: what an operator graphs and alerts on.

Labels are bounded and carry no personal data: a route *template* (``/v1/roles/{role_id}``, never the
path a client sent, so an unknown path is ``unmatched``), a method, a status, an error code, a
catalog name. With ``matcher serve --workers N`` each worker is its own process; the server sets
``PROMETHEUS_MULTIPROC_DIR`` before the workers start (:func:`prepare_multiprocess`), every worker writes
its samples there, and whichever worker answers ``/metrics`` sums them all.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
# Latency buckets (seconds) around what the service does: ~10 ms for a short text, about a second
# for a long résumé or a queued request, several seconds for a batch or a large PDF.
BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

REQUESTS = Counter("matcher_http_requests_total", "HTTP requests answered", ["method", "route", "status"])
LATENCY = Histogram("matcher_http_request_duration_seconds", "Time from request to the end of the response",
                    ["method", "route"], buckets=BUCKETS)
MODEL_SECONDS = Histogram("matcher_model_seconds", "Time in the embedding model per call (the rest of a "
                          "request's time is queueing, extraction, scoring and I/O)", buckets=BUCKETS)
MATCH_SECONDS = Histogram("matcher_match_seconds", "Time to match one request's text(s), model included",
                          ["endpoint"], buckets=BUCKETS)
QUEUE = Gauge("matcher_queue_depth", "Requests running or waiting for the CPU", multiprocess_mode="livesum")
BUSY = Counter("matcher_busy_refusals_total", "Requests refused with 503 busy (queue full)")
EXTRACTION_FAILURES = Counter("matcher_extraction_failures_total", "Uploaded files that could not be read, "
                              "by error code", ["code"])
RELOADS = Counter("matcher_catalog_reloads_total", "Catalog reloads finished, by outcome", ["catalog", "outcome"])
BATCH_ITEMS = Counter("matcher_batch_items_total", "Items in POST /v1/match/batch requests, by outcome",
                      ["outcome"])


def route_of(scope: dict) -> str:
    """The route template that answered (bounded label values), or ``unmatched``."""
    route = scope.get("route")
    return getattr(route, "path", None) or "unmatched"


@contextmanager
def timed(histogram: Histogram, **labels: str) -> Iterator[None]:
    """Observe how long the block takes."""
    began = time.perf_counter()
    try:
        yield
    finally:
        (histogram.labels(**labels) if labels else histogram).observe(time.perf_counter() - began)


def exposition() -> tuple[bytes, str]:
    """Every metric in the text format: this process's, or, with several workers, all of theirs summed."""
    if os.environ.get(MULTIPROC_ENV):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry), CONTENT_TYPE_LATEST
    from prometheus_client import REGISTRY

    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


def prepare_multiprocess(workers: int) -> str | None:
    """Before starting ``workers`` > 1 processes: a fresh folder for their samples, named in the
    environment they inherit. Returns it (remove it with :func:`cleanup_multiprocess`), or None."""
    if workers <= 1 or os.environ.get(MULTIPROC_ENV):
        return None
    folder = tempfile.mkdtemp(prefix="matcher-metrics-")
    os.environ[MULTIPROC_ENV] = folder
    return folder


def cleanup_multiprocess(folder: str | None) -> None:
    """Remove the samples folder once the workers are gone."""
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        os.environ.pop(MULTIPROC_ENV, None)
