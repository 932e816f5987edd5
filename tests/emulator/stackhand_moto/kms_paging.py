"""KMS ListKeys and ListAliases pages, as AWS serves them; moto returns everything at once.

API reference: https://docs.aws.amazon.com/kms/latest/APIReference/API_ListKeys.html and
API_ListAliases.html. `Limit` is 1-1000 for ListKeys and 1-100 for ListAliases, 100 by default;
a truncated page has `Truncated: true` and a `NextMarker` to pass back as `Marker`. The marker
is opaque to callers (here: the offset of the next item).
"""

import json

from moto.kms.exceptions import ValidationException
from moto.kms.responses import KmsResponse

_MAX_LIMIT = {"Keys": 1000, "Aliases": 100}
_DEFAULT_LIMIT = 100

_list_keys = KmsResponse.list_keys
_list_aliases = KmsResponse.list_aliases


def _page(self: KmsResponse, body: str, field: str) -> str:
    items = json.loads(body).get(field, [])
    limit = self._get_param("Limit")
    if limit is None:
        limit = _DEFAULT_LIMIT
    if not isinstance(limit, int) or not 1 <= limit <= _MAX_LIMIT[field]:
        raise ValidationException(
            f"1 validation error detected: Value '{limit}' at 'limit' failed to satisfy "
            f"constraint: Member must have value between 1 and {_MAX_LIMIT[field]}"
        )
    marker = self._get_param("Marker")
    try:
        start = int(marker) if marker is not None else 0
    except ValueError:
        raise ValidationException("Invalid marker") from None
    if not 0 <= start <= len(items):
        raise ValidationException("Invalid marker")
    page = items[start : start + limit]
    result = {field: page, "Truncated": start + limit < len(items)}
    if result["Truncated"]:
        result["NextMarker"] = str(start + limit)
    return json.dumps(result)


def _paged_list_keys(self: KmsResponse) -> str:
    return _page(self, _list_keys(self), "Keys")


def _paged_list_aliases(self: KmsResponse) -> str:
    return _page(self, _list_aliases(self), "Aliases")


def install() -> None:
    KmsResponse.list_keys = _paged_list_keys
    KmsResponse.list_aliases = _paged_list_aliases
