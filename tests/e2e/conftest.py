"""The local cloud, started once for the session on ephemeral ports, emptied between tests.

It runs beside a `make run` on the default ports without touching it: its own
emulator process, stack name, build and state folders.
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
import requests

from tandem.adapters.directory_tables import ApiKeysTable, TenantsTable
from tandem.adapters.orders_table import OrdersTable
from tandem.logic.auth import new_api_key
from tandem.models.records import ALL_SCOPES, Order, Tenant
from tandem_local import data
from tandem_local.config import ROOT, LocalCloud
from tandem_local.deploy import Deployment, deploy
from tandem_local.emulator import Emulator
from tandem_local.proxy import ApiProxy
from tandem_local.stack import Stack

# Short enough for retries and dead-lettering to happen within a test, and still
# honest: visibility = 6 x the worker's timeout, as in production.
E2E_PARAMETERS = {
    "ReportWorkerTimeout": "3",
    "ReportQueueVisibilityTimeout": "18",
    "ReportMaxReceiveCount": "2",
}

T = TypeVar("T")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "/tests/e2e/" in str(item.path):
            item.add_marker(pytest.mark.e2e)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(
    check: Callable[[], T | None], timeout: float, every: float = 0.5, what: str = "condition"
) -> T:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := check():
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


@dataclass
class Running:
    cloud: LocalCloud
    deployment: Deployment
    proxy: ApiProxy
    emulator: Emulator | None = None

    @property
    def stack(self) -> Stack:
        return self.deployment.stack

    @property
    def api(self) -> str:
        return self.cloud.api_url

    def call(
        self, method: str, path: str, key: str | None = None, timeout: float = 30, **kwargs: Any
    ) -> requests.Response:
        headers = dict(kwargs.pop("headers", {}))
        if key:
            headers["x-api-key"] = key
        return requests.request(method, f"{self.api}{path}", headers=headers, timeout=timeout, **kwargs)

    def tenant_with_key(self, tenant: str) -> str:
        dynamodb = self.cloud.resource("dynamodb")
        TenantsTable(self.stack.physical["TenantsTable"], dynamodb).put(Tenant(tenant_id=tenant, name=tenant))
        secret, record = new_api_key(tenant, f"{tenant}-e2e", ALL_SCOPES, datetime.now(UTC))
        ApiKeysTable(self.stack.physical["ApiKeysTable"], dynamodb).put(record)
        return secret

    def put_orders(self, orders: list[Order]) -> None:
        OrdersTable(self.stack.physical["OrdersTable"], self.cloud.resource("dynamodb")).put_many(orders)

    def function(self, logical_id: str) -> str:
        return self.stack.physical[logical_id]


@pytest.fixture(scope="session")
def local_cloud(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Running]:
    state = tmp_path_factory.mktemp("local-cloud")
    cloud = LocalCloud(
        aws_port=free_port(),
        api_port=free_port(),
        stack_name="tandem-e2e",
        state_dir=state,
        build_dir=state / "build",
        # A sam folder per lane (make test runs two sessions at once, each with its own cloud),
        # kept across runs: its build cache makes the next session's build a cached one.
        sam_dir=ROOT / ".aws-sam" / f"e2e-{os.environ.get('TANDEM_E2E_LANE', 'default')}",
        # The proxy's rule is 2 requests in flight per core the cloud has; under `make test` a
        # lane shares 2 cores with another lane and the unit tests, about a core's worth at
        # best. 4 cold workers of each function at once then took over 35 s to start there (CI:
        # the first burst's answers were 502 and 503).
        api_in_flight=2,
    )
    emulator = Emulator(cloud, state / "ministack.log")
    emulator.start()
    proxy = None
    try:
        proxy = ApiProxy(cloud)
        deployment = deploy(cloud, parameters=E2E_PARAMETERS)
        proxy.start(deployment.stack.physical["HttpApi"])
        yield Running(cloud, deployment, proxy, emulator)
    finally:
        if proxy:
            proxy.stop()
        emulator.stop()


@pytest.fixture
def running(local_cloud: Running) -> Running:
    """The local cloud with every table, bucket and queue empty: each test starts from nothing."""
    data.empty_all(local_cloud.cloud, local_cloud.stack)
    return local_cloud
