"""Catalog sources: the YAML folder, one CSV or JSONL file, a folder holding catalog.jsonl; clear errors."""

import json
from pathlib import Path

import pytest

from matcher import Matcher
from matcher.catalog import load_catalog
from matcher.catalog.table import read_metadata, write_jsonl_catalog
from matcher.errors import CatalogError
from tests import ROOT

CSV = """role_id,title,section,statement,summary,kind
nurse,Registered Nurse,summary,"Cares for patients in hospitals, clinics and homes.",,
nurse,,responsibilities,"Gives medication and monitors patients' vital signs",,
nurse,Registered Nurse,skills,Patient assessment and care planning,,
baker,Baker,responsibilities,Bakes bread and pastries before dawn,Makes baked goods.,
baker,,skills,"Dough, ovens and food safety",,
chef,Chef,responsibilities,Runs a restaurant kitchen,,adjacent
"""

NURSE = {"role_id": "nurse", "title": "Registered Nurse"}
JSONL_ROWS = [
    {**NURSE, "summary": "Cares for patients in hospitals, clinics and homes."},
    {"role_id": "nurse", "section": "responsibilities",
     "statement": "Gives medication and monitors patients' vital signs"},
    {**NURSE, "section": "skills", "statement": "Patient assessment and care planning"},
    {"role_id": "baker", "title": "Baker", "summary": "Makes baked goods.", "section": "responsibilities",
     "statement": "Bakes bread and pastries before dawn"},
    {"role_id": "baker", "section": "skills", "statement": "Dough, ovens and food safety"},
    {"role_id": "chef", "title": "Chef", "kind": "adjacent", "section": "responsibilities",
     "statement": "Runs a restaurant kitchen"},
]


def write_jsonl(path: Path, rows, meta=None) -> Path:
    lines = ([json.dumps({"catalog": meta})] if meta else []) + [json.dumps(r) for r in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def check_small_catalog(cat, name):
    assert cat.name == name
    assert cat.role_ids == ["nurse", "baker"] and [r.id for r in cat.adjacent] == ["chef"]
    nurse = cat.role("nurse")
    assert nurse.title == "Registered Nurse"
    assert nurse.summary == "Cares for patients in hospitals, clinics and homes."
    assert nurse.sections["responsibilities"] == ("Gives medication and monitors patients' vital signs",)
    assert nurse.sections["skills"] == ("Patient assessment and care planning",)
    assert cat.role("baker").summary == "Makes baked goods."
    assert cat.role("baker").sections["skills"] == ("Dough, ovens and food safety",)


def test_yaml_folder_is_still_a_source():
    cat = load_catalog(ROOT / "corpus" / "default")
    assert cat.name == "default" and len(cat.roles) >= 4


def test_csv_file(tmp_path):
    f = tmp_path / "roles.csv"
    f.write_text(CSV, encoding="utf-8")
    check_small_catalog(load_catalog(f), "roles")


def test_csv_with_byte_order_mark_and_crlf(tmp_path):
    f = tmp_path / "excel.csv"
    f.write_bytes(b"\xef\xbb\xbf" + CSV.replace("\n", "\r\n").encode("utf-8"))
    check_small_catalog(load_catalog(f), "excel")


def test_jsonl_file_with_metadata(tmp_path):
    f = write_jsonl(tmp_path / "roles.jsonl", JSONL_ROWS, meta={"attribution": "Data by someone, CC BY 4.0"})
    check_small_catalog(load_catalog(f), "roles")
    assert read_metadata(f) == {"attribution": "Data by someone, CC BY 4.0"}


def test_csv_and_jsonl_give_the_same_catalog(tmp_path):
    (tmp_path / "a.csv").write_text(CSV, encoding="utf-8")
    write_jsonl(tmp_path / "a.jsonl", JSONL_ROWS)
    assert load_catalog(tmp_path / "a.csv").hash == load_catalog(tmp_path / "a.jsonl").hash


def test_folder_holding_catalog_jsonl_round_trips(tmp_path):
    yaml_cat = load_catalog(ROOT / "corpus" / "default")
    folder = tmp_path / "mine"
    write_jsonl_catalog(folder / "catalog.jsonl", yaml_cat.all_roles, {"title": "copy"})
    cat = load_catalog(folder)
    assert cat.name == "mine" and cat.hash == yaml_cat.hash
    assert read_metadata(folder) == {"title": "copy"}
    assert read_metadata(ROOT / "corpus" / "default") == {}


def test_matcher_on_a_csv_catalog(tmp_path, settings, fake_embedder):
    f = tmp_path / "roles.csv"
    f.write_text(CSV, encoding="utf-8")
    m = Matcher.load(settings, catalog=str(f), embedder=fake_embedder)
    res = m.match("Registered nurse who gives medication and monitors patients in a hospital ward.")
    assert res.results[0].role_id == "nurse"
    assert res.catalog["name"] == "roles"
    # A bare job title is a query too (a one-line text the segmenter would drop as a heading).
    assert m.match("Baker").results[0].role_id == "baker"


def error_for(tmp_path, name, text) -> str:
    f = tmp_path / name
    f.write_text(text, encoding="utf-8")
    with pytest.raises(CatalogError) as err:
        load_catalog(f)
    return err.value.message


HEAD = "role_id,title,section,statement\n"


@pytest.mark.parametrize(("body", "expected"), [
    (HEAD + "a,A,skills,x\na,A,skilz,y\n", r"roles.csv:3: unknown section 'skilz'; expected one of responsibilities"),
    (HEAD + "a,A,skills,x\na,A,skills,\n", r"roles.csv:3: empty statement"),
    (HEAD + "a,A,skills,x\na,A,,y\n", r"roles.csv:3: empty section"),
    (HEAD + "a,A,skills,x\na,B,skills,y\n", r"roles.csv:3: title 'B' differs from 'A' given for role 'a' on line 2"),
    (HEAD + "a,A,skills,x\na,,skills,y,extra\n", r"roles.csv:3: expected 4 fields"),
    (HEAD + "a,A,skills,x\na,A,skills,x\n", r"roles.csv:3: duplicate statement for role 'a' \(same as line 2\)"),
    (HEAD + "Bad Id,A,skills,x\n", r"roles.csv:2: role_id 'Bad Id' is not valid"),
    (HEAD + "a,,skills,x\n", r"roles.csv:2: role 'a' has no title"),
    (HEAD + "a,A,skills,\"multi\nline\"\nb,B,skills,\n", r"roles.csv:4: empty statement"),
    ("role_id,title,statement\na,A,x\n", r"roles.csv:1: missing column 'section'; expected role_id, title, section"),
    ("role_id,title,section,statement,sumary\n", r"roles.csv:1: unknown column 'sumary'"),
    (HEAD, r"roles.csv: no roles"),
    ("", r"roles.csv: empty file"),
    ("role_id,title,section,statement,kind\na,A,skills,x,maybe\n", r"roles.csv:2: kind 'maybe' is not one of"),
    ("role_id,title,section,statement,kind\na,A,skills,x,adjacent\n", r"no offered roles"),
    (HEAD + "a,A,skills," + "x" * 1001 + "\n", r"roles.csv:2: statement is over 1000 characters"),
])
def test_bad_csv_names_file_and_line(tmp_path, body, expected):
    import re

    message = error_for(tmp_path, "roles.csv", body)
    assert re.search(expected, message), message
    assert str(tmp_path / "roles.csv") in message


ROW = '"role_id": "a", "title": "A"'


@pytest.mark.parametrize(("lines", "expected"), [
    ([f'{{{ROW}, "section": "skills", "statement": "x"}}', "{not json"], r"roles.jsonl:2: invalid JSON"),
    ([f'{{{ROW}, "section": "skils", "statement": "x"}}'], r"roles.jsonl:1: unknown section 'skils'"),
    ([f'{{{ROW}, "sectoin": "skills", "statement": "x"}}'], r"roles.jsonl:1: unknown key 'sectoin'"),
    (['{"title": "A", "section": "skills", "statement": "x"}'], r"roles.jsonl:1: missing 'role_id'"),
    ([f'{{{ROW}, "section": "skills", "statement": 3}}'], r"roles.jsonl:1: 'statement' must be a string"),
    (['["a", "A"]'], r"roles.jsonl:1: expected a JSON object"),
    ([f'{{{ROW}, "section": "skills", "statement": "x"}}', "", '{"catalog": {}}'],
     r"roles.jsonl:3: a \{\"catalog\": \{...\}\} metadata line must be the first line"),
    ([f'{{{ROW}}}'], r"roles.jsonl:1: role 'a' has no statements"),
])
def test_bad_jsonl_names_file_and_line(tmp_path, lines, expected):
    import re

    message = error_for(tmp_path, "roles.jsonl", "\n".join(lines) + "\n")
    assert re.search(expected, message), message


def test_not_utf8_and_unknown_type(tmp_path):
    f = tmp_path / "roles.csv"
    f.write_bytes(HEAD.encode() + b"a,A,skills,caf\xe9\n")
    with pytest.raises(CatalogError, match=r"roles.csv:2: not UTF-8"):
        load_catalog(f)
    (tmp_path / "roles.xlsx").write_bytes(b"PK")
    with pytest.raises(CatalogError, match=r"roles.xlsx: not a catalog file"):
        load_catalog(tmp_path / "roles.xlsx")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogError, match=r"no role files.*catalog\.jsonl"):
        load_catalog(tmp_path / "empty")


