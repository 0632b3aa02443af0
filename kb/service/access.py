"""Who may see the staff tools: the writers' view (every logged query and comment), feedback
export and the ticket helpers.

Two modes (`Settings.mode`): `staff` is for an internal address (the default `make run`, bound
to localhost), where everyone who can reach the app is staff; `public` is for customers, where
the staff tools open only for someone who types the staff token.
"""

from __future__ import annotations

import hmac

from kb.settings import Settings


def staff_token(settings: Settings, secrets_token: str = "") -> str:
    """The configured staff token: `KB_STAFF_TOKEN`, else Streamlit secrets' `staff_token`."""
    return settings.staff_token or secrets_token


def token_matches(offered: str, expected: str) -> bool:
    """True when a token was configured and `offered` equals it (constant-time comparison)."""
    if not expected or not offered:
        return False
    return hmac.compare_digest(offered.encode("utf-8"), expected.encode("utf-8"))


def is_staff(settings: Settings, offered: str = "", expected: str = "") -> bool:
    """Staff mode, or a public app whose visitor gave the right token."""
    return settings.mode == "staff" or token_matches(offered, expected)
