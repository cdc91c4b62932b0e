"""In-memory stand-ins for the ports in tandem.logic.ports: fast, and they record what happened."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from pydantic import BaseModel

from tandem.models.records import ApiKey, Job, Order


class FakeJobs:
    def __init__(self) -> None:
        self.items: dict[tuple[str, str], Job] = {}
        self.saves = 0

    def create(self, job: Job) -> None:
        assert (job.tenant_id, job.job_id) not in self.items
        self.items[(job.tenant_id, job.job_id)] = job

    def get(self, tenant_id: str, job_id: str) -> Job | None:
        return self.items.get((tenant_id, job_id))

    def save(self, job: Job, expected_version: int) -> bool:
        current = self.items.get((job.tenant_id, job.job_id))
        if current is None or current.version != expected_version:
            return False
        self.items[(job.tenant_id, job.job_id)] = job
        self.saves += 1
        return True


@dataclass
class FakeQueue:
    sent: list[tuple[BaseModel, dict[str, str]]] = field(default_factory=list)

    def send(self, message: BaseModel, attributes: Mapping[str, str]) -> None:
        self.sent.append((message, dict(attributes)))


@dataclass
class FakeOrders:
    orders: list[Order] = field(default_factory=list)
    fail_with: Exception | None = None

    def between(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[Order]:
        if self.fail_with:
            raise self.fail_with
        return [o for o in self.orders if o.tenant_id == tenant_id and start <= o.created_at < end]


@dataclass
class FakeDocuments:
    objects: dict[str, bytes] = field(default_factory=dict)
    puts: int = 0

    def put(self, key: str, body: bytes, content_type: str) -> None:
        assert content_type == "application/json"
        self.objects[key] = body
        self.puts += 1

    def link(self, key: str, ttl_seconds: int) -> str:
        return f"https://documents.example/{key}?ttl={ttl_seconds}"


@dataclass
class FakeTenants:
    ids: list[str]

    def tenant_ids(self) -> Iterator[str]:
        return iter(self.ids)


@dataclass
class FakeKeys:
    keys: dict[str, ApiKey] = field(default_factory=dict)

    def add(self, key: ApiKey) -> None:
        self.keys[key.key_hash] = key

    def get(self, key_hash: str) -> ApiKey | None:
        return self.keys.get(key_hash)


class FakeClock:
    """A clock that moves only when told to."""

    def __init__(self, start: datetime = datetime(2026, 11, 28, 9, 30, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)
