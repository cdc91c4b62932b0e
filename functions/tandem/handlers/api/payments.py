"""The checkout's risk checks on their own: score a payment, block a card, an e-mail or an IP."""

from http import HTTPStatus

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.api_gateway import Router

from tandem.handlers.api.http import caller, documented, json_response
from tandem.handlers.wiring import api as root
from tandem.logic import risk
from tandem.models.checkout import BlocklistAdded, BlocklistEntry, ScoreAnswer, ScoreRequest
from tandem.observability import logger

router = Router()
TAGS = ["payments and fraud"]


@router.post(
    "/payments/score",
    summary="Score a payment for fraud",
    description=(
        "The checkout's own fraud rules for a tenant's own checkout: a score, a decision "
        "(approve, review, block) and the reasons. Each call counts as an attempt in the velocity "
        "rules and is audited."
    ),
    tags=TAGS,
    responses=documented(200, ScoreAnswer, 401, 403, 415, 422),
)
def score_payment(request: ScoreRequest) -> Response[str]:
    principal = caller(router, "orders:write")
    reference = f"score:{logger.get_correlation_id()}"
    assessment = risk.score_payment(principal.tenant_id, request, root.risk(), reference)
    return json_response(HTTPStatus.OK, ScoreAnswer(**assessment.model_dump(exclude={"features"})))


@router.put(
    "/fraud/blocklist",
    summary="Block a card, an e-mail address or an IP address",
    description=(
        "Later payments that use it are blocked. A card is kept only as a keyed fingerprint of its "
        "digits (spaces and dashes do not matter); the answer never repeats it. Needs the admin scope."
    ),
    tags=TAGS,
    responses=documented(200, BlocklistAdded, 401, 403, 415, 422),
)
def block(entry: BlocklistEntry) -> Response[str]:
    principal = caller(router, "admin")
    risk.add_to_blocklist(principal.tenant_id, entry, root.risk())
    return json_response(HTTPStatus.OK, BlocklistAdded(kind=entry.kind, reason=entry.reason))
