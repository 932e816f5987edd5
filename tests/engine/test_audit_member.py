"""stacks/audit-member.yaml through the local CloudFormation engine, as a StackSet instance would
deploy it in a member account: the role exists with the trust and the reads it promises, and a
bad parameter is refused before anything is made."""

import json
import unittest

import support  # noqa: I001  (puts tests/emulator on the path)
from support import ROOT

TEMPLATE = ROOT / "stacks" / "audit-member.yaml"
AUDITOR = "arn:aws:iam::111122223333:role/stackhand-prod-KeyAuditorRole-ABC"


def tearDownModule() -> None:
    support.stop()


class AuditMember(unittest.TestCase):
    def test_the_member_role_trusts_the_auditor_with_the_external_id_and_reads_keys(self) -> None:
        account = support.new_account()
        result = account.deploy("stackhand-audit-member", TEMPLATE, {"AuditorRoleArn": AUDITOR, "ExternalId": "org-audit-3f9c2a7e41"})
        self.assertEqual(result.status, "CREATE_COMPLETE", result.failures())
        self.assertTrue(result.outputs["RoleArn"].endswith(":role/stackhand-key-audit"), result.outputs)
        iam = account.client("iam")
        role = iam.get_role(RoleName="stackhand-key-audit")["Role"]
        trust = role["AssumeRolePolicyDocument"]
        trust = json.loads(trust) if isinstance(trust, str) else trust
        self.assertEqual(trust["Statement"][0]["Principal"], {"AWS": AUDITOR})
        self.assertEqual(trust["Statement"][0]["Condition"], {"StringEquals": {"sts:ExternalId": "org-audit-3f9c2a7e41"}})
        policy = iam.get_role_policy(RoleName="stackhand-key-audit", PolicyName="audit-keys")["PolicyDocument"]
        policy = json.loads(policy) if isinstance(policy, str) else policy
        granted = {a for s in policy["Statement"] for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])}
        self.assertIn("kms:GetKeyLastUsage", granted)
        self.assertTrue(all(a.split(":")[1].startswith(("Describe", "Get", "List", "BatchImportFindings")) for a in granted), granted)
        self.assertEqual(account.delete("stackhand-audit-member").status, "DELETE_COMPLETE")

    def test_a_short_external_id_is_refused(self) -> None:
        account = support.new_account()
        with self.assertRaises(account.cloudformation.exceptions.ClientError) as refused:
            account.deploy("stackhand-audit-member", TEMPLATE, {"AuditorRoleArn": AUDITOR, "ExternalId": "short"})
        self.assertIn("Parameter 'ExternalId' must contain at least 16 characters", str(refused.exception))


if __name__ == "__main__":
    unittest.main()
