"""Import the O*NET occupation database (text files) as a catalog: ``matcher catalog import-onet``.

Reads the tab-separated files of an O*NET database download and writes one catalog folder::

    <out>/catalog.jsonl   # one role per occupation (role id = O*NET-SOC code), one statement per row
    <out>/README.md       # what is in it, how it was made, and the CC BY 4.0 attribution

JSONL, not a folder of ~1,000 YAML files: it loads in well under a second (PyYAML's pure-Python
loader takes seconds for the same text). The attribution is also in the file's metadata line
(:func:`matcher.catalog.read_metadata`), so anything that displays the catalog can show it.

Section mapping (see the README's "Catalogs" section):

* Description → ``summary``.
* Task statements (core, supplemental and untyped) → ``responsibilities``.
* Technology skills, grouped by commodity (hot technologies first, a few examples per statement)
  → ``skills``: ``"Spreadsheet software: Microsoft Excel, Google Sheets"``.
* The occupation title, its reported job titles and its alternate titles → ``trajectory``, one
  short statement per title (reported ones first, then alternate titles named by the most
  sources), at most ``max_titles`` per occupation to keep the index at a sane size; every title
  (the occupation's own excepted) → ``aliases``, which the scorer learns from but the index does not hold.

``exclude_titles`` leaves titles out (case- and space-insensitive): benchmarks pass the titles they
use as queries so the catalog cannot contain the answers verbatim.

A large import also gets ``<out>/_labelled/train.jsonl``: the project's own short texts in which
people describe their work, labelled with O*NET-SOC codes (``matcher/data/onet_labelled.jsonl``,
written for this purpose; see ``eval/onet/README.md``), keeping the rows whose occupation was
imported. The example scorer fits the calibration of sentences on them, so a score on what people
write means what it says, not only a score on the catalog's own lines.
"""

from __future__ import annotations

import csv
import json
import re
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import CatalogError
from .model import ALIASES, MAX_LEN, Role
from .table import write_jsonl_catalog
from .yaml_files import role_files

FILES = {
    "occupations": ("occupation_data.txt", ("O*NET-SOC Code", "Title", "Description")),
    "tasks": ("task_statements.txt", ("O*NET-SOC Code", "Task", "Task Type")),
    "technology": ("technology_skills.txt", ("O*NET-SOC Code", "Example", "Commodity Title", "Hot Technology",
                                             "In Demand")),
    "alternate": ("alternate_titles.txt", ("O*NET-SOC Code", "Alternate Title", "Source(s)")),
}
# Optional: incumbents' own job titles (part of the O*NET download as Sample of Reported Titles).
REPORTED = ("sample_reported_titles.txt", ("O*NET-SOC Code", "Reported Job Title", "Shown in My Next Move"))

DEFAULT_MAX_TITLES = 15  # title statements per occupation (the occupation title included)
DEFAULT_EXAMPLES = 8  # technology examples per skills statement
CATALOG_FILE = "catalog.jsonl"
LABELLED = Path(__file__).parent.parent / "data" / "onet_labelled.jsonl"
# Only catalogs large enough for the example scorer get the labelled texts: a smaller one gets the
# learned scorer, which would train on those few texts alone instead of on the catalog's own lines.
# (matcher.training.TRAIN_MAX_ROLES + 1: the catalog layer may not import training.)
LABELLED_MIN_ROLES = 201

ATTRIBUTION = ("O*NET {version}Database by the U.S. Department of Labor, Employment and Training Administration "
               "(USDOL/ETA), used under the CC BY 4.0 licence. O*NET® is a trademark of USDOL/ETA.")


def attribution(version: str = "") -> str:
    """The attribution CC BY 4.0 requires wherever the data (or a catalog made from it) is shown."""
    return ATTRIBUTION.format(version=f"{version} " if version else "")


def normalise_title(title: str) -> str:
    """The form titles are compared in: case-folded, runs of whitespace collapsed."""
    return " ".join(title.casefold().split())


@dataclass
class Occupation:
    """One O*NET occupation with the text the catalog is made from."""

    code: str
    title: str
    description: str
    tasks: list[str] = field(default_factory=list)
    # commodity title → examples, hot / in-demand technologies first
    technology: dict[str, list[str]] = field(default_factory=dict)
    # reported then alternate titles, most common first, de-duplicated; not the occupation title
    titles: list[str] = field(default_factory=list)


