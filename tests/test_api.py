"""The HTTP API (`kb serve`) with the real index and models, through FastAPI's TestClient:
the search contract, articles, feedback, errors, auth, CORS, body cap, rate limit, reload."""

from __future__ import annotations

import shutil
import time
from dataclasses import replace
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from kb.api.app import create_app
from kb.api.payload import article_payload
from kb.content.articles import load_corpus
from kb.retrieval.index import build_index
from kb.retrieval.search import Hit, Searcher
from kb.service.messages import NO_MATCH_GUIDANCE

pytestmark = pytest.mark.integration
TOKEN = "s3cret-token"
DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def settings(real_settings, tmp_path_factory):
    return replace(real_settings, db_path=str(tmp_path_factory.mktemp("api") / "kb.sqlite3"),
                   rate_limit="off", admin_token=TOKEN)


@pytest.fixture(scope="module")
def client(settings):
    with TestClient(create_app(settings)) as test_client:
        yield test_client


def admin(client: TestClient, path: str, **params):
    return client.get(path, params=params, headers={"Authorization": f"Bearer {TOKEN}"})


def test_search_answers_with_the_cli_contract_plus_search_id_and_match(client, settings):
    query = "viewers hear an echo when I co-host"
    body = client.get("/v1/search", params={"q": query}).json()
    expected = Searcher.load(settings).search(query).to_json()
    assert {"query", "confident", "results", "search_id", "match", "lang"} <= body.keys()
    assert [r["id"] for r in body["results"]] == [r["id"] for r in expected["results"]]
    assert expected["results"][0].keys() | {"url"} == body["results"][0].keys()
    assert set(Hit.CONTRACT) <= body["results"][0].keys()
    assert body["confident"] and body["match"] in ("strong", "fair")
    assert "echo" in body["results"][0]["problem"]
    assert body["results"][0]["url"].endswith(f"?article={body['results'][0]['id']}&lang=en")
    assert isinstance(body["search_id"], int)


def test_chinese_symptoms_get_a_chinese_answer(client):
    body = client.get("/v1/search", params={"q": "连麦的时候观众听到回声"}).json()
    assert body["confident"] and body["lang"] == "zh"
    assert body["results"][0]["lang"] == "zh" and "echo" in body["results"][0]["problem"]


def test_no_confident_match_comes_with_guidance_and_maybe(client):
    body = client.get("/v1/search", params={"q": "how do I bake sourdough bread", "lang": "en"})
    body = body.json()
    assert (body["confident"], body["match"]) == (False, "weak")
    assert body["guidance"] == NO_MATCH_GUIDANCE["en"]
    assert len(body["maybe"]) <= 3 and all({"id", "title", "url"} <= m.keys()
                                           for m in body["maybe"])


def test_over_long_queries_are_shortened_as_in_the_cli(client):
    body = client.get("/v1/search", params={"q": "echo " * 400}).json()
    assert "shortened" in body["notes"] and len(body["query"]) <= 500
    assert body["note_text"]


def test_a_batch_answers_each_query_and_logs_one_row_each(client):
    before = len(admin(client, "/v1/searches").json()["searches"])
    body = client.post("/v1/search", json={"queries": ["echo in the room", "黑屏"],
                                           "top_k": 2}).json()
    assert [len(r["results"]) for r in body["responses"]] == [2, 2]
    ids = [r["search_id"] for r in body["responses"]]
    logged = admin(client, "/v1/searches").json()["searches"]
    assert len(logged) == before + 2 and [s["id"] for s in logged[-2:]] == ids
    assert {s["source"] for s in logged[-2:]} == {"api"}


@pytest.mark.parametrize(("method", "path", "payload", "status", "code"), [
    ("get", "/v1/search", {"q": "echo", "scenario": "karaoke"}, 400, "bad_request"),
    ("get", "/v1/search", {"q": "echo", "lang": "fr"}, 422, "invalid_request"),
    ("get", "/v1/search", {"q": "echo", "top_k": 0}, 422, "invalid_request"),
    ("get", "/v1/search", {}, 422, "invalid_request"),
    ("post", "/v1/search", {"queries": ["echo"] * 51}, 422, "invalid_request"),
    ("post", "/v1/search", {"queries": []}, 422, "invalid_request"),
    ("get", "/v1/articles/no-such-article", {}, 404, "not_found"),
    ("post", "/v1/feedback", {"search_id": 987654, "helpful": True}, 404, "not_found"),
    ("post", "/v1/feedback", {"search_id": 1}, 422, "invalid_request"),
    ("get", "/v1/nothing-here", {}, 404, "not_found"),
])
def test_errors_have_one_shape(client, method, path, payload, status, code):
    if method == "get":
        response = client.get(path, params=payload)
    else:
        response = client.post(path, json=payload)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["message"]


