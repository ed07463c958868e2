"""The ``matcher`` command: a thin terminal edge over the core. Errors are one line on stderr.

Every command builds its settings the same way (:meth:`Settings.from_args`: ``MATCHER_*``, then the
command's flags) and passes values through to the core, which owns the rules. Results go to stdout;
logs, progress and errors go to stderr. ``-v`` works before or after the command.

Exit codes:
  0    success
  1    partial success or a failed check: `score` wrote error rows for some candidates (the rest
       are scored), `catalog check --strict` found warnings, the quality guard of `eval` failed
  2    usage error: a bad flag or argument, a bad MATCHER_* value, options that do not go together
  3    runtime error: a missing or unreadable file, a broken catalog or index, a bad input text,
       OUTPUT in the way, a server that cannot be reached, an unexpected error
  130  interrupted (Ctrl-C)
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time
import traceback
import urllib.error
import urllib.request
from dataclasses import replace
from pathlib import Path

from .batch import add_arguments as add_score_arguments
from .batch import run_from_args as cmd_score
from .batch.cli import exit_code
from .catalog import resolve_catalog
from .catalog.onet import DEFAULT_MAX_TITLES, import_onet
from .catalog_check import check_catalog, render_check
from .core import Matcher, check_top_k
from .embed import make_embedder
from .errors import MatcherError, SettingsError
from .evaluate import evaluate, guard, load_items, misses, render, run_matcher
from .extract import extract_text
from .index import build_index
from .result import MatchResult
from .settings import Settings, add_flags, flags_given
from .text import check_text, decode_bytes
from .version import __version__

BAR_WIDTH = 16
# The table of the module docstring, shown at the end of `matcher --help`.
EXIT_CODES = __doc__[__doc__.index("Exit codes:"):].rstrip() if __doc__ else ""
EXIT_OK, EXIT_PARTIAL, EXIT_USAGE, EXIT_RUNTIME, EXIT_INTERRUPTED = 0, 1, 2, 3, 130


def _bar(score: float) -> str:
    eighths = round(max(0.0, min(1.0, score)) * BAR_WIDTH * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("" if part == 0 else " ▏▎▍▌▋▊▉"[part])


def _read_input(source: str) -> str:
    """Text from a file path or ``-`` (stdin). PDF/DOCX files are extracted."""
    if source == "-":
        return decode_bytes(sys.stdin.buffer.read(), "standard input")
    path = Path(source)
    if not path.is_file():
        raise MatcherError(f"no such file: {source}", code="not_found")
    return extract_text(path.read_bytes(), path.name)


def render_text(result: MatchResult) -> str:
    """The terminal view of a result: ranked roles with bars, evidence, gaps and the contrast."""
    lines = []
    if result.best_fit is None:
        why = (f" It reads more like {result.reads_like['title']}, which this catalog does not offer."
               if result.reads_like else "")
        lines.append("No good fit: no role in this catalog fits this text well enough "
                     f"(best score {result.results[0].score:.2f} < {result.threshold:.2f}).{why}\n"
                     if result.results else "No good fit.\n")
    width = max((len(r.title) for r in result.results), default=10)
    for rank, r in enumerate(result.results, 1):
        sub = []
        if r.experience is not None:
            sub.append(f"experience {r.experience:.2f}")
        if r.interest is not None:
            sub.append(f"interest {r.interest:.2f}")
        lines.append(f"{rank}. {r.title:<{width}}  {r.score:.2f}  {_bar(r.score):<{BAR_WIDTH}}  ({', '.join(sub)})")
        for ev in r.evidence[:3]:
            # the learned scorer's own weight for the passage, else the similarity of the pair
            weight = f"+{ev.contribution:.2f}" if ev.contribution is not None else f"{ev.similarity:.2f}"
            lines.append(f'   "{ev.resume_passage}"  ↔  "{ev.role_statement}"  ({weight})')
        for gap in r.gaps[:3]:
            lines.append(f'   not covered: "{gap}"')
    c = result.contrast
    if c and (c.favouring_top or c.favouring_runner_up):
        lines.append(f"\nWhy {c.role_id} rather than {c.versus}:")
        for ev in c.favouring_top:
            lines.append(f'   + "{ev.resume_passage}"  ↔  "{ev.role_statement}"')
        for ev in c.favouring_runner_up:
            lines.append(f'   - "{ev.resume_passage}" points to {c.versus}: "{ev.role_statement}"')
    return "\n".join(lines)


def _load(args) -> Matcher:
    return Matcher.load(Settings.from_args(args))


def cmd_match(args) -> int:
    """``matcher match FILE``: one résumé, ranked roles on the terminal (or the JSON document)."""
    # Check the input before loading the model: a bad file should not wait for it.
    settings = Settings.from_args(args)
    check_top_k(args.top_k, settings.max_top_k)
    text = check_text(_read_input(args.file), settings.max_text_chars)
    result = Matcher.load(settings).match(text, top_k=args.top_k)
    print(json.dumps(result.to_dict(), ensure_ascii=False, indent=2) if args.json else render_text(result))
    return 0


def cmd_roles(args) -> int:
    """``matcher roles``: the catalog's offered roles."""
    catalog = resolve_catalog(Settings.from_args(args), None)
    if args.json:
        print(json.dumps([r.to_dict() for r in catalog.roles], ensure_ascii=False, indent=2))
    else:
        for r in catalog.roles:
            print(f"{r.id:<16} {r.title}  ({len(r.statements())} statements)")
    return 0


