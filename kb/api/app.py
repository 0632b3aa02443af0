"""`create_app`: the FastAPI application behind `kb serve`.

Public: search (one or a batch), articles, feedback, the widget and its demo page. Writers'
exports need `Authorization: Bearer <KB_ADMIN_TOKEN>`. Errors are `{"error": {"code",
"message"}}`.
"""

from __future__ import annotations

import hmac
import os
import threading
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import FileResponse, JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException

from kb.api.guards import BodyCap, RateLimit
from kb.api.payload import article_payload, search_payload
from kb.diagnose import load_rules, rules_path
from kb.errors import IndexMismatchError, IndexMissingError, KbError
from kb.retrieval.search import Searcher, SearchResponse
from kb.service.diagnosis import diagnose_ticket, render_findings
from kb.service.live import RELOAD_CHECK_SECONDS, LiveSearcher
from kb.service.searchlog import MAX_COMMENT_CHARS, SearchLog
from kb.settings import Settings, load_settings

STATIC = Path(__file__).parent / "static"
MAX_BATCH = 50
MAX_TOP_K = 20
Lang = Literal["en", "zh"]
ERROR_CODES = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "not_allowed",
               413: "payload_too_large", 422: "invalid_request", 429: "rate_limited",
               503: "not_ready"}


def current_searcher(request: Request) -> Searcher:
    """The searcher for the newest published build."""
    return request.app.state.live.get()


Found = Annotated[Searcher, Depends(current_searcher)]


class BatchSearch(BaseModel):
    """Several queries with the same filters."""

    queries: list[str] = Field(min_length=1, max_length=MAX_BATCH)
    lang: Lang | None = None
    scenario: str | None = None
    platform: str | None = None
    top_k: int = Field(5, ge=1, le=MAX_TOP_K)


class DiagnoseBody(BaseModel):
    """A ticket with a pasted artefact: a stats dump, a getStats report or log lines."""

    text: str = Field(min_length=1, description="the ticket: words and the pasted artefact")
    lang: Lang | None = None
    scenario: str | None = None
    platform: str | None = None


class Feedback(BaseModel):
    """Helpful or not, on the answer to one search."""

    search_id: int
    helpful: bool
    comment: str = Field("", max_length=MAX_COMMENT_CHARS)


