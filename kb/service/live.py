"""A `Searcher` that follows the published build: the `current` symlink is checked (one
`readlink`) at most every few seconds, a new build is loaded in the background, and the swap is
one reference assignment, so a request sees one whole build or the other, never a mix."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable

from kb.errors import KbError
from kb.retrieval.index import CURRENT
from kb.retrieval.search import Searcher
from kb.settings import Settings

RELOAD_CHECK_SECONDS = 2.0


class LiveSearcher:
    """Hands out the searcher for the newest published build."""

    def __init__(self, settings: Settings, check_every: float = RELOAD_CHECK_SECONDS,
                 loader: Callable[[Settings], Searcher] = Searcher.load) -> None:
        self.settings = settings
        self.check_every = check_every
        self._loader = loader
        self._searcher: Searcher | None = None
        self._checked = 0.0
        self._lock = threading.Lock()
        self._loading = False
        self.last_error: str = ""
        """Why the newest build could not be loaded, if it could not."""

    def _published(self) -> str:
        try:
            return os.path.basename(os.readlink(self.settings.index_dir / CURRENT))
        except OSError:
            return ""

    def _load(self) -> Searcher:
        searcher = self._loader(self.settings)
        searcher.warm_up()
        return searcher

    def get(self) -> Searcher:
        """The current searcher; loads the first one, starts a background load of a newer one."""
        searcher = self._searcher
        if searcher is None:
            with self._lock:
                if self._searcher is None:
                    self._searcher = self._load()
                    self._checked = time.monotonic()
                return self._searcher
        now = time.monotonic()
        if now - self._checked >= self.check_every:
            self._checked = now
            published = self._published()
            if published and published != searcher.index.folder.name and not self._loading:
                self._loading = True
                threading.Thread(target=self._reload, name="kb-reload", daemon=True).start()
        return searcher

    def _reload(self) -> None:
        try:
            self._searcher = self._load()
            self.last_error = ""
        except KbError as exc:
            # Keep serving the build we have; the next check tries again.
            self.last_error = str(exc)
        finally:
            self._loading = False

    @property
    def loaded(self) -> Searcher | None:
        """The searcher if one is loaded, without loading or checking."""
        return self._searcher
