"""KMS ReplicateKey with its own Policy, Description and Tags, as AWS applies them; moto copies
the primary and ignores all three.

API reference: https://docs.aws.amazon.com/kms/latest/APIReference/API_ReplicateKey.html. A
replica's key policy, description, tags and enabled state are its own (multi-Region keys share
only key material, spec, usage, origin and rotation), so a test can see whether a provider keeps
them in step.
"""

import json

from moto.kms.models import kms_backends
from moto.kms.responses import KmsResponse


def _replicate_key(self: KmsResponse) -> str:
    key_id = self._get_param("KeyId")
    self._validate_key_id(key_id)
    replica_region = self._get_param("ReplicaRegion")
    replica = self.kms_backend.replicate_key(key_id, replica_region)
    policy = self._get_param("Policy")
    if policy is not None:
        replica.policy = policy
    description = self._get_param("Description")
    if description is not None:
        replica.description = description
    tags = self._get_param("Tags") or []
    if tags:
        kms_backends[self.current_account][replica_region].tagger.tag_resource(replica.id, tags)
    return json.dumps(
        {
            "ReplicaKeyMetadata": replica.to_dict()["KeyMetadata"],
            "ReplicaPolicy": replica.policy,
        }
    )


def install() -> None:
    KmsResponse.replicate_key = _replicate_key
