"""The O*NET importer on the real database in ../shared (skipped only when that folder is missing)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from matcher import Matcher
from matcher.catalog import load_catalog
from matcher.catalog.onet import attribution, import_onet, normalise_title, read_onet
from matcher.catalog.table import read_metadata
from matcher.errors import CatalogError
from matcher.training import labelled_files, read_labelled
from tests import ROOT

ONET = ROOT.parent / "shared" / "data" / "onet-29.3"
ATTRIBUTION = ("O*NET 29.3 Database by the U.S. Department of Labor, Employment and Training Administration "
               "(USDOL/ETA), used under the CC BY 4.0 licence. O*NET® is a trademark of USDOL/ETA.")
# Software developers, nurses, chief executives, cooks, electricians, truck drivers, and one
# "All Other" occupation that has no task statements.
CODES = ["15-1252.00", "29-1141.00", "11-1011.00", "35-2014.00", "47-2111.00", "53-3032.00", "11-9199.00"]

pytestmark = pytest.mark.skipif(not ONET.is_dir(), reason=f"O*NET data not found at {ONET}")


@pytest.fixture(scope="module")
def subset(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("onet") / "onet"
    import_onet(ONET, out, codes=CODES)
    return out


def test_subset_import_maps_every_file(subset):
    cat = load_catalog(subset)
    assert cat.name == "onet" and cat.role_ids == CODES
    dev = cat.role("15-1252.00")
    assert dev.title == "Software Developers"
    assert dev.summary.startswith("Research, design, and develop computer and network software")
    assert len(dev.sections["responsibilities"]) >= 10  # task statements
    assert any(s.startswith("Development environment software: ") for s in dev.sections["skills"])
    titles = dev.sections["trajectory"]
    assert titles[0] == "Software Developers" and "Software Engineer" in titles and len(titles) == 15
    assert len({normalise_title(t) for t in titles}) == len(titles)
    other = cat.role("11-9199.00")  # no tasks or technology: summary and titles only
    assert not other.sections["responsibilities"] and other.sections["trajectory"]


def test_attribution_travels_with_the_catalog(subset):
    assert attribution("29.3") == ATTRIBUTION
    assert ATTRIBUTION in (subset / "README.md").read_text(encoding="utf-8")
    meta = read_metadata(subset)
    assert meta["attribution"] == ATTRIBUTION and meta["licence"].startswith("CC BY 4.0")


def test_excluded_titles_are_left_out(tmp_path):
    exclude = tmp_path / "exclude.txt"
    exclude.write_text("# benchmark queries\nsoftware  ENGINEER\nC++ Developer\n\nRegistered Nurses\n",
                       encoding="utf-8")
    summary = import_onet(ONET, tmp_path / "out", codes=CODES[:2], exclude_titles=exclude, max_titles=500)
    texts = {normalise_title(s.text) for s in load_catalog(tmp_path / "out").statements}
    assert summary.excluded_titles == 3
    assert not texts & {"software engineer", "c++ developer", "registered nurses"}
    assert "software developer" in texts  # only the listed titles go
    # The same list also works as an iterable of titles.
    again = import_onet(ONET, tmp_path / "out2", codes=CODES[:2], exclude_titles=["Software Engineer"])
    assert again.excluded_titles == 1


def test_full_database_imports_and_loads_fast(tmp_path):
    summary = import_onet(ONET, tmp_path / "all")
    cat = load_catalog(tmp_path / "all")
    assert len(cat.roles) == summary.roles == 1016
    assert summary.statements["responsibilities"] == 18_796
    # Tens of thousands of statements, but under the exact-search limit of the index.
    assert 40_000 < len(cat.statements) <= 50_000
    # The project's labelled texts people wrote come along, every label an imported occupation or none.
    train_file, _ = labelled_files(cat)
    texts, labels = read_labelled(train_file, cat)
    assert len(texts) == 443 and labels.count("none") == 40 and set(labels) - {"none"} <= set(cat.role_ids)


def test_a_small_import_gets_no_labelled_texts(subset):
    """Seven occupations get the learned scorer, which would train on the labelled texts alone."""
    assert labelled_files(load_catalog(subset)) == (None, None)


def test_importer_errors_are_clear(tmp_path):
    with pytest.raises(CatalogError, match="not a folder"):
        import_onet(tmp_path / "nope", tmp_path / "out")
    partial = tmp_path / "partial"
    partial.mkdir()
    (partial / "occupation_data.txt").write_text("O*NET-SOC Code\tTitle\tDescription\n11-1011.00\tCEO\tRuns it.\n")
    with pytest.raises(CatalogError, match=r"no task_statements.txt"):
        import_onet(partial, tmp_path / "out")
    (partial / "occupation_data.txt").write_text("Code\tTitle\n")
    with pytest.raises(CatalogError, match=r"occupation_data.txt:1: missing columns 'O\*NET-SOC Code', 'Desc"):
        import_onet(partial, tmp_path / "out")
    with pytest.raises(CatalogError, match=r"no occupation with code 99-9999\.00"):
        read_onet(ONET, codes=["99-9999.00"])
    yaml_folder = tmp_path / "yaml"
    yaml_folder.mkdir()
    (yaml_folder / "x.yaml").write_text("id: x\n")
    with pytest.raises(CatalogError, match="already holds YAML role files"):
        import_onet(ONET, yaml_folder, codes=CODES[:1])


def test_matcher_on_the_subset(subset, settings, fake_embedder):
    """The plumbing (folder catalog → index → match) with the bag-of-words fake: catalog text finds its role."""
    m = Matcher.load(settings, catalog=str(subset), embedder=fake_embedder)
    trucks = m.catalog.role("53-3032.00")
    res = m.match("\n".join(f"- {t}" for t in trucks.sections["responsibilities"][:4]))
    assert res.results[0].role_id == "53-3032.00" and res.results[0].evidence
    assert res.catalog["name"] == "onet" and len(res.results) == len(CODES)
    # A bare title is one passage (not dropped as a heading) and finds its occupation.
    assert m.match(m.catalog.role("29-1141.00").sections["trajectory"][1]).results[0].role_id == "29-1141.00"


def test_cli_import_then_roles(tmp_path):
    env = {**os.environ, "MATCHER_INDEX_DIR": str(tmp_path / "index"), "HF_HUB_OFFLINE": "1"}
    (tmp_path / "exclude.txt").write_text("Software Engineer\n", encoding="utf-8")
    out = tmp_path / "onet"
    proc = subprocess.run([sys.executable, "-m", "matcher", "catalog", "import-onet", str(ONET), "-o", str(out),
                           "--codes", ",".join(CODES[:3]), "--exclude-titles", str(tmp_path / "exclude.txt")],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "3 roles" in proc.stdout and "1 excluded titles" in proc.stdout
    assert f"matcher match --catalog {out}" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "matcher", "roles", "--catalog", str(out)],
                          capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "Software Developers" in proc.stdout and "Registered Nurses" in proc.stdout
    proc = subprocess.run([sys.executable, "-m", "matcher", "catalog", "import-onet", str(tmp_path / "missing"),
                           "-o", str(out)], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert proc.returncode == 3 and proc.stderr.startswith("matcher: error:") and "Traceback" not in proc.stderr


@pytest.mark.model
def test_real_model_finds_occupations_from_titles(subset, real_embedder, tmp_path):
    from dataclasses import replace

    from matcher.settings import Settings

    m = Matcher.load(replace(Settings(), scorer="similarity",
                             index_dir=tmp_path / "index"), catalog=str(subset), embedder=real_embedder)
    for query, code in [("Java programmer", "15-1252.00"), ("ICU nurse", "29-1141.00"),
                        ("Long haul trucker", "53-3032.00"), ("Line cook", "35-2014.00")]:
        assert m.match(query).results[0].role_id == code, query
