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


class CheckoutExistsError(ConflictError):
    """The order of this Idempotency-Key exists already: the request is a replay (never leaves the logic)."""

    code = "checkout_exists"


class CheckoutExpiredError(ConflictError):
    """The checkout of this Idempotency-Key never finished and its hold ended: nothing stays charged."""

    code = "checkout_expired"

    def __init__(
        self,
        message: str = (
            "this checkout did not finish in time and was released; nothing was charged. "
            "Place the order again with a new Idempotency-Key"
        ),
    ) -> None:
        super().__init__(message)


class IdempotencyKeyReusedError(InvalidRequestError):
    code = "idempotency_key_reused"

    def __init__(
        self,
        message: str = "this Idempotency-Key was used for a different request; use a new key for a new one",
    ) -> None:
        super().__init__(message, [{"loc": ["header", "idempotency-key"], "msg": message, "type": self.code}])


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


class EnqueueFailedError(RetryLaterError):
    """A job was recorded but its message could not be queued: the job is failed (`enqueue_failed`)
    rather than left queued for nobody, and the client asks again (a 503)."""

    code = "enqueue_failed"

    def __init__(self, job_id: str) -> None:
        message = "the job could not be queued and was marked failed; nothing will run: request it again"
        super().__init__(
            message, [{"loc": ["job_id"], "msg": message, "type": self.code, "ctx": {"job_id": job_id}}]
        )


class PermanentJobError(TandemError):
    """Trying again cannot help: the job fails at once and its message is consumed."""

    code = "job_failed"
