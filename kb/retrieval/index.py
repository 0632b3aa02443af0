"""Build, save and load the hybrid index: FAISS vectors per encoder beside a bm25s keyword index.

On disk the index is a folder of plain files (JSON, .npy, FAISS and bm25s files) with a
manifest. Each build is written to its own folder and then published by atomically replacing
the `current` symlink, so a crash or a concurrent reader never sees a half-written index.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from kb.content.articles import Article, Corpus, article_files, article_from_dict, article_to_dict
from kb.content.glossary import Glossary, load_glossary
from kb.content.issues import Issue
from kb.content.lint import usable_articles
from kb.errors import BuildError, IndexMismatchError, IndexMissingError
from kb.retrieval.chunking import Chunk, chunk
from kb.retrieval.encoders import Encoder, load_encoder
from kb.retrieval.text import tokens
from kb.settings import Settings

FORMAT_VERSION = 2
CURRENT = "current"
KEEP_BUILDS = 3
"""Published builds kept on disk (the current one included); older ones are removed."""
BUILD_LOCK = ".build.lock"
READERS_LOCK = ".readers"
"""Inside a build folder: readers hold a shared lock on it while loading, so cleanup skips it."""
HNSW_NEIGHBOURS = 32
HNSW_EF_CONSTRUCTION = 80
HNSW_EF_SEARCH = 96


@dataclass(frozen=True)
class EncoderInfo:
    """How one encoder's vectors are stored."""

    name: str
    """Encoder spec (`use`, `minilm`, `st:...`)."""
    dim: int
    """Vector size."""
    kind: str
    """`flat` (exact inner product) or `hnsw` (approximate, for large corpora)."""
    fingerprint: str = ""
    """The model's identity (package, version, dim): vectors are reused only when it matches."""


@dataclass(frozen=True)
class Manifest:
    """What an index was built from and with."""

    format_version: int
    """Bumped when the on-disk layout changes."""
    built_at: str
    """UTC build time, ISO 8601."""
    encoders: tuple[EncoderInfo, ...]
    """Encoders, in fusion order."""
    glossary_hash: str
    """Hash of the glossary the keyword tokens were made with."""
    corpus: dict[str, str]
    """Article file → content hash, for every file read (indexed or skipped)."""
    articles: int
    """Articles indexed."""
    chunks: int
    """Chunks indexed."""
    skipped: tuple[str, ...] = ()
    """Files left out because of errors."""

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Manifest:
        """Inverse of `asdict`."""
        return Manifest(**{
            **data,
            "encoders": tuple(EncoderInfo(**e) for e in data["encoders"]),
            "skipped": tuple(data.get("skipped", ())),
        })


@dataclass
class Index:
    """A loaded index: articles for display, chunks, vectors and the keyword scorer."""

    folder: Path
    manifest: Manifest
    articles: dict[tuple[str, str], Article]
    chunks: list[Chunk]
    vectors: dict[str, Any]
    """Encoder name → FAISS index over chunk rows."""
    matrices: dict[str, np.ndarray]
    """Encoder name → the chunk vectors themselves, for exact (flat) search with numpy."""
    keyword: Any
    """bm25s.BM25 over chunk rows."""
    glossary: Glossary
    chunk_article: np.ndarray = field(init=False)
    """Row → position of the chunk's article id in `article_ids`."""
    article_ids: list[str] = field(init=False)
    article_position: dict[str, int] = field(init=False)
    """Article id → its position in `article_ids`."""

    def __post_init__(self) -> None:
        self.article_ids = sorted({c.article_id for c in self.chunks})
        self.article_position = {a: i for i, a in enumerate(self.article_ids)}
        self.chunk_article = np.array([self.article_position[c.article_id] for c in self.chunks],
                                      dtype=np.int64)


@dataclass(frozen=True)
class BuildReport:
    """What `build_index` did."""

    folder: str
    articles: int
    chunks: int
    embedded: int
    """Chunk texts embedded in this build (summed over encoders)."""
    reused: int
    """Chunk embeddings reused from the previous build."""
    skipped: tuple[Issue, ...]
    """Errors that kept articles out of the index."""
    seconds: float


def file_hash(path: Path) -> str:
    """Content hash of a file."""
    return hashlib.sha256(path.read_bytes()).hexdigest()[:32]


