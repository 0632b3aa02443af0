"""Diagnosis reads what customers paste and names the problem, the evidence and the Fix step.

Known answers live in tests/data/diagnose/cases.yaml: every artefact under
tests/data/diagnose/ (synthetic and real) with the reader it needs and the rules it must fire.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
import yaml
from conftest import DATA, REPO

from kb.cli import main
from kb.content.articles import load_corpus
from kb.diagnose import (
    INDICATORS,
    MAX_BYTES,
    Diagnosis,
    diagnose,
    diagnose_bytes,
    load_rules,
    read_bytes,
)
from kb.diagnose.lint import lint_diagnostics
from kb.diagnose.model import Observation
from kb.diagnose.rules import evaluate, parse_rules
from kb.errors import DiagnoseError
from kb.retrieval.search import SearchResponse
from kb.service.diagnosis import diagnose_ticket, render_findings

DIAG = DATA / "diagnose"
RULES_FILE = REPO / "articles" / "diagnostics.yaml"
RULES = load_rules(RULES_FILE)
CASES: dict[str, dict] = yaml.safe_load((DIAG / "cases.yaml").read_text("utf-8"))
SOURCES: dict[str, dict] = yaml.safe_load((DIAG / "real" / "sources.yaml").read_text("utf-8"))


def artefacts() -> list[str]:
    return sorted(str(p.relative_to(DIAG)) for p in DIAG.rglob("*")
                  if p.is_file() and p.suffix not in (".yaml", ".py"))


# --- known answers -------------------------------------------------------------------------

@pytest.mark.parametrize("name", sorted(CASES))
def test_artefact_gives_the_expected_findings(name: str) -> None:
    case = CASES[name]
    data = (DIAG / name).read_bytes()
    if "error" in case:
        with pytest.raises(DiagnoseError) as info:
            diagnose_bytes(data, RULES, name)
        for words in case["error"]:
            assert words in str(info.value)
        return
    result = diagnose_bytes(data, RULES, name)
    assert result.kind == case["kind"]
    assert sorted(f.rule for f in result.findings) == sorted(case["findings"])
    if "note" in case:
        assert any(case["note"] in note for note in result.notes)


def test_every_artefact_has_a_case_and_every_real_one_a_source() -> None:
    assert sorted(CASES) == artefacts()
    real = [name for name in CASES if name.startswith("real/")]
    assert len(real) >= 12
    assert sorted(name.removeprefix("real/") for name in real) == sorted(SOURCES)
    assert all(entry["source"].startswith("https://") for entry in SOURCES.values())


def test_findings_carry_evidence_threshold_fix_step_and_reference() -> None:
    result = diagnose_bytes((DIAG / "synthetic/internals-bad-network.json").read_bytes(), RULES)
    loss = next(f for f in result.findings if f.rule == "video-loss")
    assert loss.value == pytest.approx(7.98, abs=0.01)
    assert loss.where == "PeerConnection 1234-1 / IT01V1111 (video inbound)"
    assert loss.threshold == ">= 3"
    assert (loss.article, loss.step, loss.problem) == ("general-stutter", 3, "stutter")
    assert loss.reference.endswith("— rfc-editor.org")
    assert loss.confidence == "high" and loss.severity == "warning"


def test_log_findings_name_the_line() -> None:
    result = diagnose((DIAG / "synthetic/log-agora.txt").read_text("utf-8"), RULES)
    token = next(f for f in result.findings if f.rule == "agora-token")
    assert token.where == "line 3" and "onError: 110" in token.detail


def test_findings_are_ordered_most_severe_first() -> None:
    result = diagnose((DIAG / "synthetic/text-zh.txt").read_text("utf-8"), RULES)
    order = {"critical": 0, "warning": 1, "info": 2}
    assert [order[f.severity] for f in result.findings] == sorted(
        order[f.severity] for f in result.findings)
    assert result.findings[0].rule == "heavy-loss"


def test_stated_numbers_are_low_confidence() -> None:
    result = diagnose("RTT 800ms, packet loss 12%", RULES)
    assert result.kind == "text"
    assert {f.confidence for f in result.findings} == {"low"}


def test_problem_weights_rank_the_surest_most_severe_problem_highest() -> None:
    result = diagnose((DIAG / "synthetic/internals-ice-failed.json").read_text("utf-8"), RULES)
    assert result.problem_weights == {"connect-rate": 1.0}


def test_nothing_found_is_said_plainly() -> None:
    result = diagnose("The app crashes when I open settings.", RULES)
    assert result.kind == "unknown" and not result.findings
    assert render_findings(result, "en", searched=True).splitlines()[1] == (
        "No stats dump, getStats() report, SDK log line or measurement was recognised. "
        "Searching the ticket's words instead.")


def test_a_vendor_number_needs_the_vendor_named() -> None:
    assert not diagnose("onError: 110 while loading the map tiles", RULES).findings
    assert diagnose("agora onError: 110", RULES).findings[0].rule == "agora-token"


# --- bad and big input ---------------------------------------------------------------------

@pytest.mark.parametrize("data, message", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "looks like binary data"),
    (bytes(range(128, 256)) * 64, "not UTF-8 text"),
    (b'{"PeerConnections": {"1": {"stats": {"a-b": {"statsType": "inbound-rtp", "values": "[1',
     "input:1:"),
    (b'[{"type": "inbound-rtp", "id": "x", "packetsLost": }]', "malformed JSON"),
])
def test_bad_input_is_refused_with_what_and_where(data: bytes, message: str) -> None:
    with pytest.raises(DiagnoseError, match=message):
        diagnose_bytes(data, RULES, "input")


def test_a_file_over_the_cap_is_refused_unread_with_the_cap_named(tmp_path: Path) -> None:
    big = tmp_path / "dump.json"
    with big.open("wb") as handle:
        handle.truncate(100 * 1024 * 1024)  # sparse: 100 MB on paper, nothing written
    with pytest.raises(DiagnoseError, match="100 MB is over the 50 MB cap"):
        read_bytes(big)


def test_stdin_over_the_cap_is_refused() -> None:
    with pytest.raises(DiagnoseError, match="stdin: input is over the 50 MB cap"):
        read_bytes(None, io.BytesIO(b" " * (MAX_BYTES + 1)))


def test_a_truncated_dump_keeps_its_complete_series() -> None:
    result = diagnose((DIAG / "synthetic/internals-truncated.json").read_text("utf-8"), RULES)
    assert "truncated" in result.notes[0]
    assert "video-loss" in {f.rule for f in result.findings}


# --- rules file and lint -------------------------------------------------------------------

def test_the_rules_file_lints_clean_against_the_articles() -> None:
    corpus = load_corpus(REPO / "articles")
    assert lint_diagnostics(RULES_FILE, corpus) == []


def test_lint_names_unknown_indicator_article_step_and_missing_reference(tmp_path: Path) -> None:
    broken = tmp_path / "diagnostics.yaml"
    broken.write_text("""version: 1
