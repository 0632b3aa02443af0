"""Plain-text views of articles and answers: the terminal and the "copy for ticket" text."""

from __future__ import annotations

import re
from collections.abc import Mapping

from kb.content.articles import SECTION_HEADINGS, SECTION_KEYS, Article, Section
from kb.content.taxonomy import LANGS, PROBLEMS, SCENARIOS, SEVERITIES, label
from kb.retrieval.search import Hit, SearchResponse
from kb.service.links import article_query, linked_articles, strip_links
from kb.service.messages import LABELS, NO_MATCH_GUIDANCE, note_text

_EMPHASIS = re.compile(r"(\*\*|__|`)")


def plain(markdown: str) -> str:
    """Markdown with emphasis and code marks removed: readable pasted into any ticket."""
    return _EMPHASIS.sub("", markdown).strip()


def describe(article: Article | Hit, lang: str) -> str:
    """`problem · scenarios · severity` in the display language."""
    scenarios = ", ".join(label(SCENARIOS, s, lang) for s in article.scenarios)
    return (f"{label(PROBLEMS, article.problem, lang)} · {scenarios} · {article.severity} "
            f"({label(SEVERITIES, article.severity, 'response_' + lang)})")


FIRST_SECTIONS: tuple[str, ...] = ("triage", "fix", "verify")
"""What an agent acts on comes first in the app's article view."""


def view_sections(article: Article) -> tuple[Section, ...]:
    """Quick triage, Fix and Verify (those present), then every other section in file order."""
    first = [section for key in FIRST_SECTIONS if (section := article.section(key))]
    return (*first, *(s for s in article.sections if s.key not in FIRST_SECTIONS))


def section_heading(article: Article, section: Section) -> str:
    """A standard section's heading in the article's language; a page's own heading."""
    if article.kind == "page":
        return section.heading
    return SECTION_HEADINGS[article.lang].get(section.key, section.heading)


def coverage_style(mark: str) -> str:
    """CSS for one coverage cell (`cell_mark`): gaps stand out, covered cells stay plain."""
    if mark.endswith("!"):
        return "background-color: #f8d7da"  # a required pair missing a language
    if mark in LANGS:
        return "background-color: #fff3cd"  # one language only
    return ""


def show_article(article: Article) -> str:
    """The whole article for a terminal preview."""
    words = LABELS[article.lang]
    lines = [article.title, "=" * min(len(article.title) * 2, 78),
             describe(article, article.lang),
             f"{words['platforms']}: {', '.join(article.platforms)}",
             f"{words['owner']}: {article.owner} · {words['reviewed']}: {article.last_reviewed}"]
    if article.error_codes:
        lines.append(f"{words['codes']}: {', '.join(article.error_codes)}")
    lines.append("")
    headings = SECTION_HEADINGS[article.lang]
    for key in SECTION_KEYS:
        section = article.section(key)
        if section:
            lines += [headings[key], "-" * 20, plain(section.markdown), ""]
    lines.append(f"({article.path})")
    return "\n".join(lines)


def ticket_text(article: Article, base_url: str, search_link: str = "",
                titles: Mapping[str, str] | None = None) -> str:
    """The fix as plain text for a ticket: title, numbered steps, then `Title — URL` lines for
    the article, every article or page its fix links to, and the search. No Markdown."""
    words = LABELS[article.lang]
    fix = article.section("fix")
    if fix is not None and fix.steps:
        steps = [f"{n}. {' '.join(step.split())}" for n, step in enumerate(fix.steps, start=1)]
    else:
        steps = [plain(strip_links(fix.markdown))] if fix is not None else []
    lines = [article.title, describe(article, article.lang), "", f"{words['fix']}:", *steps, "",
             f"{article.title} — {base_url}{article_query(article.id, article.lang)}"]
    for linked_id, lang in linked_articles(fix.markdown if fix is not None else ""):
        title = (titles or {}).get(linked_id, linked_id)
        lines.append(f"{title} — {base_url}{article_query(linked_id, lang)}")
    if search_link:
        lines.append(f"{words['this_search']} — {search_link}")
    return "\n".join(lines)


def show_response(response: SearchResponse) -> str:
    """A search answer for the terminal: the top fix in full, then the other candidates."""
    words = LABELS[response.lang]
    lines = [f"note: {note_text(note, response.lang)}" for note in response.notes]
    if not response.results:
        return "\n".join(lines or [words["no_match"]])
    if response.confident:
        top, rest = response.results[0], response.results[1:]
        # Match strength, not the fused score: a score means nothing to an agent (`--json`
        # keeps it for tools).
        lines += [f"{top.title}  [{top.id}, {words['match']}: {words[response.match]}]",
                  describe(top, top.lang),
                  "", plain(top.fix), "", f"({top.path})"]
        if response.clarify:
            lines += ["", words["clarify"]]
            lines += [f"  - {label(PROBLEMS, h.problem, h.lang)}: {h.title}"
                      for h in response.clarify]
        heading = words["others"]
    else:
        lines.append(NO_MATCH_GUIDANCE[response.lang])
        rest, heading = list(response.results), words["maybe"]
    if rest:
        lines += ["", f"{heading}:"]
        lines += [f"  {i}. {h.title}  [{h.id}, {h.problem}, {h.severity}]"
                  for i, h in enumerate(rest, start=1)]
    return "\n".join(lines)