def corpus_hashes(root: Path) -> dict[str, str]:
    """Content hash of every article file under `root` (keys as paths relative to it)."""
    return {p.relative_to(root).as_posix() if root.is_dir() else p.name: file_hash(p)
            for p in article_files(root)}


def glossary_hash(settings: Settings) -> str:
    """Hash of the glossary file (empty string when there is none)."""
    path = settings.glossary_path
    return file_hash(path) if path.exists() else ""


def _vector_index(vectors: np.ndarray, kind: str) -> Any:
    import faiss

    dim = vectors.shape[1]
    # Inner product equals cosine similarity on normalised vectors.
    if kind == "hnsw":
        index = faiss.IndexHNSWFlat(dim, HNSW_NEIGHBOURS, faiss.METRIC_INNER_PRODUCT)
        index.hnsw.efConstruction = HNSW_EF_CONSTRUCTION
    else:
        index = faiss.IndexFlatIP(dim)
    if len(vectors):
        index.add(np.ascontiguousarray(vectors, dtype=np.float32))
    return index


def _keyword_index(chunk_tokens: Sequence[list[str]]) -> Any:
    import bm25s

    scorer = bm25s.BM25()
    # bm25s cannot index an empty document; a placeholder token keeps rows aligned.
    scorer.index([t or ["\u2205"] for t in chunk_tokens], show_progress=False)
    return scorer


def _previous_vectors(settings: Settings, fingerprints: dict[str, str],
                      progress: Callable[[str], None]) -> dict[str, dict[str, np.ndarray]]:
    """Encoder name → {chunk content hash → vector} from the current index, for encoders whose
    model is unchanged. An unreadable previous build means a full re-embed, said out loud."""
    folder = settings.index_dir / CURRENT
    if not folder.exists():
        return {}
    try:
        manifest = Manifest.from_dict(json.loads((folder / "manifest.json").read_text()))
        if manifest.format_version != FORMAT_VERSION:
            return {}
        hashes = [json.loads(line)["content_hash"]
                  for line in (folder / "chunks.jsonl").read_text("utf-8").splitlines()]
        reuse = {}
        for info in manifest.encoders:
            if info.name not in fingerprints:
                continue
            if fingerprints[info.name] != info.fingerprint:
                progress(f"{info.name}: the model changed since the last build; re-embedding")
                continue
            matrix = np.load(folder / f"vectors-{_safe(info.name)}.npy")
            reuse[info.name] = dict(zip(hashes, matrix, strict=True))
        return reuse
    except (OSError, ValueError, KeyError, TypeError) as exc:
        progress(f"previous build in {folder} is unreadable ({exc}); embedding everything")
        return {}


def _safe(name: str) -> str:
    return hashlib.sha256(name.encode()).hexdigest()[:12] if not name.isalnum() else name


def embed_chunks(chunks: Sequence[Chunk], encoder: Encoder,
                 reuse: dict[str, np.ndarray]) -> tuple[np.ndarray, int]:
    """Vectors for all chunks, embedding only texts not in `reuse`; returns (matrix, embedded)."""
    missing = list(dict.fromkeys(c.text for c in chunks if c.content_hash not in reuse))
    fresh = dict(zip(missing, encoder.encode(missing), strict=True)) if missing else {}
    matrix = np.zeros((len(chunks), encoder.dim), dtype=np.float32)
    for row, c in enumerate(chunks):
        vector = reuse.get(c.content_hash)
        matrix[row] = vector if vector is not None and len(vector) == encoder.dim \
            else fresh[c.text]
    return matrix, len(missing)


@contextmanager
def build_lock(index_dir: Path, progress: Callable[[str], None] = lambda m: None,
               ) -> Iterator[None]:
    """One `kb build` at a time per index folder: a second one says who holds it and waits."""
    import fcntl

    index_dir.mkdir(parents=True, exist_ok=True)
    with open(index_dir / BUILD_LOCK, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            progress(f"waiting for the build already running ({holder}) to finish")
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"pid {os.getpid()} since {dt.datetime.now(dt.timezone.utc):%H:%M:%S} UTC")
        handle.flush()
        try:
            yield
        finally:
            handle.truncate(0)
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def reading(folder: Path) -> Iterator[None]:
    """Hold a shared lock on a build folder while its files are read."""
    import fcntl

    try:
        handle = open(folder / READERS_LOCK, "a+")  # noqa: SIM115 - closed below
    except OSError:
        yield  # a read-only index folder: nothing can remove it under us either
        return
    with handle:
        fcntl.flock(handle, fcntl.LOCK_SH)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def build_index(settings: Settings, corpus: Corpus, *, strict: bool = False,
                today: dt.date | None = None,
                progress: Callable[[str], None] = lambda message: None) -> BuildReport:
    """Index every usable article of `corpus` and publish it under `settings.index_dir`."""
    with build_lock(settings.index_dir, progress):
        return _build(settings, corpus, strict, today, progress)


