"""The `Issue` record shared by article parsing and lint."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, order=True)
class Issue:
    """One problem found in an article, reported as `path:line: severity: message`."""

    path: str
    """The article file, as given to the loader (relative paths stay relative)."""
    line: int
    """1-based line of the offending field or heading; 0 when it concerns the whole file."""
    severity: Severity
    """`error` fails `kb lint` and makes `kb build` skip the article; `warning` does not."""
    message: str
    """What is wrong and what to do about it."""

    def __str__(self) -> str:
        return f"{self.path}:{self.line}: {self.severity}: {self.message}"


def has_errors(issues: list[Issue] | tuple[Issue, ...]) -> bool:
    """True when any issue is an error (warnings never fail)."""
    return any(issue.severity == "error" for issue in issues)
