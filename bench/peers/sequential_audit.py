"""COMPARISON BASELINE, not product code: the plain sequential boto3 audit a platform team would
write first. One call at a time, the reads key-auditor makes: every key's DescribeKey, GetKeyPolicy
and ListGrants, the rotation status of keys that can rotate, and the last use of Enabled keys.
`make bench` runs it on the same keys as key-auditor.

Prints one JSON line: {"keys": N, "elapsed_ms": T, "findings": {arn: [check, ...]}}, with the
time taken from the first call to the last (interpreter start-up excluded).
"""

import json
import time

import boto3


def main() -> None:
    kms = boto3.client("kms")
    started = time.perf_counter()
    keys = [k["KeyId"] for page in kms.get_paginator("list_keys").paginate() for k in page["Keys"]]
    # One walk for every alias, as key-auditor does; this audit does not use them further.
    sum(len(page["Aliases"]) for page in kms.get_paginator("list_aliases").paginate())
    findings = {}
    for key_id in keys:
        meta = kms.describe_key(KeyId=key_id)["KeyMetadata"]
        if meta.get("KeyManager") == "AWS":
            continue
        found = []
        policy = json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"])
        for statement in policy.get("Statement", []):
            principal = statement.get("Principal")
            public = principal == "*" or (isinstance(principal, dict) and principal.get("AWS") in ("*", ["*"]))
            if statement.get("Effect") == "Allow" and public and not statement.get("Condition"):
                found.append("public-key-policy")
                break
        # Read as key-auditor reads them (unused-key, external-grant); judged only by it.
        kms.list_grants(KeyId=key_id)
        if meta.get("KeyState") == "Enabled":
            kms.get_key_last_usage(KeyId=key_id)
        if meta.get("KeyState") == "PendingDeletion":
            found.append("pending-deletion")
        elif meta.get("KeySpec") == "SYMMETRIC_DEFAULT" and meta.get("Origin") == "AWS_KMS" and meta.get("KeyState") == "Enabled":
            if not kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]:
                found.append("rotation-disabled")
        if meta.get("MultiRegion"):
            found.append("multi-region-key")
        if found:
            findings[meta["Arn"]] = sorted(found)
    elapsed_ms = (time.perf_counter() - started) * 1000
    print(json.dumps({"keys": len(keys), "elapsed_ms": elapsed_ms, "findings": findings}))


if __name__ == "__main__":
    main()
