"""Streamlit app: symptom search for support staff and customers, and a writers' view.

Run with `make run` (or `streamlit run app.py` after `kb build`). This file only wires widgets to
the `kb` package; search, logging and escalation logic live there.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from kb.content.articles import SECTION_HEADINGS, load_corpus
from kb.content.coverage import cell_mark, coverage
from kb.content.taxonomy import PLATFORMS, PROBLEMS, SCENARIOS, label
from kb.errors import KbError
from kb.retrieval.search import Hit, Searcher, SearchResponse
from kb.service.messages import EXAMPLES, LABELS, NO_MATCH_GUIDANCE, SITUATIONS, note_text
from kb.service.render import describe, ticket_text
from kb.service.searchlog import SearchLog
from kb.service.support import Readiness, escalation, readiness, share_query
from kb.settings import Settings, load_settings

st.set_page_config(page_title="RTC troubleshooting", page_icon="🎧", layout="wide")

LANG_CHOICES = {"auto": "Auto (query language)", "en": "English", "zh": "中文"}


@st.cache_resource(show_spinner="Loading the index and models…")
def load_searcher(settings: Settings) -> Searcher:
    searcher = Searcher.load(settings)
    searcher.warm_up()
    return searcher


@st.cache_resource
def load_log(settings: Settings) -> SearchLog | None:
    return SearchLog(settings.db_path) if settings.log_searches else None


@st.cache_data(ttl=30)
def index_status(settings: Settings) -> Readiness:
    # Hashes every article file to spot a stale index: once per 30 s, not on every click.
    return readiness(settings)


@st.cache_data(ttl=60)
def load_articles(settings: Settings):  # noqa: ANN201
    return load_corpus(settings.articles_dir).articles


def first_visit_from_url() -> None:
    """Fill the widgets from the link's query parameters, once per session."""
    if st.session_state.get("from_url"):
        return
    params = st.query_params
    st.session_state.update(
        from_url=True,
        q=params.get("q", ""),
        scenario=params.get("scenario") if params.get("scenario") in SCENARIOS else None,
        platform=params.get("platform") if params.get("platform") in PLATFORMS else None,
        lang=params.get("lang") if params.get("lang") in LANG_CHOICES else "auto",
    )


def set_query(text: str) -> None:
    st.session_state.q = text


def show_hit_article(searcher: Searcher, hit: Hit) -> None:
    article = searcher.version(hit.id, hit.lang)
    headings = SECTION_HEADINGS[article.lang]
    st.subheader(article.title)
    st.caption(describe(article, article.lang))
    for key in ("fix", "verify"):
        section = article.section(key)
        if section:
            st.markdown(f"**{headings[key]}**")
            st.markdown(section.markdown)
    with st.expander(LABELS[article.lang]["full"] + ": " + " / ".join(
            headings[k] for k in ("symptoms", "causes", "escalate"))):
        for key in ("symptoms", "causes", "escalate"):
            section = article.section(key)
            if section:
                st.markdown(f"**{headings[key]}**")
                st.markdown(section.markdown)
        st.caption(f"{article.path} · owner {article.owner} · reviewed {article.last_reviewed}")


def show_candidates(hits: tuple[Hit, ...], heading: str) -> None:
    if not hits:
        return
    st.markdown(f"**{heading}**")
    for hit in hits:
        with st.container(border=True):
            st.markdown(f"**{hit.title}**")
            st.caption(f"{describe(hit, hit.lang)} · score {hit.score:.2f} · `{hit.id}`")


