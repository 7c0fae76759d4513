"""What the client raises: the service's error answer, or no answer at all."""

from __future__ import annotations

from typing import Any


class LexgateError(Exception):
    """Base of every error the client raises."""


class LexgateApiError(LexgateError):
    """The service answered with an error: its status, code, message and field errors
    (`fields`: [{"path": "operation.transfers[0].mechanism", "message": "…"}])."""

    def __init__(self, status: int, code: str, message: str, fields: list[dict[str, Any]]):
        detail = "; ".join(f"{f.get('path')}: {f.get('message')}" for f in fields[:5])
        super().__init__(f"{status} {code}: {message}" + (f" ({detail})" if detail else ""))
        self.status = status
        self.code = code
        self.message = message
        self.fields = fields


class LexgateUnavailable(LexgateError):
    """No answer after every retry (connection refused, timeouts, 503): the operation was not
    decided (or, for a POST whose answer timed out, may have been: see README)."""
