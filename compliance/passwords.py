"""The password policy, the same for every role (a super administrator's most of all).

A password must be at least ``MIN_PASSWORD_CHARS`` characters, must not contain the
account's name, must use at least ``MIN_DISTINCT_CHARS`` different characters, and must
not be a common password: neither an entry of the bundled list (``common-passwords.txt``,
its source and licence in its header) nor such an entry with only digits or symbols
around it (``password2024!``). The check runs on create and on every change.
"""

from __future__ import annotations

import string
from functools import lru_cache
from pathlib import Path

from core.errors import BadInput

MIN_PASSWORD_CHARS = 12
MAX_PASSWORD_CHARS = 256  # bounds the work of hashing and of the list check
MIN_DISTINCT_CHARS = 5
MIN_LISTED_CHARS = 4  # the shortest entries of the list
MIN_NAME_CHARS_TO_SEARCH = 3  # a one- or two-letter account name occurs by chance in good passwords
COMMON_PASSWORDS_FILE = Path(__file__).with_name("common-passwords.txt")
_PADDING = string.digits + string.punctuation + string.whitespace


@lru_cache(maxsize=1)
def common_passwords() -> frozenset[str]:
    """The bundled list, lower case (read once per process)."""
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(line.strip() for line in lines if line.strip() and not line.startswith("#"))


def _padding_run(text: str) -> int:
    """How many characters at the start of ``text`` are digits, symbols or spaces."""
    return len(text) - len(text.lstrip(_PADDING))


def is_common(password: str) -> bool:
    """True for a listed password, also in other letter case or with any digits/symbols before
    or after it (``password2024!``, ``1988dragon``)."""
    lowered = password.lower()
    listed = common_passwords()
    lead, trail = _padding_run(lowered), _padding_run(lowered[::-1])
    for start in range(lead + 1):
        for cut in range(trail + 1):
            core = lowered[start : len(lowered) - cut]
            if len(core) >= MIN_LISTED_CHARS and core in listed:
                return True
    return False


def check_password(password: object, account_name: str) -> str:
    """Returns the password if the policy accepts it; else ``BadInput`` saying what to change
    (never echoing the password)."""
    if not isinstance(password, str) or len(password) < MIN_PASSWORD_CHARS:
        raise BadInput(f"password too short: at least {MIN_PASSWORD_CHARS} characters")
    if len(password) > MAX_PASSWORD_CHARS:
        raise BadInput(f"password too long: at most {MAX_PASSWORD_CHARS} characters")
    name = (account_name or "").strip().lower()
    if len(name) >= MIN_NAME_CHARS_TO_SEARCH and name in password.lower():
        raise BadInput("the password must not contain the account name")
    if len(set(password)) < MIN_DISTINCT_CHARS:
        raise BadInput(f"the password repeats too few characters: use at least {MIN_DISTINCT_CHARS} different ones")
    if is_common(password):
        raise BadInput("this password is on the list of common passwords; choose another (a few unrelated words work)")
    return password
