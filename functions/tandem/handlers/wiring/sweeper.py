"""SweeperFunction's composition root."""

from datetime import timedelta
from functools import cache

from tandem.adapters.checkout_store import DynamoCheckoutStore
from tandem.adapters.jobs_table import JobsTable
from tandem.handlers.wiring import ConfigurationError
from tandem.handlers.wiring.payments import card_pepper, payment_gateway
from tandem.logic.job_sweeper import JobSweepDeps
from tandem.logic.sweeper import SweepDeps
from tandem.models.settings import JobSweeperSettings, SweeperSettings


@cache
def deps() -> SweepDeps:
    config = SweeperSettings()
    if config.payment_gateway == "sandbox" and not config.sandbox_payments_table_name:
        # In memory, the sweeper's ledger would be its own: it would find nothing the checkout authorized.
        raise ConfigurationError("the sweeper needs SANDBOX_PAYMENTS_TABLE_NAME with the sandbox gateway")
    gateway = payment_gateway(
        config.payment_gateway,
        config.stage,
        card_pepper(config.card_pepper_secret_arn, config.stage),
        config.sandbox_payments_table_name,
    )
    return SweepDeps(
        # The sweeper never holds stock, so it never writes an audit entry: no audit table.
        store=DynamoCheckoutStore(config.orders_table_name, config.products_table_name),
        gateway=gateway,
    )


@cache
def jobs() -> JobSweepDeps:
    config = JobSweeperSettings()
    table = JobsTable(config.jobs_table_name)
    return JobSweepDeps(
        idle=table,
        jobs=table,
        idle_after=timedelta(
            seconds=config.report_queue_visibility_timeout * config.report_max_receive_count
        ),
    )
