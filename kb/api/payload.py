"""JSON bodies of the API: a search answer with its match strength and guidance, an article
with each section as Markdown and as safe HTML."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any
from urllib.parse import quote, urlencode

from markdown_it import MarkdownIt

from kb.content.articles import SECTION_KEYS, Article
from kb.retrieval.search import Hit, SearchResponse
from kb.service.messages import NO_MATCH_GUIDANCE, note_text
from kb.settings import Settings

DEFAULT_APP_URL = "http://localhost:8501"
MAYBE_COUNT = 3
_MD_LINK = re.compile(r"^(?:.*/)?([a-z0-9][a-z0-9-]*)\.(en|zh)\.md(#.*)?$")


def app_url(settings: Settings, article_id: str, lang: str) -> str:
    """The article's page in the Streamlit app (KB_PUBLIC_URL, else the default local app)."""
    base = (settings.public_url or DEFAULT_APP_URL).rstrip("/")
    return f"{base}/?{urlencode({'article': article_id, 'lang': lang})}"


def match_strength(response: SearchResponse, settings: Settings) -> str:
    """`strong`, `fair` or `weak`: the engine's own when it has one, else from the confidence
    and the best chunk's similarity against the calibrated threshold."""
    explicit = getattr(response, "match", None)
    if explicit:
        return str(explicit)
    if not response.confident or not response.results:
        return "weak"
    top = response.results[0]
    return "strong" if top.exact or top.similarity >= settings.confidence_threshold else "fair"


def _hit(hit: Hit, settings: Settings) -> dict[str, Any]:
    return {**hit.to_json(), "url": app_url(settings, hit.id, hit.lang)}


def search_payload(response: SearchResponse, search_id: int | None,
                   settings: Settings) -> dict[str, Any]:
    """`kb search --json`'s contract plus `search_id`, `match`, `lang`, app links, note
    sentences, and, when not confident, `guidance` and `maybe`."""
    data = response.to_json()
    data["results"] = [_hit(hit, settings) for hit in response.results]
    data.update(search_id=search_id, match=match_strength(response, settings), lang=response.lang)
    if response.notes:
        data["note_text"] = [note_text(note, response.lang) for note in response.notes]
    if response.clarify:
        data["clarify"] = [_hit(hit, settings) for hit in response.clarify]
    if not response.confident:
        data["guidance"] = NO_MATCH_GUIDANCE[response.lang]
        data["maybe"] = [{"id": h.id, "title": h.title, "problem": h.problem,
                          "url": app_url(settings, h.id, h.lang)}
                         for h in response.results[:MAYBE_COUNT]]
    return data


def _renderer(settings: Settings) -> MarkdownIt:
    # Raw HTML off: `<script>` in an article is shown as text. markdown-it also refuses
    # javascript:/vbscript:/data: link targets.
    md = MarkdownIt("commonmark", {"html": False}).enable("table")
    def link_open(renderer: Any, tokens: list, idx: int, options: Any, env: Any) -> str:
        token = tokens[idx]
        found = _MD_LINK.match(str(token.attrGet("href") or ""))
        if found:  # another article: open it in the app
            token.attrSet("href", app_url(settings, found.group(1), found.group(2)))
        return renderer.renderToken(tokens, idx, options, env)

    md.add_render_rule("link_open", link_open)
    return md


def article_payload(article: Article, settings: Settings) -> dict[str, Any]:
    """Front matter fields, then each section as Markdown and as safe HTML, and the app URL."""
    md = _renderer(settings)
    fields: dict[str, Any] = {}
    for name in ("id", "lang", "title", "problem", "scenarios", "severity", "symptoms",
                 "platforms", "last_reviewed", "owner", "error_codes", "metrics", "references"):
        value = getattr(article, name, None)
        if isinstance(value, dt.date):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = list(value)
        fields[name] = value
    order = {key: n for n, key in enumerate(SECTION_KEYS)}
    sections = sorted(article.sections, key=lambda s: order.get(s.key, len(order)))
    fields["sections"] = [{"key": s.key, "heading": s.heading, "markdown": s.markdown,
                           "html": md.render(s.markdown)} for s in sections]
    fields["url"] = app_url(settings, article.id, article.lang)
    fields["api_url"] = f"/v1/articles/{quote(article.id)}?lang={article.lang}"
    return fields