def create_app(settings: Settings | None = None, *,
               reload_seconds: float = RELOAD_CHECK_SECONDS) -> FastAPI:
    """The API for `settings` (default: from `KB_*` variables); uvicorn calls it as a factory."""
    settings = settings or load_settings()
    live = LiveSearcher(settings, check_every=reload_seconds)
    log = SearchLog(settings.db_path) if settings.log_searches else None
    # Searching is CPU-bound: let as many run at once as there are cores (numpy and faiss
    # release the GIL, so a worker can use an idle core) and queue the rest in arrival order,
    # instead of time-slicing dozens of them (which makes each as slow as the whole queue).
    searching = threading.Semaphore(os.cpu_count() or 1)

    @asynccontextmanager
    async def lifespan(_app: FastAPI):  # noqa: ANN202
        try:
            await run_in_threadpool(live.get)
        except KbError:
            pass  # /readyz says why; searches answer 503 until a build is published
        yield
        if log is not None:
            log.close()

    app = FastAPI(title="RTC troubleshooting knowledge base", version="1",
                  lifespan=lifespan, docs_url="/docs")
    app.state.live = live

    def error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
        return JSONResponse({"error": {"code": ERROR_CODES.get(status, "error"),
                                       "message": message}}, status, headers=headers)

    @app.exception_handler(HTTPException)
    async def http_error(_request: Request, exc: HTTPException) -> JSONResponse:
        return error(exc.status_code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        problems = "; ".join(f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
                             for e in exc.errors())
        return error(422, problems)

    @app.exception_handler(KbError)
    async def kb_error(_request: Request, exc: KbError) -> JSONResponse:
        missing = isinstance(exc, IndexMissingError | IndexMismatchError)
        return error(503 if missing else 400, str(exc))

    def admin(request: Request) -> None:
        given = request.headers.get("authorization", "")
        expected = f"Bearer {settings.admin_token}"
        if not settings.admin_token or not hmac.compare_digest(given.encode(),
                                                               expected.encode()):
            raise HTTPException(401, "send Authorization: Bearer <KB_ADMIN_TOKEN>"
                                + ("" if settings.admin_token else
                                   " (exports are off: KB_ADMIN_TOKEN is not set)"),
                                headers={"WWW-Authenticate": "Bearer"})

    def answer(found: Searcher, q: str, lang: str | None, scenario: str | None,
               platform: str | None, top_k: int) -> dict[str, Any]:
        with searching:
            response: SearchResponse = found.search(q, top_k=top_k, scenario=scenario,
                                                    platform=platform, lang=lang)
        search_id = None
        if log is not None and response.query:
            top = response.results[0] if response.results else None
            search_id = log.log_search(response.query, response.lang, top.id if top else None,
                                       top.score if top else None, response.confident,
                                       scenario, platform, source="api")
        return search_payload(response, search_id, settings)

    @app.get("/v1/search", summary="Search by symptom")
    def search(found: Found, q: str = Query(..., description="the symptom in the user's words"),
               lang: Lang | None = None, scenario: str | None = None,
               platform: str | None = None,
               top_k: int = Query(5, ge=1, le=MAX_TOP_K)) -> dict[str, Any]:
        return answer(found, q, lang, scenario, platform, top_k)

    @app.post("/v1/search", summary="Search a batch of queries")
    def search_batch(batch: BatchSearch, found: Found) -> dict[str, Any]:
        return {"responses": [answer(found, q, batch.lang, batch.scenario, batch.platform,
                                     batch.top_k) for q in batch.queries]}

    @app.get("/v1/articles/{article_id}", summary="One article, Markdown and safe HTML")
    def article(found: Found, article_id: str, lang: Lang = "en") -> dict[str, Any]:
        try:
            version = found.version(article_id, lang)
        except KeyError:
            raise HTTPException(404, f"no article with id `{article_id}`") from None
        return article_payload(version, settings)

    rules_file = rules_path(settings.articles_dir)
    # Without a rules file, artefacts are still read; they just yield no findings.
    rules = load_rules(rules_file) if rules_file.exists() else []

    @app.post("/v1/diagnose", summary="Findings from a pasted stats dump or log, and the answer")
    def diagnose_route(body: DiagnoseBody, found: Found) -> dict[str, Any]:
        with searching:
            ticket = diagnose_ticket(found, body.text, lang=body.lang, scenario=body.scenario,
                                     platform=body.platform, rules=rules)
        # Only the words and the findings are kept; the artefact is never logged.
        response = ticket.response
        search_id = None
        if log is not None and response.query:
            top = response.results[0] if response.results else None
            search_id = log.log_search(response.query, response.lang, top.id if top else None,
                                       top.score if top else None, response.confident,
                                       body.scenario, body.platform, source="api")
        return {**search_payload(response, search_id, settings),
                "diagnosis": ticket.diagnosis.to_json(),
                "evidence": render_findings(ticket.diagnosis, response.lang, markdown=True,
                                            searched=not ticket.diagnosis.findings)}

    @app.post("/v1/feedback", status_code=201, summary="Was the answer helpful?")
    def feedback(body: Feedback) -> dict[str, Any]:
        if log is None:
            raise HTTPException(404, "the search log is off (KB_LOG=0)")
        feedback_id = log.record_feedback(body.search_id, body.helpful, body.comment)
        if feedback_id is None:
            raise HTTPException(404, f"no search with id {body.search_id}")
        return {"id": feedback_id, "search_id": body.search_id}

    @app.get("/v1/feedback", dependencies=[Depends(admin)], summary="Writers' feedback export")
    def feedback_export(since: datetime | None = None,
                        limit: int = Query(10_000, ge=1, le=100_000)) -> dict[str, Any]:
        rows = log.feedback_since(since, limit) if log else []
        return {"feedback": [vars(row) for row in rows]}

    @app.get("/v1/searches", dependencies=[Depends(admin)], summary="Writers' search export")
    def searches_export(since: datetime | None = None, confident: bool | None = None,
                        limit: int = Query(10_000, ge=1, le=100_000)) -> dict[str, Any]:
        rows = log.searches_since(since, confident, limit) if log else []
        return {"searches": [vars(row) for row in rows]}

    @app.get("/healthz", summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/readyz", summary="The index is loaded")
    def readyz() -> JSONResponse:
        try:
            found = live.get()
        except KbError as exc:
            return error(503, str(exc))
        return JSONResponse({
            "status": "ready", "build": found.index.folder.name,
            "articles": len({article_id for article_id, _ in found.index.articles}),
            "encoders": list(found.encoders), "reload_error": live.last_error or None,
            "ranking": "model" if found.ranking.model else "fusion",
            "ranking_note": found.ranking.fallback or None})

    @app.get("/widget.js", include_in_schema=False)
    def widget() -> FileResponse:
        return FileResponse(STATIC / "widget.js", media_type="text/javascript",
                            headers={"Cache-Control": "public, max-age=300"})

    @app.get("/demo", include_in_schema=False)
    def demo() -> FileResponse:
        return FileResponse(STATIC / "demo.html", media_type="text/html")

    # Outermost last: CORS headers go on every answer, the cap and the limit run before routes.
    if settings.rate_limit.strip().lower() not in ("", "off", "0", "none"):
        app.add_middleware(RateLimit, rate=settings.rate_limit)
    app.add_middleware(BodyCap)
    if settings.cors_origins:
        app.add_middleware(CORSMiddleware, allow_origins=list(settings.cors_origins),
                           allow_methods=["GET", "POST"], allow_headers=["Content-Type"],
                           max_age=600)
    return app
