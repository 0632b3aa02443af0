"""Read article files: YAML front matter and Markdown sections → `Article`.

Structure comes from markdown-it-py tokens (the front-matter token, heading and list tokens and
their source-line maps), never from regexes over the raw text. Every problem is collected as an
`Issue` with the file and line, so one broken article is reported, not fatal.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from markdown_it import MarkdownIt
from markdown_it.token import Token
from mdit_py_plugins.front_matter import front_matter_plugin

from kb.content.issues import Issue
from kb.content.taxonomy import (
    LANGS,
    PLATFORM_VERSIONS,
    PLATFORMS,
    PROBLEMS,
    SCENARIOS,
    SEVERITIES,
)
from kb.errors import ArticleError

SECTION_KEYS: tuple[str, ...] = ("triage", "symptoms", "causes", "fix", "verify", "escalate")
SECTION_HEADINGS: dict[str, dict[str, str]] = {
    "en": {"triage": "Quick triage", "symptoms": "Symptoms", "causes": "Causes", "fix": "Fix",
           "verify": "Verify", "escalate": "Escalate"},
    "zh": {"triage": "快速判断", "symptoms": "现象", "causes": "原因", "fix": "解决方法",
           "verify": "验证", "escalate": "升级"},
}
# Headings are matched case-insensitively in either language, with a few common variants.
_HEADING_ALIASES: dict[str, str] = {
    **{title.lower(): key for names in SECTION_HEADINGS.values() for key, title in names.items()},
    "standard fix": "fix", "solution": "fix", "解决方案": "fix", "处理方法": "fix",
    "escalation": "escalate", "升级处理": "escalate", "verification": "verify",
}

REQUIRED_FIELDS: tuple[str, ...] = (
    "id", "lang", "title", "problem", "scenarios", "severity", "symptoms", "platforms",
    "last_reviewed", "owner",
)
OPTIONAL_FIELDS: tuple[str, ...] = ("error_codes", "metrics", "references", "platforms_checked")
PAGE_FIELDS: tuple[str, ...] = ("id", "lang", "kind", "title", "last_reviewed", "owner")
"""A shared page (`kind: page`: policies, log collection) that articles link to; not indexed."""
MIN_SYMPTOMS = 6
ID_PATTERN = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
IGNORED_FILES = ("README.md",)
MAX_FILE_BYTES = 256 * 1024
"""Articles above this size are refused unread: a pasted log dump is not an article."""
MAX_LINE_CHARS = 4000
"""A longer line is a pasted blob, not prose."""


@dataclass(frozen=True)
class Link:
    """A link in an article body."""

    target: str
    """The link's href as written."""
    line: int
    """1-based line where the link appears."""


@dataclass(frozen=True)
class Section:
    """One recognised body section."""

    key: str
    """One of SECTION_KEYS."""
    heading: str
    """The heading as written."""
    line: int
    """1-based line of the heading."""
    markdown: str
    """The section's Markdown source, without the heading."""
    text: str
    """Plain text of the section (inline markup removed), for indexing."""
    steps: tuple[str, ...] = ()
    """Plain text of each top-level list item, in order (the numbered steps of a Fix)."""
    ordered: bool = False
    """True when the section holds a numbered list."""


@dataclass(frozen=True)
class Article:
    """One article in one language."""

    path: str
    """File the article was read from."""
    id: str
    """Shared by the translations of one article."""
    lang: str
    """`en` or `zh`."""
    title: str
    """One-line title."""
    problem: str
    """One problem key from the taxonomy."""
    scenarios: tuple[str, ...]
    """Scenario keys from the taxonomy."""
    severity: str
    """P0, P1 or P2: the usual severity when this happens to many users."""
    symptoms: tuple[str, ...]
    """Phrasings users actually type."""
    platforms: tuple[str, ...]
    """Platform keys the article applies to."""
    last_reviewed: dt.date
    """When a person last checked the content."""
    owner: str
    """Who keeps the article current."""
    error_codes: tuple[str, ...] = ()
    """SDK error or warning codes and log signatures that point to this problem; a code that
    several articles share is qualified by its source ("TURN 401", "Agora 110")."""
    metrics: tuple[str, ...] = ()
    """Stats and callback field names the article reads (keyword leg only, never exact)."""
    references: tuple[str, ...] = ()
    """Public pages the facts were checked against ("Page title — site")."""
    platforms_checked: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    """Platform versions the platform facts were checked against, e.g. {android: 16, ios: 26}."""
    kind: str = "article"
    """`article` (indexed) or `page` (a shared page articles link to)."""
    sections: tuple[Section, ...] = ()
    """Recognised body sections, in file order."""
    links: tuple[Link, ...] = ()
    """Links found in the body."""
    field_lines: dict[str, int] = field(default_factory=dict, compare=False, hash=False)
    """1-based line of each front-matter field, for messages."""

    def section(self, key: str) -> Section | None:
        """The section with this key, if the article has it."""
        return next((s for s in self.sections if s.key == key), None)

    def line_of(self, name: str) -> int:
        """Line of a front-matter field (1 when unknown: the front matter starts there)."""
        return self.field_lines.get(name, 1)


