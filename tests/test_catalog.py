
import pytest

from matcher.catalog import SECTIONS, load_catalog
from matcher.errors import CatalogError
from tests import ROOT


def test_default_catalog_has_the_four_rich_roles():
    cat = load_catalog(ROOT / "corpus" / "default")
    assert cat.role_ids == ["ai-pm", "data-pm", "ml-pm", "platform-pm"]
    for role in cat.roles:
        assert role.title and role.summary
        assert len(role.statements()) >= 30, role.id
        for section in SECTIONS:
            assert role.sections[section], (role.id, section)
    texts = [s.text for s in cat.statements]
    assert len(texts) == len(set(texts)), "a statement appears in two roles"


def test_hash_changes_with_content(catalog_copy):
    before = load_catalog(catalog_copy).hash
    f = catalog_copy / "ai-pm.yaml"
    f.write_text(f.read_text() + "  - One more statement about prompts\n")
    assert load_catalog(catalog_copy).hash != before


def test_invalid_yaml_names_file_and_line(catalog_copy):
    f = catalog_copy / "ml-pm.yaml"
    f.write_text("id: ml-pm\ntitle: ML PM\nskills:\n  - ok\n - [broken\n")
    with pytest.raises(CatalogError) as err:
        load_catalog(catalog_copy)
    assert "ml-pm.yaml" in err.value.message and "line" in err.value.message


def test_missing_field_is_named(catalog_copy):
    (catalog_copy / "data-pm.yaml").write_text("id: data-pm\nskills: [SQL]\n")
    with pytest.raises(CatalogError, match=r"data-pm\.yaml.*'title'"):
        load_catalog(catalog_copy)


def test_wrong_type_and_unknown_key_are_refused(catalog_copy):
    (catalog_copy / "data-pm.yaml").write_text("id: data-pm\ntitle: Data PM\nskills: SQL\n")
    with pytest.raises(CatalogError, match="'skills'"):
        load_catalog(catalog_copy)
    (catalog_copy / "data-pm.yaml").write_text("id: data-pm\ntitle: Data PM\nskils: [SQL]\n")
    with pytest.raises(CatalogError, match="'skils'"):
        load_catalog(catalog_copy)


def test_id_must_match_file_name(catalog_copy):
    f = catalog_copy / "ai-pm.yaml"
    f.write_text(f.read_text().replace("id: ai-pm", "id: other-pm"))
    with pytest.raises(CatalogError, match=r"ai-pm\.yaml"):
        load_catalog(catalog_copy)


def test_missing_and_empty_catalogs(tmp_path):
    with pytest.raises(CatalogError, match="not found"):
        load_catalog(tmp_path / "nope")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CatalogError, match="no role files"):
        load_catalog(tmp_path / "empty")