def test_where_catalogs_live_is_one_rule(tmp_path, settings):
    """Discovery and lookup by name accept the same files: .ndjson too; a folder holding only
    _catalog.yaml (metadata, not a role file) is no catalog."""
    from dataclasses import replace

    from matcher.catalog import discover_catalogs, resolve_catalog

    corpus = tmp_path / "corpus"
    corpus.mkdir()
    write_jsonl(corpus / "clinic.ndjson", JSONL_ROWS)
    (corpus / "meta-only").mkdir()
    (corpus / "meta-only" / "_catalog.yaml").write_text("title: not a catalog\n", encoding="utf-8")
    assert discover_catalogs(corpus) == ["clinic"]
    assert resolve_catalog(replace(settings, corpus_dir=corpus), "clinic").role_ids == ["nurse", "baker"]


def test_aliases_are_role_titles_not_statements(tmp_path, catalog_copy):
    """Other names of a role ("RN") load from CSV and YAML, count in the hash, and are never indexed."""
    f = tmp_path / "roles.csv"
    f.write_text(HEAD + "nurse,Registered Nurse,responsibilities,Gives medications on the ward\n"
                 "nurse,,aliases,RN\nnurse,,aliases,Staff Nurse\n", encoding="utf-8")
    cat = load_catalog(f)
    assert cat.role("nurse").aliases == ("RN", "Staff Nurse")
    assert [s.text for s in cat.statements] == ["Gives medications on the ward"]
    before = load_catalog(catalog_copy).hash
    role = catalog_copy / "ai-pm.yaml"
    role.write_text(role.read_text() + "aliases:\n  - GenAI PM\n", encoding="utf-8")
    after = load_catalog(catalog_copy)
    assert after.role("ai-pm").aliases == ("GenAI PM",) and after.hash != before
    assert "GenAI PM" not in {s.text for s in after.statements}
