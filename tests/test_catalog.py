
import pytest
import yaml

from matcher.catalog import SECTIONS, Catalog, Role, load_catalog
from matcher.catalog.yaml_files import role_files
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


# -- catalogs built in memory (Catalog.from_roles) --------------------------------------------------

IN_MEMORY = [
    {"id": "ai-pm", "title": "AI product manager", "summary": "Ships features built on large language models.",
     "statements": {"responsibilities": ["Owns the roadmap for LLM chat assistants",
                                         "Reviews prompt evaluation results before each launch"],
                    "skills": ["Prompt engineering and LLM evaluation rubrics"]}},
    {"id": "data-pm", "title": "Data product manager",
     "statements": {"responsibilities": ["Owns the warehouse roadmap and dbt models for finance"],
                    "skills": ["SQL, Looker dashboards and data quality checks"]}},
    {"id": "nurse", "kind": "adjacent", "title": "Registered nurse",
     "statements": {"responsibilities": ["Cares for patients on a cardiac ward"]}},
]


def _as_yaml_folder(folder, roles: list[dict]):
    """Each role dict as the YAML role file that says the same (statement lists at the top level)."""
    folder.mkdir(parents=True, exist_ok=True)
    for role in roles:
        flat = {k: v for k, v in role.items() if k != "statements"} | role.get("statements", {})
        (folder / f"{role['id']}.yaml").write_text(yaml.safe_dump(flat, sort_keys=False), encoding="utf-8")
    return folder


def test_from_roles_equals_the_same_roles_as_yaml_files(tmp_path):
    memory = Catalog.from_roles(IN_MEMORY, name="jobs")
    loaded = load_catalog(_as_yaml_folder(tmp_path / "jobs", IN_MEMORY))
    assert memory.all_roles == loaded.all_roles and memory.statements == loaded.statements
    assert memory.hash == loaded.hash and memory.name == "jobs"
    assert memory.role_ids == ["ai-pm", "data-pm"] and [r.id for r in memory.adjacent] == ["nurse"]
    assert memory.source == ""  # no folder: no labelled examples or _catalog.yaml to look for
    assert Catalog.from_roles(IN_MEMORY).name == "in-memory"


def test_from_roles_takes_yaml_shaped_dicts_and_role_objects():
    # Every role of the default catalog (aliases and adjacent roles included), read as plain dicts.
    folder = ROOT / "corpus" / "default"
    dicts = [yaml.safe_load(f.read_text(encoding="utf-8")) for f in role_files(folder)]
    loaded = load_catalog(folder)
    assert Catalog.from_roles(dicts, name="default").hash == loaded.hash
    again = Catalog.from_roles(loaded.all_roles, name="default")
    assert again.all_roles == loaded.all_roles and again.hash == loaded.hash
    # A Role built by hand is validated like a dict.
    with pytest.raises(CatalogError, match=r"role 1 \('Not An Id'\): field 'id'"):
        Catalog.from_roles([Role("Not An Id", "X", "", {"skills": ("SQL",)})])


BAD_ROLES = [
    {"id": "data-pm", "skills": ["SQL"]},  # no title
    {"id": "data-pm", "title": "Data PM", "skills": "SQL"},  # a string, not a list
    {"id": "data-pm", "title": "Data PM", "skils": ["SQL"]},  # a typo
    {"id": "data-pm", "title": "Data PM", "skills": ["SQL", "  "]},  # an empty statement
    {"id": "data-pm", "title": "Data PM", "kind": "maybe", "skills": ["SQL"]},
    {"id": "Data PM", "title": "Data PM", "skills": ["SQL"]},  # not an id
]


@pytest.mark.parametrize("bad", BAD_ROLES)
def test_a_bad_role_dict_gets_the_error_a_bad_yaml_file_gets(bad, tmp_path):
    good = IN_MEMORY[0]
    with pytest.raises(CatalogError) as from_dict:
        Catalog.from_roles([good, bad])
    folder = _as_yaml_folder(tmp_path / "jobs", [good])
    (folder / "data-pm.yaml").write_text(yaml.safe_dump(bad), encoding="utf-8")
    with pytest.raises(CatalogError) as from_file:
        load_catalog(folder)
    where = f"catalog 'in-memory', role 2 ({bad['id']!r}): "
    assert from_dict.value.message.startswith(where)
    assert from_dict.value.message.removeprefix(where) == \
        from_file.value.message.removeprefix(f"{folder / 'data-pm.yaml'}: ")


def test_from_roles_refuses_what_is_not_a_catalog():
    with pytest.raises(CatalogError, match=r"role 2: expected a dict"):
        Catalog.from_roles([IN_MEMORY[0], "data-pm"])
    with pytest.raises(CatalogError, match="expected a list of roles"):
        Catalog.from_roles(IN_MEMORY[0])
    with pytest.raises(CatalogError, match=r"field 'statements' has 'skils'"):
        Catalog.from_roles([{"id": "x", "title": "X", "statements": {"skils": ["SQL"]}}])
    with pytest.raises(CatalogError, match=r"'skills' given both"):
        Catalog.from_roles([{"id": "x", "title": "X", "skills": ["SQL"], "statements": {"skills": ["dbt"]}}])
    with pytest.raises(CatalogError, match="appears twice"):
        Catalog.from_roles([IN_MEMORY[0], IN_MEMORY[0]])
    with pytest.raises(CatalogError, match="has no offered roles"):
        Catalog.from_roles([])
    with pytest.raises(CatalogError, match="names the index folder"):
        Catalog.from_roles(IN_MEMORY, name="../elsewhere")


def test_a_matcher_ranks_the_roles_of_an_in_memory_catalog(settings, fake_embedder):
    # Matcher.load takes a catalog name or path; a Catalog object goes through load_index instead.
    from matcher import Matcher
    from matcher.index import load_index

    catalog = Catalog.from_roles(IN_MEMORY, name="jobs")
    built = load_index(catalog, fake_embedder, settings.index_dir, backend=settings.backend)
    matcher = Matcher(built, fake_embedder, settings)
    result = matcher.match("I own the roadmap for LLM chat assistants and review prompt evaluation results.")
    assert [r.role_id for r in result.results] == ["ai-pm", "data-pm"]  # offered roles only, best first
    assert result.results[0].score > result.results[1].score
    assert result.catalog == {"name": "jobs", "hash": catalog.hash}
