"""Streamlit app: symptom search and articles for support staff and customers, and (staff only)
the writers' view.

Run with `make run` (staff mode on localhost) or `KB_MODE=public streamlit run app.py` for
customers. This file only wires widgets to the `kb` package; search, logging, access, rendering
and every sentence live there.
"""

from __future__ import annotations

import datetime as dt

import streamlit as st

from kb.content.articles import Article, Corpus, load_corpus
from kb.content.coverage import cell_mark, coverage
from kb.content.taxonomy import PLATFORMS, PROBLEMS, SCENARIOS, label
from kb.diagnose import Rule, load_rules, rules_path
from kb.diagnose.detect import decode
from kb.errors import KbError
from kb.retrieval.index import Manifest
from kb.retrieval.search import Hit, Searcher, SearchResponse
from kb.service.access import is_staff, staff_token, token_matches
from kb.service.diagnosis import diagnose_ticket, fix_step_lookup, render_findings
from kb.service.links import article_query, find_article, rewrite_links
from kb.service.live import LiveSearcher
from kb.service.messages import (
    EMPTY_QUERY,
    EXAMPLES,
    LABELS,
    NO_MATCH_GUIDANCE,
    SITUATIONS,
    note_text,
    ui,
)
from kb.service.render import (
    coverage_style,
    describe,
    section_heading,
    ticket_text,
    view_sections,
)
from kb.service.searchlog import SearchLog
from kb.service.support import (
    Readiness,
    escalation,
    freshness,
    published_build,
    readiness,
    share_query,
)
from kb.settings import Settings, load_settings

st.set_page_config(page_title=ui("title"), page_icon="🎧", layout="wide")

LANG_CHOICES = {"auto": ui("auto_lang"), "en": "English", "zh": "中文"}


@st.cache_resource(show_spinner=False)
def live_searcher(settings: Settings) -> LiveSearcher:
    # One per process; it follows each newly published build without a restart.
    return LiveSearcher(settings)


@st.cache_resource
def load_log(settings: Settings) -> SearchLog | None:
    return SearchLog(settings.db_path) if settings.log_searches else None


@st.cache_data(ttl=30, show_spinner=False)
def index_ready(settings: Settings) -> Readiness:
    return readiness(settings)


@st.cache_data(ttl=30, show_spinner=False)
def index_freshness(settings: Settings, _serving: Manifest, serving_build: str, published: str,
                    reload_error: str) -> Readiness:
    # Hashes every article file: once per 30 s per build, not on every click.
    return freshness(settings, _serving, serving_build, published, reload_error)


@st.cache_data(ttl=60, show_spinner=False)
def load_articles(settings: Settings) -> Corpus:
    return load_corpus(settings.articles_dir)


def searcher_now(settings: Settings) -> Searcher:
    """The searcher for the newest published build, with an honest banner about its age."""
    status = index_ready(settings)
    if not status.ok:
        st.error(status.message)
        st.stop()
    live = live_searcher(settings)
    if live.loaded is None:
        with st.spinner(ui("loading")):
            searcher = live.get()
    else:
        searcher = live.get()
    banner = index_freshness(settings, searcher.index.manifest, searcher.index.folder.name,
                             published_build(settings), live.last_error)
    if banner.message:
        st.warning(banner.message)
    return searcher


def all_articles(settings: Settings, searcher: Searcher) -> list[Article]:
    """What the app can open: the articles it answers from, then the files (pages, and
    articles the index skipped)."""
    corpus = load_articles(settings)
    return [*searcher.index.articles.values(), *corpus.pages, *corpus.articles]


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
        url_pick=params.get("pick"),
    )


def submit() -> None:
    # Only a query the user commits (Enter, an example) is a new search; reruns, filter and
    # language changes and reopened links are not, so the log counts what people asked.
    st.session_state.update(submitted=True, url_pick=None)


def set_query(text: str) -> None:
    st.session_state.q = text
    submit()


def article_link(article_id: str, lang: str, text: str) -> str:
    return f"[{text}]({article_query(article_id, lang)})"


def show_sections(article: Article, keys: tuple[str, ...] | None = None) -> None:
    for section in view_sections(article):
        if keys is None or section.key in keys:
            st.markdown(f"**{section_heading(article, section)}**")
            st.markdown(rewrite_links(section.markdown))