def _read_tsv(src: Path, name: str, columns: tuple[str, ...], *, required: bool = True) -> list[tuple[int, dict]]:
    path = src / name
    if not path.is_file():
        if not required:
            return []
        raise CatalogError(f"{src}: no {name}; expected the O*NET database as text files "
                           f"({', '.join(f for f, _ in FILES.values())}), e.g. from "
                           "https://www.onetcenter.org/database.html")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as exc:
        raise CatalogError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    lines = text.splitlines()
    if not lines:
        raise CatalogError(f"{path}: empty file")
    header = [h.strip() for h in lines[0].split("\t")]
    missing = [c for c in columns if c not in header]
    if missing:
        raise CatalogError(f"{path}:1: missing column{'s' * (len(missing) > 1)} "
                           f"{', '.join(repr(c) for c in missing)} (found {', '.join(repr(h) for h in header)})")
    pos = [header.index(c) for c in columns]
    rows = []
    for n, row in enumerate(csv.reader(lines[1:], delimiter="\t", quoting=csv.QUOTE_NONE), 2):
        if not row or not any(row):
            continue
        if len(row) < len(header):
            raise CatalogError(f"{path}:{n}: expected {len(header)} tab-separated fields, found {len(row)}")
        rows.append((n, {c: row[i].strip() for c, i in zip(columns, pos, strict=True)}))
    return rows


def detect_version(src: Path) -> str:
    """The database release (``"29.3"``) from the folder name or its README, or ``""``."""
    candidates = [Path(src).resolve().name]
    readme = Path(src) / "README.md"
    if readme.is_file():
        candidates.append(readme.read_text(encoding="utf-8", errors="replace")[:500])
    for text in candidates:
        m = re.search(r"(?:onet|O\*NET)[-_ ]?(\d{2}\.\d)\b", text, re.I)
        if m:
            return m.group(1)
    return ""


def read_onet(src: Path, *, codes: Iterable[str] | None = None, limit: int | None = None) -> list[Occupation]:
    """The occupations of an O*NET text database, in file order (optionally only ``codes`` or the first
    ``limit``)."""
    src = Path(src)
    if not src.is_dir():
        raise CatalogError(f"{src}: not a folder; give the folder holding the O*NET text files "
                           f"({FILES['occupations'][0]}, ...)")
    occupations: dict[str, Occupation] = {}
    for n, row in _read_tsv(src, *FILES["occupations"]):
        code = row["O*NET-SOC Code"]
        if not code or not row["Title"]:
            raise CatalogError(f"{src / FILES['occupations'][0]}:{n}: empty code or title")
        occupations[code] = Occupation(code, row["Title"][:MAX_LEN["title"]], row["Description"][:MAX_LEN["summary"]])
    if codes is not None:
        wanted = list(dict.fromkeys(c.strip() for c in codes if c.strip()))
        unknown = [c for c in wanted if c not in occupations]
        if unknown:
            raise CatalogError(f"{src / FILES['occupations'][0]}: no occupation with code "
                               f"{', '.join(unknown)} (codes look like 15-1252.00)")
        occupations = {c: occupations[c] for c in wanted}
    if limit is not None:
        occupations = dict(list(occupations.items())[:max(0, limit)])
    if not occupations:
        raise CatalogError(f"{src}: no occupations to import")

    core, other = {}, {}
    for _, row in _read_tsv(src, *FILES["tasks"]):
        occ = occupations.get(row["O*NET-SOC Code"])
        if occ and row["Task"]:
            (core if row["Task Type"] == "Core" else other).setdefault(occ.code, []).append(row["Task"])
    for code, occ in occupations.items():
        occ.tasks = list(dict.fromkeys(core.get(code, []) + other.get(code, [])))

    tech: dict[str, dict[str, list[tuple[int, int, str]]]] = {}
    for n, row in _read_tsv(src, *FILES["technology"]):
        occ = occupations.get(row["O*NET-SOC Code"])
        if occ and row["Example"] and row["Commodity Title"]:
            rank = (row["Hot Technology"] != "Y") + (row["In Demand"] != "Y")
            tech.setdefault(occ.code, {}).setdefault(row["Commodity Title"], []).append((rank, n, row["Example"]))
    for code, groups in tech.items():
        occupations[code].technology = {c: list(dict.fromkeys(e for _, _, e in sorted(ex)))
                                        for c, ex in groups.items()}

    _add_titles(src, occupations)
    return list(occupations.values())