def cmd_index_build(args) -> int:
    """``matcher index build``: embed the catalog and write its index."""
    settings = Settings.from_args(args)
    catalog = resolve_catalog(settings, None)
    built = build_index(catalog, make_embedder(settings), settings.index_dir, settings.backend)
    m = built.manifest
    print(f"built index for catalog {catalog.name!r}: {m['roles']} roles, {m['statements']} statements, "
          f"{m['index_type']}, model {m['model']}, {m['build_seconds']} s → {settings.index_dir / catalog.name}")
    return 0


def cmd_train(args) -> int:
    from .training import train

    settings = Settings.from_args(args)
    base = Matcher.load(replace(settings, scorer="similarity"))  # the index too: built or refreshed if needed
    catalog = base.catalog
    _, m = train(catalog, base.embedder, index_root=settings.index_dir, cache_dir=settings.cache_dir,
                 backend=settings.backend, statement_vectors=base.index.vectors)
    dev = m["dev_metrics"]
    sentences = ""
    if m["scorer"] == "examples":  # its examples are the catalog's; labelled texts only calibrate sentences
        cal = m["sentence_calibration"]
        sentences = (f"; sentences calibrated on {m['labelled_texts']} labelled texts (scale {cal['scale']}, "
                     f"offset {cal['offset']})" if m["labelled_texts"] else "; no labelled texts beside the catalog")
        sentences += f"; word head over {m['word_grams']:,} grams"
    source = "catalog" if m["scorer"] == "examples" else m["training_data"]
    print(f"trained the scorer of catalog {catalog.name!r} on {m['examples']} {source} examples "
          f"({len(m['classes'])} classes, {m['scorer']} scorer) in {m['train_seconds']} s; "
          f"temperature {m['temperature']:.3f}"
          + (f"; dev: top-1 {dev['top1']}, none → no fit {dev['none_to_no_fit']}, in scope → no fit "
             f"{dev['in_scope_to_no_fit']}, ECE {dev['ece']}" if dev else "; no dev set (temperature 1)")
          + sentences)
    return 0


def cmd_eval(args) -> int:
    """``matcher eval FILE``: accuracy on a labelled set; for a fast backend, the quality guard too."""
    matcher = _load(args)
    reports = evaluate(matcher, Path(args.file), baselines=not args.no_baselines)
    check = None
    if matcher.settings.backend != "torch" and not args.no_guard:
        # The quality guard: the same items through the fp32 torch reference, compared top-1 by top-1
        # (the same learned scorer on the reference vectors: the guard measures the backend alone).
        reference = Matcher.load(replace(matcher.settings, backend="torch", scorer="similarity"))
        reference = reference.with_scorer(matcher.scorer) if matcher.scorer is not None else reference
        check = guard(reports[0], run_matcher(reference, load_items(Path(args.file), matcher.catalog.role_ids)))
    if args.json:
        print(json.dumps({**{r.system: r.metrics() for r in reports}, **({"guard": check} if check else {})},
                         indent=2))
    else:
        print(render(reports, matcher.catalog.role_ids))
        if check:
            print(f"\nquality guard ({matcher.settings.backend} vs torch fp32): top-1 agreement "
                  f"{check['top1_agreement']:.3f}, best_fit agreement {check['best_fit_agreement']:.3f}, top-1 "
                  f"{check['top1_fast']:.3f} vs {check['top1_reference']:.3f} → "
                  f"{'PASS' if check['passed'] else 'FAIL'}")
        if args.misses:
            print("\nmisses:\n" + "\n".join(misses(reports[0])))
    return EXIT_OK if not check or check["passed"] else EXIT_PARTIAL


def cmd_catalog_check(args) -> int:
    """``matcher catalog check``: roles the model cannot tell apart, statements in two roles."""
    report = check_catalog(_load(args).index)
    print(render_check(report))
    return EXIT_OK if report.ok or not args.strict else EXIT_PARTIAL


