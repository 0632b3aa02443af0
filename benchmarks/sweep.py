"""Choose the training settings by out-of-fold figures on the train split (never the test split).

Prepares the training texts once (query vectors and retriever scores with the index's
encoders), then fits `kb train`'s model under each setting and prints out-of-fold hit@1,
the share answered confidently and right-when-confident, per language.

Run: .venv/bin/python benchmarks/sweep.py .kb-index e5 ['{"neighbour_share": [0, 0.3]}']
(the optional JSON grid names `TrainConfig` fields and the values to try; default `GRID`)
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import sys
from pathlib import Path

from kb.retrieval.encoders import held_out_encoders
from kb.retrieval.evaluate import read_out_of_scope, read_queries
from kb.retrieval.search import Searcher
from kb.retrieval.train import FOLDS, TrainConfig, fit, prepare, training_texts
from kb.settings import load_settings

REPO = Path(__file__).resolve().parent.parent
GRID = {"real_weight": (6.0,), "other_scenario_share": (0.0, 0.25, 0.5, 0.75, 1.0)}
"""The last sweep (2026-11-30, e5, six rounds of real texts): how much of a positive an article
of the right problem but another scenario is when fitting the ranker. Earlier sweeps covered
the confidence thresholds' aim (0.90-0.92) and how many out-of-scope train texts may clear them
(2-8%), the real-text weight (1, 3, 6), the classifier's C (1 to 128), the keyword classifier's
C (8 to 32), the ranker's C (0.1, 0.3) and the out-of-scope weight of the confidence model (1
to 10)."""


def main(index_dir: str, encoders: str, grid: str = "") -> int:
    grid_values = json.loads(grid) if grid else GRID
    settings = load_settings({"index_dir": index_dir, "encoders": encoders, "model": "none"})
    searcher = Searcher.load(settings)
    real = read_queries(REPO / "eval/real.jsonl")
    sources = [json.loads(line)["source"]
               for line in (REPO / "eval/real.jsonl").read_text("utf-8").splitlines()]
    authored = read_queries(REPO / "eval/queries.jsonl")
    negatives = read_out_of_scope(REPO / "eval/out_of_scope.jsonl")
    prepared = {}
    for values in itertools.product(*grid_values.values()):
        config = TrainConfig(**dict(zip(grid_values, values, strict=True)))
        weight = config.real_weight
        if weight not in prepared:  # the weight is baked into the texts; vectors are not
            texts = training_texts(real, authored, searcher, sources, config,
                                   out_of_scope=negatives)
            if prepared:
                base = next(iter(prepared.values()))
                prepared[weight] = dataclasses.replace(base, texts=texts)
            else:
                prepared[weight] = prepare(searcher, texts, held_out=held_out_encoders(
                    searcher.encoders, settings.threads, range(FOLDS)))
        _, report = fit(searcher, prepared[weight], config=config)
        report.pop("out_of_scope")
        line = " | ".join(f"{lang} hit@1 {r['oof_hit1']:.3f} scenario {r['oof_scenario_hit1']:.3f} "
                          f"hit@3 {r['oof_hit3']:.3f} "
                          f"(three problems {r['oof_hit3_three_problems']:.3f}) "
                          f"conf {r['oof_confident']:.2f} right {r['oof_right_when_confident']:.3f}"
                          for lang, r in report.items())
        print(f"{dataclasses.asdict(config)}: {line}", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(*sys.argv[1:4]))