def _build(settings: Settings, corpus: Corpus, strict: bool, today: dt.date | None,
           progress: Callable[[str], None]) -> BuildReport:
    started = time.perf_counter()
    today = today or dt.date.today()
    articles, skipped = usable_articles(corpus, today, settings.max_age_days)
    if strict and skipped:
        raise BuildError(f"{len(skipped)} error(s) in the articles (strict build):\n"
                         + "\n".join(map(str, skipped)))
    glossary = load_glossary(settings.glossary_path)
    chunks = [c for article in articles for c in chunk(article)]
    progress(f"{len(articles)} articles, {len(chunks)} chunks")

    encoders = [load_encoder(spec, settings.threads) for spec in settings.encoders]
    reuse = _previous_vectors(settings, {e.name: e.fingerprint for e in encoders}, progress)
    kind = "hnsw" if len(chunks) > settings.hnsw_threshold else "flat"
    matrices: dict[str, np.ndarray] = {}
    infos = []
    embedded = 0
    for encoder in encoders:
        progress(f"embedding with {encoder.name}")
        matrix, count = embed_chunks(chunks, encoder, reuse.get(encoder.name, {}))
        matrices[encoder.name] = matrix
        infos.append(EncoderInfo(encoder.name, encoder.dim, kind, encoder.fingerprint))
        embedded += count

    root = Path(corpus.root)
    manifest = Manifest(
        format_version=FORMAT_VERSION,
        built_at=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        encoders=tuple(infos),
        glossary_hash=glossary_hash(settings),
        corpus=corpus_hashes(root),
        articles=len(articles),
        chunks=len(chunks),
        skipped=tuple(sorted({issue.path for issue in skipped})),
    )
    folder = _write(settings.index_dir, manifest, articles, chunks, matrices, glossary)
    return BuildReport(str(folder), len(articles), len(chunks), embedded,
                       len(chunks) * len(infos) - embedded, tuple(skipped),
                       time.perf_counter() - started)


def _write(index_dir: Path, manifest: Manifest, articles: Sequence[Article],
           chunks: Sequence[Chunk], matrices: dict[str, np.ndarray], glossary: Glossary) -> Path:
    import faiss

    index_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now(dt.timezone.utc).strftime("%Y%m%dT%H%M%S%f")
    folder = index_dir / f"build-{stamp}-{os.getpid()}"
    staging = index_dir / f".staging-{folder.name}"
    staging.mkdir()
    try:
        with open(staging / "chunks.jsonl", "w", encoding="utf-8") as out:
            for c in chunks:
                out.write(json.dumps({**asdict(c), "content_hash": c.content_hash},
                                     ensure_ascii=False) + "\n")
        (staging / "articles.json").write_text(
            json.dumps([article_to_dict(a) for a in articles], ensure_ascii=False), "utf-8")
        for info in manifest.encoders:
            matrix = matrices[info.name]
            np.save(staging / f"vectors-{_safe(info.name)}.npy", matrix, allow_pickle=False)
            faiss.write_index(_vector_index(matrix, info.kind),
                              str(staging / f"faiss-{_safe(info.name)}.index"))
        _keyword_index([tokens(c.text, glossary) for c in chunks]).save(str(staging / "bm25"))
        # The keyword index only makes sense with the glossary it was tokenised with.
        (staging / "glossary.json").write_text(json.dumps(glossary.terms, ensure_ascii=False),
                                               "utf-8")
        (staging / "manifest.json").write_text(json.dumps(asdict(manifest), indent=2,
                                                          ensure_ascii=False), "utf-8")
        staging.rename(folder)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    _publish(index_dir, folder)
    return folder


