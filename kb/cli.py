"""`kb`: lint, build, search, eval, train, diagnose, serve and more; each command is short.

Only the standard library and the light modules are imported at the top, so `kb --help` and
`kb lint` start fast; commands that need the index or the models import them when they run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from kb.content.taxonomy import PLATFORMS, PROBLEMS, SCENARIOS
from kb.errors import KbError
from kb.settings import Settings, load_settings

if TYPE_CHECKING:
    from kb.retrieval.search import Searcher


def _settings(args: argparse.Namespace) -> Settings:
    return load_settings({
        "articles_dir": getattr(args, "articles", None),
        "index_dir": getattr(args, "index", None),
        "encoders": getattr(args, "encoders", None),
    })


def cmd_lint(args: argparse.Namespace, out: TextIO) -> int:
    from kb.content.articles import load_corpus
    from kb.content.issues import has_errors
    from kb.content.lint import lint_all, lint_glossary
    from kb.diagnose.lint import lint_diagnostics

    settings = _settings(args)
    root = Path(args.dir) if args.dir else settings.articles_dir
    corpus = load_corpus(root)
    max_age = settings.max_age_days if args.max_age_days is None else args.max_age_days
    glossary = settings.glossary or root / "glossary.yaml"
    issues = lint_all(corpus, dt.date.today(), max_age) + lint_glossary(glossary)
    issues += lint_diagnostics(root / "diagnostics.yaml", corpus)
    if args.similarity if args.similarity is not None else args.strict:
        issues = sorted(set(issues) | set(_near_duplicates(corpus.articles, settings)))
    else:
        print("note: near-duplicate check skipped (it loads the encoder); add --similarity",
              file=sys.stderr)
    for issue in issues:
        print(issue, file=out)
    errors = sum(i.severity == "error" for i in issues)
    warnings = len(issues) - errors
    files = len({i.path for i in issues})
    print(f"{len(corpus.articles)} articles checked: {errors} error(s), {warnings} warning(s)"
          + (f" in {files} file(s)" if issues else ""), file=out)
    return 1 if has_errors(issues) or (args.strict and warnings) else 0


def _near_duplicates(articles: Sequence, settings: Settings) -> list:
    from kb.content.lint import NEAR_DUPLICATE_ENCODER, article_fingerprint_text, near_duplicates
    from kb.retrieval.encoders import load_encoder

    if len(articles) < 2:
        return []
    encoder = load_encoder(NEAR_DUPLICATE_ENCODER, settings.threads)
    vectors = encoder.encode([article_fingerprint_text(a) for a in articles])
    return near_duplicates(list(articles), vectors)


def cmd_build(args: argparse.Namespace, out: TextIO) -> int:
    from kb.content.articles import load_corpus
    from kb.retrieval.index import build_index

    settings = _settings(args)
    corpus = load_corpus(settings.articles_dir)
    report = build_index(settings, corpus, strict=args.strict,
                         progress=lambda message: print(message, file=sys.stderr))
    for issue in report.skipped:
        print(f"skipped: {issue}", file=out)
    print(f"indexed {report.articles} articles, {report.chunks} chunks "
          f"({report.embedded} embedded, {report.reused} reused) in {report.seconds:.1f}s "
          f"→ {report.folder}", file=out)
    return 0


def _searcher(args: argparse.Namespace) -> Searcher:
    """The searcher for a command; says on stderr when its model falls back to fusion."""
    from kb.retrieval.search import Searcher

    searcher = Searcher.load(_settings(args))
    if searcher.ranking.fallback:
        print(f"note: {searcher.ranking.fallback}", file=sys.stderr)
    return searcher


def cmd_search(args: argparse.Namespace, out: TextIO) -> int:
    from kb.service.render import show_response

    searcher = _searcher(args)
    queries = sys.stdin if args.query == "-" else [args.query]
    for line in queries:
        response = searcher.search(line.rstrip("\n"), top_k=args.top_k, scenario=args.scenario,
                                   platform=args.platform, lang=args.lang)
        if args.json:
            print(json.dumps(response.to_json(), ensure_ascii=False), file=out, flush=True)
        else:
            print(show_response(response), file=out)
            if args.query == "-":
                print("", file=out)
    return 0


def cmd_eval(args: argparse.Namespace, out: TextIO) -> int:
    from kb.retrieval.evaluate import breakdown, read_queries, repository, run_eval

    queries = read_queries(Path(args.file))
    trained = frozenset(repository(q.source) for q in queries if q.split in ("train", "dev"))
    if args.split:
        queries = [q for q in queries if q.split == args.split]
        if not queries:
            raise KbError(f"{args.file}: no queries in split `{args.split}`")
    searcher = _searcher(args)

    def ranked(text: str) -> tuple[list[str], bool, tuple[str, ...]]:
        response = searcher.search(text, top_k=10)
        top = response.results[0].scenarios if response.results else ()
        return [hit.problem for hit in response.results], response.confident, top

    outcomes = run_eval(queries, ranked)
    table = breakdown(outcomes, trained if args.split == "test" else None)
    if args.json:
        print(json.dumps({name: vars(s) for name, s in table.items()}), file=out)
    else:
        print(f"{'group':<26}{'n':>5}{'hit@1':>8}{'hit@3':>8}{'MRR@10':>8}{'confident':>10}"
              f"{'right|conf':>11}{'scen@1':>8}", file=out)
        for name, s in table.items():
            print(f"{name:<26}{s.n:>5}{s.hit1:>8.3f}{s.hit3:>8.3f}{s.mrr10:>8.3f}"
                  f"{s.confident:>10.3f}{s.right_when_confident:>11.3f}{s.scenario_hit1:>8.3f}",
                  file=out)
    out_of_scope_failed = []
    for path in args.no_match or []:
        lines = out_of_scope_texts(Path(path))
        wrong = [line for line in lines if ranked(line)[1]]
        print(f"out-of-scope queries answered confidently ({path}): {len(wrong)}/{len(lines)}",
              file=out)
        for line in wrong if args.misses else []:
            print(f"confident on out-of-scope: {line[:200]}", file=out)
        if args.max_out_of_scope is not None and len(wrong) > args.max_out_of_scope * len(lines):
            out_of_scope_failed.append(f"{path}: {len(wrong)}/{len(lines)} confident")
    if args.misses:
        for o in outcomes:
            if o.rank != 1:
                print(f"miss [{o.query.lang} {o.query.split}] want {o.query.problem}, got "
                      f"{'/'.join(o.top_problems)}: {o.query.q}", file=out)
    failed = [
        f"{name} {metric} {value:.3f} < {floor}"
        for name, s in table.items() if name == "all" or name.startswith("lang=")
        for metric, value, floor in (("hit@1", s.hit1, args.min_hit1),
                                     ("hit@3", s.hit3, args.min_hit3),
                                     ("confident", s.confident, args.min_confident),
                                     ("right when confident", s.right_when_confident,
                                      args.min_right_when_confident))
        if floor is not None and value < floor
    ]
    for message in failed:
        print(f"below floor: {message}", file=out)
    for message in out_of_scope_failed:
        print(f"over the out-of-scope limit: {message}", file=out)
    return 1 if failed or out_of_scope_failed else 0


def out_of_scope_texts(path: Path) -> list[str]:
    """Out-of-scope questions: a text file (one per line) or the `test` split of a JSONL file."""
    from kb.retrieval.evaluate import read_out_of_scope

    if path.suffix == ".jsonl":
        return [text for text, _, _, split in read_out_of_scope(path) if split == "test"]
    if not path.is_file():
        raise KbError(f"{path}: no such file")
    return [line for line in path.read_text("utf-8").splitlines() if line.strip()]


def cmd_show(args: argparse.Namespace, out: TextIO) -> int:
    from kb.content.articles import load_corpus
    from kb.service.render import show_article

    settings = _settings(args)
    corpus = load_corpus(settings.articles_dir)
    versions = [a for a in corpus.articles if a.id == args.id]
    if not versions:
        known = sorted({a.id for a in corpus.articles if args.id in a.id})
        hint = f"; did you mean: {', '.join(known[:5])}" if known else ""
        raise KbError(f"no article with id `{args.id}` in {settings.articles_dir}{hint}")
    chosen = [a for a in versions if a.lang == args.lang] if args.lang else versions
    if not chosen:
        raise KbError(f"article `{args.id}` has no `{args.lang}` version")
    print("\n\n".join(show_article(a) for a in chosen), file=out)
    return 0


def cmd_new(args: argparse.Namespace, out: TextIO) -> int:
    from kb.content.scaffold import new_article

    settings = _settings(args)
    paths = new_article(settings.articles_dir, args.id, args.scenario, args.problem, args.owner,
                        dt.date.today(), args.title or "", args.title_zh or "")
    for path in paths:
        print(f"created {path}", file=out)
    print("next: fill in every section, then `kb lint` and `kb build`", file=out)
    return 0


def cmd_coverage(args: argparse.Namespace, out: TextIO) -> int:
    from dataclasses import asdict

    from kb.content.articles import load_corpus
    from kb.content.coverage import coverage, coverage_table

    cells = coverage(load_corpus(_settings(args).articles_dir).articles)
    if args.json:
        print(json.dumps([{**asdict(c), "gap": c.gap} for c in cells]), file=out)
    else:
        print(coverage_table(cells), file=out)
    return 1 if args.check and any(c.gap for c in cells) else 0


def _training_files(args: argparse.Namespace) -> dict[str, Any]:
    from kb.retrieval.train import read_training_files

    return read_training_files(Path(args.real), Path(args.authored),
                               Path(args.out_of_scope) if args.out_of_scope else None)


def _progress(message: str) -> None:
    print(message, file=sys.stderr)


def cmd_train(args: argparse.Namespace, out: TextIO) -> int:
    import dataclasses
    import time

    from kb.retrieval.encoders import held_out_encoders
    from kb.retrieval.search import Searcher
    from kb.retrieval.train import FOLDS, fit, prepare, training_texts

    chosen = _settings(args)
    settings = dataclasses.replace(chosen, model="none")  # features come from fusion's legs
    target = Path(args.out) if args.out else chosen.model_path
    if target is None:
        raise KbError("KB_MODEL=none: pass --out FILE to say where the model goes")
    files = _training_files(args)
    searcher = Searcher.load(settings)
    started = time.perf_counter()
    texts = training_texts(searcher=searcher, **files)
    held_out = held_out_encoders(searcher.encoders, settings.threads, range(FOLDS))
    model, report = fit(searcher, prepare(searcher, texts, _progress, held_out), _progress)
    model.save(target)
    print(f"wrote {target} in {time.perf_counter() - started:.0f} s "
          f"({model.trained_on['texts']} ranked texts, {model.trained_on['classifier_texts']} "
          "classifier texts; test splits not read)", file=out)
    for group, figures in report.items():
        print(f"  {group}: out-of-fold on train: " + ", ".join(
            f"{k} {v:.3f}" if isinstance(v, float) else f"{k} {v}" for k, v in figures.items()),
            file=out)
    return 0


def cmd_tune(args: argparse.Namespace, out: TextIO) -> int:
    import dataclasses
    import time

    from kb.retrieval import tune
    from kb.retrieval.e5image import read_image
    from kb.retrieval.encoders import TUNED_E5, TUNING_FILE, stock_image_path
    from kb.retrieval.search import Searcher
    from kb.retrieval.train import FOLDS, training_texts

    settings = dataclasses.replace(_settings(args), model="none")
    files = _training_files(args)
    searcher = Searcher.load(settings)
    name = next((n for n in searcher.encoders if n in ("e5", TUNED_E5)), None)
    if name is None:
        raise KbError(f"the index in {settings.index_dir} has no e5 vectors: build one with "
                      "KB_ENCODERS=e5 (or e5t) first")
    started = time.perf_counter()
    config = tune.TuneConfig(epochs=args.epochs) if args.epochs else tune.TuneConfig()
    image = read_image(Path(stock_image_path()))
    examples = tune.examples(searcher, training_texts(searcher=searcher, **files),
                             image.tokenizer(), config)
    chunks, owner = tune.passages(searcher, name)
    parts = tune.fit(image, examples, range(FOLDS), chunks, owner, len(PROBLEMS), config,
                     _progress)
    target = Path(args.out) if args.out else TUNING_FILE
    tune.save(target, parts, tune.record_of(config, len(examples)))
    print(f"wrote {target} in {time.perf_counter() - started:.0f} s ({len(examples)} texts, "
          f"{len(parts)} parts; test splits not read); next: `kb build` and `kb train` with "
          "KB_ENCODERS=e5t", file=out)
    return 0


def cmd_bench(args: argparse.Namespace, out: TextIO) -> int:
    from kb.retrieval.bench import run_benchmarks

    sizes = [int(s) for s in args.synthetic.split(",") if s.strip()] if args.synthetic else []
    print(run_benchmarks(_settings(args), sizes, queries=Path(args.queries),
                         repeats=args.repeats, progress=lambda m: print(m, file=sys.stderr),
                         reuse_vectors=args.reuse_vectors),
          file=out)
    return 0


def cmd_diagnose(args: argparse.Namespace, out: TextIO) -> int:
    from kb.content.articles import load_corpus
    from kb.diagnose import diagnose_bytes, load_rules, read_bytes, rules_path
    from kb.service.diagnosis import fix_step_lookup, render_findings

    settings = _settings(args)
    name = "stdin" if args.file == "-" else args.file
    data = read_bytes(None, sys.stdin.buffer) if args.file == "-" else read_bytes(Path(args.file))
    result = diagnose_bytes(data, load_rules(rules_path(settings.articles_dir)), name)
    if args.json:
        print(json.dumps(result.to_json(), ensure_ascii=False), file=out)
    else:
        steps = fix_step_lookup(load_corpus(settings.articles_dir).articles)
        print(render_findings(result, args.lang or "en", step_text=steps), file=out)
    return 0


def cmd_serve(args: argparse.Namespace, out: TextIO) -> int:
    import os

    import uvicorn

    # Workers are separate processes that build their settings from KB_* variables.
    for variable, value in (("KB_ARTICLES_DIR", args.articles), ("KB_INDEX_DIR", args.index),
                            ("KB_ENCODERS", args.encoders)):
        if value:
            os.environ[variable] = value
    # Each worker searches on its own core share: more encoder threads only oversubscribe.
    os.environ.setdefault("KB_THREADS", str(max(1, (os.cpu_count() or 1) // args.workers)))
    _settings(args)  # report a bad KB_* value here, once, not in every worker
    print(f"serving http://{args.host}:{args.port} (API docs at /docs, widget demo at /demo)",
          file=out, flush=True)
    uvicorn.run("kb.api.app:create_app", factory=True, host=args.host, port=args.port,
                workers=args.workers, log_level=args.log_level)
    return 0


def parser() -> argparse.ArgumentParser:
    """The `kb` argument parser."""
    top = argparse.ArgumentParser(
        prog="kb", description="Troubleshooting knowledge base for real-time audio/video apps.")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--articles", help="articles folder (default: articles, KB_ARTICLES_DIR)")
    common.add_argument("--index", help="index folder (default: .kb-index, KB_INDEX_DIR)")
    common.add_argument("--encoders",
                        help="comma-separated encoders: use, e5, minilm, st:<folder>")
    commands = top.add_subparsers(dest="command", required=True, metavar="COMMAND")

    lint = commands.add_parser("lint", parents=[common], help="check articles")
    lint.add_argument("dir", nargs="?", help="folder or file to check (default: articles)")
    lint.add_argument("--strict", action="store_true",
                      help="warnings fail too, and the near-duplicate check runs")
    lint.add_argument("--max-age-days", type=int, help="warn when last_reviewed is older")
    lint.add_argument("--similarity", action=argparse.BooleanOptionalAction, default=None,
                      help="run the near-duplicate check, which loads the encoder "
                      "(default: only with --strict)")
    lint.set_defaults(func=cmd_lint)

    build = commands.add_parser("build", parents=[common], help="build the search index")
    build.add_argument("--strict", action="store_true", help="fail on any article error")
    build.set_defaults(func=cmd_build)

    search = commands.add_parser("search", parents=[common], help="search by symptom")
    search.add_argument("query", help="the symptom, or - to read one query per line from stdin")
    search.add_argument("--top-k", type=int, default=5)
    search.add_argument("--scenario", choices=list(SCENARIOS))
    search.add_argument("--platform", choices=list(PLATFORMS))
    search.add_argument("--lang", choices=["en", "zh"], help="language of the answer")
    search.add_argument("--json", action="store_true", help="one JSON object per query")
    search.set_defaults(func=cmd_search)

    evaluate = commands.add_parser("eval", parents=[common], help="measure retrieval quality")
    evaluate.add_argument("file", help="JSONL of {q, problem, scenario, lang[, split]}")
    evaluate.add_argument("--json", action="store_true")
    evaluate.add_argument("--misses", action="store_true", help="list queries not ranked first")
    evaluate.add_argument("--split", help="only the queries of this split (e.g. test)")
    evaluate.add_argument("--max-out-of-scope", type=float,
                          help="fail when more than this share of --no-match texts is confident")
    evaluate.add_argument("--no-match", action="append",
                          help="out-of-scope queries (text file, one per line, or the test split "
                          "of a JSONL file): reports how many get a confident answer; repeatable")
    evaluate.add_argument("--min-hit1", type=float, help="fail below this hit@1 (overall and "
                          "per language)")
    evaluate.add_argument("--min-hit3", type=float, help="fail below this hit@3")
    evaluate.add_argument("--min-confident", type=float,
                          help="fail when a smaller share is answered confidently")
    evaluate.add_argument("--min-right-when-confident", type=float,
                          help="fail when confident answers are right less often")
    evaluate.set_defaults(func=cmd_eval)

    show = commands.add_parser("show", parents=[common], help="preview one article")
    show.add_argument("id")
    show.add_argument("--lang", choices=["en", "zh"])
    show.set_defaults(func=cmd_show)

    new = commands.add_parser("new", parents=[common], help="scaffold an en + zh article pair")
    new.add_argument("id", help="e.g. voice-room-echo-karaoke")
    new.add_argument("--scenario", required=True, choices=list(SCENARIOS))
    new.add_argument("--problem", required=True, choices=list(PROBLEMS))
    new.add_argument("--owner", default="support-team")
    new.add_argument("--title", help="English title")
    new.add_argument("--title-zh", help="Chinese title")
    new.set_defaults(func=cmd_new)

    cover = commands.add_parser("coverage", parents=[common],
                                help="scenario × problem matrix with language versions")
    cover.add_argument("--json", action="store_true")
    cover.add_argument("--check", action="store_true", help="fail when a required pair is "
                       "missing a language")
    cover.set_defaults(func=cmd_coverage)

    train = commands.add_parser("train", parents=[common],
                                help="fit the learned ranker on the train splits")
    train.add_argument("--real", default="eval/real.jsonl")
    train.add_argument("--authored", default="eval/queries.jsonl")
    train.add_argument("--out-of-scope", default="eval/out_of_scope.jsonl",
                       help="real texts no article answers ('' for none)")
    train.add_argument("--out", help="model file (default: models/ranker-<encoders>.json)")
    train.set_defaults(func=cmd_train)

    tune = commands.add_parser("tune", parents=[common],
                               help="tune e5's query side on the train splits "
                                    "(models/e5-query.npz)")
    tune.add_argument("--real", default="eval/real.jsonl")
    tune.add_argument("--authored", default="eval/queries.jsonl")
    tune.add_argument("--out-of-scope", default="eval/out_of_scope.jsonl",
                      help="(read for the fold assignment only: no article to tune towards)")
    tune.add_argument("--epochs", type=int, help="passes over the texts (default: TuneConfig)")
    tune.add_argument("--out", help="tuning file (default: models/e5-query.npz)")
    tune.set_defaults(func=cmd_tune)

    bench = commands.add_parser("bench", parents=[common], help="measure speed and memory")
    bench.add_argument("--synthetic", default="10000,100000",
                       help="comma-separated synthetic corpus sizes in chunks ('' to skip)")
    bench.add_argument("--queries", default="eval/queries.jsonl")
    bench.add_argument("--repeats", type=int, default=3)
    bench.add_argument("--reuse-vectors", action="store_true",
                       help="synthetic chunks reuse the real chunks' vectors plus noise instead "
                       "of being embedded (e5 embeds ~10 chunks/s on 2 cores)")
    bench.set_defaults(func=cmd_bench)

    serve = commands.add_parser("serve", parents=[common], help="run the HTTP API and widget")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1, help="processes (one per core)")
    serve.add_argument("--log-level", default="info",
                       choices=["critical", "error", "warning", "info", "debug"])
    serve.set_defaults(func=cmd_serve)

    diag = commands.add_parser("diagnose", parents=[common], help="findings from a pasted "
                               "webrtc-internals dump, getStats() JSON, SDK log or text")
    diag.add_argument("file", help="the artefact, or - to read stdin")
    diag.add_argument("--lang", choices=["en", "zh"], help="language of the report")
    diag.add_argument("--json", action="store_true", help="findings and observations as JSON")
    diag.set_defaults(func=cmd_diagnose)
    return top


def main(argv: Sequence[str] | None = None, out: TextIO | None = None) -> int:
    """Run one command; returns the exit code (0 ok, 1 check failed, 2 usage or error)."""
    out = out or sys.stdout
    try:
        args = parser().parse_args(argv)
    except SystemExit as exc:
        return int(exc.code or 0)
    try:
        return args.func(args, out)
    except KbError as exc:
        print(f"kb {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        return 0
    except KeyboardInterrupt:
        return 130


def run() -> None:
    """Console-script entry point."""
    sys.exit(main())
