"""Mask obvious personal data in text before it is stored: emails, phone numbers, IP addresses
and long digit runs (uids, channel ids, order numbers).

Queries and comments come from customers and agents who paste what they see; the writers' view
needs the wording of the symptom, not whose channel it was. Masking is deliberately simple and
errs towards masking: a placeholder keeps the query readable for writers.
"""

from __future__ import annotations

import re

EMAIL = "[email]"
PHONE = "[phone]"
IP = "[ip]"
NUMBER = "[number]"

LONG_DIGITS = 6
"""A run of this many digits or more is an id (uids, channel and room ids, order numbers).
Error codes are shorter, or signed like TRTC `-100018`, and are kept."""
PHONE_DIGITS = 9
"""Digits a separated number needs to count as a phone number (dates have 8)."""

_EMAIL = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+")
_IPV4 = re.compile(r"(?<![\d.])(?:\d{1,3}\.){3}\d{1,3}(?![\d.])")
_PHONE = re.compile(r"(?<![\w+])(\+)?\(?\d{1,4}\)?(?:[ .-]\(?\d{1,5}\)?){1,5}(?!\d)")
_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}\b")
_DIGITS = re.compile(rf"(-?)(\d{{{LONG_DIGITS},}})")


def _phone(match: re.Match[str]) -> str:
    if _DATE.match(match.group(0)):
        return match.group(0)
    digits = sum(ch.isdigit() for ch in match.group(0))
    international = match.group(1) == "+" and digits >= 7
    return PHONE if international or digits >= PHONE_DIGITS else match.group(0)


def _digits(match: re.Match[str]) -> str:
    sign, start = match.group(1), match.start()
    before = match.string[start - 1] if start > 0 else " "
    # A minus sign after a space or at the start is an error code (`-100018`); `uid-123456`
    # is an id.
    if sign and not before.isalnum():
        return match.group(0)
    return sign + NUMBER


def mask_personal_data(text: str) -> str:
    """`text` with emails, phone numbers, IPv4 addresses and long digit runs replaced by
    placeholders such as `[email]` and `[number]`."""
    text = _EMAIL.sub(EMAIL, text)
    text = _IPV4.sub(IP, text)
    text = _PHONE.sub(_phone, text)
    return _DIGITS.sub(_digits, text)
