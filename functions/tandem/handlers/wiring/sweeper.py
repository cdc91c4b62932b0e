"""SweeperFunction's composition root."""

import time
from datetime import timedelta
from functools import cache

from tandem.adapters.checkout_store import DynamoCheckoutStore
from tandem.adapters.directory_tables import TenantsTable
from tandem.adapters.documents import S3Documents
from tandem.adapters.jobs_table import JobsTable
from tandem.adapters.ses_mailer import SesMailer
from tandem.adapters.webhook_http import UrllibWebhooks
from tandem.handlers.wiring import ConfigurationError, now
from tandem.handlers.wiring.payments import card_pepper, payment_gateway
from tandem.logic.job_sweeper import JobSweepDeps
from tandem.logic.report_notifications import NotifyDeps
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
    notify = None
    if config.tenants_table_name and config.report_sender_email:
        notify = NotifyDeps(
            tenants=TenantsTable(config.tenants_table_name),
            webhooks=UrllibWebhooks(),
            mailer=SesMailer(config.report_sender_email),
            # A failed job has no result: no link is ever made.
            documents=S3Documents(config.reports_bucket_name),
            clock=now,
            sleep=time.sleep,
            # One sweep may fail many jobs within its 50 s: two tries a channel, 2 s apart at most.
            attempts=2,
            first_backoff_seconds=0.5,
            webhook_timeout_seconds=2.0,
        )
    return JobSweepDeps(
        idle=table,
        jobs=table,
        idle_after=timedelta(
            seconds=config.report_queue_visibility_timeout * config.report_max_receive_count
        ),
        notify=notify,
    )
