"""Hostile but fair clients against a running server: bombs, encrypted files, odd digits, forged
log lines, slow clients, malformed HTTP, guessed admin keys. Each asserts the status, the error
code, the time taken and (for the heavy ones) the server's memory growth."""

from __future__ import annotations

import contextlib
import socket
import time

import httpx
import pytest

from tests.documents import aes_encrypted_pdf, docx_bomb, docx_bytes, flate_bomb_pdf

from .conftest import ADMIN_KEY

MAX_GROWTH_MIB = 100


def envelope(response: httpx.Response, status: int, code: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["error"]["code"] == code, body
    return body["error"]["message"]


def upload(server, name: str, data: bytes, **form) -> httpx.Response:
    return httpx.post(server.url + "/v1/match/file", files={"file": (name, data, "application/octet-stream")},
                      data=form, timeout=60)


@pytest.mark.parametrize(("name", "build", "status", "code"), [
    ("forged.docx", lambda: docx_bomb(200, claimed=1000), 422, "bad_docx"),
    ("honest.docx", lambda: docx_bomb(200, claimed=None), 413, "too_large"),
    ("bomb.pdf", lambda: flate_bomb_pdf(200), 413, "too_large"),
])
def test_decompression_bombs_are_refused_fast_with_bounded_memory(server, name, build, status, code):
    data = build()
    assert len(data) < 1_000_000  # a small upload that would inflate to 200 MB
    before = server.rss_mib()
    started = time.perf_counter()
    envelope(upload(server, name, data), status, code)
    assert time.perf_counter() - started < 5
    assert server.rss_mib() - before < MAX_GROWTH_MIB


def test_eight_bombs_at_once_leave_a_normal_request_served(server):
    import concurrent.futures

    bomb = docx_bomb(200, claimed=None)
    before = server.rss_mib()
    with concurrent.futures.ThreadPoolExecutor(9) as pool:
        bombs = [pool.submit(upload, server, f"b{i}.docx", bomb) for i in range(8)]
        started = time.perf_counter()
        normal = httpx.post(server.url + "/v1/match", json={"text": "I own the model serving platform and its "
                                                                     "SDKs for our ML teams."}, timeout=60)
        normal_seconds = time.perf_counter() - started
        statuses = {f.result().status_code for f in bombs}
    assert normal.status_code == 200 and normal_seconds < 5
    assert statuses <= {413, 503}  # refused as too large, or turned away by back-pressure
    assert server.rss_mib() - before < 2 * MAX_GROWTH_MIB


def test_aes_encrypted_pdf_is_a_clear_422(server):
    message = envelope(upload(server, "locked.pdf", aes_encrypted_pdf(["Product manager, model serving."])),
                       422, "encrypted_pdf")
    assert "unlocked copy" in message


@pytest.mark.parametrize("top_k", ["²", "٣", "1e3", "-1", " 0", "99999999999"])
def test_top_k_form_field_takes_ascii_digits_only(server, top_k):
    doc = docx_bytes(["Product manager for the internal ML platform: model serving, SDKs and docs."])
    message = envelope(upload(server, "r.docx", doc, top_k=top_k), 422, "invalid_request")
    assert "top_k" in message


def test_an_encoded_newline_cannot_forge_a_log_line(server):
    httpx.get(server.url + "/v1/roles/x%0AINFO:%20%20%20%20%20FORGED%0D%E2%80%A8tail", timeout=10)
    time.sleep(0.3)
    lines = server.log_text().splitlines()
    assert not any(line.startswith("INFO:     FORGED") or line.startswith("FORGED") for line in lines)
    assert any("/v1/roles/x\\nINFO:     FORGED\\r\\u2028tail" in line for line in lines)


def raw_exchange(server, chunks: list[bytes], pause: float = 0.0, read_timeout: float = 15) -> tuple[bytes, float]:
    """Send ``chunks`` with ``pause`` seconds between them; return (everything read, seconds to close)."""
    started = time.perf_counter()
    with socket.create_connection(("127.0.0.1", server.port), timeout=read_timeout) as s:
        try:
            for chunk in chunks:
                s.sendall(chunk)
                time.sleep(pause)
        except OSError:  # the server hung up on us mid-way: that is the point
            pass
        data = b""
        while True:
            try:
                part = s.recv(65536)
            except (TimeoutError, ConnectionResetError):
                break
            if not part:
                break
            data += part
    return data, time.perf_counter() - started


def test_slow_headers_are_cut_off(server):
    # Part of a request head, then silence: 408 after MATCHER_HEADER_TIMEOUT (2 s here).
    data, seconds = raw_exchange(server, [b"GET /v1/info HTTP/1.1\r\nHost: x\r\n"])
    assert data.startswith(b"HTTP/1.1 408") and b'"timeout"' in data
    assert seconds < 6


def test_a_trickled_body_is_cut_off(server):
    head = b"POST /v1/match HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n"
    data, seconds = raw_exchange(server, [head] + [b" "] * 10, pause=1.0)
    assert data.startswith(b"HTTP/1.1 408") and b'"timeout"' in data
    assert seconds < 12


def test_idle_connections_are_capped(server):
    sockets = []
    try:
        for _ in range(45):
            sockets.append(socket.create_connection(("127.0.0.1", server.port), timeout=5))
        time.sleep(0.3)
        refused = 0
        for s in sockets[-5:]:
            s.settimeout(1)
            with contextlib.suppress(TimeoutError):
                refused += s.recv(4096).startswith(b"HTTP/1.1 503")
        assert refused >= 1
    finally:
        for s in sockets:
            s.close()
    time.sleep(0.5)
    assert httpx.get(server.url + "/readyz", timeout=5).status_code == 200


def test_malformed_content_length_gets_the_json_envelope(server):
    data, _ = raw_exchange(server, [b"POST /v1/match HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n\r\n{}"])
    assert data.startswith(b"HTTP/1.1 400")
    assert b"application/json" in data and b'"bad_request"' in data


def test_missing_content_type_is_refused(server):
    response = httpx.post(server.url + "/v1/match", content=b'{"text": "Product manager for model serving."}',
                          headers={"content-type": ""}, timeout=10)
    envelope(response, 415, "unsupported_media_type")


def test_admin_key_guessing_is_rate_limited(server):
    url = server.url + "/v1/catalogs/default/reload"
    statuses = [httpx.post(url, headers={"Authorization": f"Bearer guess-{i}"}, timeout=10).status_code
                for i in range(7)]
    # at most five wrong keys are answered (fewer if another test already guessed from here), then 429s
    assert statuses[-2:] == [429, 429] and statuses == sorted(statuses) and statuses.count(401) <= 5
    # the right key from the same address is also held off until the window passes
    response = httpx.post(url, headers={"Authorization": f"Bearer {ADMIN_KEY}"}, timeout=10)
    envelope(response, 429, "too_many_attempts")
    assert int(response.headers["retry-after"]) >= 1
    # the undocumented second header is gone
    assert httpx.post(url, headers={"X-Admin-Key": ADMIN_KEY}, timeout=10).status_code in (401, 429)


def test_openapi_declares_what_is_enforced(server):
    spec = httpx.get(server.url + "/openapi.json", timeout=10).json()
    for path in ("/v1/match", "/v1/match/file"):
        assert "404" in spec["paths"][path]["post"]["responses"]
    for path in ("/v1/roles", "/v1/roles/{role_id}"):
        assert "404" in spec["paths"][path]["get"]["responses"]
    text = spec["paths"]["/v1/match"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert text["properties"]["text"]["minLength"] == 1


def test_the_shipped_scorer_answers_with_its_own_reasons(server):
    text = ("PM, GenAI copilot in our CRM. Shipped email drafting + call summaries on GPT-4; ran weekly human "
            "evals on hallucination rate; cut cost per conversation from 4c to 1.5c.")
    doc = httpx.post(server.url + "/v1/match", json={"text": text}, timeout=30).json()
    assert doc["best_fit"] == "ai-pm" and doc["results"][0]["score"] > 0.9
    assert all(e["contribution"] > 0 for e in doc["results"][0]["evidence"])
    assert abs(sum(r["score"] for r in doc["results"]) - 1.0) < 0.05  # probabilities (≈ none's share left)
