"""The composition roots: one module per Lambda function builds its settings and adapters.

Everything a function touches outside itself is built in its root and nowhere else,
on first use (never at import, so a test sets the environment first), once per warm
process (functools.cache), and handed to the logic as the use case's one dependency
object. Each root imports only the adapters its function uses, so a function's cold
start pays for nothing else. One clock and one id factory serve every function.

| function (template.yaml) | its root                            |
|--------------------------|-------------------------------------|
| ApiFunction              | tandem.handlers.wiring.api          |
| AuthorizerFunction       | tandem.handlers.wiring.authorizer   |
| ReportWorkerFunction     | tandem.handlers.wiring.report_worker |
| NightlyFunction          | tandem.handlers.wiring.nightly      |
| NightlyLakeFunction      | tandem.handlers.wiring.nightly_lake |
| IngestWorkerFunction     | tandem.handlers.wiring.ingest_worker |
| OrderEventsFunction      | tandem.handlers.wiring.order_events |
| SweeperFunction          | tandem.handlers.wiring.sweeper      |
| FollowUpWorkerFunction   | tandem.handlers.wiring.follow_up_worker |

`tandem.handlers.wiring.payments` builds what several roots share: the card pepper and the
payment gateway, with the settings each refuses.
"""

import uuid
from datetime import UTC, datetime


class ConfigurationError(RuntimeError):
    """A deployment setting that must not run: the function refuses to start, saying what to fix."""


def now() -> datetime:
    return datetime.now(UTC)


def new_id() -> str:
    return uuid.uuid4().hex
