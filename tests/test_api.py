"""The HTTP API: every endpoint, every bad input, the limits, the logs, readiness and concurrency.

Most tests use the fake embedder (fast); ``test_real_model_*`` use the real model.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import tempfile
import threading
import time
from dataclasses import replace

import httpx
import pytest
from fastapi.testclient import TestClient

from matcher import Matcher
from matcher.serve.app import create_app
from matcher.settings import Settings
from tests import ROOT
from tests.documents import docx_bytes, pdf_bytes
from tests.fakes import FakeEmbedder

PLATFORM_TEXT = (ROOT / "examples" / "platform-pm.txt").read_text(encoding="utf-8")
SECRET = "Quokkaville-Zanzibar-4417"  # a marker that must never reach a log
SECRET_TEXT = (f"{SECRET} built the internal Python SDK and client libraries that product teams use to call "
               "hosted models.\nPlanned deprecation timelines and migration paths for the older model serving "
               "APIs.\nTracked developer experience metrics such as onboarding time for internal engineers.")
LIMITS = {"max_text_chars": 3000, "max_upload_bytes": 100_000, "max_top_k": 5, "max_batch": 32}


def error_of(response, status: int, code: str | None = None) -> str:
    """Assert the error envelope and return its message."""
    assert response.status_code == status, response.text
    body = response.json()
    # A validation error also lists each problem under "details" (never the values sent).
    assert set(body) == {"error"} and set(body["error"]) - {"details"} == {"code", "message"}, body
    if "details" in body["error"]:
        assert body["error"]["details"] and all(set(d) == {"loc", "msg", "type"} for d in body["error"]["details"])
    if code:
        assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]["message"]


# -- documents --------------------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + b"\x00" * 64


# -- fixtures ---------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def api_settings(tmp_path_factory) -> Settings:
    tmp = tmp_path_factory.mktemp("api")
    return replace(Settings(), scorer="similarity",
                   corpus_dir=ROOT / "corpus", index_dir=tmp / "index", cache_dir=tmp / "cache", **LIMITS)


@pytest.fixture(scope="module")
def fake_matcher(api_settings) -> Matcher:
    return Matcher.load(api_settings, embedder=FakeEmbedder())


@pytest.fixture(scope="module")
def app(api_settings, fake_matcher):
    return create_app(api_settings, matcher=fake_matcher)


@pytest.fixture(scope="module")
def client(app):
    with TestClient(app) as c:
        yield c


def stream_post(app, path: str, content_type: str, chunks) -> tuple[int, dict, int]:
    """POST a chunked body straight into the ASGI app (TestClient would read it all first).

    Returns (status, JSON body, how many chunks the app pulled).
    """
    pulled, messages, it = [0], [], iter(chunks)

    async def receive():
        try:
            chunk = next(it)
        except StopIteration:
            return {"type": "http.request", "body": b"", "more_body": False}
        pulled[0] += 1
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message):
        messages.append(message)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"content-type", content_type.encode()), (b"transfer-encoding", b"chunked")],
             "client": ("127.0.0.1", 5000), "server": ("testserver", 80)}
    asyncio.run(app(scope, receive, send))
    status = next(m["status"] for m in messages if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in messages if m["type"] == "http.response.body")
    return status, json.loads(body), pulled[0]


def upload(client, name: str, data: bytes, **form):
    return client.post("/v1/match/file", files={"file": (name, data, "application/octet-stream")}, data=form)


# -- service endpoints ------------------------------------------------------------------------------

def test_health_ready_info_and_docs(client, fake_matcher):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["status"] == "ready"
    info = client.get("/v1/info").json()
    assert info["ready"] and info["limits"] == LIMITS and info["catalog"]["name"] == "default"
    spec = client.get("/openapi.json").json()
    paths = {"/v1/match", "/v1/match/file", "/v1/roles", "/v1/roles/{role_id}", "/healthz", "/readyz"}
    assert paths <= set(spec["paths"])
    assert "MatchResult" in str(spec["components"]["schemas"])
    assert client.get("/docs").status_code == 200


def test_roles_and_unknown_role(client, fake_matcher):
    body = client.get("/v1/roles").json()
    assert body["catalog"]["name"] == "default"
    assert [r["id"] for r in body["roles"]] == fake_matcher.catalog.role_ids
    assert fake_matcher.catalog.roles
    for role in fake_matcher.catalog.roles:
        assert client.get(f"/v1/roles/{role.id}").json() == role.to_dict()
    message = error_of(client.get("/v1/roles/astronaut"), 404, "unknown_role")
    assert "astronaut" in message and all(rid in message for rid in fake_matcher.catalog.role_ids)


def test_unknown_path_and_method_use_the_envelope(client):
    assert "/nowhere" in error_of(client.get("/nowhere"), 404, "not_found")
    error_of(client.delete("/v1/roles"), 405, "method_not_allowed")
    error_of(client.get("/v1/match"), 405, "method_not_allowed")


def test_page_is_self_contained(client):
    page = client.get("/")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    for name in ("index.html", "app.js", "style.css"):
        asset = (ROOT / "matcher" / "serve" / "static" / name).read_text(encoding="utf-8")
        assert "http://" not in asset and "https://" not in asset, f"{name} must not load anything remote"
        if name != "index.html":
            assert client.get(f"/static/{name}").status_code == 200
    script = (ROOT / "matcher" / "serve" / "static" / "app.js").read_text(encoding="utf-8")
    assert not re.search(r"\.(inner|outer)HTML\s*=|insertAdjacentHTML|document\.write", script), \
        "text goes into the page through text nodes only"


# -- POST /v1/match ---------------------------------------------------------------------------------

def test_match_returns_the_core_document_unchanged(client, fake_matcher):
    response = client.post("/v1/match", json={"text": SECRET_TEXT})
    assert response.status_code == 200
    assert response.json() == fake_matcher.match(SECRET_TEXT).to_dict()
    assert response.headers["cache-control"] == "no-store"
    two = client.post("/v1/match", json={"text": SECRET_TEXT, "top_k": 2}).json()
    assert len(two["results"]) == 2
    assert client.post("/v1/match", json={"text": SECRET_TEXT, "top_k": None}).status_code == 200


def test_offsets_count_code_points(client):
    text = "😀 Ünïcode first line. " + SECRET_TEXT
    doc = client.post("/v1/match", json={"text": text}).json()
    assert doc["results"][0]["evidence"]
    for ev in doc["results"][0]["evidence"]:
        assert text[ev["start"]:ev["end"]] == ev["resume_passage"]


@pytest.mark.parametrize(("body", "status", "code"), [
    ({"text": ""}, 422, "empty_input"),
    ({"text": "   \n\t  "}, 422, "empty_input"),
    ({"text": "a\x00b" * 10}, 422, "binary_input"),
    ({"text": "x" * (LIMITS["max_text_chars"] + 1)}, 413, "too_large"),
    ({"text": 123}, 422, "invalid_request"),
    ({"text": ["a", "b"]}, 422, "invalid_request"),
    ({"text": None}, 422, "invalid_request"),
    ({}, 422, "invalid_request"),
    ({"text": "ok text", "top_k": 0}, 422, "invalid_request"),
    ({"text": "ok text", "top_k": LIMITS["max_top_k"] + 1}, 422, "invalid_request"),
    ({"text": "ok text", "top_k": "2"}, 422, "invalid_request"),
    ({"text": "ok text", "top_k": True}, 422, "invalid_request"),
    ({"text": "ok text", "top_k": 2.5}, 422, "invalid_request"),
    ({"text": "ok text", "topk": 2}, 422, "invalid_request"),
    ([SECRET_TEXT], 422, "invalid_request"),
])
def test_bad_json_bodies(client, body, status, code):
    message = error_of(client.post("/v1/match", json=body), status, code)
    assert SECRET not in message


def test_error_messages_say_what_is_accepted(client):
    assert "limit is 3,000" in error_of(client.post("/v1/match", json={"text": "x" * 3001}), 413)
    assert f"less than or equal to {LIMITS['max_top_k']}" in error_of(
        client.post("/v1/match", json={"text": "ok", "top_k": 99}), 422)
    assert "text: is required" in error_of(client.post("/v1/match", json={}), 422)


@pytest.mark.parametrize(("raw", "code"), [
    (b'{"text": "unterminated', "malformed_json"),
    (b"{'text': 'single quotes'}", "malformed_json"),
    (b"", "malformed_json"),
    (b"[" * 5000, "malformed_json"),
    (b'{"text": "lone \\ud800 surrogate"}', "malformed_json"),
    ('{"text": "caf\xe9"}'.encode("latin-1"), "bad_encoding"),
    (b"\xff\xfe{\x00}\x00", "bad_encoding"),
])
def test_malformed_and_undecodable_bodies(client, raw, code):
    error_of(client.post("/v1/match", content=raw, headers={"content-type": "application/json"}), 422, code)


def test_wrong_content_type_is_415(client):
    message = error_of(client.post("/v1/match", content=b'{"text": "hello"}', headers={"content-type": "text/plain"}),
                       415, "unsupported_media_type")
    assert "application/json" in message


def test_body_limit_is_enforced_before_and_while_reading(client, app):
    big = b'{"text": "' + b"a" * 200_000 + b'"}'  # over max_text_chars * 12 + 64 KiB
    error_of(client.post("/v1/match", content=big, headers={"content-type": "application/json"}), 413, "too_large")
    # No Content-Length: the guard counts the stream and stops it at the limit.
    status, body, pulled = stream_post(app, "/v1/match", "application/json", (b"a" * 1024 for _ in range(1000)))
    assert status == 413 and body["error"]["code"] == "too_large"
    limit_kib = (LIMITS["max_text_chars"] * 12 + 64 * 1024) // 1024
    assert pulled <= limit_kib + 1, "the body must be refused as it streams, not after buffering it all"


# -- POST /v1/match/file ----------------------------------------------------------------------------

@pytest.mark.parametrize(("name", "make"), [
    ("resume.txt", lambda: SECRET_TEXT.encode()),
    ("resume.md", lambda: ("# Experience\n\n- " + SECRET_TEXT.replace("\n", "\n- ")).encode()),
    ("resume.pdf", lambda: pdf_bytes(SECRET_TEXT.splitlines())),
    ("resume.docx", lambda: docx_bytes(SECRET_TEXT.splitlines())),
    ("renamed-without-extension", lambda: docx_bytes(SECRET_TEXT.splitlines())),
])
def test_upload_each_type(client, name, make):
    response = upload(client, name, make(), top_k="3")
    assert response.status_code == 200, response.text
    doc = response.json()
    assert len(doc["results"]) == 3 and doc["file"]["name"] == name
    assert SECRET in doc["text"]
    assert doc["results"][0]["evidence"]
    for ev in doc["results"][0]["evidence"]:
        assert doc["text"][ev["start"]:ev["end"]] == ev["resume_passage"]


@pytest.mark.parametrize(("name", "data", "status", "code", "words"), [
    ("scan.pdf", pdf_bytes([]), 422, "no_text", "scanned"),
    ("empty.txt", b"", 422, "empty_input", "empty"),
    ("empty.docx", docx_bytes([]), 422, "no_text", "no text could be extracted"),
    ("blank.txt", b"   \n\n  ", 422, "no_text", "no text could be extracted"),
    ("broken.pdf", b"%PDF-1.4\nthis is not really a pdf\n%%EOF", 422, "bad_pdf", "could not be read as a PDF"),
    ("photo.pdf", PNG, 415, "unsupported_type", "not a PDF, DOCX or UTF-8"),
    ("photo.png", PNG, 415, "unsupported_type", "not a PDF, DOCX or UTF-8"),
    ("notes.png", b"plain text pretending to be an image", 415, "unsupported_type", "unsupported file type"),
    ("lying.pdf", b"plain text named like a PDF", 415, "unsupported_type", "content is text"),
    ("lying.docx", pdf_bytes(["hello"]), 415, "unsupported_type", "content is pdf"),
    ("archive.docx", b"PK\x03\x04" + b"\x00" * 40, 415, "unsupported_type", "not a PDF, DOCX"),
    ("program.txt", b"\x7fELF\x02\x01\x01\x00" + b"\x00" * 100, 415, "unsupported_type", "UTF-8"),
    ("latin1.txt", "Caf\xe9 manager, nine years.".encode("latin-1"), 415, "unsupported_type", "UTF-8"),
    ("late-bad-byte.txt", b"Product manager for developer tools. " * 200 + b"\xff\xfe", 422, "bad_encoding", "UTF-8"),
])
def test_bad_uploads(client, name, data, status, code, words):
    message = error_of(upload(client, name, data), status, code)
    assert words in message


def test_upload_over_the_limit_is_413_while_streaming(client, app):
    limit = LIMITS["max_upload_bytes"]
    message = error_of(upload(client, "big.txt", b"a" * (limit + 1)), 413, "too_large")
    assert "MATCHER_MAX_UPLOAD_BYTES" in message
    error_of(upload(client, "huge.txt", b"a" * (limit + 200_000)), 413, "too_large")  # refused on Content-Length
    boundary = "b0undary"

    def chunks():
        yield (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.txt\"\r\n"
               "Content-Type: text/plain\r\n\r\n").encode()
        for _ in range(2000):
            yield b"a" * 1024

    status, body, pulled = stream_post(app, "/v1/match/file", f"multipart/form-data; boundary={boundary}", chunks())
    assert status == 413 and "MATCHER_MAX_UPLOAD_BYTES" in body["error"]["message"]
    assert pulled <= limit // 1024 + 2, "the upload must be refused at the limit, not buffered"


def test_upload_request_shape_errors(client):
    error_of(client.post("/v1/match/file", json={"text": "hello"}), 415, "unsupported_media_type")
    error_of(client.post("/v1/match/file", data={"top_k": "2"}), 415, "unsupported_media_type")  # url-encoded
    error_of(client.post("/v1/match/file", files={"top_k": (None, "2")}), 422, "missing_file")
    error_of(upload(client, "a.txt", SECRET_TEXT.encode(), top_k="0"), 422, "invalid_request")
    error_of(upload(client, "a.txt", SECRET_TEXT.encode(), top_k="many"), 422, "invalid_request")
    error_of(upload(client, "a.txt", SECRET_TEXT.encode(), colour="blue"), 422, "invalid_request")
    two = client.post("/v1/match/file", files=[("file", ("a.txt", b"one sentence here.")),
                                                ("file", ("b.txt", b"another sentence here."))])
    error_of(two, 422, "invalid_request")
    garbage = client.post("/v1/match/file", content=b"\r\n--zz\r\nnot headers\r\n\r\n--zz",
                          headers={"content-type": "multipart/form-data; boundary=zz"})
    assert garbage.status_code == 422 and garbage.json()["error"]["code"] in ("malformed_multipart", "missing_file")


def test_uploads_never_touch_the_disk(api_settings, fake_matcher, tmp_path, monkeypatch):
    """No temporary file is created, even for an upload bigger than Starlette's 1 MB spool."""
    import starlette.formparsers

    def forbidden(*args, **kwargs):
        raise AssertionError("résumé data must not be written to a temporary file")

    for name in ("TemporaryFile", "NamedTemporaryFile", "SpooledTemporaryFile", "mkstemp"):
        monkeypatch.setattr(tempfile, name, forbidden)
    monkeypatch.setattr(starlette.formparsers, "SpooledTemporaryFile", forbidden)
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    settings = replace(api_settings, max_upload_bytes=3 * 1024 * 1024)
    with TestClient(create_app(settings, matcher=fake_matcher)) as c:
        big = (SECRET_TEXT + "\n").encode() * (1536 * 1024 // len(SECRET_TEXT))
        response = upload(c, "big.txt", big, top_k="1")  # read and extracted in memory, then over the text limit
        assert "characters" in error_of(response, 413, "too_large")
        assert upload(c, "cv.pdf", pdf_bytes(SECRET_TEXT.splitlines())).status_code == 200
    assert list(tmp_path.iterdir()) == []


# -- privacy: the logs ------------------------------------------------------------------------------

def test_logs_carry_no_resume_text(client, caplog):
    caplog.set_level(logging.DEBUG)
    client.post("/v1/match", json={"text": SECRET_TEXT})
    upload(client, f"{SECRET}_CV.txt", SECRET_TEXT.encode())
    upload(client, f"{SECRET}_CV.pdf", SECRET_TEXT.encode())  # refused: the message names the file
    client.post("/v1/match", json={"text": SECRET_TEXT * 100})  # over the limit
    client.post("/v1/match", json={"text": SECRET_TEXT, "top_k": SECRET})  # a type error echoing nothing
    client.post("/v1/match", content=f'{{"text": "{SECRET}'.encode(), headers={"content-type": "application/json"})
    access = [r.getMessage() for r in caplog.records if r.name == "matcher.access"]
    assert any(line.startswith("POST /v1/match 200 ") for line in access), access
    assert any(line.startswith("POST /v1/match/file 200 ") for line in access), access
    assert any(line.startswith("POST /v1/match 413 ") for line in access), access
    assert all("in=" in line and "out=" in line and "ms" in line for line in access)
    assert SECRET not in caplog.text
    assert "deprecation timelines" not in caplog.text


def test_unexpected_errors_are_a_500_envelope_without_internals(api_settings, fake_matcher, monkeypatch, caplog):
    caplog.set_level(logging.DEBUG)

    def explode(text, top_k=None):
        raise RuntimeError(f"internal failure while reading {text[:40]}")

    monkeypatch.setattr(fake_matcher, "match", explode)
    with TestClient(create_app(api_settings, matcher=fake_matcher)) as c:
        message = error_of(c.post("/v1/match", json={"text": SECRET_TEXT}), 500, "internal_error")
        assert SECRET not in message and "RuntimeError" not in message
        assert c.get("/healthz").status_code == 200  # still serving
    assert "RuntimeError" in caplog.text  # logged for the operator ...
    assert SECRET not in caplog.text  # ... without the exception message, which quoted the input


# -- readiness and load failures ---------------------------------------------------------------------

class GatedEmbedder(FakeEmbedder):
    """Blocks every embed call until ``gate`` is set (holds the index build, hence the start-up)."""

    def __init__(self):
        super().__init__()
        self.gate = threading.Event()

    def embed(self, texts):
        assert self.gate.wait(20)
        return super().embed(texts)


def test_ready_only_after_the_model_and_index_load(settings):
    embedder = GatedEmbedder()
    with TestClient(create_app(settings, embedder=embedder)) as c:
        assert c.get("/healthz").status_code == 200
        not_ready = c.get("/readyz")
        error_of(not_ready, 503, "not_ready")
        assert not_ready.headers["retry-after"]
        error_of(c.post("/v1/match", json={"text": SECRET_TEXT}), 503, "not_ready")
        error_of(c.get("/v1/roles"), 503, "not_ready")
        assert c.get("/v1/info").json()["ready"] is False
        embedder.gate.set()
        deadline = time.monotonic() + 20
        while c.get("/readyz").status_code != 200:
            assert time.monotonic() < deadline, "never became ready"
            time.sleep(0.05)
        assert c.post("/v1/match", json={"text": SECRET_TEXT}).status_code == 200


def test_load_failure_is_reported(settings, tmp_path, caplog):
    broken = replace(settings, corpus_dir=tmp_path / "no-corpus-here", catalog="no-such-catalog")
    with TestClient(create_app(broken, embedder=FakeEmbedder())) as c:
        deadline = time.monotonic() + 10
        while c.get("/healthz").status_code == 200:
            assert time.monotonic() < deadline
            time.sleep(0.05)
        error_of(c.get("/healthz"), 503, "load_failed")
        error_of(c.get("/readyz"), 503, "load_failed")
        error_of(c.post("/v1/match", json={"text": SECRET_TEXT}), 503, "load_failed")
    assert "could not load" in caplog.text


# -- concurrency --------------------------------------------------------------------------------------

class SlowEmbedder(FakeEmbedder):
    """Sleeps in ``embed`` and records how many calls ever overlapped."""

    def __init__(self, delay: float):
        super().__init__()
        self.delay, self.active, self.most, self.lock = delay, 0, 0, threading.Lock()

    def embed(self, texts):
        with self.lock:
            self.active += 1
            self.most = max(self.most, self.active)
        try:
            time.sleep(self.delay)
            return super().embed(texts)
        finally:
            with self.lock:
                self.active -= 1


def test_concurrent_requests_are_correct_and_the_loop_stays_free(api_settings, fake_matcher):
    slow = SlowEmbedder(0.15)
    matcher = Matcher.load(api_settings, embedder=slow)  # the index is already built with the same fake
    texts = [SECRET_TEXT, PLATFORM_TEXT, "Led data governance and wrote data contracts for analytics tables.",
             "Shipped an LLM copilot with guardrails and evaluation sets."] * 2
    expected = [fake_matcher.match(t).to_dict() for t in texts]
    app = create_app(api_settings, matcher=matcher)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            async def timed(coro):
                response = await coro
                return response, time.perf_counter()

            async def health_later():
                await asyncio.sleep(0.05)
                return await ac.get("/healthz")

            matches = [timed(ac.post("/v1/match", json={"text": t})) for t in texts]
            *done, (health, health_at) = await asyncio.gather(*matches, timed(health_later()))
            return done, health, health_at

    done, health, health_at = asyncio.run(scenario())
    assert health.status_code == 200
    assert [r.json() for r, _ in done] == expected
    # healthz answered while the matches were still queued behind the model: the loop was never blocked
    assert health_at < max(t for _, t in done) - 0.5
    assert slow.most == 1, "model calls must not overlap within one process"


def test_a_full_queue_gets_503_busy_and_the_rest_are_served(api_settings):
    matcher = Matcher.load(replace(api_settings, max_queue=2), embedder=SlowEmbedder(0.2))
    app = create_app(matcher.settings, matcher=matcher)

    async def scenario():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as ac:
            return await asyncio.gather(*[ac.post("/v1/match", json={"text": PLATFORM_TEXT}) for _ in range(6)])

    responses = asyncio.run(scenario())
    codes = sorted(r.status_code for r in responses)
    # one runs, two wait, the other three are told at once to come back
    assert codes == [200, 200, 200, 503, 503, 503], codes
    busy = next(r for r in responses if r.status_code == 503)
    assert busy.json()["error"]["code"] == "busy" and busy.headers["retry-after"] == "1"


# -- the real model -----------------------------------------------------------------------------------

@pytest.mark.model
def test_real_model_text_and_file(real_matcher):
    with TestClient(create_app(real_matcher.settings, matcher=real_matcher)) as c:
        doc = c.post("/v1/match", json={"text": PLATFORM_TEXT, "top_k": 4}).json()
        assert doc == real_matcher.match(PLATFORM_TEXT, top_k=4).to_dict()
        assert doc["best_fit"] == "platform-pm"
        filed = upload(c, "priya.docx", docx_bytes(PLATFORM_TEXT.splitlines())).json()
        assert filed["best_fit"] == "platform-pm" and filed["file"]["type"] == "docx"
        assert filed["results"][0]["evidence"]
        for ev in filed["results"][0]["evidence"]:
            assert filed["text"][ev["start"]:ev["end"]] == ev["resume_passage"]
        nurse = (ROOT / "examples" / "nurse.txt").read_text(encoding="utf-8")
        assert c.post("/v1/match", json={"text": nurse}).json()["best_fit"] is None


# -- matcher serve ------------------------------------------------------------------------------------

def test_serve_runs_uvicorn_with_the_app_factory(monkeypatch, tmp_path):
    import uvicorn

    from matcher import cli

    calls = []
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: calls.append((app, kw)))
    for key in ("MATCHER_WORKERS", "MATCHER_CATALOG", "MATCHER_INDEX_DIR", "MATCHER_BACKEND"):
        monkeypatch.setenv(key, "")
    assert cli.main(["serve", "--port", "8123", "--workers", "2", "--index-dir", str(tmp_path)]) == 0
    (app, kw), = calls
    assert app == "matcher.serve.app:create_app" and kw["factory"] is True
    assert kw["workers"] == 2 and kw["port"] == 8123 and kw["host"] == "127.0.0.1"
    assert kw["access_log"] is False and "matcher" in kw["log_config"]["loggers"]
    import os

    assert os.environ["MATCHER_WORKERS"] == "2" and os.environ["MATCHER_INDEX_DIR"] == str(tmp_path)
    assert Settings.from_env().intra_op_threads() >= 1


def test_serve_refuses_bad_flags_in_one_line(monkeypatch, capsys, tmp_path):
    import uvicorn

    from matcher import cli

    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: pytest.fail("must not start"))
    for key in ("MATCHER_WORKERS", "MATCHER_CATALOG", "MATCHER_INDEX_DIR", "MATCHER_BACKEND"):
        monkeypatch.setenv(key, "")
    assert cli.main(["serve", "--workers", "0"]) == 2
    assert cli.main(["serve", "--catalog", str(tmp_path / "missing")]) == 3  # a runtime error, not usage
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("matcher: error:") for line in err)