def escalation_helper(lang: str) -> None:
    st.markdown("**Escalation helper / 升级助手**")
    situation = st.radio("What is happening?", list(SITUATIONS), index=None, key="situation",
                         format_func=lambda key: SITUATIONS[key][lang])
    if situation:
        advice = escalation(situation, lang)
        st.error(f"{advice.severity}: {advice.meaning} — first response: "
                 f"{advice.response_target}")
        heading = "Collect before filing:" if lang == "en" else "提交前请收集："
        st.markdown(heading)
        st.markdown("\n".join(f"- {item}" for item in advice.checklist))
        st.code("\n".join([f"{advice.severity} ({advice.response_target}): {advice.meaning}",
                           heading, *(f"- [ ] {item}" for item in advice.checklist)]),
                language=None, wrap_lines=True)


def feedback_form(log: SearchLog | None, search_id: int | None, article_id: str | None) -> None:
    if log is None or search_id is None:
        return
    if st.session_state.get("feedback_for") == search_id:
        st.success("Thanks for the feedback. / 感谢反馈。")
        return
    with st.form(f"feedback-{search_id}"):
        verdict = st.radio("Was this answer helpful? / 这个回答有帮助吗？",
                           ["helpful", "not helpful"], index=None, horizontal=True)
        comment = st.text_input("Comment (optional) / 备注（可选）")
        if st.form_submit_button("Send feedback"):
            if verdict is None:
                st.warning("Pick helpful or not helpful first.")
            else:
                log.record_feedback(search_id, verdict == "helpful", comment, article_id)
                st.session_state.feedback_for = search_id
                st.rerun()


def log_once(log: SearchLog | None, response: SearchResponse, scenario: str | None,
             platform: str | None) -> int | None:
    """Log a search the first time it is shown, not on every rerun of the page."""
    if log is None or not response.query:
        return None
    key = (response.query, scenario, platform, response.lang)
    if st.session_state.get("logged_key") != key:
        top = response.results[0] if response.results else None
        st.session_state.logged_key = key
        st.session_state.search_id = log.log_search(
            response.query, response.lang, top.id if top else None,
            top.score if top else None, response.confident, scenario, platform)
    return st.session_state.search_id


def search_page(settings: Settings) -> None:
    first_visit_from_url()
    st.title("RTC troubleshooting search / 音视频问题排查")
    status = index_status(settings)
    if not status.ok:
        st.error(status.message)
        st.stop()
    if status.message:
        st.warning(status.message)

    st.text_input("Describe the symptom in your own words / 用自己的话描述现象", key="q",
                  max_chars=2000, placeholder=EXAMPLES["en"][0])
    st.caption("Examples / 示例")
    for examples in (EXAMPLES["en"], EXAMPLES["zh"]):
        for column, example in zip(st.columns(len(examples)), examples, strict=True):
            column.button(example, on_click=set_query, args=(example,), use_container_width=True)
    scenario_col, platform_col, lang_col = st.columns(3)
    scenario = scenario_col.selectbox(
        "Scenario / 场景", list(SCENARIOS), index=None, key="scenario",
        placeholder="All scenarios", format_func=lambda k: f"{label(SCENARIOS, k, 'en')} · "
        f"{label(SCENARIOS, k, 'zh')}")
    platform = platform_col.selectbox("Platform / 平台", list(PLATFORMS), index=None,
                                      key="platform", placeholder="All platforms",
                                      format_func=PLATFORMS.get)
    lang_choice = lang_col.radio("Answer language / 回答语言", list(LANG_CHOICES), key="lang",
                                 horizontal=True, format_func=LANG_CHOICES.get)
    answer_lang = None if lang_choice == "auto" else lang_choice

    # Load before the first query arrives, so the first answer does not wait for the model.
    searcher = load_searcher(settings)
    query = st.session_state.q
    st.query_params.from_dict({k: v for k, v in {
        "q": query, "scenario": scenario, "platform": platform, "lang": answer_lang}.items()
        if v})
    if not query:
        st.info("Type a symptom or click an example above. / 输入现象或点击上面的示例。")
        return

    response = searcher.search(query, top_k=5, scenario=scenario, platform=platform,
                               lang=answer_lang)
    for note in response.notes:
        st.info(note_text(note, response.lang))
    if not response.results:
        return
    log = load_log(settings)
    search_id = log_once(log, response, scenario, platform)
    words = LABELS[response.lang]

    if not response.confident:
        st.warning(NO_MATCH_GUIDANCE[response.lang])
        show_candidates(response.results, words["maybe"])
        escalation_helper(response.lang)
        feedback_form(log, search_id, None)
        return

    top = response.results[0]
    if response.clarify:
        choices = {hit.id: hit for hit in response.clarify}

        def choice_label(article_id: str) -> str:
            hit = choices[article_id]
            return f"{label(PROBLEMS, hit.problem, response.lang)} — {hit.title}"

        picked = st.radio(words["clarify"], list(choices), index=None,
                          key=f"clarify-{response.query}", format_func=choice_label)
        if picked is None:
            st.caption("Showing the best guess until you pick one. / 选择之前先显示最可能的答案。")
        else:
            top = choices[picked]

    show_hit_article(searcher, top)
    base = settings.public_url or (st.context.url or "").split("?")[0]
    link = base + share_query(query, scenario, platform, response.lang)
    st.markdown("**Copy for ticket / 复制到工单**")
    st.code(ticket_text(top, link), language=None, wrap_lines=True)
    feedback_form(log, search_id, top.id)
    show_candidates(tuple(h for h in response.results if h.id != top.id), words["others"])