def _add_titles(src: Path, occupations: dict[str, Occupation]) -> None:
    """Each occupation's titles, most common first: reported titles (those shown in My Next Move
    first), then alternate titles (named by more sources, shorter first), de-duplicated."""
    ranked: dict[str, list[tuple[tuple, str]]] = {}
    for n, row in _read_tsv(src, *REPORTED, required=False):
        if row["O*NET-SOC Code"] in occupations and row["Reported Job Title"]:
            key = (0, row["Shown in My Next Move"] != "Y", n)
            ranked.setdefault(row["O*NET-SOC Code"], []).append((key, row["Reported Job Title"]))
    for n, row in _read_tsv(src, *FILES["alternate"]):
        if row["O*NET-SOC Code"] in occupations and row["Alternate Title"]:
            sources = len([s for s in row["Source(s)"].split(",") if s.strip()])
            key = (1, -sources, len(row["Alternate Title"]), n)  # named by more sources, shorter: more common
            ranked.setdefault(row["O*NET-SOC Code"], []).append((key, row["Alternate Title"]))
    for code, titles in ranked.items():
        seen, out = {normalise_title(occupations[code].title)}, []
        for _, title in sorted(titles):
            norm = normalise_title(title)
            if norm not in seen:
                seen.add(norm)
                out.append(title[:MAX_LEN["statement"]])
        occupations[code].titles = out


def title_rows(src: Path) -> list[tuple[str, str, str]]:
    """Every ``(code, title, source)`` of the database, ``source`` being ``"alternate"`` or ``"reported"``
    (the natural benchmark: a job title whose right answer is its occupation)."""
    src = Path(src)
    rows = [(r["O*NET-SOC Code"], r["Alternate Title"], "alternate") for _, r in _read_tsv(src, *FILES["alternate"])]
    rows += [(r["O*NET-SOC Code"], r["Reported Job Title"], "reported")
             for _, r in _read_tsv(src, *REPORTED, required=False)]
    return [r for r in rows if r[1]]


def _skill_statements(technology: dict[str, list[str]], per_statement: int) -> list[str]:
    out = []
    for commodity, examples in technology.items():
        for i in range(0, len(examples), max(1, per_statement)):
            text = f"{commodity}: {', '.join(examples[i:i + per_statement])}"
            out.append(text[:MAX_LEN["statement"]])
    return list(dict.fromkeys(out))


def occupation_role(occ: Occupation, *, exclude: set[str] = frozenset(), max_titles: int = DEFAULT_MAX_TITLES,
                    examples_per_statement: int = DEFAULT_EXAMPLES) -> tuple[Role, int]:
    """The catalog role for one occupation, and how many of its titles ``exclude`` removed."""
    titles, dropped = [], 0
    for title in [occ.title, *occ.titles]:
        if normalise_title(title) in exclude:
            dropped += 1
        else:
            titles.append(title)
    sections = {
        "responsibilities": tuple(occ.tasks),
        "skills": tuple(_skill_statements(occ.technology, examples_per_statement)),
        "trajectory": tuple(titles[:max_titles]),
        ALIASES: tuple(t for t in titles if t != occ.title),  # every title: the scorer learns from all
    }
    return Role(occ.code, occ.title, occ.description, sections, "offered"), dropped


