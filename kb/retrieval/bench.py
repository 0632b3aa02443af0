"""`kb bench`: build time, index size, load time, query latency and peak memory.

Each corpus is measured in its own subprocess so peak memory (ru_maxrss) is that corpus's own.
Synthetic corpora are made from the real articles: each copy gets a new id and a few words
drawn from the corpus vocabulary appended to every chunk, so no two texts embed alike.
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from kb.settings import Settings

COLD_QUERY = "viewers hear an echo when the host co-hosts"
SYNTHETIC_WORDS = 6
"""Vocabulary words appended to every chunk of a synthetic copy."""


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def _folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _synthetic_articles(articles: list, chunks_wanted: int, seed: int = 7) -> list:
    from kb.retrieval.chunking import chunk

    rng = random.Random(seed)
    vocabulary = sorted({w for a in articles for s in a.sections for w in s.text.split()
                         if w.isalpha() and len(w) > 3})
    per_article = sum(len(chunk(a)) for a in articles) / len(articles)
    copies = max(1, round(chunks_wanted / per_article))
    out = []
    for n in range(copies):
        base = articles[n % len(articles)]

        def vary(text: str) -> str:
            return text + " " + " ".join(rng.choices(vocabulary, k=SYNTHETIC_WORDS))

        out.append(dataclasses.replace(
            base, id=f"{base.id}-syn{n}", path=f"synthetic/{base.id}-syn{n}.{base.lang}.md",
            title=vary(base.title), symptoms=tuple(vary(s) for s in base.symptoms),
            sections=tuple(dataclasses.replace(s, text=vary(s.text)) for s in base.sections),
            links=()))
    return out


class ReusingEncoder:
    """Stands in for a real encoder when a synthetic corpus is built: a synthetic chunk gets its
    source chunk's real vector plus a little noise, so 100k chunks need no 100k embeddings
    (e5 embeds ~10 chunks/s here: 100k would take hours). Queries use the real model, and the
    name and fingerprint are the real ones, so the learned ranker applies as in production."""

    def __init__(self, real, sources: dict[str, object], seed: int = 11) -> None:
        import numpy as np

        self._real, self._sources = real, sources
        self._rng = np.random.default_rng(seed)
        self.name, self.dim, self.languages = real.name, real.dim, real.languages
        self.fingerprint = real.fingerprint

    def encode(self, texts):  # noqa: ANN001, ANN201
        import numpy as np

        rows = np.stack([self._sources[" ".join(t.split()[:-SYNTHETIC_WORDS])] for t in texts])
        rows = rows + self._rng.normal(0, 0.02, rows.shape).astype(np.float32)
        return (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)

    def encode_queries(self, texts):  # noqa: ANN001, ANN201
        return self._real.encode_queries(texts)


def _reuse_real_vectors(settings: Settings, articles: list) -> None:
    """Register `ReusingEncoder`s for the settings' encoders over the real chunks."""
    from kb.retrieval.chunking import chunk
    from kb.retrieval.encoders import load_encoder, register_encoder

    texts = sorted({c.text for a in articles for c in chunk(a)})
    for spec in settings.encoders:
        real = load_encoder(spec, settings.threads)
        sources = {" ".join(t.split()): v for t, v in zip(texts, real.encode(texts), strict=True)}
        stand_in = ReusingEncoder(real, sources)
        register_encoder(spec, lambda threads, stand_in=stand_in: stand_in)