def show_answer(article: Article, match: str) -> None:
    words = LABELS[article.lang]
    st.subheader(article.title)
    st.caption(f"{words['match']}: {words[match]} · {describe(article, article.lang)}")
    show_sections(article, ("triage", "fix", "verify"))
    rest = [s for s in view_sections(article) if s.key not in ("triage", "fix", "verify")]
    if rest:
        with st.expander(words["more"] + ": " + " / ".join(
                section_heading(article, s) for s in rest)):
            show_sections(article, tuple(s.key for s in rest))
    st.markdown(article_link(article.id, article.lang, words["open"] + " ↗"))


def show_candidates(hits: tuple[Hit, ...], heading: str) -> None:
    if not hits:
        return
    st.markdown(f"**{heading}**")
    for hit in hits:
        with st.container(border=True):
            st.markdown(f"**{article_link(hit.id, hit.lang, hit.title)}**")
            st.caption(describe(hit, hit.lang))


def escalation_helper(lang: str) -> None:
    st.markdown(f"**{ui('escalation')}**")
    situation = st.radio(ui("situation", lang), list(SITUATIONS), index=None, key="situation",
                         format_func=lambda key: SITUATIONS[key][lang])
    if situation:
        advice = escalation(situation, lang)
        st.error(f"{advice.severity}: {advice.meaning} — {ui('first_response', lang)}: "
                 f"{advice.response_target}")
        heading = ui("collect", lang)
        st.markdown(heading)
        st.markdown("\n".join(f"- {item}" for item in advice.checklist))
        st.code("\n".join([f"{advice.severity} ({advice.response_target}): {advice.meaning}",
                           heading, *(f"- [ ] {item}" for item in advice.checklist)]),
                language=None, wrap_lines=True)


def log_search(log: SearchLog, response: SearchResponse, scenario: str | None,
               platform: str | None) -> int:
    top = response.results[0] if response.results else None
    search_id = log.log_search(response.query, response.lang, top.id if top else None,
                               top.score if top else None, response.confident, scenario,
                               platform)
    st.session_state.update(search_id=search_id, logged_query=response.query)
    return search_id


def feedback_form(log: SearchLog | None, response: SearchResponse, scenario: str | None,
                  platform: str | None, article_id: str | None) -> None:
    if log is None:
        return
    logged = st.session_state.get("logged_query") == response.query
    search_id = st.session_state.get("search_id") if logged else None
    if search_id is not None and st.session_state.get("feedback_for") == search_id:
        st.success(ui("thanks"))
        return
    with st.form(f"feedback-{response.query}"):
        verdict = st.radio(ui("helpful_q"), ["helpful", "not helpful"], index=None,
                           horizontal=True, format_func=lambda v: ui(v.replace(" ", "_")))
        comment = st.text_input(ui("comment"))
        if st.form_submit_button(ui("send")):
            if verdict is None:
                st.warning(ui("pick_verdict"))
                return
            if search_id is None:
                # A reopened link was not logged as a search; feedback on it needs its row.
                search_id = log_search(log, response, scenario, platform)
            log.record_feedback(search_id, verdict == "helpful", comment, article_id)
            st.session_state.feedback_for = search_id
            st.rerun()


@st.cache_resource
def load_rules_once(settings: Settings) -> tuple[Rule, ...]:
    path = rules_path(settings.articles_dir)
    return tuple(load_rules(path)) if path.exists() else ()


def read_artefact(pasted: str, upload) -> str | None:  # noqa: ANN001 - Streamlit's UploadedFile
    """The pasted or uploaded artefact ("" when none); None after showing why it was refused."""
    if upload is None:
        return pasted.strip()
    try:
        return decode(upload.getvalue(), upload.name)
    except KbError as exc:
        st.error(str(exc))
        return None


