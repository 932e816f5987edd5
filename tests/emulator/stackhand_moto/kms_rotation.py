"""KMS rotation periods, as AWS keeps them; moto ignores `RotationPeriodInDays`. And a test
control, `POST /stackhand/kms/age`, that ages a key so rotation schedules can be run now.

API reference: https://docs.aws.amazon.com/kms/latest/APIReference/API_EnableKeyRotation.html
and API_GetKeyRotationStatus.html. EnableKeyRotation takes `RotationPeriodInDays` (90-2560,
365 when absent); GetKeyRotationStatus answers it with `KeyId` while rotation is enabled.
"""

import json

from moto.kms.models import kms_backends

from moto.kms.exceptions import ValidationException
from moto.kms.responses import KmsResponse

DEFAULT_PERIOD = 365
PERIODS = range(90, 2561)


def _enable_key_rotation(self: KmsResponse) -> str:
    key_id = self._get_param("KeyId")
    period = self._get_param("RotationPeriodInDays")
    if period is not None and period not in PERIODS:
        raise ValidationException(
            f"1 validation error detected: Value '{period}' at 'rotationPeriodInDays' failed to "
            "satisfy constraint: Member must have value between 90 and 2560"
        )
    self._validate_cmk_id(key_id)
    self.kms_backend.enable_key_rotation(key_id)
    key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
    key.rotation_period_in_days = period if period is not None else DEFAULT_PERIOD
    return json.dumps(None)


def _get_key_rotation_status(self: KmsResponse) -> str:
    key_id = self._get_param("KeyId")
    self._validate_cmk_id(key_id)
    key = self.kms_backend.keys[self.kms_backend.get_key_id(key_id)]
    answer = {"KeyId": key.id, "KeyRotationEnabled": bool(key.key_rotation_status)}
    if key.key_rotation_status:
        answer["RotationPeriodInDays"] = getattr(key, "rotation_period_in_days", DEFAULT_PERIOD)
    return json.dumps(answer)


def age_key(account: str, region: str, key_id: str, days: float) -> None:
    """Test control, not an AWS operation: moves a key's creation and rotation dates `days` into
    the past, so a schedule that is due after days can be run now."""
    backend = kms_backends[account][region]
    key = backend.keys[backend.get_key_id(key_id)]
    shift = days * 86400
    key.creation_date -= shift
    for rotation in key.rotations:
        rotation["RotationDate"] -= shift


def install() -> None:
    KmsResponse.enable_key_rotation = _enable_key_rotation
    KmsResponse.get_key_rotation_status = _get_key_rotation_status

    from . import routes

    def age(_path: str, _query: str, body: bytes) -> tuple[int, bytes]:
        request = json.loads(body or b"{}")
        age_key(str(request["account"]), request["region"], request["key_id"], float(request["days"]))
        return 200, b"{}"

    routes.route("POST", "/stackhand/kms/age", age)