def read_title_list(path: Path) -> list[str]:
    """Titles from a file, one per line; blank lines and lines starting with ``#`` are skipped."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CatalogError(f"{path}: no such file (the titles to exclude, one per line)") from None
    except UnicodeDecodeError:
        raise CatalogError(f"{path}: not UTF-8 text; save the file as UTF-8") from None
    return [t.strip() for t in text.splitlines() if t.strip() and not t.lstrip().startswith("#")]


@dataclass(frozen=True)
class ImportSummary:
    """What :func:`import_onet` wrote."""

    folder: Path
    version: str
    roles: int
    statements: dict[str, int]  # per section, summary included
    excluded_titles: int  # title statements left out because they were on the exclusion list
    seconds: float
    aliases: int = 0  # other titles kept as aliases (not statements)

    def describe(self) -> str:
        total = sum(self.statements.values())
        parts = ", ".join(f"{k} {v:,}" for k, v in self.statements.items())
        return (f"wrote O*NET {self.version or ''} catalog {self.folder.name!r}: {self.roles:,} roles, "
                f"{total:,} statements ({parts}), {self.aliases:,} aliases; "
                f"{self.excluded_titles:,} excluded titles left out; "
                f"{self.seconds:.1f} s → {self.folder / CATALOG_FILE}").replace("O*NET  ", "O*NET ")


def import_onet(src: Path, out: Path, *, exclude_titles: Iterable[str] | Path | None = None,
                codes: Iterable[str] | None = None, limit: int | None = None,
                max_titles: int = DEFAULT_MAX_TITLES, examples_per_statement: int = DEFAULT_EXAMPLES,
                command: str = "") -> ImportSummary:
    """Read the O*NET database in ``src`` and write the catalog folder ``out`` (see the module docstring).

    ``exclude_titles`` is an iterable of titles or a path to a file of them (one per line).
    """
    started = time.time()
    src, out = Path(src), Path(out)
    if max_titles < 1 or examples_per_statement < 1:
        raise CatalogError("max_titles and examples_per_statement must be at least 1")
    if out.exists() and not out.is_dir():
        raise CatalogError(f"{out}: exists and is not a folder; give a folder for the catalog")
    if out.is_dir() and role_files(out):
        raise CatalogError(f"{out}: already holds YAML role files (a catalog of its own); choose an empty "
                           "or new folder")
    if isinstance(exclude_titles, (str, Path)):
        exclude_titles = read_title_list(Path(exclude_titles))
    exclude = {normalise_title(t) for t in exclude_titles or ()}
    occupations = read_onet(src, codes=codes, limit=limit)
    version = detect_version(src)
    roles, excluded = [], 0
    for occ in occupations:
        role, dropped = occupation_role(occ, exclude=exclude, max_titles=max_titles,
                                        examples_per_statement=examples_per_statement)
        roles.append(role)
        excluded += dropped
    counts = {"summary": sum(1 for r in roles if r.summary)}
    for section in ("responsibilities", "skills", "trajectory"):
        counts[section] = sum(len(r.sections[section]) for r in roles)
    metadata = {
        "title": f"O*NET {version} occupations".replace("  ", " "),
        "source": f"O*NET {version} Database, https://www.onetcenter.org/database.html".replace("  ", " "),
        "licence": "CC BY 4.0 (https://creativecommons.org/licenses/by/4.0/)",
        "attribution": attribution(version),
        "generated_by": command or "matcher catalog import-onet",
        "options": {"max_titles": max_titles, "examples_per_statement": examples_per_statement,
                    "codes": len(occupations), "excluded_titles": excluded},
    }
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl_catalog(out / CATALOG_FILE, roles, metadata)
    (out / "README.md").write_text(_readme(version, len(roles), counts, excluded, metadata), encoding="utf-8")
    if len(roles) >= LABELLED_MIN_ROLES:
        _write_labelled(out, {r.id for r in roles})
    aliases = sum(len(r.aliases) for r in roles)
    return ImportSummary(out, version, len(roles), counts, excluded, time.time() - started, aliases)


def _write_labelled(out: Path, codes: set[str]) -> None:
    """Copy the labelled texts of the imported occupations (and those that describe no work) to
    ``out/_labelled/train.jsonl``."""
    keep = codes | {"none"}
    rows = [line for line in LABELLED.read_text(encoding="utf-8").splitlines()
            if line.strip() and json.loads(line)["label"] in keep]
    folder = out / "_labelled"
    folder.mkdir(exist_ok=True)
    (folder / "train.jsonl").write_text("".join(r + "\n" for r in rows), encoding="utf-8")


def _readme(version: str, roles: int, counts: dict[str, int], excluded: int, metadata: dict) -> str:
    examples, titles = metadata["options"]["examples_per_statement"], metadata["options"]["max_titles"]
    return f"""# {metadata['title']} — a role-matcher catalog

Attribution: {metadata['attribution']}

Source: {metadata['source']}. Licence: {metadata['licence']}. This catalog is an adaptation: the
occupation descriptions, task statements, technology skills and job titles were regrouped as
role statements; nothing was reworded. Keep this attribution wherever the catalog or its results
are shown.

Generated by `{metadata['generated_by']}`: {roles:,} roles (one per O*NET-SOC occupation),
{sum(counts.values()):,} statements — {', '.join(f'{k} {v:,}' for k, v in counts.items())}.
{excluded:,} job titles were left out on request (`--exclude-titles`).

| role field / section | from |
| --- | --- |
| id, title | O*NET-SOC code, occupation title |
| summary | occupation description |
| responsibilities | task statements (core, then supplemental) |
| skills | technology skills, one statement per commodity (up to {examples} examples each) |
| trajectory | the occupation title, reported job titles and alternate titles (up to {titles}) |

Use it: `matcher match --catalog <this folder> resume.txt` (the first use builds its index).
"""
