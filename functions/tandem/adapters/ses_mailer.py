"""E-mail through SES (the v2 API): from the deployment's verified sender identity."""

from typing import Any, Protocol

from botocore.exceptions import ClientError

from tandem.adapters import aws
from tandem.logic.morning_report import MailRejectedError

# What SES answers for a message it will never take as it is (an unverified sender or, in the
# sandbox, recipient; a malformed address). Anything else (throttling, a network error) may pass.
_REFUSALS = frozenset(
    {"MessageRejected", "InvalidParameterValue", "MailFromDomainNotVerifiedException", "BadRequestException"}
)


class _SendEmail(Protocol):
    def send_email(self, **kwargs: Any) -> dict[str, Any]: ...


class SesMailer:
    def __init__(self, sender: str, ses: _SendEmail | None = None) -> None:
        self._sender = sender
        self._ses: _SendEmail = ses or aws.sesv2()

    def send(self, to: str, subject: str, text: str, html: str, reply_to: str | None = None) -> str:
        charset = "UTF-8"  # £ and € in the figures
        # A shop's own address for the buyer's answers; the sender stays the verified identity.
        replies = {"ReplyToAddresses": [reply_to]} if reply_to else {}
        try:
            answer = self._ses.send_email(
                FromEmailAddress=self._sender,
                Destination={"ToAddresses": [to]},
                **replies,
                Content={
                    "Simple": {
                        "Subject": {"Data": subject, "Charset": charset},
                        "Body": {
                            "Text": {"Data": text, "Charset": charset},
                            "Html": {"Data": html, "Charset": charset},
                        },
                    }
                },
            )
        except ClientError as error:
            code = error.response.get("Error", {}).get("Code", "")
            if code in _REFUSALS:
                raise MailRejectedError(
                    f"{code}: {error.response.get('Error', {}).get('Message', '')}"
                ) from error
            raise
        return str(answer["MessageId"])
