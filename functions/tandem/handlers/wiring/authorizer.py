"""AuthorizerFunction's composition root."""

from functools import cache

from tandem.adapters.directory_tables import ApiKeysTable
from tandem.models.settings import AuthorizerSettings


@cache
def keys() -> ApiKeysTable:
    return ApiKeysTable(AuthorizerSettings().api_keys_table_name)