def test_feedback_is_tied_to_its_search_and_exported_to_writers_with_data_masked(client):
    search = client.get("/v1/search", params={"q": "echo for uid 123456789"}).json()
    assert search["query"] == "echo for uid 123456789"  # the answer is not masked, the log is
    posted = client.post("/v1/feedback", json={"search_id": search["search_id"],
                                               "helpful": False,
                                               "comment": "wrong one, mail me: a@b.example"})
    assert posted.status_code == 201
    feedback = admin(client, "/v1/feedback").json()["feedback"]
    mine = [f for f in feedback if f["id"] == posted.json()["id"]]
    assert mine[0]["search_id"] == search["search_id"] and mine[0]["helpful"] is False
    assert mine[0]["comment"] == "wrong one, mail me: [email]"
    logged = admin(client, "/v1/searches").json()["searches"]
    assert [s["query"] for s in logged if s["id"] == search["search_id"]] == [
        "echo for uid [number]"]


def test_exports_filter_by_since_and_confidence(client):
    client.get("/v1/search", params={"q": "how do I bake sourdough bread"})
    unconfident = admin(client, "/v1/searches", confident="false").json()["searches"]
    assert unconfident and not any(s["confident"] for s in unconfident)
    assert admin(client, "/v1/searches", since="2999-01-01T00:00:00Z").json() == {
        "searches": []}


