"""AuthorizerFunction's composition root."""

from functools import cache
from time import monotonic

from tandem.adapters.directory_tables import ApiKeysTable
from tandem.logic.auth import CachedKeys
from tandem.models.settings import AuthorizerSettings


@cache
def keys() -> CachedKeys:
    """The key table behind this process's cache of active keys (see tandem.handlers.authorizer)."""
    return CachedKeys(ApiKeysTable(AuthorizerSettings().api_keys_table_name), clock=lambda: monotonic())
