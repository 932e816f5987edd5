"""key-auditor's Organization run through the local CloudFormation engine, as a platform team deploys
it: template.yaml with AuditAccounts in the audit account, stacks/audit-member.yaml in each member
(trusting the auditor's role with the ExternalId), then the scheduled invocation and the queue's
units fed to the deployed function the way its SQS event source would."""

import json
import unittest

import support  # noqa: I001  (puts tests/emulator on the path)
from support import ROOT, TEMPLATE

MEMBER = ROOT / "stacks" / "audit-member.yaml"
EXTERNAL_ID = "org-audit-engine-3f9c2a7e41"
SCHEDULED = json.loads((ROOT / "events" / "key-auditor" / "scheduler-event.json").read_text())


def tearDownModule() -> None:
    support.stop()


class OrganizationAudit(unittest.TestCase):
    def test_the_platform_fans_out_each_member_is_audited_under_its_role_and_findings_reach_its_security_hub(self) -> None:
        central = support.new_account()
        members = [support.new_account(), support.new_account()]
        platform = central.deploy("stackhand-dev", TEMPLATE, {
            "Environment": "dev",
            "AuditAccounts": ",".join(m.id for m in members),
            "AuditExternalId": EXTERNAL_ID,
        })
        self.assertEqual(platform.status, "CREATE_COMPLETE", platform.failures())
        auditor_role = platform.outputs["KeyAuditorRoleArn"]
        # The first member runs the member stack; the second never did: it must be reported.
        member = members[0].deploy("stackhand-audit-member", MEMBER, {"AuditorRoleArn": auditor_role, "ExternalId": EXTERNAL_ID})
        self.assertEqual(member.status, "CREATE_COMPLETE", member.failures())
        kms = members[0].client("kms")
        key = kms.create_key(Description="rotation off")["KeyMetadata"]
        kms.create_alias(AliasName="alias/orders", TargetKeyId=key["KeyId"])

        sqs = central.client("sqs")
        inbox = sqs.create_queue(QueueName="audit-inbox")["QueueUrl"]
        central.client("sns").subscribe(TopicArn=platform.outputs["AuditReportTopicArn"], Protocol="sqs",
                                        Endpoint=f"arn:aws:sqs:us-east-1:{central.id}:audit-inbox")
        lambda_ = central.client("lambda")

        def invoke(event: dict) -> dict:
            answer = lambda_.invoke(FunctionName="stackhand-dev-key-auditor", Payload=json.dumps(event))
            body = json.loads(answer["Payload"].read() or b"null")
            self.assertNotIn("FunctionError", answer, body)
            return body

        fanned = invoke(SCHEDULED)
        self.assertEqual((fanned["units"], fanned["accounts"], fanned["regions"]), (2, 2, ["us-east-1"]))
        queue = platform.outputs["AuditUnitsQueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
        self.assertEqual(len(messages), 2)
        records = [{"messageId": m["MessageId"], "receiptHandle": m["ReceiptHandle"], "body": m["Body"],
                    "eventSource": "aws:sqs", "eventSourceARN": queue_arn, "awsRegion": "us-east-1"} for m in messages]
        # BatchSize 1, as the template's event source mapping delivers them.
        for record in records:
            self.assertEqual(invoke({"Records": [record]}), {"batchItemFailures": []})

        hub = members[0].client("securityhub").get_findings()["Findings"]
        self.assertEqual({f["GeneratorId"] for f in hub}, {"stackhand/key-auditor/rotation-disabled"})
        self.assertEqual(hub[0]["Resources"][0]["Id"], key["Arn"])
        s3 = central.client("s3")
        bucket = platform.outputs["AuditFindingsBucketName"]
        objects = s3.list_objects_v2(Bucket=bucket, Prefix="findings/dt=")["Contents"]
        self.assertEqual(len(objects), 1, "one object a unit audited")
        lines = s3.get_object(Bucket=bucket, Key=objects[0]["Key"])["Body"].read().decode().splitlines()
        self.assertEqual([json.loads(line)["compliance"]["control"] for line in lines], ["rotation-disabled"])
        summary = json.loads(sqs.receive_message(QueueUrl=inbox)["Messages"][0]["Body"])
        self.assertEqual(summary["Subject"], "KMS key audit: 1 findings on 1 keys, 0% compliant, 1 not audited")
        self.assertIn(f"{members[1].id} us-east-1 [not-audited]: AssumeRole", summary["Message"])

        self.assertEqual(members[0].delete("stackhand-audit-member").status, "DELETE_COMPLETE")
        self.assertEqual(central.delete("stackhand-dev").status, "DELETE_COMPLETE")
        # Audit evidence outlives the stack (DeletionPolicy: Retain).
        self.assertEqual(len(s3.list_objects_v2(Bucket=bucket, Prefix="findings/")["Contents"]), 1)


if __name__ == "__main__":
    unittest.main()