@pytest.mark.parametrize("header", [None, "Bearer wrong", f"Basic {TOKEN}", TOKEN])
def test_exports_need_the_admin_token(client, header):
    headers = {"Authorization": header} if header else {}
    for path in ("/v1/feedback", "/v1/searches"):
        response = client.get(path, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["code"] == "unauthorized"
        assert response.headers["www-authenticate"] == "Bearer"


def test_exports_are_off_without_a_configured_token(settings):
    with TestClient(create_app(replace(settings, admin_token=""))) as client:
        response = client.get("/v1/searches", headers={"Authorization": "Bearer "})
    assert response.status_code == 401 and "not set" in response.json()["error"]["message"]


def test_articles_come_with_fields_markdown_safe_html_and_app_url(client):
    top = client.get("/v1/search", params={"q": "black screen when screen sharing"}).json()
    article_id = top["results"][0]["id"]
    body = client.get(f"/v1/articles/{article_id}", params={"lang": "zh"}).json()
    assert (body["id"], body["lang"]) == (article_id, "zh")
    assert {"title", "problem", "scenarios", "severity", "platforms", "last_reviewed",
            "owner", "error_codes", "url"} <= body.keys()
    keys = [s["key"] for s in body["sections"]]
    assert {"fix", "verify"} <= set(keys)
    fix = next(s for s in body["sections"] if s["key"] == "fix")
    assert fix["markdown"] and fix["html"].lstrip().startswith("<")


def test_article_html_never_passes_raw_html_or_script_links(real_settings):
    searcher = Searcher.load(real_settings)
    article = next(iter(searcher.index.articles.values()))
    section = replace(article.sections[0], markdown=(
        "Hi <script>alert(1)</script> <img src=x onerror=alert(1)> "
        "[click](javascript:alert(1)) [next](other-article.en.md)"))
    html = article_payload(replace(article, sections=(section,)), real_settings)[
        "sections"][0]["html"]
    assert "<script" not in html and "<img" not in html and "href=\"javascript" not in html
    assert "&lt;script&gt;" in html and "?article=other-article&amp;lang=en" in html


def test_request_bodies_over_64_kb_are_refused(client):
    big = {"queries": ["echo " * 20_000]}
    assert client.post("/v1/search", json=big).status_code == 413

    def chunked():
        for _ in range(80):
            yield b"x" * 1024

    response = client.post("/v1/feedback", content=chunked(),
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_cors_is_closed_by_default_and_open_to_configured_origins(client, settings):
    preflight = {"Origin": "https://help.example.com", "Access-Control-Request-Method": "GET"}
    assert "access-control-allow-origin" not in client.get(
        "/v1/search", params={"q": "echo"}, headers={"Origin": "https://help.example.com"}
    ).headers
    allowed = replace(settings, cors_origins=("https://help.example.com",))
    with TestClient(create_app(allowed)) as open_client:
        response = open_client.options("/v1/search", headers=preflight)
        assert response.headers["access-control-allow-origin"] == "https://help.example.com"
        other = open_client.options("/v1/search", headers={**preflight,
                                                           "Origin": "https://evil.example"})
        assert "access-control-allow-origin" not in other.headers


def test_public_endpoints_are_rate_limited_per_client(settings):
    with TestClient(create_app(replace(settings, rate_limit="3/minute"))) as client:
        codes = [client.get("/v1/search", params={"q": "echo"}).status_code for _ in range(4)]
        limited = client.get("/v1/articles/x")
        assert client.get("/healthz").status_code == 200
    assert codes == [200, 200, 200, 429]
    assert limited.status_code == 429 and limited.json()["error"]["code"] == "rate_limited"
    assert 1 <= int(limited.headers["retry-after"]) <= 60


def test_health_and_readiness(client, settings):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz").json()
    assert ready["status"] == "ready" and ready["build"].startswith("build-")
    assert ready["articles"] > 10 and ready["encoders"] == list(settings.encoders)
    assert "/v1/search" in client.get("/openapi.json").json()["paths"]
    assert client.get("/docs").status_code == 200


def test_a_newly_published_build_is_served_without_restart(real_settings, tmp_path):
    articles = tmp_path / "articles"
    shutil.copytree(DATA / "articles", articles)
    settings = replace(real_settings, articles_dir=articles, index_dir=tmp_path / "index",
                       db_path=str(tmp_path / "kb.sqlite3"), rate_limit="off")
    build_index(settings, load_corpus(articles))
    query = "the invoice shows the wrong currency"
    with TestClient(create_app(settings, reload_seconds=0.1)) as client:
        first = client.get("/readyz").json()["build"]
        assert client.get("/v1/search", params={"q": query}).json()["results"][0]["id"] != \
            "billing-currency"
        template = (articles / "voice-room" / "room-echo.en.md").read_text("utf-8")
        new = template.replace("id: room-echo", "id: billing-currency").replace(
            "title: Echo and howling in a voice room", "title: The invoice shows the wrong "
            "currency")
        (articles / "voice-room" / "billing-currency.en.md").write_text(new, "utf-8")
        build_index(settings, load_corpus(articles))
        deadline = time.monotonic() + 60
        while client.get("/readyz").json()["build"] == first:
            assert time.monotonic() < deadline, "the new build was not picked up"
            time.sleep(0.2)
        ids = [r["id"] for r in client.get("/v1/search", params={"q": query}).json()["results"]]
        assert "billing-currency" in ids


def test_kb_serve_runs_the_api_on_uvicorn(real_settings, tmp_path):
    import os
    import subprocess
    import sys
    import urllib.request

    from appserver import free_port, wait_until_up

    port = free_port()
    env = {**os.environ, "KB_INDEX_DIR": str(real_settings.index_dir),
           "KB_ARTICLES_DIR": str(real_settings.articles_dir),
           "KB_DB": str(tmp_path / "kb.sqlite3"), "HF_HUB_OFFLINE": "1"}
    process = subprocess.Popen([sys.executable, "-m", "kb", "serve", "--port", str(port),
                                "--log-level", "warning"], env=env, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/readyz", process, 90,
                      lambda: process.stdout.read().decode() if process.poll() is not None
                      else "timeout")
        with urllib.request.urlopen(f"{url}/v1/search?q=echo&top_k=1", timeout=30) as answer:
            assert answer.status == 200 and b'"search_id"' in answer.read()
    finally:
        process.terminate()
        process.wait(20)


def test_diagnose_reads_a_pasted_log_and_answers_with_evidence(client, settings):
    log = (DATA / "diagnose/real/apprtc-ice-state-failed.txt").read_text()
    response = client.post("/v1/diagnose", json={"text": "calls never connect\n" + log})
    assert response.status_code == 200
    body = response.json()
    assert body["diagnosis"]["kind"] == "log"
    assert body["results"][0]["problem"] == "connect-rate"
    assert "ICE" in body["evidence"] and isinstance(body["search_id"], int)
    exported = admin(client, "/v1/searches").json()
    assert all("apprtc.debug.js" not in row["query"] for row in exported["searches"])


def test_diagnose_takes_bodies_larger_than_a_search_but_not_unbounded(client):
    dump = "x" * (200 * 1024)  # over the 64 KB search cap, well under the diagnose cap
    assert client.post("/v1/diagnose", json={"text": "choppy " + dump}).status_code == 200
