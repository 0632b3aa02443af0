"""`kb new`: a new article pair with valid front matter and empty sections."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from kb.content.articles import ID_PATTERN, SECTION_HEADINGS, SECTION_KEYS
from kb.content.taxonomy import PROBLEMS, SCENARIOS
from kb.errors import ConfigError

PLACEHOLDER_TITLE_PREFIXES = ("TODO", "待填写")
_PLACEHOLDER_SYMPTOMS = {
    "en": ["(how a customer would say it)", "(how an end user would say it)"],
    "zh": ["（客户会怎么说）", "（终端用户会怎么说）"],
}


_SKELETON = {
    "en": {
        "fix": "\n### SDK mapping\n\n| Knob | Agora RTC 4.x | TRTC | Web (WebRTC) |\n"
               "| --- | --- | --- | --- |\n",
        "verify": "\n- **Customer check:** \n",
        "escalate": "\n- **Confirm before escalating:** \n"
                    "- [How to collect SDK logs](collect-logs.en.md)\n",
    },
    "zh": {
        "fix": "\n### SDK 对照\n\n| Knob | Agora RTC 4.x | TRTC | Web (WebRTC) |\n"
               "| --- | --- | --- | --- |\n",
        "verify": "\n- **客户可查：** \n",
        "escalate": "\n- **升级前确认：** \n- [如何收集 SDK 日志](collect-logs.zh.md)\n",
    },
}
"""What every article needs in these sections (lint asks for them), ready to fill."""


def is_placeholder(article_title: str, symptom: str = "") -> bool:
    """True for text `kb new` wrote that the writer has not replaced yet."""
    return article_title.startswith(PLACEHOLDER_TITLE_PREFIXES) or any(
        symptom in phrases for phrases in _PLACEHOLDER_SYMPTOMS.values())


def article_text(article_id: str, lang: str, problem: str, scenario: str, title: str,
                 owner: str, today: dt.date) -> str:
    """Front matter and empty standard sections for one language."""
    symptoms = "\n".join(f"  - \"{s}\"" for s in _PLACEHOLDER_SYMPTOMS[lang])
    headings = "\n\n".join(f"## {SECTION_HEADINGS[lang][key]}\n{_SKELETON[lang].get(key, '')}"
                             for key in SECTION_KEYS)
    return (
        "---\n"
        f"id: {article_id}\n"
        f"lang: {lang}\n"
        f"title: \"{title}\"\n"
        f"problem: {problem}\n"
        f"scenarios: [{scenario}]\n"
        "severity: P2\n"
        f"symptoms:\n{symptoms}\n"
        "platforms: [android, ios, web, windows, macos]\n"
        "error_codes: []\n"
        "references: []\n"
        "platforms_checked: {android: 16, ios: 26, chrome: 142}\n"
        f"last_reviewed: {today.isoformat()}\n"
        f"owner: {owner}\n"
        "---\n\n"
        f"{headings}"
    )


def new_article(root: Path, article_id: str, scenario: str, problem: str, owner: str,
                today: dt.date, title_en: str = "", title_zh: str = "") -> list[Path]:
    """Write `<root>/<scenario>/<id>.en.md` and `.zh.md`; never overwrites."""
    if scenario not in SCENARIOS:
        raise ConfigError(f"unknown scenario `{scenario}`; expected one of: "
                          + ", ".join(SCENARIOS))
    if problem not in PROBLEMS:
        raise ConfigError(f"unknown problem `{problem}`; expected one of: " + ", ".join(PROBLEMS))
    if not ID_PATTERN.match(article_id):
        raise ConfigError(f"id `{article_id}` must be lowercase letters, digits and dashes")
    folder = root / scenario
    paths = [folder / f"{article_id}.{lang}.md" for lang in ("en", "zh")]
    existing = [p for p in paths if p.exists()]
    if existing:
        raise ConfigError(f"{existing[0]} already exists; pick another id or edit that file")
    folder.mkdir(parents=True, exist_ok=True)
    en_prefix, zh_prefix = PLACEHOLDER_TITLE_PREFIXES
    scenario_zh, problem_zh = SCENARIOS[scenario]["zh"], PROBLEMS[problem]["zh"]
    titles = {"en": title_en or f"{en_prefix}: {problem} in {scenario}",
              "zh": title_zh or f"{zh_prefix}：{scenario_zh}{problem_zh}"}
    for path, lang in zip(paths, ("en", "zh"), strict=True):
        path.write_text(article_text(article_id, lang, problem, scenario, titles[lang], owner,
                                     today), encoding="utf-8")
    return paths
