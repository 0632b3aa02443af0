"""ASGI middleware in front of the routes: a request-body cap and a per-client rate limit.

Both answer with the API's error shape, `{"error": {"code", "message"}}`, before any route runs.
"""

from __future__ import annotations

import json
import math
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 64 * 1024
LARGER_BODIES = {"/v1/diagnose": 50 * 1024 * 1024}
"""Paths that take a pasted artefact (stats dump, log): the diagnose readers' own cap."""


async def send_error(send: Send, status: int, code: str, message: str,
                     headers: dict[str, str] | None = None) -> None:
    """Answer with `{"error": {"code", "message"}}`."""
    body = json.dumps({"error": {"code": code, "message": message}}).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})


class BodyCap:
    """Refuse request bodies over `limit` bytes with 413, whether or not they say their size."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES,
                 larger: dict[str, int] | None = None) -> None:
        self.app, self.default = app, limit
        self.larger = LARGER_BODIES if larger is None else larger

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            return await self.app(scope, receive, send)
        limit = self.larger.get(scope.get("path", ""), self.default)
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) <= limit:
            return await self.app(scope, receive, send)
        too_large = f"request body over {limit // 1024} KB"
        if declared is not None and declared.isdigit():
            return await send_error(send, 413, "payload_too_large", too_large)
        # No length given (chunked): read up to the cap, then replay what was read.
        chunks, size, more = [], 0, True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            chunks.append(message.get("body", b""))
            size += len(chunks[-1])
            more = message.get("more_body", False)
            if size > limit:
                return await send_error(send, 413, "payload_too_large", too_large)
        body, replayed = b"".join(chunks), False

        async def replay() -> Message:
            nonlocal replayed
            if replayed:
                return await receive()
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}

        return await self.app(scope, replay, send)


def is_public(method: str, path: str) -> bool:
    """The endpoints anyone may call (and that the rate limit covers)."""
    return path.startswith(("/v1/search", "/v1/articles", "/v1/diagnose")) or (
        path == "/v1/feedback" and method == "POST")


class RateLimit:
    """A moving-window limit per client address on the public endpoints (the `limits`
    library, in-process memory: each worker counts its own)."""

    def __init__(self, app: ASGIApp, rate: str) -> None:
        from limits import parse
        from limits.storage import MemoryStorage
        from limits.strategies import MovingWindowRateLimiter

        self.app = app
        self.item = parse(rate)
        self.limiter = MovingWindowRateLimiter(MemoryStorage())

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not is_public(scope["method"], scope["path"]):
            return await self.app(scope, receive, send)
        client = (scope.get("client") or ("unknown", 0))[0]
        if self.limiter.hit(self.item, "public", client):
            return await self.app(scope, receive, send)
        reset = self.limiter.get_window_stats(self.item, "public", client).reset_time
        retry = max(1, math.ceil(reset - time.time()))
        await send_error(send, 429, "rate_limited",
                         f"more than {self.item} from this address; retry in {retry} s",
                         {"Retry-After": str(retry)})
