"""What the consumers of FollowUpQueue record about an order's follow-ups (tandem.logic.follow_ups)."""

from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict

from tandem.models.messages import FollowUpKind


class Claim(StrEnum):
    """What claiming a follow-up before its effect answered."""

    CLAIMED = "claimed"  # ours to do now
    DONE = "done"  # done before (a redelivery): nothing to do
    BUSY = "busy"  # another delivery is doing it now (its lease has not run out)


class FollowUpOutcome(StrEnum):
    SENT = "sent"  # the effect happened (an e-mail accepted, an object written, a call answered)
    SKIPPED = "skipped"  # consumed without an effect, for `reason` (no buyer address, a refused address)


class FollowUpResult(BaseModel):
    """A follow-up done, as its idempotency record keeps it on the order."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    kind: FollowUpKind
    outcome: FollowUpOutcome
    at: AwareDatetime
    reason: str | None = None
    # What the effect is known by outside: SES's message id, the object's key, the call's status.
    reference: str | None = None