def _latencies(searcher, queries: list[str]) -> list[float]:
    for query in queries[:10]:
        searcher.search(query)
    timings = []
    for query in queries:
        started = time.perf_counter()
        searcher.search(query)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def worker(size: int, settings: Settings, queries_path: Path, reuse: bool = False) -> dict:
    """Measure one corpus (0 = the real articles) in this process; returns the figures."""
    from kb.content.articles import Corpus, load_corpus
    from kb.retrieval.encoders import load_encoder
    from kb.retrieval.evaluate import read_queries
    from kb.retrieval.index import build_index, load_index
    from kb.retrieval.search import Searcher

    figures: dict = {"corpus": "real articles" if size == 0 else f"synthetic {size:,} chunks"}
    started = time.perf_counter()
    for spec in settings.encoders:
        load_encoder(spec, settings.threads)
    figures["model_load_s"] = time.perf_counter() - started

    work = Path(tempfile.mkdtemp(prefix="kb-bench-"))
    try:
        articles_dir = work / "articles"
        shutil.copytree(settings.articles_dir, articles_dir)
        real = load_corpus(articles_dir)
        if size:
            if reuse:
                _reuse_real_vectors(settings, list(real.articles))
            corpus = Corpus(tuple(_synthetic_articles(list(real.articles), size)), (),
                            str(articles_dir))
        else:
            corpus = real
        run = dataclasses.replace(settings, articles_dir=articles_dir,
                                  index_dir=work / "index")
        report = build_index(run, corpus)
        figures.update(build_s=report.seconds, chunks=report.chunks, articles=report.articles,
                       index_mb=_folder_bytes(Path(report.folder)) / 2**20)

        if not size:
            changed = sorted(articles_dir.rglob("*.en.md"))[0]
            changed.write_text(changed.read_text("utf-8").replace(
                "\ntitle: ", "\ntitle: (edited for the benchmark) ", 1), "utf-8")
            rebuild = build_index(run, load_corpus(articles_dir))
            figures.update(rebuild_one_s=rebuild.seconds, rebuild_embedded=rebuild.embedded)

        started = time.perf_counter()
        index = load_index(run)
        figures["index_load_s"] = time.perf_counter() - started
        figures["vector_index"] = index.manifest.encoders[0].kind
        searcher = Searcher.load(run)
        queries = [q.q for q in read_queries(queries_path) if q.split in ("all", "test")]
        timings = _latencies(searcher, queries)
        figures.update(queries=len(timings), p50_ms=statistics.median(timings),
                       p95_ms=_percentile(timings, 95))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    figures["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return figures


def cold_start(settings: Settings, repeats: int) -> list[float]:
    """Seconds from process start to a printed answer for one `kb search`."""
    env = {**os.environ, "KB_INDEX_DIR": str(settings.index_dir), "HF_HUB_OFFLINE": "1",
           "KB_ENCODERS": ",".join(settings.encoders)}
    timings = []
    for _ in range(repeats):
        started = time.perf_counter()
        subprocess.run([sys.executable, "-m", "kb", "search", COLD_QUERY, "--json"], env=env,
                       check=True, capture_output=True)
        timings.append(time.perf_counter() - started)
    return timings


def run_benchmarks(settings: Settings, sizes: list[int], queries: Path, repeats: int = 3,
                   progress: Callable[[str], None] = lambda message: None,
                   reuse_vectors: bool = False) -> str:
    """Run every measurement and return the report as Markdown."""
    from kb.content.articles import load_corpus
    from kb.retrieval.index import build_index

    rows = []
    for size in [0, *sizes]:
        progress(f"measuring {'real corpus' if not size else f'{size} chunks'}")
        env = {**os.environ, "HF_HUB_OFFLINE": "1"}
        command = [sys.executable, "-m", "kb.retrieval.bench", str(size),
                   str(settings.articles_dir), ",".join(settings.encoders),
                   str(settings.threads), str(queries), "reuse" if reuse_vectors else "embed"]
        done = subprocess.run(command, env=env, check=True, capture_output=True, text=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))

    progress("measuring cold start")
    build_index(settings, load_corpus(settings.articles_dir))
    cold = cold_start(settings, repeats)

    lines = [
        f"Machine: {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"encoders `{','.join(settings.encoders)}`, threads {settings.threads}.",
        "",
        "| corpus | articles | chunks | vectors | build s | index MB | model load s | "
        "index load s | p50 ms | p95 ms | peak RSS MB |",
        "| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in rows:
        lines.append(
            f"| {r['corpus']} | {r['articles']:,} | {r['chunks']:,} | {r['vector_index']} | "
            f"{r['build_s']:.1f} | {r['index_mb']:.1f} | {r['model_load_s']:.2f} | "
            f"{r['index_load_s']:.2f} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
            f"{r['peak_rss_mb']:.0f} |")
    real = rows[0]
    lines += [
        "",
        f"- Rebuild after one changed article (real corpus): {real['rebuild_one_s']:.2f} s, "
        f"{real['rebuild_embedded']} chunk(s) re-embedded.",
        f"- Cold start of one `kb search` (process start to answer), {repeats} runs: median "
        f"{statistics.median(cold):.2f} s (min {min(cold):.2f}, max {max(cold):.2f}).",
        f"- Latency: {real['queries']} queries from `{queries}` (its test split when it has one), "
        "one at a time, after 10 warm-up queries.",
        "- Synthetic corpora: " + ("each chunk reuses its source chunk's real vector plus noise "
                                   "(queries are embedded for real)." if reuse_vectors else
                                   "every chunk embedded for real."),
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    size_arg, articles_arg, encoders_arg, threads_arg, queries_arg, vectors_arg = sys.argv[1:7]
    settings = Settings(articles_dir=Path(articles_arg), encoders=tuple(encoders_arg.split(",")),
                        threads=int(threads_arg))
    print(json.dumps(worker(int(size_arg), settings, Path(queries_arg), vectors_arg == "reuse")))
