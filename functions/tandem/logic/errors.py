"""Domain exceptions. The API maps each type to a status once (handlers/http.py); never by message text."""

from typing import Any


class TandemError(Exception):
    code = "error"

    def __init__(self, message: str, details: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details or []


class NotAuthenticatedError(TandemError):
    code = "unauthorized"


class ForbiddenError(TandemError):
    code = "forbidden"


class NotFoundError(TandemError):
    code = "not_found"


class InvalidRequestError(TandemError):
    code = "invalid_request"


class UnsupportedMediaTypeError(TandemError):
    code = "unsupported_media_type"


class ConflictError(TandemError):
    code = "conflict"


class OutOfStockError(ConflictError):
    code = "out_of_stock"


class BlockedError(TandemError):
    """Refused by fraud or compliance rules; the details carry reason codes, never the rules' internals."""

    code = "blocked"


class RetryLaterError(TandemError):
    """Transient: the message goes back to the queue and is tried again."""

    code = "retry_later"


class ScreeningUnavailableError(RetryLaterError):
    """No sanctions list could be had: a payment is never screened against nothing (fail closed)."""

    code = "screening_unavailable"

    def __init__(
        self, message: str = "compliance screening is unavailable; nothing was charged, retry shortly"
    ) -> None:
        super().__init__(message)


class PermanentJobError(TandemError):
    """Trying again cannot help: the job fails at once and its message is consumed."""

    code = "job_failed"
