"""Relevance ablation on real users' words: encoders × ranking × confidence × result order.

For each encoder set (an index already built with it), fits the learned ranking on the `train`
split exactly as `kb train` does, then scores the `test` split of eval/real.jsonl, the authored
`heldout` split of eval/queries.jsonl and the out-of-scope questions, adding one change at a
time: fusion; the learned ranker with the top article's probability as confidence; the fitted
confidence model; three problems in the first three places; the ranker fitted with the right
problem's other-scenario articles as half positives (`TrainConfig.other_scenario_share`); a
classifier of the text's scenario as ranker features (`TrainConfig.scenario_classifier`); the
neighbour vote blended into the problem classifier (`TrainConfig.neighbour_share`).
Nothing here is fitted or tuned on a test split.

Run (each index built first with `KB_ENCODERS=<set> KB_INDEX_DIR=<dir> kb build`):
    .venv/bin/python benchmarks/relevance.py use=/tmp/idx-use e5=/tmp/idx-e5 e5t=/tmp/idx-e5t
(`e5t`, the tuned query side, embeds each train text with the fold model that never saw it.)
Prints a Markdown table (for BENCHMARKS.md) and, with --json, the raw figures.
"""

from __future__ import annotations

import dataclasses
import json
import sys
import time
from pathlib import Path

from kb.retrieval.encoders import held_out_encoders
from kb.retrieval.evaluate import breakdown, read_out_of_scope, read_queries, run_eval
from kb.retrieval.search import RankingConfig, Searcher
from kb.retrieval.train import FOLDS, TrainConfig, fit, prepare, training_texts
from kb.settings import load_settings

REPO = Path(__file__).resolve().parent.parent


def evaluate(searcher: Searcher, queries, no_match) -> dict:
    def ranked(text: str):
        response = searcher.search(text, top_k=10)
        top = response.results[0].scenarios if response.results else ()
        return [h.problem for h in response.results], response.confident, top

    table = breakdown(run_eval(queries, ranked))
    out = {name: dataclasses.asdict(s) for name, s in table.items()}
    out["no_match_confident"] = sum(ranked(q)[1] for q in no_match)
    return out


def main(argv: list[str]) -> int:
    as_json = "--json" in argv
    specs = [a for a in argv if "=" in a]
    real = read_queries(REPO / "eval/real.jsonl")
    authored = read_queries(REPO / "eval/queries.jsonl")
    negatives = read_out_of_scope(REPO / "eval/out_of_scope.jsonl")
    sources = [json.loads(line)["source"]
               for line in (REPO / "eval/real.jsonl").read_text("utf-8").splitlines()]
    test = [q for q in real if q.split == "test"]
    heldout = [q for q in authored if q.split == "heldout"]
    no_match = [line for line in (REPO / "eval/no_match.txt").read_text("utf-8").splitlines()
                if line.strip()]
    # Out-of-scope questions never trained on: the hand list and the real test part.
    no_match += [text for text, _, _, split in negatives if split == "test"]
    results = {}
    for spec in specs:
        name, index_dir = spec.split("=", 1)
        settings = load_settings({"index_dir": index_dir, "encoders": name.replace("+", ","),
                                  "model": "none"})
        base = Searcher.load(settings)
        started = time.perf_counter()
        def progress(message: str, name: str = name) -> None:
            print(f"{name}: {message}", file=sys.stderr, flush=True)

        held_out = held_out_encoders(base.encoders, settings.threads, range(FOLDS))
        data = prepare(base, training_texts(real, authored, base, sources,
                                              out_of_scope=negatives), progress, held_out)
        model, report = fit(base, data, progress)
        # The rows before the last: the classifier alone, as before the neighbour vote.
        plain = TrainConfig(neighbour_share=0.0)
        earlier = dataclasses.replace(plain, other_scenario_share=0.0, scenario_classifier=False)
        scenario_only, _ = fit(base, data, progress, earlier)
        top_only, _ = fit(base, data, progress,
                          dataclasses.replace(earlier, confidence_model=False))
        half, _ = fit(base, data, progress, dataclasses.replace(plain, scenario_classifier=False))
        scenario, _ = fit(base, data, progress, plain)
        print(f"{name}: fitted in {time.perf_counter() - started:.0f} s; oof {report}",
              file=sys.stderr)
        for label, ranking in {
            "fusion+focus": RankingConfig(per_problem_top=0),
            "ranker+focus": RankingConfig(model=top_only, per_problem_top=0),
            "+ confidence model": RankingConfig(model=scenario_only, per_problem_top=0),
            "+ three problems first": RankingConfig(model=scenario_only),
            "+ other scenarios' articles half a positive": RankingConfig(model=half),
            "+ scenario classifier": RankingConfig(model=scenario),
            "+ neighbour vote": RankingConfig(model=model),
        }.items():
            searcher = Searcher(base.index, base.encoders, settings, ranking)
            results[f"{name} {label}"] = {
                "real_test": evaluate(searcher, test, no_match),
                "authored_heldout": evaluate(searcher, heldout, []),
            }
            r = results[f"{name} {label}"]["real_test"]
            print(f"{name} {label}: en {r['lang=en']['hit1']:.3f} zh {r['lang=zh']['hit1']:.3f}",
                  file=sys.stderr)
    if as_json:
        print(json.dumps(results, indent=1))
        return 0
    print("| configuration | real test en hit@1 / hit@3 / MRR | real test zh hit@1 / hit@3 / MRR"
          " | confident en / zh | right when confident en / zh | scenario hit@1 | "
          "authored held-out hit@1 | out-of-scope confident |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for label, r in results.items():
        t, h = r["real_test"], r["authored_heldout"]
        en, zh = t["lang=en"], t["lang=zh"]
        print(f"| {label} | {en['hit1']:.3f} / {en['hit3']:.3f} / {en['mrr10']:.3f} | "
              f"{zh['hit1']:.3f} / {zh['hit3']:.3f} / {zh['mrr10']:.3f} | "
              f"{en['confident']:.2f} / {zh['confident']:.2f} | "
              f"{en['right_when_confident']:.3f} / {zh['right_when_confident']:.3f} | "
              f"{t['all']['scenario_hit1']:.3f} | {h['all']['hit1']:.3f} | "
              f"{t['no_match_confident']}/{len(no_match)} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
