"""`kb tune`: the engine's model image read in Python, BitFit tuning of the query side, and the
tuned tensors loaded back into the same engine — what is trained is what search embeds with."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from kb.errors import ConfigError
from kb.retrieval.e5image import read_image
from kb.retrieval.encoders import E5Encoder, held_out_encoders, stock_image_path
from kb.retrieval.evaluate import EvalQuery
from kb.retrieval.train import fold_of, prepare, training_texts
from kb.retrieval.tune import (
    ALL,
    Example,
    TuneConfig,
    fit_part,
    load,
    parts,
    query_model,
    save,
    tuned_names,
)

TEXTS = [
    "There will be a howling sound in the call.",
    "超过两个人画面以及声音就变得非常卡顿",
    "  double  spaces, ＦＵＬＬＷＩＤＴＨ letters and an emoji 🎧 ",
    "E/AudioRecord(1234): start() status -38 — mic stays silent on Android 14",
]


@pytest.fixture(scope="module")
def image():
    return read_image(Path(stock_image_path()))


@pytest.fixture(scope="module")
def engine():
    return E5Encoder(2)


def _embed(model, tokenizer, texts):
    import torch

    ids = [tokenizer.token_ids(t) for t in texts]
    batch = torch.ones((len(ids), max(map(len, ids))), dtype=torch.long)
    mask = torch.zeros_like(batch)
    for row, seq in enumerate(ids):
        batch[row, :len(seq)] = torch.tensor(seq)
        mask[row, :len(seq)] = 1
    with torch.no_grad():
        return model(batch, mask).numpy()


def test_the_tokenizer_cuts_texts_as_the_engine_does(image, engine):
    tokenizer = image.tokenizer()
    for text in TEXTS:
        ids = tokenizer.token_ids(text, query=True, limit=10_000)
        assert len(ids) == engine._model.token_count(text, is_query=True), text
        assert ids[0] == tokenizer.bos and ids[-1] == tokenizer.eos
    assert len(tokenizer.token_ids(TEXTS[3], limit=8)) == 8


def test_the_torch_model_embeds_as_the_engine(image, engine):
    vectors = _embed(query_model(image), image.tokenizer(), TEXTS)
    cosine = (vectors * engine.encode_queries(TEXTS)).sum(axis=1)
    assert cosine.min() > 0.999  # the engine also rounds activations to 8 bits


def test_a_patched_image_changes_only_the_tensors_replaced(image):
    bias = image.floats("l3.q.b")
    patched = image.patched({"l3.q.b": bias + 1.0})
    t = image.tensors["l3.q.b"]
    original = np.frombuffer(image.raw, np.uint8)
    changed = np.flatnonzero(patched != original)
    assert changed.min() >= t.offset and changed.max() < t.offset + t.nbytes
    assert np.array_equal(patched[t.offset:t.offset + t.nbytes].view(np.float32), bias + 1.0)
    with pytest.raises(ConfigError, match="l3.q.b"):
        image.patched({"l3.q.b": bias[:10]})
    with pytest.raises(ConfigError, match="l3.q.w"):
        image.patched({"l3.q.w": bias})  # a 4-bit matrix is never replaced


def test_tuning_pulls_texts_to_their_problems_chunks_and_the_engine_reproduces_it(
        image, engine, tmp_path):
    # Two "problems", one chunk each; the texts are labelled with the chunk they are *not*
    # nearest to, so only tuning can bring them over.
    chunks = engine.encode(["the remote side hears an echo of their own voice",
                            "the video stays black, no picture from the camera"])
    texts = ["I hear myself twice", "the picture is black"]
    tokenizer = image.tokenizer()
    examples = [Example(tuple(tokenizer.token_ids(t)), label, 1.0, -1)
                for t, label in zip(texts, (1, 0), strict=True)]
    before = engine.encode_queries(texts) @ chunks.T
    assert before[0, 0] > before[0, 1] and before[1, 1] > before[1, 0]
    tuned = fit_part(image, examples, [0, 1], chunks, np.array([0, 1]), 2,
                     TuneConfig(epochs=8, learning_rate=1e-2))
    assert set(tuned) == set(tuned_names(image))
    save(tmp_path / "tuning.npz", {ALL: tuned, "fold0": tuned}, {"texts": 2})
    assert parts(tmp_path / "tuning.npz") == [ALL, "fold0"]
    searched = E5Encoder(2, "e5t", tmp_path / "tuning.npz")
    after = searched.encode_queries(texts) @ chunks.T
    assert after[0, 1] - after[0, 0] > before[0, 1] - before[0, 0]
    assert after[1, 0] - after[1, 1] > before[1, 0] - before[1, 1]
    # Passages are still the stock model's: the index does not change.
    assert np.allclose(searched.encode(["echo"]), engine.encode(["echo"]))
    assert "query-tuned" in searched.fingerprint and searched.fingerprint != engine.fingerprint


def test_a_missing_foreign_or_broken_tuning_file_is_a_clear_error(tmp_path):
    with pytest.raises(ConfigError, match="missing.npz.*kb tune"):
        E5Encoder(2, "e5t", tmp_path / "missing.npz")
    (tmp_path / "broken.npz").write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(ConfigError, match="broken.npz"):
        load(tmp_path / "broken.npz")
    np.savez(tmp_path / "other.npz", x=np.zeros(3))
    with pytest.raises(ConfigError, match="format"):
        load(tmp_path / "other.npz")
    save(tmp_path / "t.npz", {ALL: {"l0.q.b": np.zeros(3)}}, {})
    with pytest.raises(ConfigError, match="fold2"):
        load(tmp_path / "t.npz", "fold2")


class ConstantEncoder:
    """Embeds every text as the same vector: shows which encoder embedded a text."""

    name, dim, languages, fingerprint = "fake", 256, None, "constant"

    def encode_queries(self, texts):
        return np.ones((len(texts), self.dim), dtype=np.float32) / 16.0


def test_kb_train_embeds_a_text_with_the_model_tuned_without_its_fold(tiny_searcher):
    real = [EvalQuery(f"echo case {n}", "echo", "general", "en", "train") for n in range(10)]
    texts = training_texts(real, [], tiny_searcher, [f"a/b#{n}" for n in range(10)])
    fold = fold_of(texts[0])
    prepared = prepare(tiny_searcher, texts, held_out={fold: {"fake": ConstantEncoder()}})
    held = [np.allclose(v["fake"], 1 / 16.0) for v in prepared.vectors]
    assert held == [fold_of(t) == fold for t in texts]
    assert any(held) and not all(held)
    assert fold_of(texts[-1]) == -1  # the articles' own phrases are never held out
    # Encoders that are not tuned have no held-out models.
    assert held_out_encoders(tiny_searcher.encoders, 1, range(5)) == {}
