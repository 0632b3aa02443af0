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
NEAR_DUPLICATE_THRESHOLD = 0.95
"""Distinct articles on one problem in two scenarios reach 0.92 with `use`; copies score 0.99+."""
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")


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
            add(body_line, "error", f"missing required section `## {headings[key]}`")
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
        if not fix.text:
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

    for link in article.links:
        target = link.target.split("#", 1)[0]
        if not target or _SCHEME.match(target) or target.startswith("//"):
            continue
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
    return sorted(set(issues))


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
