"""Custom resources as CloudFormation drives them: the event, the ResponseURL, the wait.

CloudFormation invokes the ServiceToken's function asynchronously (Lambda retries a failed
invocation twice), then waits for the response on a presigned S3 URL, up to the resource's
ServiceTimeout (3,600 s unless set). Here the URL is served by the emulator itself
(`PUT /cloudformation-responses/<request id>`).
"""

import json
import threading
import time
import uuid
from typing import Any

from . import functions

RESPONSE_PATH = "/cloudformation-responses/"
DEFAULT_SERVICE_TIMEOUT = 3600
MAX_RESPONSE_BYTES = 4096
LAMBDA_ASYNC_RETRIES = 2


class ResourceFailed(Exception):
    """The resource failed; the message is the ResourceStatusReason CloudFormation shows."""


class MissingAttribute(ResourceFailed):
    pass


class CustomResource:
    """What the stack keeps of a custom resource: its physical id and its response's Data."""

    def __init__(self, logical_id: str, resource_type: str, stack_id: str) -> None:
        self.logical_resource_id = logical_id
        self.cf_resource_type = resource_type
        self.stack_id = stack_id
        self.physical_resource_id = ""
        self.data: dict[str, Any] = {}
        self.request_id = ""

    def is_created(self) -> bool:
        return True

    def get_cfn_attribute(self, name: str) -> Any:
        if name in self.data:
            return self.data[name]
        raise MissingAttribute(
            f"CustomResource attribute error: Vendor response doesn't contain {name} key in object "
            f"{self.stack_id}|{self.logical_resource_id}|{self.request_id} in S3 bucket "
            "cloudformation-custom-resource-storage"
        )


class _Pending:
    def __init__(self) -> None:
        self.arrived = threading.Event()
        self.body: bytes = b""


_PENDING: dict[str, _Pending] = {}
_LOCK = threading.Lock()


def receive(path: str, _query: str, body: bytes) -> tuple[int, bytes]:
    """The ResponseURL's PUT: S3 accepts any body; an unknown or answered URL is expired (403)."""
    request_id = path[len(RESPONSE_PATH):]
    with _LOCK:
        pending = _PENDING.get(request_id)
    if pending is None or pending.arrived.is_set():
        return 403, b"<Error><Code>AccessDenied</Code><Message>Request has expired</Message></Error>"
    pending.body = body
    pending.arrived.set()
    return 200, b""


def _as_strings(value: Any) -> Any:
    """CloudFormation passes every scalar property of a custom resource as a string."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, list):
        return [_as_strings(v) for v in value]
    if isinstance(value, dict):
        return {k: _as_strings(v) for k, v in value.items()}
    return value


def service_timeout(properties: dict[str, Any]) -> int:
    raw = properties.get("ServiceTimeout")
    if raw is None:
        return DEFAULT_SERVICE_TIMEOUT
    try:
        seconds = int(str(raw))
    except ValueError:
        raise ResourceFailed(f"Properties validation failed: ServiceTimeout {raw!r} is not an integer")
    if not 1 <= seconds <= 3600:
        raise ResourceFailed(f"Properties validation failed: ServiceTimeout {seconds} is outside 1 to 3600")
    return seconds


def send(
    request_type: str,
    resource: CustomResource,
    properties: dict[str, Any],
    account_id: str,
    region: str,
    old_properties: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Sends one event and waits for its response; returns the response, or raises ResourceFailed."""
    token = properties.get("ServiceToken")
    if not isinstance(token, str) or not token:
        raise ResourceFailed("Properties validation failed: ServiceToken is required")
    function = functions.find(token, account_id, region)
    if function is None:
        raise ResourceFailed(
            f"Invalid service token: {token} is not a function the local engine runs "
            "(it runs the functions of stacks it deployed)"
        )
    timeout = service_timeout(properties)
    request_id = str(uuid.uuid4())
    resource.request_id = request_id
    event: dict[str, Any] = {
        "RequestType": request_type,
        "ServiceToken": token,
        "ResponseURL": f"{functions.CONFIG['endpoint']}{RESPONSE_PATH}{request_id}"
        f"?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Expires=7200&X-Amz-Signature={uuid.uuid4().hex}",
        "StackId": resource.stack_id,
        "RequestId": request_id,
        "LogicalResourceId": resource.logical_resource_id,
        "ResourceType": resource.cf_resource_type,
        "ResourceProperties": _as_strings(properties),
    }
    if request_type != "Create":
        event["PhysicalResourceId"] = resource.physical_resource_id
    if old_properties is not None:
        event["OldResourceProperties"] = _as_strings(old_properties)

    pending = _Pending()
    with _LOCK:
        _PENDING[request_id] = pending

    def invoke() -> None:
        for _attempt in range(1 + LAMBDA_ASYNC_RETRIES):
            try:
                function.invoke(event)
                return
            except functions.InvokeError:
                if pending.arrived.is_set():
                    return
                time.sleep(0.2)

    threading.Thread(target=invoke, name=f"invoke-{resource.logical_resource_id}", daemon=True).start()
    try:
        if not pending.arrived.wait(timeout):
            raise ResourceFailed(
                f"CloudFormation did not receive a response from your Custom Resource. Please check your "
                f"custom resource in region {region} for more information. (ServiceTimeout {timeout} s)"
            )
    finally:
        with _LOCK:
            _PENDING.pop(request_id, None)
    return _checked(pending.body, event)


def _checked(body: bytes, event: dict[str, Any]) -> dict[str, Any]:
    if len(body) > MAX_RESPONSE_BYTES:
        raise ResourceFailed("Response object is too long.")
    try:
        response = json.loads(body)
    except ValueError:
        raise ResourceFailed("Response object is not valid JSON.")
    if not isinstance(response, dict):
        raise ResourceFailed("Response object is not valid JSON.")
    for key in ("StackId", "RequestId", "LogicalResourceId"):
        if response.get(key) != event[key]:
            raise ResourceFailed(f"Response object {key} does not match the request.")
    status = response.get("Status")
    if status == "FAILED":
        reason = response.get("Reason") or "See the details in CloudWatch Log Stream"
        raise ProviderFailed(f"Received response status [FAILED] from custom resource. Message returned: {reason}", response)
    if status != "SUCCESS":
        raise ResourceFailed(f"Response object Status {status!r} is neither SUCCESS nor FAILED.")
    if not response.get("PhysicalResourceId"):
        raise ResourceFailed("Response object is missing the PhysicalResourceId.")
    return response


class ProviderFailed(ResourceFailed):
    """FAILED from the provider; its PhysicalResourceId still names what may need a Delete."""

    def __init__(self, message: str, response: dict[str, Any]) -> None:
        super().__init__(message)
        self.response = response
