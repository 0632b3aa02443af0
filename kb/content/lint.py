"""Checks on parsed articles: `Article` → `list[Issue]`, and corpus-wide checks.

Pure functions: the caller passes today's date and a file-existence test, so the checks are
repeatable in tests.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from kb.content.articles import MIN_SYMPTOMS, SECTION_HEADINGS, SECTION_KEYS, Article, Corpus
from kb.content.glossary import load_glossary
from kb.content.issues import Issue
from kb.content.scaffold import is_placeholder
from kb.errors import GlossaryError

if TYPE_CHECKING:
    import numpy as np

DEFAULT_MAX_AGE_DAYS = 365
NEAR_DUPLICATE_ENCODER = "use"
"""The near-duplicate check always embeds with USE, whatever search uses: the threshold below is
calibrated for its cosine range (e5's is compressed: unrelated articles score 0.95 there)."""
NEAR_DUPLICATE_THRESHOLD = 0.95
"""Distinct articles on one problem in two scenarios reach 0.92 with `use`; copies score 0.99+."""
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")
_ARTICLE_LINK = re.compile(r"(?:^|/)([a-z0-9]+(?:-[a-z0-9]+)*)\.(en|zh)\.md$")
TRIAGE_LIMIT = {"en": 120, "zh": 250}
"""Quick triage length: English words, Chinese characters (read on a live ticket)."""
_HAN = r"[\u4e00-\u9fff]"
_HALF_WIDTH = re.compile(rf"{_HAN}[\"',:;!?()]|[\"',:;!?()]{_HAN}|{_HAN}\s*\"|\"\s*{_HAN}")
_CODE_SPANS = re.compile(r"`[^`]*`|\]\([^)]*\)|https?://\S+")
MAX_SHARED_CODE = 2
"""An unqualified error code may name at most this many articles, or it stops being exact."""


def article_link(target: str) -> tuple[str, str] | None:
    """`(id, lang)` when a link target names an article or page file (`<id>.<lang>.md`)."""
    match = _ARTICLE_LINK.search(target.split("#", 1)[0])
    return (match.group(1), match.group(2)) if match else None


def is_qualified(code: str) -> bool:
    """"TURN 401", "Agora 110": the source is named, so a shared number stays exact."""
    return len(code.split()) > 1


def _agent_checks(article: Article) -> list[Issue]:
    """What makes an article usable on a live ticket: triage, SDK mapping, a check the
    customer can do, how to collect logs, references, house style (warnings)."""
    issues: list[Issue] = []
    zh = article.lang == "zh"

    def warn(line: int, message: str) -> None:
        issues.append(Issue(article.path, line, "warning", message))

    triage = article.section("triage")
    if triage is not None:
        size = len(re.findall(_HAN, triage.text)) if zh else len(triage.text.split())
        if size > TRIAGE_LIMIT[article.lang]:
            unit = "characters" if zh else "words"
            warn(triage.line, f"quick triage is {size} {unit}; keep it within "
                 f"{TRIAGE_LIMIT[article.lang]} so an agent reads it on a live ticket")
    fix, verify, escalate = (article.section(k) for k in ("fix", "verify", "escalate"))
    if fix is not None and "### " not in fix.markdown.split("\n", 1)[-1] + "\n" \
            and "| Agora" not in fix.markdown:
        warn(fix.line, "the Fix has no `### SDK mapping` table (Agora RTC 4.x first)")
    if verify is not None and not re.search(r"Customer check|客户可查", verify.markdown):
        warn(verify.line, "Verify needs a `**Customer check:**` bullet: a signal the customer "
             "or agent can check without a lab")
    if escalate is not None and "collect-logs." not in escalate.markdown:
        warn(escalate.line, "Escalate should link the log collection page (collect-logs."
             f"{article.lang}.md)")
    if not article.references:
        warn(1, "no `references:`; list the public pages the facts were checked against")
    if zh:
        for section in article.sections:
            for offset, raw in enumerate(section.markdown.splitlines(), start=1):
                line = _CODE_SPANS.sub(" ", raw)
                if _HALF_WIDTH.search(line):
                    warn(section.line + 1 + offset, "half-width punctuation or ASCII quotes in "
                         "Chinese prose; use full-width （，。：；“”）")
    return issues


def lint_article(article: Article, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS,
                 file_exists: Callable[[Path], bool] = Path.exists) -> list[Issue]:
    """Checks that need only one article: sections, the Fix, links, symptoms, review age."""
    issues: list[Issue] = []
    path = article.path

    def add(line: int, severity: str, message: str) -> None:
        issues.append(Issue(path, line, severity, message))  # type: ignore[arg-type]

    if is_placeholder(article.title):
        add(article.line_of("title"), "error", "replace the placeholder title `kb new` wrote")
    if any(is_placeholder("", symptom) for symptom in article.symptoms):
        add(article.line_of("symptoms"), "error",
            "replace the placeholder symptoms `kb new` wrote with real phrasings")
    present = [s.key for s in article.sections]
    body_line = article.sections[0].line if article.sections else 1
    headings = SECTION_HEADINGS.get(article.lang, SECTION_HEADINGS["en"])
    for key in SECTION_KEYS:
        if key not in present:
            # Articles written before the triage block still index; lint --strict asks for it.
            add(body_line, "warning" if key == "triage" else "error",
                f"missing required section `## {headings[key]}`")
    for key in set(present):
        if present.count(key) > 1:
            second = [s for s in article.sections if s.key == key][1]
            add(second.line, "error", f"section `## {second.heading}` appears twice")
    expected_order = [k for k in SECTION_KEYS if k in present]
    if list(dict.fromkeys(present)) != expected_order:
        add(body_line, "warning", "sections are out of order; expected "
            + ", ".join(headings[k] for k in SECTION_KEYS))
    for section in article.sections:
        if not section.text and section.key != "fix":
            add(section.line, "error", f"section `## {section.heading}` is empty")

    fix = article.section("fix")
    if fix is not None:
        if not fix.steps:
            add(fix.line, "error", f"the fix is empty: write numbered steps under "
                f"`## {fix.heading}`")
        elif not fix.ordered:
            add(fix.line, "warning", f"`## {fix.heading}` should be a numbered list of steps")

    if 0 < len(article.symptoms) < MIN_SYMPTOMS:
        add(article.line_of("symptoms"), "warning",
            f"only {len(article.symptoms)} symptoms; write at least {MIN_SYMPTOMS} phrasings "
            "the way users type them")
    age = (today - article.last_reviewed).days
    if article.last_reviewed != dt.date.min:
        if age > max_age_days:
            add(article.line_of("last_reviewed"), "warning",
                f"last reviewed {age} days ago (limit {max_age_days}); check the content and "
                "update `last_reviewed`")
        elif age < 0:
            add(article.line_of("last_reviewed"), "warning",
                f"`last_reviewed` {article.last_reviewed} is in the future")

    issues.extend(_agent_checks(article))
    for link in article.links:
        target = link.target.split("#", 1)[0]
        if not target or _SCHEME.match(target) or target.startswith("//") \
                or _ARTICLE_LINK.search(target):
            continue  # links to articles resolve by id, across folders (lint_corpus)
        resolved = Path(path).parent / target
        if not file_exists(resolved):
            add(link.line, "error", f"link to `{link.target}` points to a file that does not "
                "exist")
    return issues


def _duplicate(article: Article, first_path: str) -> Issue:
    return Issue(article.path, article.line_of("id"), "error",
                 f"duplicate article: id `{article.id}` in `{article.lang}` is already used by "
                 f"{first_path}")


def lint_corpus(articles: Sequence[Article]) -> list[Issue]:
    """Checks across articles: duplicate (id, lang), translation pairs, colliding symptoms."""
    issues: list[Issue] = []
    seen: dict[tuple[str, str], Article] = {}
    by_id: dict[str, dict[str, Article]] = defaultdict(dict)
    for article in articles:
        if not article.id or not article.lang:
            continue
        key = (article.id, article.lang)
        if key in seen:
            issues.append(_duplicate(article, seen[key].path))
            continue
        seen[key] = article
        by_id[article.id][article.lang] = article

    for article_id, versions in by_id.items():
        for lang, article in versions.items():
            for other_lang in ("en", "zh"):
                if other_lang != lang and other_lang not in versions:
                    issues.append(Issue(article.path, article.line_of("id"), "error",
                                        f"translation missing: no `{other_lang}` version of "
                                        f"`{article_id}`; add it with the same id (kb new can "
                                        "scaffold it)"))
        if len(versions) == 2:
            en, zh = versions["en"], versions["zh"]
            for name in ("problem", "scenarios", "severity"):
                if getattr(en, name) != getattr(zh, name):
                    severity = "error" if name == "problem" else "warning"
                    issues.append(Issue(zh.path, zh.line_of(name), severity,
                                        f"`{name}` differs from the translation {en.path} "
                                        f"({getattr(zh, name)} vs {getattr(en, name)})"))
    issues.extend(_symptom_collisions(articles))
    issues.extend(_shared_codes(seen.values()))
    return issues


def _shared_codes(articles: Iterable[Article]) -> list[Issue]:
    ids_of: dict[str, set[str]] = defaultdict(set)
    first: dict[str, Article] = {}
    for article in articles:
        for code in article.error_codes:
            if not is_qualified(code):
                ids_of[code.lower()].add(article.id)
                first.setdefault(code.lower(), article)
    return [Issue(first[code].path, first[code].line_of("error_codes"), "warning",
                  f"error code `{code}` is listed by {len(ids)} articles ("
                  + ", ".join(sorted(ids)) + f"); qualify it (e.g. `TURN {code}`) or keep it in "
                  f"at most {MAX_SHARED_CODE}, so an exact code still names one article")
            for code, ids in sorted(ids_of.items()) if len(ids) > MAX_SHARED_CODE]


def lint_links(articles: Sequence[Article], pages: Sequence[Article]) -> list[Issue]:
    """Every link to `<id>.<lang>.md` names an existing article or page."""
    known = {(a.id, a.lang) for a in (*articles, *pages)}
    issues = []
    for article in (*articles, *pages):
        for link in article.links:
            target = article_link(link.target)
            if target and target not in known:
                issues.append(Issue(article.path, link.line, "error",
                                    f"link to `{link.target}`: no article or page with id "
                                    f"`{target[0]}` in `{target[1]}`"))
    return issues


def lint_platforms(articles: Sequence[Article], newest: dict[str, int]) -> list[Issue]:
    """Warn when an article's `platforms_checked` stamp is older than the newest versions."""
    issues = []
    for article in articles:
        stale = [f"{p} {v} < {newest[p]}" for p, v in article.platforms_checked.items()
                 if p in newest and v < newest[p]]
        if stale:
            issues.append(Issue(article.path, article.line_of("platforms_checked"), "warning",
                                "platform facts checked against older versions ("
                                + ", ".join(stale) + "); recheck them and update the stamp"))
        elif not article.platforms_checked and article.kind == "article":
            issues.append(Issue(article.path, 1, "warning",
                                "no `platforms_checked:` stamp (e.g. {android: 16, ios: 26})"))
    return issues


def lint_terms(articles: Sequence[Article], terms: Sequence[tuple[str, str]]) -> list[Issue]:
    """Warn on words the terms list replaces (regex `avoid` → `use`)."""
    issues = []
    for article in articles:
        for section in article.sections:
            for offset, line in enumerate(section.markdown.splitlines(), start=1):
                for avoid, use in terms:
                    if re.search(avoid, line):
                        issues.append(Issue(article.path, section.line + 1 + offset, "warning",
                                            f"term `{avoid}`: write `{use}` (articles/terms.yaml)"))
    return issues


def lint_glossary(path: Path) -> list[Issue]:
    """The glossary's own problems (a missing file is fine: the glossary is optional)."""
    if not path.is_file():
        return []
    try:
        load_glossary(path)
    except GlossaryError as exc:
        return [Issue(exc.source, exc.line, "error", exc.problem)]
    return []


def normalise_phrase(text: str) -> str:
    """Lower-case, width-folded, punctuation- and space-free form for comparing phrasings."""
    folded = unicodedata.normalize("NFKC", text).lower()
    return "".join(ch for ch in folded if ch.isalnum())


def _symptom_collisions(articles: Iterable[Article]) -> list[Issue]:
    owners: dict[str, Article] = {}
    issues = []
    for article in articles:
        for symptom in article.symptoms:
            key = normalise_phrase(symptom)
            first = owners.setdefault(key, article)
            if first.id != article.id:
                issues.append(Issue(article.path, article.line_of("symptoms"), "warning",
                                    f"symptom `{symptom}` is also listed by {first.path}; "
                                    "a phrasing should point to one article"))
    return issues


def near_duplicates(articles: Sequence[Article], vectors: np.ndarray,
                    threshold: float = NEAR_DUPLICATE_THRESHOLD) -> list[Issue]:
    """Warn about pairs of different articles in one language whose embeddings nearly match.

    `vectors[i]` is the normalised embedding of `articles[i]`, so the inner product is the
    cosine similarity.
    """
    import numpy as np

    issues = []
    similarity = vectors @ vectors.T
    for i, j in zip(*np.triu_indices(len(articles), k=1), strict=True):
        a, b = articles[i], articles[j]
        if a.lang == b.lang and a.id != b.id and similarity[i, j] >= threshold:
            issues.append(Issue(b.path, 1, "warning",
                                f"near-duplicate of {a.path} (similarity "
                                f"{similarity[i, j]:.2f} >= {threshold}); merge them or make "
                                "each one scenario-specific"))
    return issues


def article_fingerprint_text(article: Article) -> str:
    """The text whose embedding represents an article for the near-duplicate check."""
    parts = [article.title, *article.symptoms]
    for key in ("symptoms", "causes", "fix"):
        section = article.section(key)
        if section:
            parts.append(section.text)
    return "\n".join(parts)


def lint_all(corpus: Corpus, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS,
             file_exists: Callable[[Path], bool] = Path.exists) -> list[Issue]:
    """Parse issues, per-article checks and corpus checks, sorted by file and line."""
    issues = list(corpus.issues)
    for article in corpus.articles:
        issues.extend(lint_article(article, today, max_age_days, file_exists))
    issues.extend(lint_corpus(corpus.articles))
    issues.extend(lint_links(corpus.articles, corpus.pages))
    root = Path(corpus.root)
    issues.extend(lint_platforms(corpus.articles, _newest_platforms(root / "platforms.yaml")))
    issues.extend(lint_terms(corpus.articles, _terms(root / "terms.yaml")))
    return sorted(set(issues))


def _newest_platforms(path: Path) -> dict[str, int]:
    import yaml

    if not path.is_file():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    return {str(k): int(v) for k, v in (data.get("newest") or {}).items()}


def _terms(path: Path) -> list[tuple[str, str]]:
    import yaml

    if not path.is_file():
        return []
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    return [(str(t["avoid"]), str(t["use"])) for t in data]


def usable_articles(corpus: Corpus, today: dt.date, max_age_days: int = DEFAULT_MAX_AGE_DAYS,
                    ) -> tuple[list[Article], list[Issue]]:
    """Articles fit to index, and the errors that made the others unfit.

    An article is left out when its own file has an error (front matter, sections, links) or
    when it repeats an (id, lang) already taken; a missing translation does not hide the
    version that exists.
    """
    reasons = [i for i in corpus.issues if i.severity == "error"]
    for article in corpus.articles:
        reasons.extend(i for i in lint_article(article, today, max_age_days)
                       if i.severity == "error")
    broken = {issue.path for issue in reasons}
    usable: list[Article] = []
    taken: dict[tuple[str, str], str] = {}
    for article in corpus.articles:
        key = (article.id, article.lang)
        if article.path in broken:
            continue
        if key in taken:
            reasons.append(_duplicate(article, taken[key]))
            continue
        taken[key] = article.path
        usable.append(article)
    return usable, sorted(set(reasons))
