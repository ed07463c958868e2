"""Catalog sources besides the YAML folder: one CSV or JSONL file with one statement per row.

Both formats carry the same columns (JSONL: the same keys)::

    role_id,title,section,statement[,summary][,kind]

* ``section`` is one of ``responsibilities, skills, background, trajectory, fits_if`` (or
  ``summary``: the row's statement is then the role's summary; or ``aliases``: another title of
  the role, which the scorer of a large catalog learns from but the index does not hold).
* ``title``, ``summary`` and ``kind`` (``offered``/``adjacent``) are role-level: give them on any
  row of the role (blank on the others is fine), but never two different values for one role.
* A row with an empty ``section`` *and* an empty ``statement`` only sets role-level fields.
* A JSONL file may start with one ``{"catalog": {...}}`` line of catalog metadata (title,
  licence, attribution...); :func:`read_metadata` returns it, matching ignores it.

A catalog *folder* may hold ``catalog.jsonl`` (or ``catalog.csv``) instead of YAML role files:
that is the layout ``matcher catalog import-onet`` writes, with a README beside it. Every error
names the file and the line: ``roles.csv:17: unknown section 'skilz'; expected one of ...``.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from ..errors import CatalogError
from ..files import atomic_write
from .model import ALIASES, KINDS, MAX_LEN, ROLE_ID_PATTERN, SECTIONS, Catalog, Role

COLUMNS = ("role_id", "title", "section", "statement")
ROW_SECTIONS = (*SECTIONS, ALIASES)  # what a row's section may be (besides "summary")
OPTIONAL_COLUMNS = ("summary", "kind")
ROLE_FIELDS = ("title", "summary", "kind")
SUFFIXES = {".csv": "csv", ".jsonl": "jsonl", ".ndjson": "jsonl"}  # a catalog file's format, by its suffix
# File names a catalog folder may hold instead of YAML role files, in order of preference.
FOLDER_FILES = ("catalog.jsonl", "catalog.csv")
METADATA_KEY = "catalog"
_ROLE_ID = re.compile(ROLE_ID_PATTERN)


def table_in_folder(folder: Path) -> Path | None:
    """The ``catalog.jsonl``/``catalog.csv`` a catalog folder holds, or ``None``."""
    for name in FOLDER_FILES:
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def table_format(path: Path) -> str | None:
    """``csv`` or ``jsonl`` for a catalog file, by its suffix (any case); ``None`` for anything else."""
    return SUFFIXES.get(Path(path).suffix.lower())


def _format_of(path: Path) -> str:
    fmt = table_format(path)
    if fmt is None:
        raise CatalogError(f"{path}: not a catalog file; expected a folder of *.yaml role files, "
                           f"or a {', '.join(SUFFIXES)} file")
    return fmt


def _read_text(path: Path) -> str:
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")  # spreadsheets often save CSV with a byte-order mark
    except UnicodeDecodeError as exc:
        line = data[:exc.start].count(b"\n") + 1
        raise CatalogError(f"{path}:{line}: not UTF-8 text; save the file as UTF-8") from None


def _csv_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    where = str(path)
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        header = next(reader, None)
        while header is not None and not any(h.strip() for h in header):
            header = next(reader, None)
        if header is None:
            raise CatalogError(f"{where}: empty file; the first line must name the columns "
                               f"{','.join(COLUMNS)}")
        header_line = reader.line_num
        names = [h.strip().lower() for h in header]
        _check_columns(f"{where}:{header_line}", names)
        start = reader.line_num + 1
        for row in reader:
            line, start = start, reader.line_num + 1  # a quoted field may span lines: report its first
            if not any(cell.strip() for cell in row):
                continue
            if len(row) != len(names):
                raise CatalogError(f"{where}:{line}: expected {len(names)} fields ({','.join(names)}), "
                                   f"found {len(row)}; quote fields that contain commas")
            yield line, dict(zip(names, row, strict=True))
    except csv.Error as exc:
        raise CatalogError(f"{where}:{reader.line_num}: malformed CSV ({exc})") from None


def _check_columns(where: str, names: list[str]) -> None:
    missing = [c for c in COLUMNS if c not in names]
    unknown = [c for c in names if c not in COLUMNS + OPTIONAL_COLUMNS]
    dupes = sorted({c for c in names if names.count(c) > 1})
    expected = f"expected {', '.join(COLUMNS)} (optional: {', '.join(OPTIONAL_COLUMNS)})"
    if missing:
        raise CatalogError(f"{where}: missing column{'s' * (len(missing) > 1)} "
                           f"{', '.join(repr(c) for c in missing)}; {expected}")
    if unknown:
        raise CatalogError(f"{where}: unknown column{'s' * (len(unknown) > 1)} "
                           f"{', '.join(repr(c) for c in unknown)}; {expected}")
    if dupes:
        raise CatalogError(f"{where}: column {', '.join(repr(c) for c in dupes)} appears twice")


def _jsonl_rows(path: Path, text: str) -> Iterator[tuple[int, dict[str, str]]]:
    where = str(path)
    first = True
    for n, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            obj = json.loads(raw)
        except ValueError as exc:
            raise CatalogError(f"{where}:{n}: invalid JSON ({exc})") from None
        if not isinstance(obj, dict):
            raise CatalogError(f"{where}:{n}: expected a JSON object with {', '.join(COLUMNS)}")
        if METADATA_KEY in obj:
            if not first or len(obj) != 1 or not isinstance(obj[METADATA_KEY], dict):
                raise CatalogError(f"{where}:{n}: a {{\"{METADATA_KEY}\": {{...}}}} metadata line must be "
                                   "the first line and hold only that object")
            first = False
            continue
        first = False
        unknown = [k for k in obj if k not in COLUMNS + OPTIONAL_COLUMNS]
        if unknown:
            raise CatalogError(f"{where}:{n}: unknown key{'s' * (len(unknown) > 1)} "
                               f"{', '.join(repr(k) for k in unknown)}; expected {', '.join(COLUMNS)} "
                               f"(optional: {', '.join(OPTIONAL_COLUMNS)})")
        row = {}
        for key, value in obj.items():
            if value is None:
                value = ""
            if not isinstance(value, str):
                raise CatalogError(f"{where}:{n}: '{key}' must be a string, got {type(value).__name__}")
            row[key] = value
        if "role_id" not in row:
            raise CatalogError(f"{where}:{n}: missing 'role_id'")
        yield n, row


def read_rows(path: Path) -> Iterator[tuple[int, dict[str, str]]]:
    """``(line number, row)`` for every data row of a CSV/JSONL catalog file (values not yet checked)."""
    path = Path(path)
    fmt = _format_of(path)
    text = _read_text(path)
    return _csv_rows(path, text) if fmt == "csv" else _jsonl_rows(path, text)


class _RoleDraft:
    __slots__ = ("first_line", "id", "sections", "seen", "set_on", "values")

    def __init__(self, role_id: str, line: int) -> None:
        self.id = role_id
        self.first_line = line
        self.values: dict[str, str] = {}
        self.set_on: dict[str, int] = {}
        self.sections: dict[str, list[str]] = {s: [] for s in ROW_SECTIONS}
        self.seen: dict[tuple[str, str], int] = {}

    def set(self, where: str, line: int, key: str, value: str) -> None:
        old = self.values.get(key)
        if old is not None and old != value:
            raise CatalogError(f"{where}:{line}: {key} {_short(value)} differs from {_short(old)} given for "
                               f"role '{self.id}' on line {self.set_on[key]}; give one {key} per role")
        if old is None:
            self.values[key], self.set_on[key] = value, line


def _short(text: str, limit: int = 60) -> str:
    return repr(text if len(text) <= limit else text[:limit - 1] + "…")


def roles_from_rows(rows: Iterable[tuple[int, dict[str, str]]], where: str) -> list[Role]:
    """Group checked rows into roles (in order of first appearance); errors name ``where:line``."""
    drafts: dict[str, _RoleDraft] = {}
    expected_sections = ", ".join((*ROW_SECTIONS, "summary"))
    for line, raw in rows:
        row = {k: (v or "").strip() for k, v in raw.items()}
        role_id = row.get("role_id", "")
        if not role_id:
            raise CatalogError(f"{where}:{line}: empty role_id")
        if not _ROLE_ID.match(role_id):
            raise CatalogError(f"{where}:{line}: role_id {role_id!r} is not valid; use lower-case letters, "
                               "digits, '.', '_' or '-' (at most 64 characters, starting with a letter or digit)")
        draft = drafts.get(role_id) or drafts.setdefault(role_id, _RoleDraft(role_id, line))
        section, statement = row.get("section", "").lower(), row.get("statement", "")
        for key in ROLE_FIELDS:
            value = row.get(key, "")
            if not value:
                continue
            if key == "kind" and value not in KINDS:
                raise CatalogError(f"{where}:{line}: kind {value!r} is not one of {', '.join(KINDS)}")
            if len(value) > MAX_LEN.get(key, 10_000):
                raise CatalogError(f"{where}:{line}: {key} is over {MAX_LEN[key]} characters")
            draft.set(where, line, key, value)
        if not section and not statement:
            continue  # a role-level row: title/summary/kind only
        if not section:
            raise CatalogError(f"{where}:{line}: empty section; expected one of {expected_sections}")
        if section != "summary" and section not in ROW_SECTIONS:
            raise CatalogError(f"{where}:{line}: unknown section {section!r}; expected one of {expected_sections}")
        if not statement:
            raise CatalogError(f"{where}:{line}: empty statement (section {section!r}, role '{role_id}')")
        if section == "summary":
            if len(statement) > MAX_LEN["summary"]:
                raise CatalogError(f"{where}:{line}: summary is over {MAX_LEN['summary']} characters")
            draft.set(where, line, "summary", statement)
            continue
        if len(statement) > MAX_LEN["statement"]:
            raise CatalogError(f"{where}:{line}: statement is over {MAX_LEN['statement']} characters")
        key = (section, statement)
        if key in draft.seen:
            raise CatalogError(f"{where}:{line}: duplicate statement for role '{role_id}' "
                               f"(same as line {draft.seen[key]})")
        draft.seen[key] = line
        draft.sections[section].append(statement)
    if not drafts:
        raise CatalogError(f"{where}: no roles (the file has no data rows)")
    roles = []
    for d in drafts.values():
        if "title" not in d.values:
            raise CatalogError(f"{where}:{d.first_line}: role '{d.id}' has no title; give it on at least one "
                               "of its rows")
        if not d.seen and "summary" not in d.values:
            raise CatalogError(f"{where}:{d.first_line}: role '{d.id}' has no statements")
        roles.append(Role(d.id, d.values["title"], d.values.get("summary", ""),
                          {s: tuple(v) for s, v in d.sections.items()}, d.values.get("kind", "offered")))
    return roles


def load_table_catalog(path: Path, name: str | None = None) -> Catalog:
    """Load a catalog from one CSV or JSONL file (one statement per row; see the module docstring)."""
    path = Path(path)
    roles = roles_from_rows(read_rows(path), str(path))
    return Catalog(name or path.stem, tuple(roles), source=str(path))


def read_metadata(path: Path) -> dict:
    """The ``{"catalog": {...}}`` metadata of a JSONL catalog (file or folder), else ``{}``.

    It carries what a catalog must display beside its results, such as a data licence's attribution.
    """
    path = Path(path)
    if path.is_dir():
        found = table_in_folder(path)
        if found is None:
            return {}
        path = found
    if _format_of(path) != "jsonl":
        return {}
    with path.open(encoding="utf-8-sig") as fh:
        for raw in fh:
            if not raw.strip():
                continue
            try:
                obj = json.loads(raw)
            except ValueError:
                return {}
            return dict(obj[METADATA_KEY]) if isinstance(obj, dict) and isinstance(obj.get(METADATA_KEY),
                                                                                    dict) else {}
    return {}


def role_rows(role: Role) -> Iterator[dict[str, str]]:
    """A role as JSONL rows: one role-level row (title, summary, kind), then one row per statement."""
    head = {"role_id": role.id, "title": role.title}
    if role.summary:
        head["summary"] = role.summary
    if role.kind != "offered":
        head["kind"] = role.kind
    yield head
    for section in ROW_SECTIONS:
        for text in role.sections.get(section, ()):
            yield {"role_id": role.id, "section": section, "statement": text}


def write_jsonl_catalog(path: Path, roles: Iterable[Role], metadata: dict | None = None) -> int:
    """Write roles as a JSONL catalog file, atomically; returns the number of statement rows."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    lines = [json.dumps({METADATA_KEY: metadata}, ensure_ascii=False)] if metadata else []
    n = 0
    for role in roles:
        for row in role_rows(role):
            n += "statement" in row
            lines.append(json.dumps(row, ensure_ascii=False))
    atomic_write(path, ("\n".join(lines) + "\n").encode("utf-8"), mode=0o644)  # a catalog is meant to be read
    return n
