"""Tests of the moto extension itself, through boto3 against a real serve.py process."""

import os
import socket
import subprocess
import sys
import time
import datetime
import unittest
import urllib.error
import urllib.request

import boto3
from botocore.exceptions import ClientError

HERE = os.path.dirname(os.path.abspath(__file__))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        port = free_port()
        cls.endpoint = f"http://127.0.0.1:{port}"
        cls.server = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "serve.py"), "-p", str(port), "--exit-with-parent"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"{cls.endpoint}/moto-api/", timeout=1)
                break
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    @classmethod
    def tearDownClass(cls) -> None:
        cls.server.terminate()
        cls.server.wait(timeout=10)

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


KEY = "arn:aws:kms:us-east-1:123456789012:key/11111111-2222-3333-4444-555555555555"


class LogsKmsTest(Emulator):
    def test_associate_then_disassociate(self) -> None:
        logs = self.client("logs")
        logs.create_log_group(logGroupName="/ext/assoc")
        logs.associate_kms_key(logGroupName="/ext/assoc", kmsKeyId=KEY)
        group = logs.describe_log_groups(logGroupNamePrefix="/ext/assoc")["logGroups"][0]
        self.assertEqual(group["kmsKeyId"], KEY)
        logs.disassociate_kms_key(logGroupName="/ext/assoc")
        group = logs.describe_log_groups(logGroupNamePrefix="/ext/assoc")["logGroups"][0]
        self.assertNotIn("kmsKeyId", group)

    def test_resource_identifier_is_accepted(self) -> None:
        logs = self.client("logs")
        logs.create_log_group(logGroupName="/ext/ident")
        arn = logs.describe_log_groups(logGroupNamePrefix="/ext/ident")["logGroups"][0]["arn"]
        logs.associate_kms_key(resourceIdentifier=arn, kmsKeyId=KEY)
        group = logs.describe_log_groups(logGroupNamePrefix="/ext/ident")["logGroups"][0]
        self.assertEqual(group["kmsKeyId"], KEY)

    def test_missing_group_is_not_found(self) -> None:
        with self.assertRaises(ClientError) as caught:
            self.client("logs").associate_kms_key(logGroupName="/ext/none", kmsKeyId=KEY)
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")

    def test_key_must_be_an_arn(self) -> None:
        logs = self.client("logs")
        logs.create_log_group(logGroupName="/ext/badkey")
        with self.assertRaises(ClientError) as caught:
            logs.associate_kms_key(logGroupName="/ext/badkey", kmsKeyId="alias/mine")
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidParameterException")

    def test_name_and_identifier_together_are_rejected(self) -> None:
        logs = self.client("logs")
        logs.create_log_group(logGroupName="/ext/both")
        with self.assertRaises(ClientError) as caught:
            logs.disassociate_kms_key(logGroupName="/ext/both", resourceIdentifier="x")
        self.assertEqual(caught.exception.response["Error"]["Code"], "InvalidParameterException")


class CborBridgeTest(Emulator):
    """CloudWatch over Smithy RPC v2 CBOR, encoded and decoded by botocore's own CBOR code."""

    def call(self, operation: str, params: dict):
        import botocore.session
        from botocore.awsrequest import AWSRequest
        from botocore.parsers import RpcV2CBORParser
        from botocore.serialize import RpcV2CBORSerializer

        model = botocore.session.get_session().get_service_model("cloudwatch")
        op = model.operation_model(operation)
        request = RpcV2CBORSerializer().serialize_to_request(params, op)
        url = self.endpoint + request["url_path"]
        headers = dict(request["headers"])
        headers["Authorization"] = (
            "AWS4-HMAC-SHA256 Credential=testing/20261126/us-east-1/monitoring/aws4_request, "
            "SignedHeaders=host, Signature=0"
        )
        prepared = AWSRequest(method="POST", url=url, data=request["body"], headers=headers).prepare()
        response = urllib.request.urlopen(
            urllib.request.Request(url, data=prepared.body, headers=dict(prepared.headers), method="POST")
        )
        self.assertEqual(response.headers["smithy-protocol"], "rpc-v2-cbor")
        body = response.read()
        return RpcV2CBORParser().parse(
            {"body": body, "headers": dict(response.headers), "status_code": response.status},
            op.output_shape,
        )

    def test_put_and_describe_an_alarm(self) -> None:
        self.call(
            "PutMetricAlarm",
            {
                "AlarmName": "cbor-alarm",
                "Namespace": "AWS/ECS",
                "MetricName": "CPUUtilization",
                "Statistic": "Average",
                "Period": 60,
                "EvaluationPeriods": 3,
                "Threshold": 80.5,
                "ComparisonOperator": "GreaterThanThreshold",
                "Tags": [{"Key": "severity", "Value": "critical"}],
            },
        )
        alarms = self.call("DescribeAlarms", {"AlarmNames": ["cbor-alarm"]})["MetricAlarms"]
        self.assertEqual(len(alarms), 1)
        alarm = alarms[0]
        self.assertEqual(alarm["Threshold"], 80.5)
        self.assertEqual(alarm["EvaluationPeriods"], 3)
        self.assertIsInstance(alarm["StateUpdatedTimestamp"], datetime.datetime)
        tags = self.call("ListTagsForResource", {"ResourceARN": alarm["AlarmArn"]})["Tags"]
        self.assertEqual(tags, [{"Key": "severity", "Value": "critical"}])

    def test_errors_keep_status_and_code(self) -> None:
        with self.assertRaises(urllib.error.HTTPError) as caught:
            self.call("SetAlarmState", {"AlarmName": "missing", "StateValue": "ALARM", "StateReason": "r"})
        self.assertEqual(caught.exception.code, 404)
        self.assertEqual(caught.exception.headers["Content-Type"], "application/cbor")

    def test_the_json_protocol_still_works(self) -> None:
        cloudwatch = self.client("cloudwatch")
        cloudwatch.put_metric_data(Namespace="N", MetricData=[{"MetricName": "M", "Value": 1.0}])
        self.assertEqual(cloudwatch.list_metrics(Namespace="N")["Metrics"][0]["MetricName"], "M")


class AccountIsolationTest(Emulator):
    def test_assumed_role_accounts_are_separate(self) -> None:
        sts = self.client("sts")
        sessions = []
        for account in ("111111111111", "222222222222"):
            creds = sts.assume_role(
                RoleArn=f"arn:aws:iam::{account}:role/t", RoleSessionName="stackhand-test"
            )["Credentials"]
            sessions.append(
                boto3.client(
                    "logs",
                    endpoint_url=self.endpoint,
                    region_name="us-east-1",
                    aws_access_key_id=creds["AccessKeyId"],
                    aws_secret_access_key=creds["SecretAccessKey"],
                    aws_session_token=creds["SessionToken"],
                )
            )
        sessions[0].create_log_group(logGroupName="/ext/isolated")
        self.assertEqual(len(sessions[0].describe_log_groups()["logGroups"]), 1)
        self.assertEqual(sessions[1].describe_log_groups()["logGroups"], [])


if __name__ == "__main__":
    unittest.main()