rules:
  - {id: a, indicator: loss_percent, op: ">=", threshold: 3, problem: stutter,
     article: general-stutter, step: 2, severity: warning, reference: "RFC 3550 — rfc-editor.org"}
  - {id: b, indicator: loss_pct, op: ">=", threshold: 3, problem: stutter,
     article: no-such-article, step: 2, severity: warning, reference: "X — y.org"}
  - {id: c, indicator: loss_pct, op: ">=", threshold: 3, problem: stutter,
     article: general-stutter, step: 42, severity: warning, reference: "X — y.org"}
  - {id: d, indicator: loss_pct, op: ">=", threshold: 3, problem: stutter,
     article: general-stutter, step: 2, severity: warning, reference: ""}
  - {id: e, indicator: loss_pct, op: "~", threshold: 3, problem: stutter,
     article: general-stutter, step: 2, severity: warning, reference: "X — y.org"}
""", "utf-8")
    messages = [f"{i.line}: {i.message}" for i in
                lint_diagnostics(broken, load_corpus(REPO / "articles"))]
    assert messages[0] == "11: rule `e`: unknown op `~`; use one of >=, >, <=, <, ==, in"
    assert messages[1].startswith("3: rule `a`: unknown indicator `loss_percent`")
    assert messages[2] == "5: rule `b`: unknown article `no-such-article`"
    assert messages[3].startswith("7: rule `c`: article `general-stutter` has ")
    assert messages[3].endswith("Fix steps, not step 42")
    assert messages[4] == "9: rule `d`: missing reference (\"Page title — site\")"


def test_every_indicator_a_rule_names_is_one_the_readers_emit() -> None:
    rules, problems = parse_rules(RULES_FILE.read_text("utf-8"), str(RULES_FILE))
    assert not problems
    assert {r.indicator for r in rules} <= set(INDICATORS)


def test_a_rule_for_one_media_kind_ignores_the_other() -> None:
    seen = [Observation("loss_pct", 5.0, "x", "audio", "inbound", 30)]
    assert [f.rule for f in evaluate(seen, RULES)] == ["audio-loss"]


# --- CLI -----------------------------------------------------------------------------------

def run(args: list[str], capsys) -> tuple[int, str, str]:
    out = io.StringIO()
    code = main(args, out=out)
    return code, out.getvalue(), capsys.readouterr().err


def test_cli_prints_evidence_above_the_fix_step(capsys) -> None:
    code, out, _ = run(["diagnose", str(DIAG / "synthetic/internals-ice-failed.json")], capsys)
    assert code == 0
    assert out.splitlines()[0].startswith("Read as: Chrome webrtc-internals dump")
    assert "Seen: ice_failed = 1 at PeerConnection 9876-2" in out
    assert "Fix: general-connect-rate, step 3 — " in out
    assert out.index("Seen:") < out.index("Fix:")


def test_cli_json_and_stdin(capsys, monkeypatch) -> None:
    text = (DIAG / "synthetic/log-trtc.txt").read_bytes()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(text)))
    code, out, _ = run(["diagnose", "-", "--json"], capsys)
    data = json.loads(out)
    assert code == 0 and data["kind"] == "log"
    assert {"trtc-usersig", "trtc-mic"} <= {f["rule"] for f in data["findings"]}
    assert data["problems"]["connect-rate"] == 1.0


def test_cli_report_in_chinese(capsys) -> None:
    _, out, _ = run(["diagnose", str(DIAG / "synthetic/text-zh.txt"), "--lang", "zh"], capsys)
    assert out.startswith("识别为: 文字中的数值")
    assert "general-stutter 第 7 步" in out


@pytest.mark.parametrize("args, message", [
    (["diagnose", "/nonexistent/dump.json"], "/nonexistent/dump.json: cannot read"),
    (["diagnose", str(DIAG / "synthetic/malformed.json")], "malformed JSON"),
    (["diagnose", str(DIAG / "synthetic/internals-unknown-version.json")],
     "unsupported Chrome version"),
])
def test_cli_errors_are_messages_not_tracebacks(args: list[str], message: str, capsys) -> None:
    code, _, err = run(args, capsys)
    assert code == 2 and message in err and "Traceback" not in err


# --- service: a ticket with words and an artefact ------------------------------------------

class FakeSearcher:
    """Records what search was asked; accepts problem_prior like the real Searcher will."""

    def __init__(self, settings) -> None:
        self.settings = settings
        self.calls: list[tuple[str, dict]] = []

    def search(self, raw_query: str, *, top_k: int = 5, scenario=None, platform=None,
               lang=None, problem_prior=None) -> SearchResponse:
        self.calls.append((raw_query, {"problem_prior": problem_prior, "lang": lang,
                                       "scenario": scenario}))
        return SearchResponse(raw_query, False, (), lang or "en")


def test_ticket_search_gets_the_words_and_the_findings_problems_not_the_dump() -> None:
    from kb.settings import Settings

    dump = (DIAG / "synthetic/internals-ice-failed.json").read_text("utf-8")
    searcher = FakeSearcher(replace(Settings(), articles_dir=REPO / "articles"))
    ticket = diagnose_ticket(searcher, f"calls never connect from the office\n{dump}",
                             scenario="one-to-one")
    words, options = searcher.calls[0]
    assert "PeerConnections" not in words and words.startswith("calls never connect")
    assert "Connect rate" in words
    assert options["problem_prior"] == {"connect-rate": 1.0}
    assert options["scenario"] == "one-to-one"
    assert [f.rule for f in ticket.diagnosis.findings] == ["ice-failed", "no-succeeded-pair"]
    assert "PeerConnections" not in json.dumps(ticket.to_json()["words"])


def test_ticket_without_an_artefact_falls_back_to_its_words() -> None:
    from kb.settings import Settings

    searcher = FakeSearcher(replace(Settings(), articles_dir=REPO / "articles"))
    ticket = diagnose_ticket(searcher, "viewers hear an echo when I co-host")
    assert searcher.calls[0][0] == "viewers hear an echo when I co-host"
    assert searcher.calls[0][1]["problem_prior"] is None
    assert ticket.diagnosis.kind == "unknown"


def test_markdown_rendering_lists_evidence_under_each_finding() -> None:
    result: Diagnosis = diagnose((DIAG / "synthetic/log-ios.txt").read_text("utf-8"), RULES)
    text = render_findings(result, "en", markdown=True)
    assert "**Findings (2)**" in text
    assert "   - Seen: `ios_session_error = 1` at line 3" in text


def test_diagnose_imports_neither_retrieval_nor_service() -> None:
    code = ("import kb.diagnose, kb.diagnose.lint, sys; "
            "bad = [m for m in sys.modules if m.startswith(('kb.retrieval', 'kb.service'))]; "
            "assert not bad, bad")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)
