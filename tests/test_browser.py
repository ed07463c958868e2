"""The web page in a real Chromium, against a real ``matcher serve`` (real model, own process).

Also checks the running server's stderr: access lines are there, résumé text is not.
Set MATCHER_SCREENSHOT=docs/screenshot.png to refresh the README screenshot.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from tests import ROOT

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]

pytestmark = [
    pytest.mark.browser,
    pytest.mark.model,
    pytest.mark.skipif(not Path(CHROMIUM).exists(),
                       reason=f"{CHROMIUM} is missing: install Debian's chromium (bash scripts/setup.sh --browser)"),
]


CAFE_CSV = """role_id,title,section,statement
barista,Barista,responsibilities,Pulls espresso shots and steams milk for coffee drinks
barista,,responsibilities,"Takes orders, handles the till and keeps the counter clean"
barista,,skills,Latte art and espresso machine maintenance
pastry-chef,Pastry Chef,responsibilities,"Bakes croissants, bread and cakes before the shop opens"
pastry-chef,,skills,Laminated dough and tempering chocolate
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except OSError:
        return 0


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``matcher serve`` on a free port with a fresh index, serving two catalogs (the default one and a
    small café catalog); yields (base url, path of its stderr log)."""
    tmp = tmp_path_factory.mktemp("server")
    port = free_port()
    log_path = tmp / "server.log"
    corpus = tmp / "corpus"
    shutil.copytree(ROOT / "corpus" / "default", corpus / "default")
    (corpus / "cafe.csv").write_text(CAFE_CSV, encoding="utf-8")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MATCHER_INDEX_DIR": str(tmp / "index"), "PYTHONUNBUFFERED": "1",
           "MATCHER_CORPUS_DIR": str(corpus)}
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "matcher", "serve", "--host", "127.0.0.1", "--port", str(port)],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while get(f"{base}/readyz") != 200:
            if proc.poll() is not None:
                pytest.fail(f"matcher serve exited with {proc.returncode}:\n{log_path.read_text()}")
            if time.monotonic() > deadline:
                pytest.fail(f"matcher serve not ready after 120 s:\n{log_path.read_text()}")
            time.sleep(0.2)
        yield base, log_path
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


def test_paste_upload_and_error_flow(server, browser, tmp_path):
    from playwright.sync_api import expect

    base, log_path = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failures = []
    page.on("pageerror", lambda exc: failures.append(str(exc)))
    page.on("request", lambda req: req.url.startswith((base, "data:")) or failures.append(f"remote: {req.url}"))
    page.goto(base + "/")
    expect(page.get_by_label("Résumé text")).to_be_visible()

    # 1. Paste the Platform PM example and submit with the keyboard.
    text = (ROOT / "examples" / "platform-pm.txt").read_text(encoding="utf-8")
    page.get_by_label("Résumé text").fill(text)
    page.get_by_role("button", name="Match").focus()
    page.keyboard.press("Enter")
    expect(page.locator("#best-fit")).to_have_text("Platform Product Manager (AI/ML)")
    first = page.locator(".roles > li").first
    expect(first.locator(".role-title")).to_have_text("Platform Product Manager (AI/ML)")
    expect(first.locator(".subs")).to_contain_text("Experience")
    expect(first.locator(".subs")).to_contain_text("Interest")
    expect(page.locator("#contrast-title")).to_contain_text("rather than")
    expect(first.locator(".gaps li").first).to_be_visible()

    # The top role's evidence is shown beside its statements and highlighted in the text at its offsets.
    texts = "els => els.map(e => e.lastChild.textContent)"  # the last child: the text after the number badge
    passages = page.eval_on_selector_all(".roles > li:first-child .pair .passage", texts)
    marks = page.eval_on_selector_all("#doc mark", texts)
    assert len(passages) >= 3 and sorted(passages) == sorted(marks)
    assert all(p in text for p in passages)
    doc_text = page.eval_on_selector("#doc", "el => Array.from(el.childNodes).map(n => n.nodeType === 3 ? "
                                     "n.textContent : n.lastChild.textContent).join('')")
    assert doc_text == text  # highlighting never alters the text
    statements = page.locator(".roles > li:first-child .pair .statement")
    expect(statements.first).to_be_visible()
    first.locator(".pair .passage").nth(1).click()
    expect(page.locator("#doc mark.active")).to_have_count(1)
    expect(page.locator("#doc mark.active")).to_be_focused()

    shot = tmp_path / "result.png"
    bottom = page.eval_on_selector(".roles > li:first-child", "el => el.getBoundingClientRect().bottom + scrollY")
    page.evaluate("window.scrollTo(0, 0); document.getElementById('resume-text').scrollTop = 0")
    clip = {"x": 0, "y": 0, "width": 1280, "height": min(bottom + 16, 2400)}
    page.screenshot(path=str(shot), full_page=True, clip=clip)
    if os.environ.get("MATCHER_SCREENSHOT"):
        shutil.copy(shot, os.environ["MATCHER_SCREENSHOT"])

    # Phone width: one column, nothing wider than the screen.
    page.set_viewport_size({"width": 390, "height": 844})
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    page.set_viewport_size({"width": 1280, "height": 900})

    # 2. Upload a file: the nurse example is an honest "no good fit".
    page.get_by_label("Upload a file").set_input_files(str(ROOT / "examples" / "nurse.txt"))
    expect(page.locator("#file-name")).to_contain_text("nurse.txt")
    page.get_by_role("button", name="Match").click()
    expect(page.locator("#best-fit")).to_have_text("No good fit")
    expect(page.locator(".summary")).to_contain_text("under the 0.50 fit line")
    expect(page.locator("#text-title")).to_have_text("Text extracted from your file")
    expect(page.locator("#doc")).to_contain_text("Registered nurse")

    # 3. An error from the API is shown in words, and the page and server keep working.
    page.get_by_role("button", name="Remove file").click()
    page.get_by_label("Résumé text").fill("   \n  ")
    page.get_by_role("button", name="Match").click()
    expect(page.get_by_role("alert")).to_contain_text("input is empty")
    expect(page.locator("#best-fit")).to_have_count(0)
    page.get_by_label("Résumé text").fill(text)
    page.get_by_role("button", name="Match").click()
    expect(page.locator("#best-fit")).to_have_text("Platform Product Manager (AI/ML)")
    expect(page.get_by_role("alert")).to_be_hidden()
    assert failures == []
    page.close()

    # The server's own log: an access line per request, and no résumé text at all.
    assert get(f"{base}/healthz") == 200
    time.sleep(0.2)
    log = log_path.read_text(encoding="utf-8")
    for line in ("POST /v1/match 200 ", "POST /v1/match/file 200 ", "POST /v1/match 422 ", "GET / 200 "):
        assert line in log, log
    for private in ("Priya", "Northwind", "prompt registry", "Maria Gonzalez", "Registered nurse", "nurse.txt",
                    "clinical nurse educator"):
        assert private not in log, f"{private!r} leaked into the server log"


def test_api_over_real_http(server):
    """The curl example from the README, over a real socket."""
    base, _ = server
    body = json.dumps({"text": "Former backend engineer, now four years as a product manager for internal developer "
                               "tools. Built the internal Python SDK that 40 product teams use to call our hosted "
                               "models.", "top_k": 2}).encode()
    req = urllib.request.Request(f"{base}/v1/match", data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        doc = json.load(r)
    assert doc["best_fit"] == "platform-pm" and len(doc["results"]) == 2
    req = urllib.request.Request(f"{base}/v1/match", data=b'{"text": 5}', headers={"Content-Type": "application/json"})
    with pytest.raises(urllib.error.HTTPError) as err:
        urllib.request.urlopen(req, timeout=30)
    assert err.value.code == 422 and json.load(err.value)["error"]["code"] == "invalid_request"


def test_catalog_chooser(server, browser):
    """With two catalogs served, the page offers a chooser and matches against the chosen one."""
    from playwright.sync_api import expect

    base, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    failures = []
    page.on("pageerror", lambda exc: failures.append(str(exc)))
    page.goto(base + "/")
    chooser = page.get_by_label("Catalog")
    expect(chooser).to_be_visible()
    expect(chooser).to_have_value("default")
    chooser.select_option("cafe")
    expect(page.locator("#catalog-help")).to_contain_text("2 roles")
    page.get_by_label("Résumé text").fill("Four years behind the bar: I pulled espresso shots, steamed milk and "
                                          "poured latte art for the morning rush.")
    page.get_by_role("button", name="Match").click()
    expect(page.locator(".roles > li").first.locator(".role-title")).to_have_text("Barista")
    expect(page.locator(".roles > li")).to_have_count(2)
    assert failures == []
    page.close()


def test_docs_render_offline(server, browser):
    """/docs renders Swagger UI from the server's own assets: every request that leaves the server is
    refused here, as it would fail on a machine without internet."""
    from playwright.sync_api import expect

    base, _ = server
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    outside = []

    def only_local(route):
        if route.request.url.startswith(base):
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page.route("**/*", only_local)
    page.goto(base + "/docs")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("role-matcher")
    expect(page.locator(".opblock-summary-path", has_text="/v1/match/batch")).to_be_visible()
    assert outside == []
    page.close()
