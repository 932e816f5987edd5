"""GetKeyLastUsage, which moto lacks: the last successful cryptographic operation of each key, and
when tracking started. And a test control, `POST /stackhand/kms/usage`, that moves a key's last
use or its tracking start into the past, so an unused-key audit can be run now.

API reference: https://docs.aws.amazon.com/kms/latest/APIReference/API_GetKeyLastUsage.html.
`TrackingStartDate` is when KMS began recording for the key, or its creation date, whichever is
later; `KeyLastUsage` (Operation, Timestamp, CloudTrailEventId, KmsRequestId) is absent when the
key has not been used since. Aliases are not accepted as the KeyId.
"""

import json
import time
import uuid
from typing import Any, Callable

from moto.kms.exceptions import NotFoundException
from moto.kms.models import KmsBackend, kms_backends
from moto.kms.responses import KmsResponse

# Backend method -> the operation name GetKeyLastUsage reports.
_TRACKED = {
    "encrypt": "Encrypt",
    "decrypt": "Decrypt",
    "re_encrypt": "ReEncrypt",
    "generate_data_key": "GenerateDataKey",
    "sign": "Sign",
    "verify": "Verify",
    "generate_mac": "GenerateMac",
    "verify_mac": "VerifyMac",
}


def _record(key: Any, operation: str, at: float | None = None) -> None:
    key.last_usage = {
        "Operation": operation,
        "Timestamp": at if at is not None else time.time(),
        "CloudTrailEventId": str(uuid.uuid4()),
        "KmsRequestId": str(uuid.uuid4()),
    }


def _key_of(backend: KmsBackend, args: tuple[Any, ...], kwargs: dict[str, Any], result: Any) -> Any:
    """The key an operation used: an ARN in its result (Encrypt, Decrypt, GenerateDataKey,
    ReEncrypt's destination), else its key id argument."""
    arns = [r for r in (result if isinstance(result, tuple) else (result,)) if isinstance(r, str) and ":key/" in r]
    candidates = [arns[-1]] if arns else [kwargs.get("key_id") or kwargs.get("destination_key_id") or (args[0] if args else None)]
    for candidate in candidates:
        if isinstance(candidate, str):
            key_id = backend.any_id_to_key_id(candidate)
            return backend.keys.get(key_id)
    return None


def _tracked(method: str, operation: str) -> Callable[..., Any]:
    original = getattr(KmsBackend, method)

    def tracked(self: KmsBackend, *args: Any, **kwargs: Any) -> Any:
        result = original(self, *args, **kwargs)
        key = _key_of(self, args, kwargs, result)
        if key is not None:
            _record(key, operation)
        return result

    tracked.__name__ = method
    return tracked


def _get_key_last_usage(self: KmsResponse) -> str:
    key_id = self._get_param("KeyId")
    if key_id.startswith("alias/") or ":alias/" in key_id:
        raise NotFoundException(f"Invalid keyId {key_id}: aliases are not supported")
    self._validate_cmk_id(key_id)
    key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
    created = float(key.creation_date)
    tracking = max(created, float(getattr(key, "tracking_start", created)))
    answer: dict[str, Any] = {"KeyId": key.id, "KeyCreationDate": created, "TrackingStartDate": tracking}
    usage = getattr(key, "last_usage", None)
    if usage and usage["Timestamp"] >= tracking:
        answer["KeyLastUsage"] = usage
    return json.dumps(answer)


def set_usage(account: str, region: str, key_id: str, last_used_days_ago: float | None, operation: str,
              tracking_started_days_ago: float | None) -> None:
    """Test control, not an AWS operation: a last use `last_used_days_ago` days back, and/or
    tracking that started `tracking_started_days_ago` days back (never before creation)."""
    backend = kms_backends[account][region]
    key = backend.keys[backend.get_key_id(key_id)]
    now = time.time()
    if last_used_days_ago is not None:
        _record(key, operation, now - last_used_days_ago * 86400)
    if tracking_started_days_ago is not None:
        key.tracking_start = now - tracking_started_days_ago * 86400


def install() -> None:
    for method, operation in _TRACKED.items():
        setattr(KmsBackend, method, _tracked(method, operation))
    KmsResponse.get_key_last_usage = _get_key_last_usage

    from . import routes

    def usage(_path: str, _query: str, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body or b"{}")
        days = request.get("last_used_days_ago")
        tracking = request.get("tracking_started_days_ago")
        set_usage(
            str(request["account"]), request["region"], request["key_id"],
            None if days is None else float(days), request.get("operation", "Decrypt"),
            None if tracking is None else float(tracking),
        )
        return 200, b"{}"

    routes.route("POST", "/stackhand/kms/usage", usage)
