"""Scoring engines: what turns a chunk of work items into result documents.

Every engine scores a chunk with :func:`score_items` (one ``match_many`` call, one model call for all
the chunk's passages), so local, Ray and resumed runs give the same bytes. :class:`LocalEngine`
scores in this process; ``ray_engine.RayEngine`` on Ray actors.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Protocol

from ..core import Matcher
from ..errors import MatcherError, error_body
from ..extract import extract_text
from ..result import document
from .records import WorkItem

Chunk = tuple[Any, list[WorkItem]]  # (the driver's token for the chunk, its work items)


class Engine(Protocol):
    """Scores chunks, yielding ``(token, documents)`` in the order the chunks came in."""

    name: str

    def map(self, chunks: Iterable[Chunk], top_k: int | None) -> Iterator[tuple[Any, list[dict]]]:
        """Per chunk, one result document (or error body) per work item, in the items' order."""
        ...

    def close(self) -> None:
        """Release what the engine holds (Ray actors, a Ray it started)."""
        ...


def score_items(matcher: Matcher, items: Sequence[WorkItem], top_k: int | None) -> list[dict]:
    """Score one chunk: extract files, then one ``match_many`` call for all the chunk's texts.

    Returns, per item, the core's result document or ``{"error": {"code", "message"}}``.
    """
    out: list[dict | None] = [None] * len(items)
    texts, slots = [], []
    for i, item in enumerate(items):
        if item.error is not None:
            out[i] = error_body(item.error.code, item.error.message)
        elif item.content is None:
            texts.append(item.text)
            slots.append(i)
        else:
            try:
                texts.append(extract_text(item.content, item.name))
                slots.append(i)
            except MatcherError as exc:
                out[i] = error_body(exc.code, exc.message)
            except Exception as exc:  # pypdf/python-docx raise many types on broken files
                out[i] = error_body("unreadable_file", f"{item.name} could not be read ({type(exc).__name__}); "
                                    "export it again or send the text")
    for i, result in zip(slots, _match_many_isolated(matcher, texts, top_k), strict=True):
        out[i] = document(result)
    return out  # type: ignore[return-value]


def _match_many_isolated(matcher: Matcher, texts: list[str], top_k: int | None) -> list:
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

    def __init__(self, matcher: Matcher) -> None:
        self.matcher = matcher

    def map(self, chunks: Iterable[Chunk], top_k: int | None) -> Iterator[tuple[Any, list[dict]]]:
        for token, items in chunks:
            yield token, score_items(self.matcher, items, top_k)

    def close(self) -> None:
        pass
