"""The library's exceptions: raised, never printed; the CLI and the app turn them into messages."""


class KbError(Exception):
    """Base class: the message says what went wrong, where, and what to do."""


class ArticleError(KbError):
    """An article file cannot be read or parsed."""


class IndexMissingError(KbError):
    """No index exists where one was expected."""


class IndexMismatchError(KbError):
    """The index on disk was built with another format, encoder or corpus."""


class ConfigError(KbError):
    """A setting or option has an invalid value."""


class GlossaryError(ConfigError):
    """The glossary file is malformed."""

    def __init__(self, source: str, line: int, problem: str) -> None:
        super().__init__(f"{source}:{line}: {problem}")
        self.source, self.line, self.problem = source, line, problem


class BuildError(KbError):
    """`kb build --strict` found errors in the articles."""


class DiagnoseError(KbError):
    """A pasted or attached artefact cannot be read (malformed, binary, too big, unknown)."""
