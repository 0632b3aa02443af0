"""Bounded load check of the HTTP API on loopback (not a timed test).

Starts `kb serve --workers 2` with the rate limit off and the search log on, then:
1. closed loop: 32 clients send distinct mixed English/Chinese queries to GET /v1/search for
   30 s, each waiting for its answer before sending the next: max throughput, p50/p95/p99, errors;
2. open loop: requests at a fixed rate below that maximum (default 60 % of it), latency measured
   from each request's scheduled time so a slow server cannot hide its queue: p50/p95/p99;
3. writers: 8 concurrent clients × 250 POST /v1/feedback, then every row is counted in the
   database, for SQLite and for a throwaway PostgreSQL cluster (Debian's packages).

There is no answer cache to turn off; queries are made distinct by a case number anyway.
The load generator runs on the same 2 cores as the server, as a client on loopback would.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/load_api.py            # needs `kb build` first
    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/load_api.py --seconds 10 --backends sqlite
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "tests"))
from appserver import free_port, wait_until_up  # noqa: E402

MAX_SECONDS, MAX_CLIENTS, MAX_WORKERS = 60, 64, 2


def queries(n: int) -> list[str]:
    """`n` distinct queries, English and Chinese alternating, from the evaluation set."""
    rows = [json.loads(line) for line in (REPO / "eval" / "queries.jsonl").read_text(
        "utf-8").splitlines() if line.strip()]
    english = [r["q"] for r in rows if r["lang"] == "en"]
    chinese = [r["q"] for r in rows if r["lang"] == "zh"]
    random.Random(7).shuffle(english)
    random.Random(8).shuffle(chinese)
    mixed = [q for pair in zip(english, chinese, strict=False) for q in pair]
    return [f"{mixed[i % len(mixed)]} ({i // len(mixed) + 1})" for i in range(n)]


@contextmanager
def server(db: str, workers: int, port: int, index: str):
    env = {**os.environ, "KB_DB": db, "KB_RATE_LIMIT": "off", "HF_HUB_OFFLINE": "1",
           "KB_INDEX_DIR": index}
    process = subprocess.Popen([str(REPO / ".venv/bin/kb"), "serve", "--port", str(port),
                                "--workers", str(workers), "--log-level", "warning"],
                               env=env, cwd=REPO, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(f"{url}/readyz", process, 120)
        # Every worker loads its index at start-up; give both a moment and warm them up.
        time.sleep(2)
        for q in queries(20):
            urllib.request.urlopen(f"{url}/v1/search?{urllib.parse.urlencode({'q': q})}")
        yield url
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(30)


def percentiles(latencies: list[float]) -> dict[str, float]:
    ordered = sorted(latencies)
    if not ordered:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0}
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1000  # noqa: E731
    return {"p50": pick(0.50), "p95": pick(0.95), "p99": pick(0.99)}


async def closed_loop(url: str, clients: int, seconds: float) -> dict:
    texts = queries(200_000)
    counter, latencies, errors = iter(range(len(texts))), [], 0
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        stop = time.perf_counter() + seconds

        async def one_client() -> None:
            nonlocal errors
            while time.perf_counter() < stop:
                started = time.perf_counter()
                try:
                    answer = await client.get("/v1/search", params={"q": texts[next(counter)]})
                    ok = answer.status_code == 200
                except httpx.HTTPError:
                    ok = False
                latencies.append(time.perf_counter() - started)
                errors += not ok

        began = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - began
    return {"clients": clients, "seconds": round(elapsed, 1), "requests": len(latencies),
            "rps": round(len(latencies) / elapsed, 1), "errors": errors,
            **{k: round(v, 1) for k, v in percentiles(latencies).items()}}


async def open_loop(url: str, rate: float, seconds: float) -> dict:
    texts = queries(int(rate * seconds) + 1)
    latencies, errors = [], 0
    limits = httpx.Limits(max_connections=256, max_keepalive_connections=64)
    async with httpx.AsyncClient(base_url=url, limits=limits, timeout=30) as client:
        began = time.perf_counter()

        async def one(n: int) -> None:
            nonlocal errors
            scheduled = began + n / rate
            await asyncio.sleep(max(0.0, scheduled - time.perf_counter()))
            try:
                answer = await client.get("/v1/search", params={"q": texts[n]})
                ok = answer.status_code == 200
            except httpx.HTTPError:
                ok = False
            latencies.append(time.perf_counter() - scheduled)
            errors += not ok

        await asyncio.gather(*(one(n) for n in range(int(rate * seconds))))
    return {"rate": round(rate, 1), "seconds": seconds, "requests": len(latencies),
            "errors": errors, **{k: round(v, 1) for k, v in percentiles(latencies).items()}}


async def writers(url: str, db: str, count: int, posts: int) -> dict:
    from kb.service.searchlog import SearchLog

    log = SearchLog(db)
    search_ids = [log.log_search(f"load check {n}", "en", None, None, False) for n in range(20)]
    errors = 0
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:

        async def writer(w: int) -> None:
            nonlocal errors
            for n in range(posts):
                answer = await client.post("/v1/feedback", json={
                    "search_id": search_ids[(w + n) % len(search_ids)], "helpful": n % 2 == 0,
                    "comment": f"writer {w} post {n}"})
                errors += answer.status_code != 201

        began = time.perf_counter()
        await asyncio.gather(*(writer(w) for w in range(count)))
        elapsed = time.perf_counter() - began
    wanted = {f"writer {w} post {n}" for w in range(count) for n in range(posts)}
    stored = [f.comment for f in log.feedback_since() if f.comment in wanted]
    log.close()
    return {"writers": count, "posts": count * posts, "stored": len(stored),
            "lost": len(wanted - set(stored)), "duplicated": len(stored) - len(set(stored)),
            "errors": errors,
            "posts_per_s": round(count * posts / elapsed, 1)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--clients", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--rate-share", type=float, default=0.6,
                        help="open-loop rate as a share of the closed-loop maximum")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--index", default=str(REPO / ".kb-index"))
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    args = parser.parse_args()
    seconds = min(args.seconds, MAX_SECONDS)
    clients, workers = min(args.clients, MAX_CLIENTS), min(args.workers, MAX_WORKERS)
    results: dict = {"cores": os.cpu_count(), "workers": workers}
    for backend in [b.strip() for b in args.backends.split(",") if b.strip()]:
        with tempfile.TemporaryDirectory() as tmp:
            if backend == "postgresql":
                from postgres import new_database, throwaway_cluster

                cluster = throwaway_cluster()
                db = new_database(cluster.__enter__())
            else:
                cluster, db = None, f"{tmp}/kb.sqlite3"
            try:
                port = args.port or free_port()
                with server(db, workers, port, args.index) as url:
                    if backend == "sqlite" or "search" not in results:
                        closed = asyncio.run(closed_loop(url, clients, seconds))
                        results["search_closed_loop"] = closed
                        print(json.dumps({"closed_loop": closed}), flush=True)
                        rate = closed["rps"] * args.rate_share
                        results["search_open_loop"] = asyncio.run(
                            open_loop(url, rate, seconds))
                        print(json.dumps({"open_loop": results["search_open_loop"]}),
                              flush=True)
                        results["search"] = backend
                    results[f"writers_{backend}"] = asyncio.run(writers(url, db, 8, 250))
                    print(json.dumps({backend: results[f"writers_{backend}"]}), flush=True)
            finally:
                if cluster is not None:
                    cluster.__exit__(None, None, None)
    print(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
