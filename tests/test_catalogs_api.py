"""Several catalogs served at once, and reload under concurrent requests (fake model, real app)."""

import threading
import time
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient

from matcher.catalog import discover_catalogs
from matcher.serve.app import create_app
from matcher.serve.registry import Registry

CAFE = """role_id,title,section,statement
barista,Barista,responsibilities,Pulls espresso shots and steams milk for coffee drinks
barista,,skills,Latte art and espresso machine cleaning
pastry-chef,Pastry Chef,responsibilities,Bakes croissants bread and cakes before the shop opens
pastry-chef,,skills,Laminated dough and tempering chocolate
"""
NEW_ROLE = "manager,Cafe Manager,responsibilities,Schedules staff shifts and orders coffee beans from suppliers\n"
KEY = "s3cret-admin-key"


@pytest.fixture
def corpus(tmp_path, catalog_copy):
    (catalog_copy.parent / "cafe.csv").write_text(CAFE, encoding="utf-8")
    return catalog_copy.parent


@pytest.fixture
def registry(settings, corpus, fake_embedder):
    s = replace(settings, corpus_dir=corpus, admin_key=KEY)
    return Registry.load(s, embedder=fake_embedder)


@pytest.fixture
def client(registry):
    with TestClient(create_app(registry.settings, registry=registry)) as c:
        yield c


def auth(key=KEY):
    return {"Authorization": f"Bearer {key}"}


def wait_reload(client, name, timeout=30):
    deadline = time.time() + timeout
    while time.time() < deadline:
        status = client.get(f"/v1/catalogs/{name}").json()["reload"]
        if status["state"] != "running":
            return status
        time.sleep(0.05)
    raise AssertionError("reload did not finish")


def test_discovery_and_listing(corpus, client):
    assert discover_catalogs(corpus) == ["cafe", "default"]
    body = client.get("/v1/catalogs").json()
    assert body["default"] == "default"
    by_name = {c["name"]: c for c in body["catalogs"]}
    assert set(by_name) == {"default", "cafe"}
    assert by_name["cafe"]["roles"] == 2 and by_name["default"]["roles"] == 4
    assert by_name["default"]["title"].startswith("Product manager roles")
    assert client.get("/readyz").json()["catalogs"] == ["default", "cafe"]


def test_match_picks_the_catalog(client):
    text = "Pulled espresso shots and steamed milk for coffee drinks every morning."
    default = client.post("/v1/match", json={"text": text}).json()
    cafe = client.post("/v1/match?catalog=cafe", json={"text": text}).json()
    assert default["catalog"]["name"] == "default" and cafe["catalog"]["name"] == "cafe"
    assert cafe["results"][0]["role_id"] == "barista"
    roles = client.get("/v1/roles?catalog=cafe").json()
    assert [r["id"] for r in roles["roles"]] == ["barista", "pastry-chef"]
    missing = client.post("/v1/match?catalog=nope", json={"text": text})
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "unknown_catalog"
    assert "cafe" in missing.json()["error"]["message"] and "default" in missing.json()["error"]["message"]


def test_reload_needs_the_admin_key(client, registry, settings):
    assert client.post("/v1/catalogs/cafe/reload").status_code == 401
    assert client.post("/v1/catalogs/cafe/reload", headers=auth("wrong")).status_code == 401
    assert client.post("/v1/catalogs/nope/reload", headers=auth()).status_code == 404
    with TestClient(create_app(replace(registry.settings, admin_key=""), registry=registry)) as c:
        r = c.post("/v1/catalogs/cafe/reload", headers=auth())
        assert r.status_code == 403 and "MATCHER_ADMIN_KEY" in r.json()["error"]["message"]


def test_reload_under_concurrent_requests_is_atomic(client, corpus):
    text = "Pulled espresso shots, baked croissants and scheduled staff shifts and ordered coffee beans."
    before = client.get("/v1/catalogs/cafe").json()["hash"]
    seen: list[tuple[str, frozenset]] = []
    errors: list[str] = []
    stop = threading.Event()

    def hammer():
        while not stop.is_set():
            r = client.post("/v1/match?catalog=cafe", json={"text": text})
            if r.status_code != 200:
                errors.append(r.text)
                continue
            doc = r.json()
            seen.append((doc["catalog"]["hash"], frozenset(x["role_id"] for x in doc["results"])))

    threads = [threading.Thread(target=hammer) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.2)
    with (corpus / "cafe.csv").open("a", encoding="utf-8") as fh:
        fh.write(NEW_ROLE)
    assert client.post("/v1/catalogs/cafe/reload", headers=auth()).status_code == 202
    status = wait_reload(client, "cafe")
    time.sleep(0.2)
    stop.set()
    for t in threads:
        t.join()
    assert status["state"] == "done", status
    after = status["hash"]
    assert after != before and not errors
    # Every answer came wholly from the old index or wholly from the new one.
    old_roles, new_roles = frozenset({"barista", "pastry-chef"}), frozenset({"barista", "pastry-chef", "manager"})
    assert seen
    assert {h for h, _ in seen} <= {before, after}
    for h, roles in seen:
        assert roles == (old_roles if h == before else new_roles)
    assert seen[-1][0] == after, "requests after the swap use the new index"


def test_failed_reload_keeps_the_old_index_serving(client, corpus):
    before = client.get("/v1/catalogs/cafe").json()["hash"]
    (corpus / "cafe.csv").write_text(CAFE + "barista,,skilz,Broken section name\n", encoding="utf-8")
    assert client.post("/v1/catalogs/cafe/reload", headers=auth()).status_code == 202
    status = wait_reload(client, "cafe")
    assert status["state"] == "failed"
    assert "cafe.csv:6" in status["error"] and "skilz" in status["error"]
    r = client.post("/v1/match?catalog=cafe", json={"text": "Pulled espresso shots for coffee drinks."})
    assert r.status_code == 200 and r.json()["catalog"]["hash"] == before