def writers_page(settings: Settings) -> None:
    import pandas as pd

    st.title("Writers' view / 作者视图")
    articles = load_articles(settings)

    st.header("Coverage / 覆盖")
    cells = coverage(articles)
    by_key = {(c.scenario, c.problem): c for c in cells}
    table = pd.DataFrame([[cell_mark(by_key[(s, p)]) for s in SCENARIOS] for p in PROBLEMS],
                         index=list(PROBLEMS), columns=list(SCENARIOS))

    def colour(mark: str) -> str:
        if mark.endswith("!"):
            return "background-color: #f8d7da"
        return "background-color: #d1e7dd" if mark == "en+zh" else ""

    st.dataframe(table.style.map(colour), use_container_width=True,
                 height=38 * (len(PROBLEMS) + 1))
    gaps = [c for c in cells if c.gap]
    st.caption("en+zh = both languages · - = none · ! = required pair missing a language · "
               f"{len(gaps)} required pair(s) incomplete")

    st.header("What to write next / 待补充")
    log = load_log(settings)
    if log is None:
        st.info("Search logging is off (KB_LOG=0).")
    else:
        counts = log.counts()
        st.caption(f"{counts['searches']} searches · {counts['no_confident_match']} without a "
                   f"confident match · {counts['not_helpful']} marked not helpful")
        groups = log.gaps()
        if groups:
            st.dataframe(pd.DataFrame([{
                "query": g.query, "count": g.count, "why": g.reason,
                "similar wordings": " | ".join(g.variants), "comments": " | ".join(g.comments),
            } for g in groups]), use_container_width=True, hide_index=True)
        else:
            st.success("No unanswered or unhelpful searches yet.")

    st.header("Articles by review age / 按审阅时间")
    today = dt.date.today()
    st.dataframe(pd.DataFrame(sorted(({
        "days since review": (today - a.last_reviewed).days, "last_reviewed": a.last_reviewed,
        "id": a.id, "lang": a.lang, "owner": a.owner, "path": a.path,
        "stale": (today - a.last_reviewed).days > settings.max_age_days,
    } for a in articles), key=lambda row: -row["days since review"])),
        use_container_width=True, hide_index=True)


def main() -> None:
    try:
        settings = load_settings()
        view = st.sidebar.radio("View", ["Search", "Writers"], key="view",
                                index=1 if st.query_params.get("view") == "writers" else 0)
        if view == "Writers":
            writers_page(settings)
        else:
            search_page(settings)
    except KbError as exc:
        st.error(str(exc))


main()
