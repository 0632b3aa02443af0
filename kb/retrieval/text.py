"""Keyword tokens for Chinese and Latin scripts, with the glossary's concept tokens.

Han runs are segmented with jieba (search mode, so 连麦回声 yields 连麦 and 回声); Latin runs are
lower-cased, split into words and stemmed. Glossary terms found in a text add one shared concept
token, so 啸叫, howling and feedback all match each other in the keyword index.
"""

from __future__ import annotations

import re
from functools import lru_cache

from kb.content.glossary import Glossary, has_han, normalise

_RUNS = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+|[a-z0-9]+(?:['’][a-z]+)?")
CONCEPT_PREFIX = "~"
NO_GLOSSARY = Glossary()

EN_STOPWORDS = frozenset("""
a an the and or but if then so of to in on at by for with from as is are was were be been being
it its this that these those i me my we our you your he she they them their his her there here
do does did doing have has had having can could will would should may might must not no yes
just very too also only about into over under again when where which who whom what why how
all any some such than up down out off any each few more most other own same s t don now
please pls hi hello thanks thank help issue problem users user app our get got getting keep
keeps one two after before while during because via am im i'm it's
""".split())
ZH_STOPWORDS = frozenset("""
的 了 是 我 你 他 她 它 们 我们 你们 他们 在 有 和 就 都 也 很 还 吗 呢 吧 啊 呀 哦 嗯 怎么
怎么办 什么 这 那 这个 那个 一个 一下 一直 时候 的话 然后 但是 可以 没 会 要 能 说 让 被 把 给 跟
用 到 去 上 下 里 中 请问 谢谢 老是 总是 为什么 问题 用户 一些 现在 今天
""".split())


@lru_cache(maxsize=1)
def _stemmer():  # noqa: ANN202 - PyStemmer has no type hints
    import Stemmer

    return Stemmer.Stemmer("english")


@lru_cache(maxsize=4096)
def _stem(word: str) -> str:
    return _stemmer().stemWord(word)


@lru_cache(maxsize=8)
def _jieba(extra_words: tuple[str, ...]):  # noqa: ANN202
    import logging

    import jieba

    jieba.setLogLevel(logging.WARNING)
    for word in extra_words:
        jieba.add_word(word)
    jieba.initialize()
    return jieba


def tokens(text: str, glossary: Glossary = NO_GLOSSARY) -> list[str]:
    """Keyword tokens of `text`, plus a concept token for each glossary term it contains."""
    text = normalise(text)
    out: list[str] = []
    for run in _RUNS.findall(text):
        if has_han(run):
            segmenter = _jieba(glossary.han_words)
            out.extend(w for w in segmenter.lcut_for_search(run) if w not in ZH_STOPWORDS)
        elif run not in EN_STOPWORDS:
            out.append(_stem(run.replace("’", "'")))
    out.extend(CONCEPT_PREFIX + concept for concept in concepts_in(text, glossary))
    return out


def concepts_in(text: str, glossary: Glossary) -> list[str]:
    """Glossary concepts named in `text` (normalised), each once, in glossary order."""
    if not glossary.terms:
        return []
    pattern = glossary.latin_pattern
    named = {glossary.concept_of[t] for t in pattern.findall(text)} if pattern else set()
    named.update(glossary.concept_of[term] for term in glossary.han_words if term in text)
    return [concept for concept in glossary.concept_order if concept in named]
