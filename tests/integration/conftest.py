"""Handlers under moto.mock_aws, wired to template.yaml's resources as a deploy would wire them."""

from __future__ import annotations

import io
import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import boto3
import pytest
from moto import mock_aws

from tandem.adapters.catalog_table import CatalogTable
from tandem.adapters.directory_tables import ApiKeysTable, TenantsTable
from tandem.adapters.orders_table import OrdersTable
from tandem.logic.auth import new_api_key
from tandem.models.catalog import Product
from tandem.models.records import ALL_SCOPES, Order, Tenant
from tests.holds import Holds
from tests.moto_stack import REGION, create_stack, publish_sanctions_list
from tests.template_model import Resolver, functions


@pytest.fixture
def stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Resolver]:
    with mock_aws():
        resolver = create_stack()
        # Every function's environment at once: they never disagree on a name.
        for function in functions():
            for name, value in resolver.environment(function).items():
                monkeypatch.setenv(name, value)
        publish_sanctions_list(resolver)
        yield resolver


@pytest.fixture
def shop(stack: Resolver) -> CatalogTable:
    """Two products of tenant acme: MUG (6.50 GBP, 5 in stock) and TEA (3.25 GBP, 2 in stock)."""
    catalog = CatalogTable(stack.physical["ProductsTable"], boto3.resource("dynamodb", region_name=REGION))
    for sku, price, stock in (("MUG", "6.50", 5), ("TEA", "3.25", 2)):
        catalog.put(
            Product(tenant_id="acme", sku=sku, name=sku, price=Decimal(price), currency="GBP", stock=stock)
        )
    return catalog


@pytest.fixture
def holds(stack: Resolver) -> Holds:
    """Units held as a checkout holds them (a PENDING order), and given back as a decline does."""
    return Holds(stack, boto3.resource("dynamodb", region_name=REGION))


@pytest.fixture
def seed(stack: Resolver) -> Callable[..., Any]:
    """Writes tenants, API keys and orders through the same adapters the functions use."""

    def _seed(
        *, tenants: tuple[str, ...] = (), orders: tuple[Order, ...] = (), keys: dict[str, str] | None = None
    ) -> None:
        dynamodb = boto3.resource("dynamodb", region_name=REGION)
        tenant_table = TenantsTable(stack.physical["TenantsTable"], dynamodb)
        for tenant in tenants:
            tenant_table.put(Tenant(tenant_id=tenant, name=tenant.title()))
        order_table = OrdersTable(stack.physical["OrdersTable"], dynamodb)
        for order in orders:
            order_table.put(order)
        key_table = ApiKeysTable(stack.physical["ApiKeysTable"], dynamodb)
        for secret, tenant in (keys or {}).items():
            _, record = new_api_key(tenant, f"{tenant}-key", ALL_SCOPES, datetime.now(UTC), secret=secret)
            key_table.put(record)

    return _seed


def receive_reports(stack: Resolver, max_messages: int = 10) -> list[dict[str, Any]]:
    """What waits on ReportQueue, with every attribute, as Lambda's poller would take it."""
    sqs = boto3.client("sqs", region_name=REGION)
    return sqs.receive_message(
        QueueUrl=stack.physical["ReportQueue"],
        MaxNumberOfMessages=max_messages,
        MessageAttributeNames=["All"],
        AttributeNames=["All"],
    ).get("Messages", [])


@pytest.fixture
def logged(monkeypatch: pytest.MonkeyPatch) -> Callable[[], list[dict[str, Any]]]:
    """The functions' structured log lines, captured (Powertools writes to the stream it had at import)."""
    from tandem.observability import logger

    stream = io.StringIO()
    monkeypatch.setattr(logger.registered_handler, "stream", stream)
    return lambda: [json.loads(line) for line in stream.getvalue().splitlines() if line.startswith("{")]
