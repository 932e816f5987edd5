"""CloudWatch Logs AssociateKmsKey and DisassociateKmsKey.

API reference: https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_AssociateKmsKey.html
Either logGroupName or resourceIdentifier names the target, not both. kmsKeyId must be a KMS
key ARN. The log group keeps its kmsKeyId, which DescribeLogGroups then reports.
"""

import re

from moto.logs.exceptions import InvalidParameterException, ResourceNotFoundException
from moto.logs.models import LogsBackend
from moto.logs.responses import LogsResponse

KEY_ARN = re.compile(r"arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+")


def _log_group(backend: LogsBackend, name: str | None, identifier: str | None):
    if bool(name) == bool(identifier):
        raise InvalidParameterException(
            msg="Specify either logGroupName or resourceIdentifier, but not both."
        )
    if name:
        group = backend.groups.get(name)
    else:
        arn = identifier.removesuffix(":*")
        group = next((g for g in backend.groups.values() if g.arn == arn), None)
    if group is None:
        raise ResourceNotFoundException()
    return group


def associate_kms_key(backend: LogsBackend, name, identifier, kms_key_id) -> None:
    if not kms_key_id or len(kms_key_id) > 256 or not KEY_ARN.fullmatch(kms_key_id):
        raise InvalidParameterException(
            constraint="Member must be a KMS key ARN of at most 256 characters",
            parameter="kmsKeyId",
            value=kms_key_id,
        )
    _log_group(backend, name, identifier).kms_key_id = kms_key_id


def disassociate_kms_key(backend: LogsBackend, name, identifier) -> None:
    _log_group(backend, name, identifier).kms_key_id = None


def _associate_response(self: LogsResponse) -> str:
    associate_kms_key(
        self.logs_backend,
        self._get_param("logGroupName"),
        self._get_param("resourceIdentifier"),
        self._get_param("kmsKeyId"),
    )
    return ""


def _disassociate_response(self: LogsResponse) -> str:
    disassociate_kms_key(
        self.logs_backend,
        self._get_param("logGroupName"),
        self._get_param("resourceIdentifier"),
    )
    return ""


def install() -> None:
    LogsResponse.associate_kms_key = _associate_response
    LogsResponse.disassociate_kms_key = _disassociate_response
