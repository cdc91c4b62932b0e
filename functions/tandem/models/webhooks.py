"""PUT /settings/webhooks: where a tenant's signed notifications go."""

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

# An absolute https URL without spaces or credentials-bearing userinfo; 2,048 characters at most.
WEBHOOK_URL_PATTERN = r"^https://[^\s/@]+(/[^\s]*)?$"


class WebhookSettingsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, hide_input_in_errors=True)

    url: str = Field(
        max_length=2048,
        pattern=WEBHOOK_URL_PATTERN,
        description="an https URL; the courier notification of every confirmed order is POSTed there",
        examples=["https://courier.example/tandem/hooks"],
    )


class WebhookSettings(BaseModel):
    url: str
    secret: str = Field(
        description="signs every call (Tandem-Signature); shown only in this answer: keep it. A new "
        "PUT makes a new one."
    )
    set_at: AwareDatetime