def _publish(index_dir: Path, folder: Path) -> None:
    """Point `current` at `folder` atomically, then remove builds beyond the newest
    KEEP_BUILDS that no reader is loading, and staging folders of killed builds."""
    import fcntl

    link = index_dir / CURRENT
    temporary = index_dir / f".{CURRENT}-{os.getpid()}"
    if temporary.is_symlink():
        temporary.unlink()
    temporary.symlink_to(folder.name)
    os.replace(temporary, link)
    builds = sorted(index_dir.glob("build-*"), key=lambda p: p.name, reverse=True)
    for old in builds[KEEP_BUILDS:]:
        if old.name == folder.name:
            continue
        with open(old / READERS_LOCK, "a+") as handle:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                continue  # a reader is loading it; the next build removes it
            shutil.rmtree(old, ignore_errors=True)
    # Under the build lock no other build is staging: leftovers are from killed builds.
    for stale in index_dir.glob(".staging-*"):
        shutil.rmtree(stale, ignore_errors=True)


def read_manifest(index_dir: Path, folder: Path | None = None) -> Manifest:
    """The manifest of the current index (or of one build folder), or a clear error saying how
    to create one."""
    path = (folder or index_dir / CURRENT) / "manifest.json"
    if not path.exists():
        raise IndexMissingError(f"no index in {index_dir}: run `kb build` first")
    try:
        data = json.loads(path.read_text("utf-8"))
        if data.get("format_version") != FORMAT_VERSION:
            raise IndexMismatchError(
                f"index in {index_dir} has format {data.get('format_version')}, this version "
                f"reads format {FORMAT_VERSION}: run `kb build` to rebuild it")
        return Manifest.from_dict(data)
    except (ValueError, TypeError, KeyError) as exc:
        raise IndexMismatchError(f"index manifest {path} is unreadable ({exc}): "
                                 "run `kb build` to rebuild it") from exc


def check_compatible(manifest: Manifest, settings: Settings, index_dir: Path) -> None:
    """Refuse an index built with other encoders than the settings ask for."""
    built = [e.name for e in manifest.encoders]
    if built != list(settings.encoders):
        raise IndexMismatchError(
            f"index in {index_dir} was built with encoders {', '.join(built)} but the settings "
            f"ask for {', '.join(settings.encoders)}: run `kb build` to rebuild it "
            "(or set KB_ENCODERS to match)")


def stale_files(manifest: Manifest, settings: Settings) -> list[str]:
    """Article files (and the glossary) changed, added or removed since the index was built."""
    root = settings.articles_dir
    if not root.exists():
        return []
    now = corpus_hashes(root)
    changed = sorted(k for k in set(now) | set(manifest.corpus)
                     if now.get(k) != manifest.corpus.get(k))
    if glossary_hash(settings) != manifest.glossary_hash:
        changed.append(str(settings.glossary_path))
    return changed


def load_index(settings: Settings) -> Index:
    """Load the current index, refusing one built with another format or encoder."""
    index_dir = settings.index_dir
    # Resolve `current` once: a rebuild may swap it while this load is reading files.
    folder = (index_dir / CURRENT).resolve()
    manifest = read_manifest(index_dir, folder)
    check_compatible(manifest, settings, index_dir)
    with reading(folder):
        return _load_files(folder, manifest)


def _load_files(folder: Path, manifest: Manifest) -> Index:
    import bm25s
    import faiss

    try:
        chunks = [Chunk(**{k: v for k, v in json.loads(line).items() if k != "content_hash"})
                  for line in (folder / "chunks.jsonl").read_text("utf-8").splitlines()]
        records = json.loads((folder / "articles.json").read_text("utf-8"))
        articles = {(r["id"], r["lang"]): article_from_dict(r) for r in records}
        vectors, matrices = {}, {}
        for info in manifest.encoders:
            vector_index = faiss.read_index(str(folder / f"faiss-{_safe(info.name)}.index"))
            if info.kind == "hnsw":
                vector_index.hnsw.efSearch = HNSW_EF_SEARCH
            else:
                matrices[info.name] = np.load(folder / f"vectors-{_safe(info.name)}.npy")
            vectors[info.name] = vector_index
        keyword = bm25s.BM25.load(str(folder / "bm25"))
        glossary = Glossary(tuple(tuple(pair) for pair in
                                  json.loads((folder / "glossary.json").read_text("utf-8"))))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError) as exc:
        raise IndexMismatchError(f"index in {folder} is damaged ({exc}): run `kb build`") from exc
    return Index(folder, manifest, articles, chunks, vectors, matrices, keyword, glossary)