def cmd_catalog_import_onet(args) -> int:
    """``matcher catalog import-onet DIR -o OUT``: a catalog from the O*NET database."""
    codes = args.codes.split(",") if args.codes else None
    summary = import_onet(Path(args.dir), Path(args.output), exclude_titles=args.exclude_titles, codes=codes,
                          limit=args.limit, max_titles=args.max_titles, command="matcher catalog import-onet")
    print(summary.describe())
    print(f"use it: matcher match --catalog {args.output} FILE   (the first use builds its index)")
    return 0


def cmd_catalog_reload(args) -> int:
    """Ask a running server to rebuild a catalog's index and swap it in (POST /v1/catalogs/NAME/reload)."""
    key = Settings.from_args(args).admin_key
    if not key:
        raise SettingsError("set MATCHER_ADMIN_KEY to the server's admin key")
    base = args.url.rstrip("/")
    name = args.name

    def call(method: str, path: str) -> dict:
        req = urllib.request.Request(base + path, method=method, headers={"Authorization": f"Bearer {key}"})
        try:
            with urllib.request.urlopen(req, timeout=30) as resp:
                return json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            try:
                detail = json.loads(exc.read())["error"]["message"]
            except (ValueError, KeyError, TypeError):
                detail = f"HTTP {exc.code}"
            raise MatcherError(f"{base}: {detail}", code="reload_failed") from None
        except (urllib.error.URLError, OSError) as exc:
            raise MatcherError(f"cannot reach {base} ({exc}); is `matcher serve` running?",
                               code="unreachable") from None

    status = call("POST", f"/v1/catalogs/{name}/reload")["reload"]
    print(f"reload of {name!r} started at {status.get('started_at')}", file=sys.stderr)
    while not args.no_wait and status["state"] == "running":
        time.sleep(1)
        status = call("GET", f"/v1/catalogs/{name}")["reload"]
    if status["state"] == "failed":
        raise MatcherError(f"reload of {name!r} failed; the previous index is still serving: {status['error']}",
                           code="reload_failed")
    print(f"catalog {name!r}: {status['state']}" + (f", hash {status['hash']}" if status.get("hash") else ""))
    return 0


def cmd_serve(args) -> int:
    """``matcher serve``: the HTTP API and the page, in ``--workers`` processes."""
    from .serve.server import run_server  # FastAPI and uvicorn load for this command only

    settings = Settings.from_args(args)
    # Every worker process builds its app from MATCHER_* (the import-string factory), so the flags
    # travel through the environment; MATCHER_WORKERS also shares the cores out between workers.
    os.environ.update(settings.to_env(*flags_given(args), "workers"))
    resolve_catalog(settings, None)  # a broken catalog fails here, in one line, before the port is bound
    note = (f"serving http://{args.host}:{args.port} with {settings.workers} worker(s); the model loads "
            "in the background (GET /readyz says when it is ready)")
    # With JSON logs every line on stderr is a JSON object, this one too.
    print(json.dumps({"level": "info", "logger": "matcher", "message": note}) if settings.log_format == "json"
          else f"matcher: {note}", file=sys.stderr)
    run_server(args.host, args.port, settings.workers, settings.log_format)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``matcher`` command line: one sub-command per task."""
    parser = argparse.ArgumentParser(prog="matcher", description="Match résumés to roles: ranked roles, "
                                     "evidence, gaps and an honest 'no good fit'.", epilog=EXIT_CODES,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--version", action="version", version=f"matcher {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="more logging on stderr (also after the command)")
    sub = parser.add_subparsers(dest="command", required=True)
    _add_matching(sub)
    _add_catalog(sub)
    p = _command(sub, "score", help="score many candidates (JSONL, CSV or a folder of résumés) into a JSONL "
                 "or CSV file, or to stdout (-o -); exit 1 when some rows failed")
    add_score_arguments(p)
    p.set_defaults(func=cmd_score)
    p = _command(sub, "serve", help="run the HTTP API and the web page (uvicorn)")
    p.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1; 0.0.0.0 in a container)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    p.add_argument("--workers", type=int, default=None,
                   help="worker processes, each with its own model copy (default: MATCHER_WORKERS or 1)")
    add_flags(p)
    p.set_defaults(func=cmd_serve)
    return parser


def _verbose_flag() -> argparse.ArgumentParser:
    """``-v`` for every sub-command, so ``matcher match -v x.txt`` works as ``matcher -v match x.txt`` does.

    Its default is SUPPRESS: argparse copies a sub-command's defaults over the values parsed before
    the command, so a default of False here would undo a ``-v`` given before it."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument("-v", "--verbose", action="store_true", default=argparse.SUPPRESS,
                        help="more logging on stderr")
    return parent


