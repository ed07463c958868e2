"""What an operator and an integrator rely on: typed answers (response models), the batch endpoint,
paged roles, metrics, request ids, JSON logs and offline docs (fake model, real app)."""

from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import replace

import pytest
from fastapi.testclient import TestClient
from pydantic import TypeAdapter

from matcher.serve import schemas
from matcher.serve.app import create_app
from matcher.serve.logs import JsonFormatter, RequestIdFilter
from matcher.settings import Settings
from tests import ROOT
from tests.documents import docx_bytes
from tests.fakes import FakeEmbedder

SECRET = "Quokkaville-Zanzibar-4417"  # must never reach a log line or a metric
AI_TEXT = f"{SECRET} owned the roadmap of an LLM writing assistant and its evaluation of answer quality."
DATA_TEXT = "Product manager for the data warehouse, the metrics layer and data quality checks used by analysts."


@pytest.fixture(scope="module")
def embedder() -> FakeEmbedder:
    return FakeEmbedder()  # it records its calls: a batch must be one


@pytest.fixture(scope="module")
def client(tmp_path_factory, embedder):
    tmp = tmp_path_factory.mktemp("ops")
    settings = replace(Settings(), scorer="similarity", corpus_dir=ROOT / "corpus", index_dir=tmp / "index",
                       cache_dir=tmp / "cache", max_text_chars=2000, max_batch=5, admin_key="k")
    # Loaded as `matcher serve` loads (the lifespan's Registry.load, one shared, timed model).
    with TestClient(create_app(settings, embedder=embedder)) as c:
        deadline = time.monotonic() + 60
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "the app did not get ready"
            time.sleep(0.05)
        yield c


# -- response models --------------------------------------------------------------------------------

def test_every_endpoint_declares_its_response(client):
    spec = client.get("/openapi.json").json()
    for path, methods in spec["paths"].items():
        for method, op in methods.items():
            ok = op["responses"].get("200") or op["responses"].get("202")
            assert ok, (method, path)
            content = ok.get("content", {})
            if path == "/metrics":
                assert "text/plain" in content
                continue
            schema = content["application/json"]["schema"]
            assert "$ref" in schema, f"{method.upper()} {path} declares no response model: {schema}"


@pytest.mark.parametrize(("path", "model"), [
    ("/v1/info", schemas.Info), ("/healthz", schemas.Health), ("/readyz", schemas.Ready),
    ("/v1/roles", schemas.RolesPage), ("/v1/roles?view=summary&limit=2", schemas.RolesPage),
    ("/v1/roles/ai-pm", schemas.Role), ("/v1/catalogs", schemas.CatalogList),
    ("/v1/catalogs/default", schemas.CatalogView)])
def test_answers_match_their_declared_models(client, path, model):
    r = client.get(path)
    assert r.status_code == 200
    TypeAdapter(model).validate_python(r.json(), strict=False)
    assert set(r.json()) == set(model.model_fields)  # nothing undeclared either


def test_file_and_batch_answers_match_their_models(client):
    r = client.post("/v1/match/file", files={"file": ("cv.docx", docx_bytes([AI_TEXT]), "application/octet-stream")})
    assert r.status_code == 200
    schemas.FileMatchResult.model_validate(r.json())
    assert set(r.json()) == set(schemas.FileMatchResult.model_fields)
    r = client.post("/v1/match/batch", json={"items": [{"id": "a", "text": AI_TEXT}, {"id": "b", "text": ""}]})
    schemas.BatchResponse.model_validate(r.json())


def test_validation_errors_list_their_details_without_the_values(client):
    r = client.get("/v1/roles", params={"limit": 0})
    assert r.status_code == 422
    (detail,) = r.json()["error"]["details"]
    assert detail["loc"] == ["query", "limit"] and detail["type"] == "greater_than_equal"
    r = client.post("/v1/match", json={"text": AI_TEXT, "top_k": "three", "extra": SECRET})
    error = r.json()["error"]
    assert {tuple(d["loc"]) for d in error["details"]} == {("top_k",), ("extra",)}
    assert SECRET not in r.text


def test_reload_answers_202_with_the_status_location(client):
    r = client.post("/v1/catalogs/default/reload", headers={"Authorization": "Bearer k"})
    assert r.status_code == 202 and r.headers["location"] == "/v1/catalogs/default"
    assert client.get(r.headers["location"]).json()["reload"]["state"] in ("running", "done")
    # The reload embeds in the background: wait for it, so it ends here rather than inside a later
    # test that counts the model's calls (a loaded CI machine showed exactly that).
    deadline = time.monotonic() + 60
    while (state := client.get(r.headers["location"]).json()["reload"]["state"]) == "running":
        assert time.monotonic() < deadline, "the reload did not finish in 60 s"
        time.sleep(0.05)
    assert state == "done"


# -- roles, a page at a time --------------------------------------------------------------------------

def test_roles_page_with_total_and_summary_view(client):
    everything = client.get("/v1/roles").json()
    total = everything["total"]
    assert total == len(everything["roles"]) == 4 and everything["limit"] is None
    page = client.get("/v1/roles", params={"offset": 1, "limit": 2}).json()
    assert page["total"] == total and [r["id"] for r in page["roles"]] == [r["id"] for r in everything["roles"][1:3]]
    summary = client.get("/v1/roles", params={"view": "summary"}).json()["roles"][0]
    full = everything["roles"][0]
    assert set(summary) == {"id", "title", "kind", "summary", "statements"} and summary["id"] == full["id"]
    assert summary["statements"] == sum(len(full[s]) for s in ("responsibilities", "skills", "background",
                                                               "trajectory", "fits_if")) + bool(full["summary"])
    assert client.get("/v1/roles", params={"offset": total}).json()["roles"] == []
    assert client.get("/v1/roles", params={"limit": 1001}).status_code == 422


