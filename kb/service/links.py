"""Links between articles as the app serves them.

Writers link to another article by its file name, `[text](<id>.<lang>.md)` (optionally with a
folder or a `#anchor`), so links also work on GitHub. The app shows articles at
`?article=<id>&lang=<lang>`; these pure functions translate one into the other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from urllib.parse import urlencode

from kb.content.articles import Article

# `](` then an optional folder path, `<id>.<lang>.md`, an optional anchor, then `)`.
_MD_LINK = re.compile(
    r"\]\((?:[^()\s]*/)?(?P<id>[a-z0-9]+(?:-[a-z0-9]+)*)\.(?P<lang>en|zh)\.md"
    r"(?P<anchor>#[^()\s]*)?\)")
_ANY_LINK = re.compile(r"(?<!!)\[(?P<text>[^\]]*)\]\((?P<target>[^()\s]*)\)")


def article_query(article_id: str, lang: str) -> str:
    """The query-string part of the link that opens an article in the app."""
    return "?" + urlencode({"article": article_id, "lang": lang})


def rewrite_links(markdown: str) -> str:
    """`markdown` with every `[text](<id>.<lang>.md#anchor)` pointing at the article's view in
    the app; other links are left as written."""
    return _MD_LINK.sub(
        lambda m: f"]({article_query(m['id'], m['lang'])}{m['anchor'] or ''})", markdown)


def linked_articles(markdown: str) -> tuple[tuple[str, str], ...]:
    """`(id, lang)` of every article or page the text links to, first mention first."""
    seen: dict[tuple[str, str], None] = {}
    for match in _MD_LINK.finditer(markdown):
        seen.setdefault((match["id"], match["lang"]), None)
    return tuple(seen)


def strip_links(markdown: str) -> str:
    """Links reduced to their text: `[the noise article](x.en.md)` → `the noise article`."""
    return _ANY_LINK.sub(lambda m: m["text"], markdown)


def find_article(articles: Iterable[Article], article_id: str, lang: str) -> Article | None:
    """The article or page `article_id` in `lang`, else in another language, else None."""
    versions = [a for a in articles if a.id == article_id]
    return next((a for a in versions if a.lang == lang), versions[0] if versions else None)
