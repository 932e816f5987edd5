"""CloudWatch Logs Insights query definitions: PutQueryDefinition, DescribeQueryDefinitions,
DeleteQueryDefinition.

API reference: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutQueryDefinition.html
A Put without queryDefinitionId creates a definition and returns its new id; with an id it
replaces that definition, and an unknown id is ResourceNotFoundException. Delete answers
{"success": true}.
"""

import json
import time
import uuid

from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
from moto.logs.models import LogsBackend
from moto.logs.responses import LogsResponse

MAX_NAME = 255
MAX_QUERY = 10000


def _definitions(backend: LogsBackend) -> dict:
    if not hasattr(backend, "stackhand_query_definitions"):
        backend.stackhand_query_definitions = {}
    return backend.stackhand_query_definitions


def put_query_definition(backend: LogsBackend, params: dict) -> str:
    name = params.get("name") or ""
    query = params.get("queryString") or ""
    if not 1 <= len(name) <= MAX_NAME:
        raise InvalidParameterException(constraint=f"Member must have length between 1 and {MAX_NAME}", parameter="name", value=name)
    if not 1 <= len(query) <= MAX_QUERY:
        raise InvalidParameterException(constraint=f"Member must have length between 1 and {MAX_QUERY}", parameter="queryString", value=query[:50])
    definitions = _definitions(backend)
    definition_id = params.get("queryDefinitionId")
    if definition_id and definition_id not in definitions:
        raise ResourceNotFoundException("The query definition does not exist.")
    definition_id = definition_id or str(uuid.uuid4())
    definitions[definition_id] = {
        "queryDefinitionId": definition_id,
        "name": name,
        "queryString": query,
        "lastModified": int(time.time() * 1000),
        "logGroupNames": list(params.get("logGroupNames") or []),
        "queryLanguage": params.get("queryLanguage") or "CWLI",
    }
    return definition_id


def describe_query_definitions(backend: LogsBackend, prefix: str | None) -> list[dict]:
    found = [d for d in _definitions(backend).values() if d["name"].startswith(prefix or "")]
    return sorted(found, key=lambda d: d["name"])


def delete_query_definition(backend: LogsBackend, definition_id: str) -> None:
    if _definitions(backend).pop(definition_id, None) is None:
        raise ResourceNotFoundException("The query definition does not exist.")


def _put(self: LogsResponse) -> str:
    params = {k: self._get_param(k) for k in ("name", "queryDefinitionId", "logGroupNames", "queryString", "queryLanguage")}
    return json.dumps({"queryDefinitionId": put_query_definition(self.logs_backend, params)})


def _describe(self: LogsResponse) -> str:
    found = describe_query_definitions(self.logs_backend, self._get_param("queryDefinitionNamePrefix"))
    limit = int(self._get_param("maxResults") or 1000)
    return json.dumps({"queryDefinitions": found[:limit]})


def _delete(self: LogsResponse) -> str:
    delete_query_definition(self.logs_backend, self._get_param("queryDefinitionId"))
    return json.dumps({"success": True})


def install() -> None:
    LogsResponse.put_query_definition = _put
    LogsResponse.describe_query_definitions = _describe
    LogsResponse.delete_query_definition = _delete
