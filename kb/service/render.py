"""Plain-text views of articles and answers: the terminal and the "copy for ticket" text."""

from __future__ import annotations

import re

from kb.content.articles import SECTION_HEADINGS, SECTION_KEYS, Article
from kb.content.taxonomy import PROBLEMS, SCENARIOS, SEVERITIES, label
from kb.retrieval.search import Hit, SearchResponse
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


def ticket_text(hit: Hit, link: str = "") -> str:
    """The fix as plain text with the article's title and a link, ready to paste."""
    words = LABELS[hit.lang]
    lines = [hit.title, describe(hit, hit.lang), "", f"{words['fix']}:", plain(hit.fix), "",
             f"{words['source']}: {link or hit.path}"]
    return "\n".join(lines)


def show_response(response: SearchResponse) -> str:
    """A search answer for the terminal: the top fix in full, then the other candidates."""
    words = LABELS[response.lang]
    lines = [f"note: {note_text(note, response.lang)}" for note in response.notes]
    if not response.results:
        return "\n".join(lines or [words["no_match"]])
    if response.confident:
        top, rest = response.results[0], response.results[1:]
        lines += [f"{top.title}  [{top.id}, score {top.score:.2f}]", describe(top, top.lang),
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
        lines += [f"  {i}. {h.title}  [{h.id}, {h.problem}, {h.severity}, score {h.score:.2f}]"
                  for i, h in enumerate(rest, start=1)]
    return "\n".join(lines)