_VERBOSE = _verbose_flag()


def _command(sub, name: str, **kwargs) -> argparse.ArgumentParser:
    """A sub-command's parser, with ``-v``."""
    return sub.add_parser(name, parents=[_VERBOSE], **kwargs)


def _add_matching(sub) -> None:
    """match, roles, index build, train, eval."""
    p = _command(sub, "match", help="rank the catalog's roles for a résumé")
    p.add_argument("file", help="a .txt/.md/.pdf/.docx file, or - for stdin")
    p.add_argument("--top-k", type=int, default=None, help="how many roles to show")
    p.add_argument("--json", action="store_true", help="print the result document as JSON")
    add_flags(p)
    p.set_defaults(func=cmd_match)

    p = _command(sub, "roles", help="list the catalog's roles")
    p.add_argument("--json", action="store_true")
    add_flags(p)
    p.set_defaults(func=cmd_roles)

    p = _command(sub, "index", help="manage the built index")
    b = _command(p.add_subparsers(dest="index_command", required=True), "build",
                 help="embed the catalog and write the index (atomic)")
    add_flags(b)
    b.set_defaults(func=cmd_index_build)

    p = _command(sub, "train", help="train the catalog's learned scorer (from its _labelled/ profiles, or "
                 "from its own statements) and save it beside the index")
    add_flags(p)
    p.set_defaults(func=cmd_train)

    p = _command(sub, "eval", help="accuracy on a labelled JSONL set, with baselines")
    p.add_argument("file")
    p.add_argument("--json", action="store_true")
    p.add_argument("--no-baselines", action="store_true")
    p.add_argument("--no-guard", action="store_true", help="skip the quality guard (the torch fp32 reference run)")
    p.add_argument("--misses", action="store_true", help="list the items the matcher got wrong")
    add_flags(p)
    p.set_defaults(func=cmd_eval)


def _add_catalog(sub) -> None:
    """catalog check, catalog import-onet, catalog reload."""
    csub = _command(sub, "catalog", help="inspect and manage catalogs").add_subparsers(dest="catalog_command",
                                                                                   required=True)
    c = _command(csub, "check", help="warn about roles the model cannot tell apart and shared statements")
    c.add_argument("--strict", action="store_true", help="exit 1 when there are warnings")
    add_flags(c)
    c.set_defaults(func=cmd_catalog_check)
    c = _command(csub, "import-onet", help="make a catalog from the O*NET database (text files); "
                 "see the README's Catalogs section")
    c.add_argument("dir", help="the folder of O*NET text files, e.g. ../shared/data/onet-29.3")
    c.add_argument("-o", "--output", required=True, help="the catalog folder to write (catalog.jsonl, README.md)")
    c.add_argument("--exclude-titles", help="a file of job titles to leave out, one per line (benchmark queries)")
    c.add_argument("--codes", help="only these O*NET-SOC codes, comma-separated (e.g. 15-1252.00,29-1141.00)")
    c.add_argument("--limit", type=int, help="only the first N occupations")
    c.add_argument("--max-titles", type=int, default=DEFAULT_MAX_TITLES,
                   help=f"title statements per occupation (default {DEFAULT_MAX_TITLES})")
    c.set_defaults(func=cmd_catalog_import_onet)
    c = _command(csub, "reload", help="ask a running server to rebuild a catalog's index and swap it in "
                 "(needs MATCHER_ADMIN_KEY)")
    c.add_argument("name", nargs="?", default="default", help="catalog name (default: default)")
    c.add_argument("--url", default="http://127.0.0.1:8000", help="the server (default http://127.0.0.1:8000)")
    c.add_argument("--no-wait", action="store_true", help="return once the rebuild has started")
    c.set_defaults(func=cmd_catalog_reload)


def main(argv: list[str] | None = None) -> int:
    """The ``matcher`` command; returns the exit status (see the module docstring; errors: one line on stderr)."""
    parser = build_parser()
    args = parser.parse_args(argv)  # a bad flag or argument: argparse prints usage and exits 2
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="matcher: %(message)s", stream=sys.stderr)
    try:
        return args.func(args) or EXIT_OK
    except MatcherError as exc:
        print(f"matcher: error: {exc.message}", file=sys.stderr)
        return exit_code(exc)  # a bad setting or option: 2; anything that failed while running: 3
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `matcher match x | head`: the reader left; not an error worth a traceback
        sys.stderr.close()
        return EXIT_OK
    except Exception:  # a bug: its traceback, and 3 rather than Python's 1, which means "some rows failed"
        traceback.print_exc()
        return EXIT_RUNTIME