# -- the batch endpoint -------------------------------------------------------------------------------

def test_batch_scores_every_good_item_in_one_model_call_and_reports_bad_ones_in_their_slot(client):
    embedder = client.app.state.registry.get().embedder.inner  # the fake behind the shared model
    items = [{"id": "ai", "text": AI_TEXT}, {"id": "empty", "text": "   "}, {"id": "num", "text": 5},
             "not an object", {"text": DATA_TEXT}]
    before = len(embedder.calls)
    r = client.post("/v1/match/batch", json={"items": items, "top_k": 2})
    assert r.status_code == 200 and r.headers["cache-control"] == "no-store", r.text
    assert len(embedder.calls) == before + 1  # one model call across the good items
    body = r.json()
    assert body["count"] == 5 and body["failed"] == 3
    ids = [doc["id"] for doc in body["results"]]
    assert ids == ["ai", "empty", "num", "3", "4"]  # an item without an id gets its position
    ai, empty, num, obj, data = body["results"]
    assert empty["error"]["code"] == "empty_input" and num["error"]["code"] == "invalid_request"
    assert "object" in obj["error"]["message"]
    # A scored item is the same document POST /v1/match gives, plus its id.
    single = client.post("/v1/match", json={"text": DATA_TEXT, "top_k": 2}).json()
    assert {k: v for k, v in data.items() if k != "id"} == single
    assert len(ai["results"]) == 2


def test_batch_limits(client):
    too_many = [{"id": str(i), "text": DATA_TEXT} for i in range(6)]
    r = client.post("/v1/match/batch", json={"items": too_many})
    assert r.status_code == 413 and "MATCHER_MAX_BATCH" in r.json()["error"]["message"]
    assert client.post("/v1/match/batch", json={"items": []}).status_code == 422
    r = client.post("/v1/match/batch", json={"items": [{"id": "long", "text": "word " * 1000}]})
    assert r.status_code == 200 and r.json()["results"][0]["error"]["code"] == "too_large"
    r = client.post("/v1/match/batch", content=b"items", headers={"Content-Type": "text/plain"})
    assert r.status_code == 415


# -- request ids, logs, metrics -------------------------------------------------------------------------

def test_request_id_is_echoed_or_made(client):
    assert client.get("/healthz", headers={"X-Request-ID": "abc-123.x"}).headers["x-request-id"] == "abc-123.x"
    made = client.get("/healthz").headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", made)
    forged = client.get("/healthz", headers={"X-Request-ID": "a b\tc"}).headers["x-request-id"]
    assert re.fullmatch(r"[0-9a-f]{32}", forged)  # anything but a plain token is replaced


def test_json_access_log_lines(client, caplog):
    with caplog.at_level(logging.INFO, logger="matcher"):
        r = client.post("/v1/match", json={"text": AI_TEXT}, headers={"X-Request-ID": "req-42"})
    (record,) = [rec for rec in caplog.records if rec.name == "matcher.access"]
    RequestIdFilter().filter(record)
    line = json.loads(JsonFormatter().format(record))
    assert line["request_id"] == "req-42" == r.headers["x-request-id"]
    assert (line["method"], line["route"], line["status"]) == ("POST", "/v1/match", 200)
    assert line["bytes_in"] > 0 and line["bytes_out"] == len(r.content) and line["latency_ms"] >= 0
    assert SECRET not in caplog.text


def _metric(text: str, name: str, **labels: str) -> float:
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    pattern = re.escape(name) + (r"\{" + re.escape(want) + r"\}" if labels else "") + r" ([0-9.e+]+)"
    match = re.search(pattern, text)
    return float(match.group(1)) if match else 0.0


def test_metrics_count_requests_by_route_template_without_personal_data(client):
    before = client.get("/metrics").text
    client.post("/v1/match", json={"text": AI_TEXT})
    client.get("/v1/roles/ai-pm")
    client.get(f"/no/such/{SECRET}")
    client.post("/v1/match/file", files={"file": ("x.pdf", b"%PDF-1.4 broken", "application/octet-stream")})
    after = client.get("/metrics")
    assert after.status_code == 200 and after.headers["content-type"].startswith("text/plain")
    text = after.text
    requests = "matcher_http_requests_total"
    assert _metric(text, requests, method="POST", route="/v1/match", status="200") == \
        _metric(before, requests, method="POST", route="/v1/match", status="200") + 1
    assert _metric(text, requests, method="GET", route="/v1/roles/{role_id}", status="200") >= 1
    assert _metric(text, requests, method="GET", route="unmatched", status="404") >= 1
    assert _metric(text, "matcher_model_seconds_count") > _metric(before, "matcher_model_seconds_count")
    assert _metric(text, "matcher_match_seconds_count", endpoint="single") >= 1
    assert 'matcher_extraction_failures_total{code="' in text
    for name in ("matcher_http_request_duration_seconds_bucket", "matcher_queue_depth",
                 "matcher_busy_refusals_total", "matcher_catalog_reloads_total"):
        assert name in text
    assert SECRET not in text and "/no/such" not in text


def test_docs_are_served_without_a_cdn(client):
    html = client.get("/docs").text
    assets = re.findall(r"""(?:src|href)=["']([^"']+)["']""", html)
    assert assets and not any(a.startswith(("http://", "https://", "//")) for a in assets), assets
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc").status_code == 200
