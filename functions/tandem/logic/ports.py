"""What the use cases need from the outside world, as small Protocols.

Adapters implement them over AWS; unit tests implement them in memory.
"""

from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Protocol

from pydantic import BaseModel

from tandem.models.records import ApiKey, Job, Order

Clock = Callable[[], datetime]


class JobStore(Protocol):
    def create(self, job: Job) -> None: ...

    def get(self, tenant_id: str, job_id: str) -> Job | None: ...

    def save(self, job: Job, expected_version: int) -> bool:
        """Store `job` if the stored one still has `expected_version`; False if it changed meanwhile."""
        ...


class MessageQueue(Protocol):
    def send(self, message: BaseModel, attributes: Mapping[str, str]) -> None: ...


class OrderSource(Protocol):
    def between(self, tenant_id: str, start: datetime, end: datetime) -> Iterable[Order]:
        """Orders created in [start, end)."""
        ...


class DocumentStore(Protocol):
    def put(self, key: str, body: bytes, content_type: str) -> None: ...

    def link(self, key: str, ttl_seconds: int) -> str:
        """A URL that lets its holder GET the document for `ttl_seconds`."""
        ...


class TenantDirectory(Protocol):
    def tenant_ids(self) -> Iterable[str]: ...


class ApiKeyStore(Protocol):
    def get(self, key_hash: str) -> ApiKey | None: ...
