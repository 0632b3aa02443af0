"""One frozen `Settings`: defaults, then `KB_*` environment variables, then CLI options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from kb.errors import ConfigError

# Chosen by measurement on real users' words (BENCHMARKS.md): multilingual-e5 alone, ranked by
# the learned model, is at least as good as e5 with USE, and faster; with its query side tuned
# on the train split (`kb tune`, models/e5-query.npz) it is better still, at the same speed.
DEFAULT_ENCODERS: tuple[str, ...] = ("e5t",)


@dataclass(frozen=True)
class Settings:
    """Where things live and how search behaves."""

    articles_dir: Path = Path("articles")
    """Folder of article Markdown files (KB_ARTICLES_DIR)."""
    index_dir: Path = Path(".kb-index")
    """Folder that holds the built index (KB_INDEX_DIR)."""
    glossary: Path | None = None
    """Glossary YAML; default `<articles_dir>/glossary.yaml` (KB_GLOSSARY)."""
    encoders: tuple[str, ...] = DEFAULT_ENCODERS
    """Encoder specs: `use`, `e5`, `e5t`, `minilm`, or `st:<path or name>` (KB_ENCODERS,
    comma-separated)."""
    threads: int = max(1, os.cpu_count() or 1)
    """CPU threads for the encoders; more than the cores only oversubscribes (KB_THREADS)."""
    confidence_threshold: float = 0.50
    """Best-chunk similarity that makes an answer confident on its own (KB_CONFIDENCE)."""
    supported_threshold: float = 0.38
    """Lower similarity that is confident when the query also uses glossary vocabulary
    (KB_SUPPORTED_CONFIDENCE). Both are calibrated for the `use` encoder in BENCHMARKS.md."""
    hnsw_threshold: int = 20_000
    """Chunk count above which vectors use an HNSW index instead of exact search."""
    max_age_days: int = 365
    """`kb lint` warns when `last_reviewed` is older than this (KB_MAX_AGE_DAYS)."""
    db_path: str = ".kb-data/kb.sqlite3"
    """Search log and feedback: a SQLite file, or a `postgresql://` URL shared by several
    servers (KB_DB)."""
    log_searches: bool = True
    """Record searches and feedback in `db_path` (KB_LOG=0 turns it off)."""
    model: str = "auto"
    """Learned ranker: `auto` (models/ranker-<encoders>.json when present), `none` (rank by
    fusion), or a model file path (KB_MODEL)."""
    public_url: str = ""
    """The app's address for links in tickets; default: the address the browser used
    (KB_PUBLIC_URL)."""
    admin_token: str = field(default="", repr=False)
    """Bearer token for the HTTP API's writers' exports; empty turns them off (KB_ADMIN_TOKEN)."""
    cors_origins: tuple[str, ...] = ()
    """Web origins allowed to call the HTTP API from a browser (KB_CORS_ORIGINS, comma-separated;
    none by default)."""
    rate_limit: str = "120/minute"
    """Requests per client address on the public HTTP endpoints, in `limits` notation such as
    `120/minute`; `off` turns it off (KB_RATE_LIMIT)."""
    mode: str = "public"
    """The app's audience: `public` (search and articles only; the writers' view needs the staff
    token) or `staff` (everything, for an internal address such as `make run` on localhost)
    (KB_MODE)."""
    staff_token: str = field(default="", repr=False)
    """Secret that unlocks the staff tools in a public app; empty keeps them locked. Streamlit
    secrets `staff_token` also works (KB_STAFF_TOKEN)."""

    @property
    def model_path(self) -> Path | None:
        """The ranker model file to use, or None to rank by fusion."""
        if self.model == "none":
            return None
        if self.model == "auto":
            return Path("models") / f"ranker-{'+'.join(self.encoders)}.json"
        return Path(self.model)

    @property
    def glossary_path(self) -> Path:
        """The glossary file actually used."""
        return self.glossary or self.articles_dir / "glossary.yaml"


_ENV = {
    "articles_dir": "KB_ARTICLES_DIR", "index_dir": "KB_INDEX_DIR", "glossary": "KB_GLOSSARY",
    "encoders": "KB_ENCODERS", "threads": "KB_THREADS", "confidence_threshold": "KB_CONFIDENCE",
    "supported_threshold": "KB_SUPPORTED_CONFIDENCE",
    "hnsw_threshold": "KB_HNSW_THRESHOLD", "max_age_days": "KB_MAX_AGE_DAYS", "db_path": "KB_DB",
    "log_searches": "KB_LOG", "public_url": "KB_PUBLIC_URL", "model": "KB_MODEL",
    "admin_token": "KB_ADMIN_TOKEN",
    "cors_origins": "KB_CORS_ORIGINS", "rate_limit": "KB_RATE_LIMIT",
    "mode": "KB_MODE", "staff_token": "KB_STAFF_TOKEN",
}


def _convert(name: str, raw: Any) -> Any:
    if raw is None:
        return None
    kind = {f.name: f.type for f in fields(Settings)}[name]
    try:
        if "tuple" in str(kind):
            values = raw if isinstance(raw, (list, tuple)) else str(raw).split(",")
            parts = tuple(v.strip() for v in values if v.strip())
            if not parts:
                raise ValueError("empty list")
            return parts
        if "Path" in str(kind):
            return Path(raw)
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            if str(raw).lower() in ("1", "true", "yes", "on"):
                return True
            if str(raw).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected 1/0, true/false, yes/no or on/off")
        if kind == "int":
            value = int(raw)
            if value < 1:
                raise ValueError("must be at least 1")
            return value
        if kind == "float":
            return float(raw)
        if name == "mode" and raw not in ("public", "staff"):
            raise ValueError("expected public or staff")
    except ValueError as exc:
        raise ConfigError(f"invalid value {raw!r} for {_ENV[name]} / {name}: {exc}") from exc
    return raw


def load_settings(overrides: Mapping[str, Any] | None = None,
                  environ: Mapping[str, str] | None = None) -> Settings:
    """Defaults, then `KB_*` variables from `environ`, then non-None `overrides`."""
    environ = os.environ if environ is None else environ
    values: dict[str, Any] = {}
    for name, variable in _ENV.items():
        if variable in environ and environ[variable] != "":
            values[name] = _convert(name, environ[variable])
    for name, raw in (overrides or {}).items():
        if raw is not None:
            values[name] = _convert(name, raw)
    return replace(Settings(), **values)
