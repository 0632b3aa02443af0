"""Choose `kb tune`'s learning rate and passes on the train split only: tune on folds 1-4 of
`kb train`'s folds, score the real texts of fold 0 after each pass.

Two figures per setting: `kb train`'s query-vector problem classifier (C as TrainConfig,
without the neighbour vote), fitted on folds 1-4 and scored on fold 0, and the e5 leg alone
(the problem of the best chunk).
The vectors come from the engine with the tuned tensors loaded, as search makes them.

Run: .venv/bin/python benchmarks/tune_trial.py            (default index, ~10 minutes)
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from kb.content.taxonomy import PROBLEMS
from kb.retrieval import tune
from kb.retrieval.e5image import read_image
from kb.retrieval.encoders import E5Encoder, _tuned_engine, stock_image_path
from kb.retrieval.query import clean_query
from kb.retrieval.search import Searcher
from kb.retrieval.train import (
    TrainConfig,
    _classifier,
    _kind,
    fold_of,
    read_training_files,
    training_texts,
)
from kb.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
HELD_OUT = 0
GRID = (5e-4, 1.5e-3)
PASSES = 3


def main() -> int:
    settings = load_settings({"model": "none"})
    searcher = Searcher.load(settings)
    name = next(iter(searcher.encoders))
    files = read_training_files(REPO / "eval/real.jsonl", REPO / "eval/queries.jsonl",
                                REPO / "eval/out_of_scope.jsonl")
    texts = [t for t in training_texts(searcher=searcher, **files) if t.problem in PROBLEMS]
    image = read_image(Path(stock_image_path()))
    examples = tune.examples(searcher, texts, image.tokenizer())
    chunks, owner = tune.passages(searcher, name)
    read = [searcher.retrieval_text(clean_query(t.text)) for t in texts]
    label = np.array([e.problem for e in examples])
    weight = np.array([e.weight for e in examples])
    fitted = np.array([fold_of(t) != HELD_OUT for t in texts])
    scored = np.array([fold_of(t) == HELD_OUT and _kind(t) == "real" for t in texts])
    stock = E5Encoder(settings.threads)

    def score(vectors: np.ndarray) -> tuple[float, float]:
        model = _classifier(vectors[fitted], label[fitted], weight[fitted],
                            TrainConfig().classifier_c)
        guess = model.classes_[model.predict_proba(vectors[scored]).argmax(axis=1)]
        leg = owner[(vectors[scored] @ chunks.T).argmax(axis=1)]
        return float((guess == label[scored]).mean()), float((leg == label[scored]).mean())

    print(f"fold {HELD_OUT}: {scored.sum()} real texts scored, tuned on {fitted.sum()} texts",
          file=sys.stderr)
    print("| tuning | classifier hit@1 | e5 leg hit@1 |\n| --- | ---: | ---: |")
    print("| stock e5 | {:.3f} | {:.3f} |".format(*score(stock.encode_queries(read))))
    for rate in GRID:
        def after(n: int, values: dict[str, np.ndarray], rate: float = rate) -> None:
            engine = _tuned_engine(stock._model, values)
            vectors = np.vstack([engine.query(read[i:i + 32]) for i in range(0, len(read), 32)])
            clf, leg = score(vectors)
            print(f"| lr {rate:g}, {n} pass(es) | {clf:.3f} | {leg:.3f} |", flush=True)

        tune.fit_part(image, examples, np.flatnonzero(fitted), chunks, owner, len(PROBLEMS),
                      tune.TuneConfig(epochs=PASSES, learning_rate=rate), after_pass=after)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