def _markdown() -> MarkdownIt:
    # Raw HTML off: article text is shown as text, never run.
    return MarkdownIt("commonmark", {"html": False}).use(front_matter_plugin)


def _inline_text(token: Token) -> str:
    parts = []
    for child in token.children or []:
        if child.type in ("text", "code_inline"):
            parts.append(child.content)
        elif child.type in ("softbreak", "hardbreak"):
            parts.append(" ")
    return "".join(parts)


def _field_lines(yaml_text: str, first_line: int) -> tuple[dict[str, int], list[tuple[str, int]]]:
    """Line of each top-level key, and keys that appear twice (YAML would keep the last)."""
    lines: dict[str, int] = {}
    duplicates: list[tuple[str, int]] = []
    try:
        node = yaml.compose(yaml_text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        return lines, duplicates
    if isinstance(node, yaml.MappingNode):
        for key_node, _ in node.value:
            name = str(key_node.value)
            line = first_line + key_node.start_mark.line
            if name in lines:
                duplicates.append((name, line))
            lines[name] = line
    return lines, duplicates


class _Fields:
    """Validates front-matter values one field at a time, collecting issues."""

    def __init__(self, path: str, data: dict[str, Any], lines: dict[str, int]) -> None:
        self.path, self.data, self.lines = path, data, lines
        self.issues: list[Issue] = []

    def error(self, name: str, message: str) -> None:
        self.issues.append(Issue(self.path, self.lines.get(name, 1), "error", message))

    def text(self, name: str) -> str:
        value = self.data.get(name)
        if not isinstance(value, str) or not value.strip():
            self.error(name, f"field `{name}` must be a non-empty string")
            return ""
        return value.strip()

    def choice(self, name: str, allowed: dict[str, Any] | tuple[str, ...], what: str) -> str:
        value = self.data.get(name)
        if value not in allowed:
            self.error(name, f"unknown {what} `{value}` in `{name}`; expected one of: "
                       + ", ".join(allowed))
            return ""
        return str(value)

    def strings(self, name: str, allowed: dict[str, Any] | None = None, what: str = "",
                required: bool = True) -> tuple[str, ...]:
        value = self.data.get(name, None if required else [])
        if value is None and not required:
            value = []
        if not isinstance(value, list) or (required and not value):
            self.error(name, f"field `{name}` must be a non-empty list")
            return ()
        items = []
        for item in value:
            # YAML reads codes such as 401 or 1006 as numbers; they are identifiers here.
            if isinstance(item, (int, float)) and not isinstance(item, bool):
                item = str(item)
            if not isinstance(item, str) or not item.strip():
                self.error(name, f"every entry of `{name}` must be a non-empty string, "
                           f"got {item!r}")
                continue
            if allowed is not None and item not in allowed:
                self.error(name, f"unknown {what} `{item}` in `{name}`; expected any of: "
                           + ", ".join(allowed))
                continue
            items.append(item.strip())
        return tuple(items)

    def versions(self, name: str) -> dict[str, int]:
        value = self.data.get(name) or {}
        if not isinstance(value, dict) or not all(
                k in PLATFORM_VERSIONS and isinstance(v, int) for k, v in value.items()):
            self.error(name, f"`{name}` must map platforms ({', '.join(PLATFORM_VERSIONS)}) "
                       "to major versions, e.g. {android: 16, ios: 26, chrome: 142}")
            return {}
        return dict(value)

    def date(self, name: str) -> dt.date:
        value = self.data.get(name)
        if isinstance(value, dt.datetime):
            return value.date()
        if isinstance(value, dt.date):
            return value
        try:
            return dt.date.fromisoformat(str(value))
        except ValueError:
            self.error(name, f"field `{name}` must be a date written YYYY-MM-DD, got {value!r}")
            return dt.date.min


def _sections(tokens: list[Token], lines: list[str], path: str, free: bool = False) -> tuple[
        list[Section], list[Issue]]:
    """Split the body at level-2 headings and recognise the standard sections (`free`: a
    page, whose sections are keyed by their heading)."""
    issues: list[Issue] = []
    headings = [
        (i, tok) for i, tok in enumerate(tokens)
        if tok.type == "heading_open" and tok.tag in ("h1", "h2") and tok.map
    ]
    sections: list[Section] = []
    for n, (i, tok) in enumerate(headings):
        title = tokens[i + 1].content.strip()
        line = tok.map[0] + 1
        if tok.tag == "h1":
            continue
        key = slug(title) if free else _HEADING_ALIASES.get(title.lower())
        if key is None:
            issues.append(Issue(path, line, "warning",
                                f"unknown section `## {title}`; standard sections are "
                                + ", ".join(SECTION_HEADINGS["en"].values()) + " / "
                                + "、".join(SECTION_HEADINGS["zh"].values())))
            continue
        end_index = headings[n + 1][0] if n + 1 < len(headings) else len(tokens)
        body = tokens[i + 3:end_index]
        start_line = tok.map[1]
        end_line = headings[n + 1][1].map[0] if n + 1 < len(headings) else len(lines)
        sections.append(Section(
            key=key, heading=title, line=line,
            markdown="".join(lines[start_line:end_line]).strip(),
            text=" ".join(_inline_text(t) for t in body if t.type == "inline").strip(),
            steps=_top_level_items(body),
            ordered=any(t.type == "ordered_list_open" for t in body),
        ))
    return sections, issues


def slug(heading: str) -> str:
    """A heading's anchor: lower case, words joined by dashes (Chinese kept)."""
    return "-".join(re.findall(r"[\w]+", heading.lower()))


def _top_level_items(body: list[Token]) -> tuple[str, ...]:
    """Plain text of each item of the section's outermost lists."""
    items: list[str] = []
    depth = 0
    current: list[str] | None = None
    for tok in body:
        if tok.type == "list_item_open":
            depth += 1
            if depth == 1:
                current = []
        elif tok.type == "list_item_close":
            depth -= 1
            if depth == 0 and current is not None:
                items.append(" ".join(current).strip())
                current = None
        elif tok.type == "inline" and current is not None:
            current.append(_inline_text(tok))
    return tuple(items)


def _links(tokens: list[Token]) -> list[Link]:
    links = []
    for tok in tokens:
        if tok.type != "inline" or not tok.map:
            continue
        for child in tok.children or []:
            if child.type == "link_open":
                links.append(Link(str(child.attrGet("href") or ""), tok.map[0] + 1))
    return links


def parse_article(path: str, text: str) -> tuple[Article | None, list[Issue]]:
    """Parse one article's text. Returns the article (None if unusable) and every issue found."""
    if not text.strip():
        return None, [Issue(path, 0, "error", "file is empty; write front matter and sections "
                            "(see articles/TEMPLATE.md) or delete it")]
    tokens = _markdown().parse(text)
    front = tokens[0] if tokens and tokens[0].type == "front_matter" else None
    if front is None:
        return None, [Issue(path, 1, "error", "missing front matter: the file must start with a "
                            "`---` line, YAML fields, and a closing `---` line")]
    first_field_line = front.map[0] + 2 if front.map else 2
    try:
        data = yaml.safe_load(front.content)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = first_field_line + mark.line if mark else 1
        reason = getattr(exc, "problem", None) or str(exc)
        return None, [Issue(path, line, "error", f"invalid YAML in front matter: {reason}")]
    if not isinstance(data, dict):
        return None, [Issue(path, 1, "error", "front matter must be a YAML mapping of fields")]

    lines, duplicates = _field_lines(front.content, first_field_line)
    fields = _Fields(path, data, lines)
    is_page = data.get("kind") == "page"
    required = PAGE_FIELDS if is_page else REQUIRED_FIELDS
    allowed = required + (("references",) if is_page else OPTIONAL_FIELDS)
    for name, line in duplicates:
        fields.issues.append(Issue(path, line, "error", f"field `{name}` appears twice"))
    for name in required:
        if name not in data:
            fields.issues.append(Issue(path, 1, "error", f"missing required field `{name}`"))
    for name in data:
        if name not in allowed:
            fields.error(str(name), f"unknown field `{name}`; allowed fields: "
                         + ", ".join(allowed))
    if any(issue.message.startswith("missing required") for issue in fields.issues):
        return None, fields.issues

    article_id = fields.text("id")
    if article_id and not ID_PATTERN.match(article_id):
        fields.error("id", f"id `{article_id}` must be lowercase letters, digits and dashes")
    source_lines = text.splitlines(keepends=True)
    sections, section_issues = _sections(tokens, source_lines, path, free=is_page)
    if is_page:
        return Article(
            path=path, id=article_id, lang=fields.choice("lang", LANGS, "language"),
            title=fields.text("title"), problem="", scenarios=(), severity="", symptoms=(),
            platforms=(), last_reviewed=fields.date("last_reviewed"), owner=fields.text("owner"),
            references=fields.strings("references", required=False), kind="page",
            sections=tuple(sections), links=tuple(_links(tokens)), field_lines=lines,
        ), fields.issues + section_issues
    article = Article(
        path=path,
        id=article_id,
        lang=fields.choice("lang", LANGS, "language"),
        title=fields.text("title"),
        problem=fields.choice("problem", PROBLEMS, "problem key"),
        scenarios=fields.strings("scenarios", SCENARIOS, "scenario key"),
        severity=fields.choice("severity", SEVERITIES, "severity"),
        symptoms=fields.strings("symptoms"),
        platforms=fields.strings("platforms", PLATFORMS, "platform"),
        last_reviewed=fields.date("last_reviewed"),
        owner=fields.text("owner"),
        error_codes=fields.strings("error_codes", required=False),
        metrics=fields.strings("metrics", required=False),
        references=fields.strings("references", required=False),
        platforms_checked=fields.versions("platforms_checked"),
        sections=tuple(sections),
        links=tuple(_links(tokens)),
        field_lines=lines,
    )
    return article, fields.issues + section_issues


def read_article(path: Path, display_path: str | None = None) -> tuple[Article | None, list[Issue]]:
    """Read and parse one article file; unreadable or non-UTF-8 files become issues."""
    name = display_path or str(path)
    try:
        size = path.stat().st_size
        if size > MAX_FILE_BYTES:
            return None, [Issue(name, 1, "error", f"file is {size // 1024} KB, over the "
                                f"{MAX_FILE_BYTES // 1024} KB limit for an article; move logs "
                                "and dumps out of the articles folder")]
        raw = path.read_bytes()
    except OSError as exc:
        return None, [Issue(name, 0, "error", f"cannot read file: {exc.strerror}")]
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        return None, [Issue(name, line, "error",
                            f"file is not valid UTF-8 (byte {exc.start}); save it as UTF-8")]
    for number, line in enumerate(text.splitlines(), start=1):
        if len(line) > MAX_LINE_CHARS:
            return None, [Issue(name, number, "error", f"line is {len(line)} characters long, "
                                f"over the {MAX_LINE_CHARS} limit; wrap prose, move blobs out")]
    return parse_article(name, text)


def article_files(root: Path) -> list[Path]:
    """Article files under `root`: every `*.md` except templates and READMEs, sorted."""
    if root.is_file():
        return [root]
    return sorted(
        p for p in root.rglob("*.md")
        if not p.name.startswith("TEMPLATE") and p.name not in IGNORED_FILES
        and not any(part.startswith(".") for part in p.relative_to(root).parts)
    )


@dataclass(frozen=True)
class Corpus:
    """Every article that parsed, and every issue found while reading."""

    articles: tuple[Article, ...]
    """Parsed articles (some may still have lint errors)."""
    issues: tuple[Issue, ...]
    """Parse issues, in file order."""
    root: str
    """The folder that was read."""
    pages: tuple[Article, ...] = ()
    """Shared pages (`kind: page`) the articles link to."""


def load_corpus(root: Path) -> Corpus:
    """Read every article file under `root`, never stopping at a broken one."""
    if not root.exists():
        raise ArticleError(f"{root}: no such folder; pass the articles folder, e.g. `articles/`")
    articles: list[Article] = []
    pages: list[Article] = []
    issues: list[Issue] = []
    for path in article_files(root):
        article, found = read_article(path)
        issues.extend(found)
        if article is not None:
            (pages if article.kind == "page" else articles).append(article)
    return Corpus(tuple(articles), tuple(issues), str(root), tuple(pages))


def article_to_dict(article: Article) -> dict[str, Any]:
    """JSON-ready form of an article (dates as ISO strings)."""
    from dataclasses import asdict

    data = asdict(article)
    data["last_reviewed"] = article.last_reviewed.isoformat()
    return data


def article_from_dict(data: dict[str, Any]) -> Article:
    """Inverse of `article_to_dict`."""
    return Article(
        **{
            **data,
            "scenarios": tuple(data["scenarios"]),
            "symptoms": tuple(data["symptoms"]),
            "platforms": tuple(data["platforms"]),
            "error_codes": tuple(data["error_codes"]),
            "metrics": tuple(data.get("metrics", ())),
            "references": tuple(data.get("references", ())),
            "last_reviewed": dt.date.fromisoformat(data["last_reviewed"]),
            "sections": tuple(Section(**{**s, "steps": tuple(s["steps"])})
                              for s in data["sections"]),
            "links": tuple(Link(**link) for link in data["links"]),
        }
    )