def search_page(settings: Settings, staff: bool) -> None:
    first_visit_from_url()
    st.title(ui("title"))
    searcher = searcher_now(settings)

    st.text_input(ui("query"), key="q", max_chars=2000, placeholder=EXAMPLES["en"][0],
                  on_change=submit)
    st.caption(ui("examples"))
    for examples in (EXAMPLES["en"], EXAMPLES["zh"]):
        for column, example in zip(st.columns(len(examples)), examples, strict=True):
            column.button(example, on_click=set_query, args=(example,), width="stretch")
    scenario_col, platform_col, lang_col = st.columns(3)
    scenario = scenario_col.selectbox(
        ui("scenario"), list(SCENARIOS), index=None, key="scenario",
        placeholder=ui("all_scenarios"), format_func=lambda k: f"{label(SCENARIOS, k, 'en')} · "
        f"{label(SCENARIOS, k, 'zh')}")
    platform = platform_col.selectbox(ui("platform"), list(PLATFORMS), index=None,
                                      key="platform", placeholder=ui("all_platforms"),
                                      format_func=PLATFORMS.get)
    lang_choice = lang_col.radio(ui("answer_lang"), list(LANG_CHOICES), key="lang",
                                 horizontal=True, format_func=LANG_CHOICES.get)
    answer_lang = None if lang_choice == "auto" else lang_choice

    with st.expander(ui("artefact")):
        pasted = st.text_area(ui("artefact"), key="artefact", height=120,
                              label_visibility="collapsed")
        upload = st.file_uploader(ui("artefact_file"), key="artefact_file")

    query = st.session_state.q
    url = {"q": query, "scenario": scenario, "platform": platform, "lang": answer_lang}
    st.query_params.from_dict({k: v for k, v in url.items() if v})
    artefact = read_artefact(pasted, upload)
    if artefact is None:
        return
    if not query and not artefact:
        st.info(ui("start"))
        return
    if not (query.strip() or artefact):
        st.info(f"{EMPTY_QUERY['en']}\n\n{EMPTY_QUERY['zh']}")
        return

    if artefact:
        # The artefact is read here and dropped: only the words and findings go further.
        ticket = diagnose_ticket(searcher, f"{query}\n{artefact}", lang=answer_lang,
                                 scenario=scenario, platform=platform, rules=load_rules_once(
                                     settings))
        response = ticket.response
        step = fix_step_lookup(all_articles(settings, searcher))
        with st.container(border=True):
            st.markdown(f"**{ui('evidence')}**")
            st.markdown(render_findings(ticket.diagnosis, response.lang, markdown=True,
                                        step_text=step,
                                        searched=not ticket.diagnosis.findings))
    else:
        response = searcher.search(query, top_k=5, scenario=scenario, platform=platform,
                                   lang=answer_lang)
    for note in response.notes:
        st.info(note_text(note, response.lang))
    submitted = st.session_state.pop("submitted", False)
    if not response.results:
        return
    log = load_log(settings)
    if submitted and log is not None:
        log_search(log, response, scenario, platform)
    words = LABELS[response.lang]

    if not response.confident:
        st.warning(NO_MATCH_GUIDANCE[response.lang])
        show_candidates(response.results, f"{words['maybe']} ({words['match']}: "
                                          f"{words['weak']})")
        if staff:
            escalation_helper(response.lang)
        feedback_form(log, response, scenario, platform, None)
        return

    top = response.results[0]
    picked = None
    if response.clarify:
        choices = {hit.id: hit for hit in response.clarify}

        def choice_label(article_id: str) -> str:
            hit = choices[article_id]
            return f"{label(PROBLEMS, hit.problem, response.lang)} — {hit.title}"

        from_link = st.session_state.get("url_pick")
        picked = st.radio(words["clarify"], list(choices), key=f"clarify-{response.query}",
                          index=list(choices).index(from_link) if from_link in choices else None,
                          format_func=choice_label)
        if picked is None:
            st.caption(ui("best_guess"))
        else:
            top = choices[picked]
            st.query_params["pick"] = picked

    article = searcher.version(top.id, top.lang)
    show_answer(article, response.match)
    if staff:
        base = settings.public_url or (st.context.url or "").split("?")[0]
        titles = {a.id: a.title for a in all_articles(settings, searcher)
                  if a.lang == article.lang}
        link = base + share_query(query, scenario, platform, response.lang, picked)
        st.markdown(f"**{ui('ticket')}**")
        st.code(ticket_text(article, base, link, titles), language=None, wrap_lines=True)
    feedback_form(log, response, scenario, platform, top.id)
    show_candidates(tuple(h for h in response.results if h.id != top.id), words["others"])


