"""The project's small error hierarchy.

Adapters translate library errors into these; only the CLI and the dashboard turn
them into exit codes or messages. ``BadInput`` means exit status 2 (nothing was
written); every other ``ChatArchiveError`` means exit status 1.
"""

from __future__ import annotations


class ChatArchiveError(Exception):
    """Base class: an operation failed for a reason we can explain to the user."""


class BadInput(ChatArchiveError):
    """The user's input is invalid (bad query, bad rule file, bad option). Nothing was changed."""


class QueryError(BadInput):
    """A search query could not be parsed. Carries the query and the position of the problem."""

    def __init__(self, message: str, query: str = "", position: int | None = None) -> None:
        self.query = query
        self.position = position
        if position is not None:
            message = f"{message} (at character {position + 1} of {query!r})"
        super().__init__(message)


class RuleError(BadInput):
    """A rule is invalid. ``field`` names the offending field."""

    def __init__(self, message: str, field: str = "") -> None:
        self.field = field
        super().__init__(f"{field}: {message}" if field else message)


class PermissionDenied(ChatArchiveError):
    """The account may not do this (role or scope)."""


class AuthenticationFailed(ChatArchiveError):
    """Wrong user name or password, locked account or expired session."""


class SourceError(ChatArchiveError):
    """The archive source (simulator or vendor SDK) failed.

    ``retryable`` tells the pipeline whether to back off and try again (network
    errors 10001-10003) or to stop and alert (configuration errors such as 10009).
    """

    def __init__(self, message: str, code: int = 0, *, retryable: bool = False) -> None:
        self.code = code
        self.retryable = retryable
        super().__init__(message)


class DecryptError(ChatArchiveError):
    """One record cannot be decrypted; it goes to the dead letters with this reason."""

    def __init__(self, reason: str, code: int = 0) -> None:
        self.code = code
        super().__init__(reason)


class ParseError(ChatArchiveError):
    """A decrypted record is not a message we can read (not UTF-8, not JSON, no msgid); it
    goes to the dead letters at stage ``parse``."""


class StoreUnavailable(ChatArchiveError):
    """The store (e.g. an Elasticsearch cluster) cannot be reached; the indexer waits and retries."""


class IntegrityError(ChatArchiveError):
    """A tamper check failed (audit chain or message digest)."""


class ReadOnlyStore(ChatArchiveError):
    """A write was attempted on a store opened read-only (an evidence copy)."""
