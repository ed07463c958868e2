"""The Ray engine for batch scoring: the same chunks, scored by Ray actors that each load the model once.

The driver (``matcher.batch.job.run``) still reads the input lazily and writes the output in input
order; this engine only moves the scoring. Chunks go to the actor with the fewest chunks in flight,
at most ``in_flight`` per actor, and come back in submission order, so memory stays bounded and the
output is byte-for-byte the local engine's (every chunk is the same ``match_many`` call).

Ray is optional: ``pip install 'role-matcher[ray]'``.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections import deque
from collections.abc import Iterable, Iterator
from dataclasses import replace
from typing import Any

from ..core import Matcher
from ..errors import MatcherError
from ..settings import Settings
from .engines import Chunk, score_items
from .records import WorkItem

# Ray's switch for "this machine only": every Ray service then listens on 127.0.0.1. Read when ray
# is first imported; set (unless the user set it) when we start a local Ray ourselves.
LOCAL_ONLY_ENV = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"


def import_ray(*, local: bool = False):
    """``ray``, or a one-line error saying how to install it. ``local``: we are about to start a Ray
    just for this job, so keep it on the loopback interface."""
    if local and "ray" not in sys.modules:
        os.environ.setdefault(LOCAL_ONLY_ENV, "0")
    try:
        import ray
    except ImportError:
        raise MatcherError("the Ray engine needs Ray, which is not installed: pip install 'role-matcher[ray]' "
                           "(or pip install ray), or score with --engine local", code="missing_dependency") from None
    return ray


class ScoringWorker:
    """Loads the catalog's matcher once; scores chunks with :func:`~matcher.batch.engines.score_items`."""

    def __init__(self, settings: Settings, catalog: str | None, threads: int) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        self.matcher = Matcher.load(replace(settings, threads=threads, workers=1), catalog=catalog)

    def ready(self) -> str:
        """The catalog this actor loaded, and its hash (the driver waits on it)."""
        return f"{self.matcher.catalog.name}:{self.matcher.catalog.hash}"

    def score(self, items: list[WorkItem], top_k: int | None) -> list[dict]:
        """Score one chunk, as the local engine would."""
        return score_items(self.matcher, items, top_k)


class RayEngine:
    """Score chunks on a Ray cluster (a local one, or one given by ``address``)."""

    name = "ray"

    def __init__(self, settings: Settings, catalog: str | None = None, *, address: str | None = None,
                 actors: int | None = None, cpus_per_actor: float = 1.0, in_flight: int = 2) -> None:
        if actors is not None and actors < 1:
            raise MatcherError("--actors must be at least 1", code="batch_error")
        if cpus_per_actor <= 0:
            raise MatcherError("--cpus-per-actor must be more than 0", code="batch_error")
        self.settings = settings
        self.catalog = catalog
        self.address = address
        self.n_actors = actors
        self.cpus_per_actor = cpus_per_actor
        self.in_flight = max(1, in_flight)
        self.actors: list[Any] = []
        self._ray = None
        self._owns_ray = False

    def start(self) -> RayEngine:
        """Start (or join) Ray and the actors; the first actor builds a missing index."""
        ray = self._ray = import_ray(local=self.address is None)
        if not ray.is_initialized():
            try:
                ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                         logging_level=logging.WARNING, configure_logging=True)
            except (ConnectionError, ValueError, RuntimeError) as exc:
                where = self.address or "a local Ray"
                raise MatcherError(f"cannot start or reach Ray at {where}: {exc}", code="ray_error") from None
            self._owns_ray = True
        cpus = float(ray.cluster_resources().get("CPU", 1))
        n = self.n_actors or max(1, int(cpus // self.cpus_per_actor))
        threads = max(1, int(self.cpus_per_actor))
        worker = ray.remote(num_cpus=self.cpus_per_actor, max_restarts=1, max_task_retries=1)(ScoringWorker)
        try:
            # The first actor builds the index if it is missing or stale; the others then just load it.
            first = worker.remote(self.settings, self.catalog, threads)
            ray.get(first.ready.remote())
            self.actors = [first] + [worker.remote(self.settings, self.catalog, threads) for _ in range(n - 1)]
            ray.get([a.ready.remote() for a in self.actors[1:]])
        except Exception as exc:
            self.close()
            raise MatcherError(f"the Ray actors could not load the matcher: {_cause(exc)}", code="ray_error") from None
        return self

    def map(self, chunks: Iterable[Chunk], top_k: int | None) -> Iterator[tuple[Any, list[dict]]]:
        """Score chunks on the actors; yield ``(token, docs)`` in the order the chunks came in."""
        ray = self._ray
        if ray is None or not self.actors:
            raise MatcherError("RayEngine.map() before start()", code="ray_error")
        busy = [0] * len(self.actors)
        window: deque = deque()
        source = iter(chunks)
        limit = self.in_flight * len(self.actors)

        def submit() -> bool:
            nxt = next(source, None)
            if nxt is None:
                return False
            token, items = nxt
            i = min(range(len(self.actors)), key=lambda a: busy[a])
            busy[i] += 1
            window.append((token, i, self.actors[i].score.remote(items, top_k)))
            return True

        more = True
        while more and len(window) < limit:
            more = submit()
        while window:
            token, i, ref = window.popleft()
            try:
                docs = ray.get(ref)
            except Exception as exc:
                raise MatcherError(f"a Ray actor failed: {_cause(exc)}; rows written so far are kept, run again "
                                   "with --resume to finish", code="ray_error") from None
            busy[i] -= 1
            if more:
                more = submit()
            yield token, docs

    def close(self) -> None:
        """Stop the actors, and the Ray this engine started (if it did)."""
        ray = self._ray
        if ray is None:
            return
        for actor in self.actors:
            with contextlib.suppress(Exception):  # already gone
                ray.kill(actor)
        self.actors = []
        if self._owns_ray:
            ray.shutdown()
            self._owns_ray = False


def _cause(exc: BaseException) -> str:
    """A short reason from a Ray exception (its first line), without any row's text."""
    text = str(exc).strip().splitlines()
    last = [line for line in text if line.strip()]
    return (last[-1] if last else type(exc).__name__)[:300]