def set_article_lang(lang: str) -> None:
    st.query_params["lang"] = lang


def back_to_search() -> None:
    st.query_params.clear()


def article_page(settings: Settings, article_id: str, lang: str) -> None:
    """One article or shared page: Quick triage, Fix, Verify, then the rest."""
    searcher = searcher_now(settings)
    st.button(ui("back"), on_click=back_to_search)
    article = find_article(all_articles(settings, searcher), article_id, lang)
    if article is None:
        st.warning(ui("no_article", None, id=article_id))
        return
    words = LABELS[article.lang]
    st.title(article.title)
    if article.kind != "page":
        st.caption(describe(article, article.lang))
    other = "zh" if article.lang == "en" else "en"
    if find_article(all_articles(settings, searcher), article_id, other) not in (None, article):
        st.button("中文" if other == "zh" else "English", on_click=set_article_lang,
                  args=(other,))
    show_sections(article)
    st.caption(f"{article.path} · {words['owner']}: {article.owner} · {words['reviewed']}: "
               f"{article.last_reviewed}")


def writers_page(settings: Settings) -> None:
    import pandas as pd

    st.title(ui("writers_view"))
    articles = load_articles(settings).articles

    st.header(ui("coverage"))
    cells = coverage(articles)
    by_key = {(c.scenario, c.problem): c for c in cells}
    table = pd.DataFrame([[cell_mark(by_key[(s, p)]) for s in SCENARIOS] for p in PROBLEMS],
                         index=list(PROBLEMS), columns=list(SCENARIOS))
    st.dataframe(table.style.map(coverage_style), width="stretch",
                 height=38 * (len(PROBLEMS) + 1))
    st.caption(ui("coverage_legend", None, gaps=sum(c.gap for c in cells)))

    st.header(ui("write_next"))
    log = load_log(settings)
    if log is None:
        st.info(ui("log_off"))
    else:
        st.caption(ui("log_counts", None, **log.counts()))
        groups = log.gaps()
        if groups:
            st.dataframe(pd.DataFrame([{
                "query": g.query, "count": g.count, "why": g.reason,
                "similar wordings": " | ".join(g.variants), "comments": " | ".join(g.comments),
            } for g in groups]), width="stretch", hide_index=True)
        else:
            st.success(ui("no_gaps"))

    st.header(ui("review_age"))
    today = dt.date.today()
    st.dataframe(pd.DataFrame(sorted(({
        "days since review": (today - a.last_reviewed).days, "last_reviewed": a.last_reviewed,
        "id": a.id, "lang": a.lang, "owner": a.owner, "path": a.path,
        "stale": (today - a.last_reviewed).days > settings.max_age_days,
    } for a in articles), key=lambda row: -row["days since review"])),
        width="stretch", hide_index=True)


def secrets_token() -> str:
    # Streamlit secrets are optional: probe first, so a missing secrets.toml is not an error.
    if not st.secrets.load_if_toml_exists():
        return ""
    return str(st.secrets.get("staff_token", ""))


def staff_sidebar(settings: Settings) -> bool:
    """Staff mode, or the staff token typed in the sidebar of a public app."""
    if settings.mode == "staff":
        return True
    expected = staff_token(settings, secrets_token())
    if not expected:
        return False  # no token configured: the staff tools do not exist here
    offered = st.sidebar.text_input(ui("staff_token"), type="password", key="staff_token",
                                    help=ui("staff_help"))
    if offered and not token_matches(offered, expected):
        st.sidebar.error(ui("wrong_token"))
    return is_staff(settings, offered, expected)


def main() -> None:
    try:
        settings = load_settings()
        staff = staff_sidebar(settings)
        view = "search"
        if staff:
            view = st.sidebar.radio(ui("view"), ["search", "writers"], key="view",
                                    format_func=lambda v: ui(f"{v}_view"),
                                    on_change=back_to_search,
                                    index=1 if st.query_params.get("view") == "writers" else 0)
        article_id = st.query_params.get("article")
        if article_id:
            article_page(settings, article_id, st.query_params.get("lang", "en"))
        elif view == "writers":
            writers_page(settings)
        else:
            search_page(settings, staff)
    except KbError as exc:
        st.error(str(exc))


main()
