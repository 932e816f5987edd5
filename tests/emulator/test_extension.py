"""Tests of the moto extension itself, through boto3 against a real serve.py process.

Longer than 400 lines on purpose: one class per extension module, all against one server.
"""

import os
import socket
import subprocess
import sys
import time
import datetime
import json
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


SERVER: dict = {}


def start_server(*args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """serve.py on a free port with `args`; returns the process and its endpoint once it answers."""
    port = free_port()
    endpoint = f"http://127.0.0.1:{port}"
    process = subprocess.Popen(
        [sys.executable, os.path.join(HERE, "serve.py"), "-p", str(port), "--exit-with-parent", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.time() + 30
    while True:
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)
            return process, endpoint
        except OSError:
            if process.poll() is not None:
                raise RuntimeError(f"serve.py exited with {process.returncode}")
            if time.time() > deadline:
                raise
            time.sleep(0.1)


def setUpModule() -> None:
    """One emulator for every test here, as the Rust test binaries share one."""
    SERVER["process"], SERVER["endpoint"] = start_server()


def tearDownModule() -> None:
    SERVER["process"].terminate()
    SERVER["process"].wait(timeout=10)


class Emulator(unittest.TestCase):
    @property
    def endpoint(self) -> str:
        return SERVER["endpoint"]

    def client(self, service: str):
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )

    def code_of(self, call) -> str:
        with self.assertRaises(ClientError) as caught:
            call()
        return caught.exception.response["Error"]["Code"]


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


class CloudWatchExtensionTest(Emulator):
    def metric_alarm(self, cloudwatch, name: str) -> None:
        cloudwatch.put_metric_alarm(
            AlarmName=name,
            Namespace="AWS/ECS",
            MetricName="CPUUtilization",
            Statistic="Average",
            Period=60,
            EvaluationPeriods=1,
            Threshold=80,
            ComparisonOperator="GreaterThanThreshold",
        )

    def test_composite_alarm_round_trip(self) -> None:
        cloudwatch = self.client("cloudwatch")
        self.metric_alarm(cloudwatch, "cpu")
        self.metric_alarm(cloudwatch, "mem")
        cloudwatch.put_composite_alarm(
            AlarmName="health",
            AlarmRule='ALARM("cpu") OR ALARM(mem)',
            ActionsSuppressor="cpu",
            ActionsSuppressorWaitPeriod=60,
            ActionsSuppressorExtensionPeriod=120,
            Tags=[{"Key": "severity", "Value": "critical"}],
        )
        found = cloudwatch.describe_alarms(AlarmNames=["health"])
        self.assertEqual(found["MetricAlarms"], [])
        composite = found["CompositeAlarms"][0]
        self.assertEqual(composite["AlarmRule"], 'ALARM("cpu") OR ALARM(mem)')
        self.assertEqual(composite["ActionsSuppressor"], "cpu")
        tags = cloudwatch.list_tags_for_resource(ResourceARN=composite["AlarmArn"])["Tags"]
        self.assertEqual(tags, [{"Key": "severity", "Value": "critical"}])
        cloudwatch.delete_alarms(AlarmNames=["health"])
        self.assertEqual(cloudwatch.describe_alarms(AlarmNames=["health"])["CompositeAlarms"], [])

    def test_composite_rule_naming_a_missing_alarm_is_rejected(self) -> None:
        cloudwatch = self.client("cloudwatch")
        with self.assertRaises(ClientError) as caught:
            cloudwatch.put_composite_alarm(AlarmName="bad", AlarmRule='ALARM("nope")')
        self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationError")
        self.assertIn("nope", caught.exception.response["Error"]["Message"])

    def test_alarm_history_lists_state_changes_newest_first(self) -> None:
        cloudwatch = self.client("cloudwatch")
        self.metric_alarm(cloudwatch, "flappy")
        for state in ("ALARM", "OK", "ALARM"):
            cloudwatch.set_alarm_state(AlarmName="flappy", StateValue=state, StateReason=f"to {state}")
        items = cloudwatch.describe_alarm_history(AlarmName="flappy", HistoryItemType="StateUpdate")["AlarmHistoryItems"]
        self.assertEqual(
            [i["HistorySummary"] for i in items],
            ["Alarm updated from OK to ALARM", "Alarm updated from ALARM to OK", "Alarm updated from OK to ALARM"],
        )
        data = json.loads(items[0]["HistoryData"])
        self.assertEqual(data["newState"]["stateValue"], "ALARM")
        self.assertEqual(data["newState"]["stateReason"], "to ALARM")
        oldest = cloudwatch.describe_alarm_history(AlarmName="flappy", ScanBy="TimestampAscending", MaxRecords=1)
        self.assertEqual(oldest["AlarmHistoryItems"][0]["HistorySummary"], "Alarm updated from OK to ALARM")

    def test_anomaly_detectors_put_describe_delete(self) -> None:
        cloudwatch = self.client("cloudwatch")
        single = {
            "Namespace": "AWS/ECS",
            "MetricName": "CPUUtilization",
            "Dimensions": [{"Name": "ClusterName", "Value": "shop"}],
            "Stat": "Average",
        }
        cloudwatch.put_anomaly_detector(SingleMetricAnomalyDetector=single)
        cloudwatch.put_anomaly_detector(SingleMetricAnomalyDetector=single)
        found = cloudwatch.describe_anomaly_detectors(Namespace="AWS/ECS")["AnomalyDetectors"]
        self.assertEqual(len(found), 1, "putting the same detector twice keeps one")
        self.assertEqual(found[0]["SingleMetricAnomalyDetector"]["MetricName"], "CPUUtilization")
        cloudwatch.delete_anomaly_detector(SingleMetricAnomalyDetector=single)
        self.assertEqual(cloudwatch.describe_anomaly_detectors()["AnomalyDetectors"], [])
        with self.assertRaises(ClientError) as caught:
            cloudwatch.delete_anomaly_detector(SingleMetricAnomalyDetector=single)
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")


class LogsQueryDefinitionTest(Emulator):
    def test_put_update_describe_delete(self) -> None:
        logs = self.client("logs")
        created = logs.put_query_definition(name="errors", queryString="fields @message | filter @message like /ERROR/", logGroupNames=["/app"])
        definition_id = created["queryDefinitionId"]
        logs.put_query_definition(queryDefinitionId=definition_id, name="errors", queryString="fields @timestamp")
        found = logs.describe_query_definitions(queryDefinitionNamePrefix="err")["queryDefinitions"]
        self.assertEqual(len(found), 1)
        self.assertEqual(found[0]["queryString"], "fields @timestamp")
        self.assertEqual(found[0]["queryDefinitionId"], definition_id)
        self.assertTrue(logs.delete_query_definition(queryDefinitionId=definition_id)["success"])
        with self.assertRaises(ClientError) as caught:
            logs.delete_query_definition(queryDefinitionId=definition_id)
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")

    def test_unknown_id_is_not_found(self) -> None:
        with self.assertRaises(ClientError) as caught:
            self.client("logs").put_query_definition(queryDefinitionId="0000", name="x", queryString="fields @message")
        self.assertEqual(caught.exception.response["Error"]["Code"], "ResourceNotFoundException")


class EcsSettingsTest(Emulator):
    def test_update_cluster_settings(self) -> None:
        ecs = self.client("ecs")
        ecs.create_cluster(clusterName="c")
        out = ecs.update_cluster_settings(cluster="c", settings=[{"name": "containerInsights", "value": "enhanced"}])
        self.assertEqual(out["cluster"]["settings"], [{"name": "containerInsights", "value": "enhanced"}])

    def test_an_empty_namespace_removes_the_service_connect_defaults(self) -> None:
        ecs = self.client("ecs")
        ecs.create_cluster(clusterName="sc", serviceConnectDefaults={"namespace": "sc.internal"})
        kept = ecs.update_cluster(cluster="sc", settings=[{"name": "containerInsights", "value": "enabled"}])
        self.assertIn("serviceConnectDefaults", kept["cluster"])
        removed = ecs.update_cluster(cluster="sc", serviceConnectDefaults={"namespace": ""})
        self.assertNotIn("serviceConnectDefaults", removed["cluster"])


class KmsPagingTest(Emulator):
    def test_keys_and_aliases_come_in_pages_like_aws(self) -> None:
        kms = self.client("kms")
        for i in range(7):
            key = kms.create_key()["KeyMetadata"]["KeyId"]
            kms.create_alias(AliasName=f"alias/paging-{i}", TargetKeyId=key)
        first = kms.list_keys(Limit=3)
        self.assertEqual(len(first["Keys"]), 3)
        self.assertTrue(first["Truncated"])
        seen = [k["KeyId"] for k in first["Keys"]]
        marker = first["NextMarker"]
        while marker:
            page = kms.list_keys(Limit=3, Marker=marker)
            seen += [k["KeyId"] for k in page["Keys"]]
            marker = page.get("NextMarker")
        everything = kms.list_keys(Limit=1000)["Keys"]
        self.assertEqual(seen, [k["KeyId"] for k in everything])
        self.assertFalse(kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 2}).build_full_result().get("Truncated", False))
        aliases = kms.get_paginator("list_aliases").paginate(PaginationConfig={"PageSize": 2}).build_full_result()["Aliases"]
        self.assertEqual(len([a for a in aliases if a["AliasName"].startswith("alias/paging-")]), 7)

    def test_a_limit_out_of_range_is_rejected(self) -> None:
        with self.assertRaises(ClientError) as caught:
            self.client("kms").list_aliases(Limit=101)
        self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationException")


class KmsKeyMaterialTest(Emulator):
    def test_asymmetric_keys_still_sign_verify_and_share_their_public_key(self) -> None:
        kms = self.client("kms")
        for spec, algorithm in [("RSA_2048", "RSASSA_PSS_SHA_256"), ("ECC_NIST_P256", "ECDSA_SHA_256")]:
            key = kms.create_key(KeySpec=spec, KeyUsage="SIGN_VERIFY")["KeyMetadata"]["KeyId"]
            signature = kms.sign(KeyId=key, Message=b"m", SigningAlgorithm=algorithm)["Signature"]
            self.assertTrue(kms.verify(KeyId=key, Message=b"m", Signature=signature, SigningAlgorithm=algorithm)["SignatureValid"])
            self.assertTrue(kms.get_public_key(KeyId=key)["PublicKey"])

    def test_symmetric_keys_encrypt_and_decrypt(self) -> None:
        kms = self.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        blob = kms.encrypt(KeyId=key, Plaintext=b"secret")["CiphertextBlob"]
        self.assertEqual(kms.decrypt(CiphertextBlob=blob)["Plaintext"], b"secret")


class LogsMetricFilterTest(Emulator):
    def test_putting_a_filter_again_replaces_it(self) -> None:
        logs = self.client("logs")
        logs.create_log_group(logGroupName="/filters")
        transformation = [{"metricName": "Errors", "metricNamespace": "App", "metricValue": "1"}]
        logs.put_metric_filter(logGroupName="/filters", filterName="errors", filterPattern="ERROR", metricTransformations=transformation)
        logs.put_metric_filter(logGroupName="/filters", filterName="errors", filterPattern="?ERROR ?FATAL", metricTransformations=transformation)
        filters = logs.describe_metric_filters(logGroupName="/filters")["metricFilters"]
        self.assertEqual([f["filterPattern"] for f in filters], ["?ERROR ?FATAL"])
        logs.delete_metric_filter(logGroupName="/filters", filterName="errors")
        self.assertEqual(logs.describe_metric_filters(logGroupName="/filters")["metricFilters"], [])


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



class StrictRulesTest(Emulator):
    """What real AWS refuses and moto accepted: each rule of stackhand_moto/strict.py."""

    def test_a_disabled_key_refuses_rotation_and_grants(self) -> None:
        kms = self.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        kms.disable_key(KeyId=key)
        self.assertEqual(self.code_of(lambda: kms.enable_key_rotation(KeyId=key)), "DisabledException")
        grant = lambda: kms.create_grant(KeyId=key, GranteePrincipal="arn:aws:iam::123456789012:role/x", Operations=["Decrypt"])
        self.assertEqual(self.code_of(grant), "DisabledException")
        kms.enable_key(KeyId=key)
        kms.enable_key_rotation(KeyId=key)
        grant()
        kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
        self.assertEqual(self.code_of(lambda: kms.disable_key_rotation(KeyId=key)), "KMSInvalidStateException")

    def test_on_demand_rotations_stop_at_the_quota(self) -> None:
        kms = self.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        for _ in range(25):
            kms.rotate_key_on_demand(KeyId=key)
        self.assertEqual(self.code_of(lambda: kms.rotate_key_on_demand(KeyId=key)), "LimitExceededException")

    def test_kms_tags_are_limited_and_aws_is_reserved(self) -> None:
        kms = self.client("kms")
        many = [{"TagKey": f"k{i}", "TagValue": "v"} for i in range(51)]
        self.assertEqual(self.code_of(lambda: kms.create_key(Tags=many)), "TagException")
        key = kms.create_key(Tags=many[:50])["KeyMetadata"]["KeyId"]
        self.assertEqual(self.code_of(lambda: kms.tag_resource(KeyId=key, Tags=[{"TagKey": "one-more", "TagValue": "v"}])), "TagException")
        self.assertEqual(self.code_of(lambda: kms.create_key(Tags=[{"TagKey": "AWS:owner", "TagValue": "v"}])), "TagException")

    def test_a_key_policy_over_32_kb_is_refused(self) -> None:
        kms = self.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        policy = json.dumps({"Version": "2012-10-17", "Statement": [], "Padding": "x" * 33000})
        self.assertEqual(self.code_of(lambda: kms.put_key_policy(KeyId=key, PolicyName="default", Policy=policy)), "ValidationException")

    def test_an_alarm_window_longer_than_aws_evaluates_is_refused(self) -> None:
        cw = self.client("cloudwatch")
        alarm = dict(AlarmName="window", Namespace="N", MetricName="M", Statistic="Average", Threshold=1, ComparisonOperator="GreaterThanThreshold")
        self.assertEqual(self.code_of(lambda: cw.put_metric_alarm(Period=300, EvaluationPeriods=289, **alarm)), "ValidationError")
        self.assertEqual(self.code_of(lambda: cw.put_metric_alarm(Period=3600, EvaluationPeriods=169, **alarm)), "ValidationError")
        cw.put_metric_alarm(Period=300, EvaluationPeriods=288, **alarm)
        cw.put_metric_alarm(Period=3600, EvaluationPeriods=168, **alarm)

    def test_dashboard_names_are_checked(self) -> None:
        cw = self.client("cloudwatch")
        body = json.dumps({"widgets": []})
        self.assertEqual(self.code_of(lambda: cw.put_dashboard(DashboardName="api.overview", DashboardBody=body)), "InvalidParameterInput")
        cw.put_dashboard(DashboardName="api-overview_1", DashboardBody=body)

    def test_log_group_names_tags_and_retention_are_checked(self) -> None:
        logs = self.client("logs")
        self.assertEqual(self.code_of(lambda: logs.create_log_group(logGroupName="aws/mine")), "InvalidParameterException")
        many = {f"k{i}": "v" for i in range(51)}
        self.assertEqual(self.code_of(lambda: logs.create_log_group(logGroupName="/strict/tags", tags=many)), "InvalidParameterException")
        logs.create_log_group(logGroupName="/strict/retention")
        self.assertEqual(self.code_of(lambda: logs.put_retention_policy(logGroupName="/strict/retention", retentionInDays=8)), "InvalidParameterException")
        logs.put_retention_policy(logGroupName="/strict/retention", retentionInDays=14)


class KmsReplicasTest(Emulator):
    def test_a_replica_keeps_its_own_policy_description_and_tags(self) -> None:
        kms = self.client("kms")
        key = kms.create_key(MultiRegion=True, Description="primary")["KeyMetadata"]["KeyId"]
        policy = json.dumps({"Version": "2012-10-17", "Statement": [{"Sid": "Replica", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "kms:*", "Resource": "*"}]})
        out = kms.replicate_key(KeyId=key, ReplicaRegion="eu-west-1", Policy=policy, Description="replica", Tags=[{"TagKey": "team", "TagValue": "eu"}])
        self.assertEqual(json.loads(out["ReplicaPolicy"])["Statement"][0]["Sid"], "Replica")
        eu = boto3.client("kms", endpoint_url=self.endpoint, region_name="eu-west-1", aws_access_key_id="testing", aws_secret_access_key="testing")
        self.assertEqual(eu.describe_key(KeyId=key)["KeyMetadata"]["Description"], "replica")
        self.assertEqual(json.loads(eu.get_key_policy(KeyId=key, PolicyName="default")["Policy"])["Statement"][0]["Sid"], "Replica")
        self.assertEqual(eu.list_resource_tags(KeyId=key)["Tags"], [{"TagKey": "team", "TagValue": "eu"}])
        self.assertEqual(kms.describe_key(KeyId=key)["KeyMetadata"]["Description"], "primary")


class KmsRotationTest(Emulator):
    def test_the_rotation_period_is_kept_and_answered(self) -> None:
        kms = self.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        self.assertNotIn("RotationPeriodInDays", kms.get_key_rotation_status(KeyId=key))
        kms.enable_key_rotation(KeyId=key, RotationPeriodInDays=180)
        self.assertEqual(kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"], 180)
        kms.enable_key_rotation(KeyId=key)
        self.assertEqual(kms.get_key_rotation_status(KeyId=key)["RotationPeriodInDays"], 365)
        from botocore.config import Config

        unchecked = boto3.client("kms", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                                 aws_secret_access_key="testing", config=Config(parameter_validation=False))
        with self.assertRaises(ClientError) as caught:
            unchecked.enable_key_rotation(KeyId=key, RotationPeriodInDays=30)
        self.assertEqual(caught.exception.response["Error"]["Code"], "ValidationException")


class RequestQuotasTest(unittest.TestCase):
    """serve.py --request-quotas: alarm calls above CloudWatch's quotas are throttled, per
    account, and an account's quota can be raised."""

    @classmethod
    def setUpClass(cls) -> None:
        cls.process, cls.endpoint = start_server("--request-quotas")

    @classmethod
    def tearDownClass(cls) -> None:
        cls.process.terminate()
        cls.process.wait(timeout=10)

    def cloudwatch(self, user_agent_extra: str = ""):
        from botocore.config import Config

        return boto3.client("cloudwatch", endpoint_url=self.endpoint, region_name="us-east-1", aws_access_key_id="testing",
                            aws_secret_access_key="testing",
                            config=Config(retries={"max_attempts": 1}, user_agent_extra=user_agent_extra))

    def put(self, cw, name: str) -> None:
        cw.put_metric_alarm(AlarmName=name, Namespace="N", MetricName="M", Statistic="Average", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")

    def test_a_fourth_put_in_one_second_is_throttled_until_the_quota_is_raised(self) -> None:
        cw = self.cloudwatch()
        time.sleep(1.1)
        for i in range(3):
            self.put(cw, f"quota-{i}")
        with self.assertRaises(ClientError) as caught:
            self.put(cw, "quota-3")
        self.assertEqual(caught.exception.response["Error"]["Code"], "Throttling")
        time.sleep(1.1)
        self.put(cw, "quota-3")
        request = urllib.request.Request(f"{self.endpoint}/stackhand/quotas", method="POST",
                                         data=json.dumps({"account": "123456789012", "scale": 10}).encode())
        urllib.request.urlopen(request, timeout=5)
        time.sleep(1.1)
        for i in range(10):
            self.put(cw, f"raised-{i}")


    def test_a_tests_own_looks_are_neither_counted_nor_throttled(self) -> None:
        request = urllib.request.Request(f"{self.endpoint}/stackhand/quotas", method="POST",
                                         data=json.dumps({"account": "123456789012", "scale": 1}).encode())
        urllib.request.urlopen(request, timeout=5)
        product = self.cloudwatch()
        observer = self.cloudwatch("app/stackhand-observer")
        time.sleep(1.1)
        for i in range(5):
            self.put(observer, f"staged-{i}")
        for i in range(3):
            self.put(product, f"product-{i}")
        with self.assertRaises(ClientError) as caught:
            self.put(product, "product-3")
        self.assertEqual(caught.exception.response["Error"]["Code"], "Throttling")
        self.put(observer, "staged-5")
        request = urllib.request.Request(f"{self.endpoint}/stackhand/quotas/throttled", method="POST",
                                         data=json.dumps({"account": "123456789012"}).encode())
        counts = json.loads(urllib.request.urlopen(request, timeout=5).read())
        self.assertGreaterEqual(counts["PutMetricAlarm"], 1)


class RecorderTest(unittest.TestCase):
    """moto's recorder keeps one whole JSON line per request, however large and however many run
    at once (the benchmarks count calls from it)."""

    def test_concurrent_large_requests_record_one_parseable_line_each(self) -> None:
        import tempfile
        from concurrent.futures import ThreadPoolExecutor

        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "recording")
            process, endpoint = start_server(env=dict(os.environ, MOTO_RECORDER_FILEPATH=path))
            try:
                recorder = f"{endpoint}/moto-api/recorder"
                urllib.request.urlopen(urllib.request.Request(f"{recorder}/start-recording", method="POST"), timeout=5)

                def send(i: int) -> None:
                    body = json.dumps({"logGroupNamePrefix": f"p{i}", "padding": "x" * 40_000}).encode()
                    request = urllib.request.Request(endpoint, data=body, method="POST", headers={
                        "X-Amz-Target": "Logs_20140328.DescribeLogGroups", "Content-Type": "application/x-amz-json-1.1"})
                    try:
                        urllib.request.urlopen(request, timeout=30).read()
                    except urllib.error.HTTPError:
                        pass

                with ThreadPoolExecutor(max_workers=16) as pool:
                    list(pool.map(send, range(64)))
                urllib.request.urlopen(urllib.request.Request(f"{recorder}/stop-recording", method="POST"), timeout=5)
                with open(path) as f:
                    entries = [json.loads(line) for line in f]
                self.assertEqual(len(entries), 64)
            finally:
                process.terminate()
                process.wait(timeout=10)


class AlarmMuteRulesTest(Emulator):
    def put(self, cw, name: str, expression: str, duration: str, alarms: list[str], **dates) -> None:
        cw.put_alarm_mute_rule(Name=name, Rule={"Schedule": {"Expression": expression, "Duration": duration}},
                               MuteTargets={"AlarmNames": alarms}, **dates)

    def statuses(self, cw, alarm: str) -> dict:
        rules = cw.list_alarm_mute_rules(AlarmName=alarm)["AlarmMuteRuleSummaries"]
        return {r["AlarmMuteRuleArn"].rsplit(":", 1)[1]: r["Status"] for r in rules}

    def test_a_rule_is_active_only_inside_its_window(self) -> None:
        cw = self.client("cloudwatch")
        now = datetime.datetime.now(datetime.timezone.utc)
        opened = (now - datetime.timedelta(minutes=10)).strftime("%Y-%m-%dT%H:%M")
        later = (now + datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M")
        self.put(cw, "window-open", f"at({opened})", "PT1H", ["mute-a"])
        self.put(cw, "window-later", f"at({later})", "PT1H", ["mute-a"])
        self.put(cw, "window-closed", f"at({opened})", "PT5M", ["mute-a"])
        self.put(cw, "every-minute", "cron(* * * * *)", "PT5M", ["mute-a", "mute-b"])
        other_hour = (now.hour + 12) % 24
        self.put(cw, "nightly", f"cron(0 {other_hour} * * *)", "PT2H", ["mute-a"])
        self.put(cw, "expired", "cron(* * * * *)", "PT5M", ["mute-a"],
                 ExpireDate=now - datetime.timedelta(minutes=1))
        self.assertEqual(self.statuses(cw, "mute-a"), {
            "window-open": "ACTIVE", "window-later": "SCHEDULED", "window-closed": "EXPIRED",
            "every-minute": "ACTIVE", "nightly": "SCHEDULED", "expired": "EXPIRED"})
        self.assertEqual(self.statuses(cw, "mute-b"), {"every-minute": "ACTIVE"})
        active = cw.list_alarm_mute_rules(AlarmName="mute-a", Statuses=["ACTIVE"])["AlarmMuteRuleSummaries"]
        self.assertEqual(len(active), 2)
        rule = cw.get_alarm_mute_rule(AlarmMuteRuleName="every-minute")
        self.assertEqual((rule["Status"], rule["MuteType"]), ("ACTIVE", "RECURRING"))
        self.assertEqual(rule["MuteTargets"]["AlarmNames"], ["mute-a", "mute-b"])
        cw.delete_alarm_mute_rule(AlarmMuteRuleName="every-minute")
        self.assertEqual(self.code_of(lambda: cw.get_alarm_mute_rule(AlarmMuteRuleName="every-minute")),
                         "ResourceNotFoundException")

    def test_what_aws_rejects_is_rejected(self) -> None:
        cw = self.client("cloudwatch")
        for expression, duration, alarms in [
            ("cron(0 2 * *)", "PT1H", ["a"]),
            ("rate(5 minutes)", "PT1H", ["a"]),
            ("cron(0 2 * * *)", "P16D", ["a"]),
            ("cron(0 2 * * *)", "PT30S", ["a"]),
            ("cron(0 2 * * *)", "two hours", ["a"]),
            ("cron(0 2 * * *)", "PT1H", [f"alarm-{i}" for i in range(101)]),
        ]:
            with self.subTest(expression=expression, duration=duration, alarms=len(alarms)):
                self.assertEqual(self.code_of(lambda: self.put(cw, "bad", expression, duration, alarms)),
                                 "ValidationError")


class SchedulerRulesTest(Emulator):
    def create(self, name: str, expression: str):
        target = {"Arn": "arn:aws:lambda:us-east-1:123456789012:function:router", "Input": "{}",
                  "RoleArn": "arn:aws:iam::123456789012:role/settle"}
        return self.client("scheduler").create_schedule(
            Name=name, ScheduleExpression=expression, FlexibleTimeWindow={"Mode": "OFF"}, Target=target,
            ActionAfterCompletion="DELETE")

    def test_a_one_time_schedule_is_kept_and_a_repeat_is_a_conflict(self) -> None:
        self.create("stackhand-settle-a1", "at(2026-12-01T12:00:00)")
        got = self.client("scheduler").get_schedule(Name="stackhand-settle-a1")
        self.assertEqual((got["ScheduleExpression"], got["ActionAfterCompletion"]), ("at(2026-12-01T12:00:00)", "DELETE"))
        self.assertEqual(self.code_of(lambda: self.create("stackhand-settle-a1", "at(2026-12-01T12:00:00)")), "ConflictException")

    def test_what_aws_rejects_is_rejected(self) -> None:
        for name, expression in [
            ("x" * 65, "at(2026-12-01T12:00:00)"),
            ("has:colon", "at(2026-12-01T12:00:00)"),
            ("no-seconds", "at(2026-12-01T12:00)"),
        ]:
            with self.subTest(name=name):
                self.assertEqual(self.code_of(lambda: self.create(name, expression)), "ValidationException")


class CloudWatchAgingTest(Emulator):
    def test_an_alarm_state_change_can_be_aged(self) -> None:
        cw = self.client("cloudwatch")
        cw.put_metric_alarm(AlarmName="aged", Namespace="N", MetricName="M", Statistic="Average", Period=60,
                            EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
        before = cw.describe_alarms(AlarmNames=["aged"])["MetricAlarms"][0]["StateUpdatedTimestamp"]
        request = urllib.request.Request(f"{self.endpoint}/stackhand/cloudwatch/age-alarm", method="POST", data=json.dumps(
            {"account": "123456789012", "region": "us-east-1", "alarm": "aged", "minutes": 30}).encode())
        urllib.request.urlopen(request, timeout=5)
        after = cw.describe_alarms(AlarmNames=["aged"])["MetricAlarms"][0]["StateUpdatedTimestamp"]
        self.assertAlmostEqual((before - after).total_seconds(), 1800, delta=5)


class StackStatusTest(Emulator):
    def test_a_stack_can_be_shown_mid_update(self) -> None:
        cfn = self.client("cloudformation")
        stack = cfn.create_stack(StackName="mid-update", TemplateBody=json.dumps(
            {"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}))["StackId"]
        request = urllib.request.Request(f"{self.endpoint}/stackhand/cloudformation/stack-status", method="POST", data=json.dumps(
            {"account": "123456789012", "region": "us-east-1", "stack": stack, "status": "UPDATE_IN_PROGRESS"}).encode())
        urllib.request.urlopen(request, timeout=5)
        self.assertEqual(cfn.describe_stacks(StackName="mid-update")["Stacks"][0]["StackStatus"], "UPDATE_IN_PROGRESS")


class KmsAgingTest(Emulator):
    def test_a_key_can_be_aged_for_schedules(self) -> None:
        kms = self.client("kms")
        key = kms.create_key()["KeyMetadata"]
        kms.rotate_key_on_demand(KeyId=key["KeyId"])
        request = urllib.request.Request(f"{self.endpoint}/stackhand/kms/age", method="POST", data=json.dumps(
            {"account": "123456789012", "region": "us-east-1", "key_id": key["KeyId"], "days": 40}).encode())
        urllib.request.urlopen(request, timeout=5)
        aged = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]["CreationDate"]
        self.assertAlmostEqual((key["CreationDate"] - aged).total_seconds(), 40 * 86400, delta=5)
        rotated = kms.list_key_rotations(KeyId=key["KeyId"])["Rotations"][0]["RotationDate"]
        self.assertGreater((datetime.datetime.now(datetime.timezone.utc) - rotated).total_seconds(), 39 * 86400)


class KmsLastUsageTest(Emulator):
    def usage(self, key_id: str, **fields: object) -> None:
        body = {"account": "123456789012", "region": "us-east-1", "key_id": key_id, **fields}
        request = urllib.request.Request(f"{self.endpoint}/stackhand/kms/usage", method="POST", data=json.dumps(body).encode())
        urllib.request.urlopen(request, timeout=5)

    def test_the_last_cryptographic_use_is_tracked_from_creation(self) -> None:
        kms = self.client("kms")
        key = kms.create_key()["KeyMetadata"]
        fresh = kms.get_key_last_usage(KeyId=key["KeyId"])
        self.assertNotIn("KeyLastUsage", fresh)
        self.assertEqual(fresh["TrackingStartDate"], fresh["KeyCreationDate"])
        blob = kms.encrypt(KeyId=key["KeyId"], Plaintext=b"x")["CiphertextBlob"]
        kms.decrypt(CiphertextBlob=blob)
        used = kms.get_key_last_usage(KeyId=key["Arn"])["KeyLastUsage"]
        self.assertEqual(used["Operation"], "Decrypt")
        self.assertIn("CloudTrailEventId", used)
        self.assertEqual(self.code_of(lambda: kms.get_key_last_usage(KeyId="alias/nope")), "NotFoundException")

    def test_a_last_use_and_a_tracking_start_can_be_set_in_the_past(self) -> None:
        kms = self.client("kms")
        key = kms.create_key()["KeyMetadata"]["KeyId"]
        request = urllib.request.Request(f"{self.endpoint}/stackhand/kms/age", method="POST", data=json.dumps(
            {"account": "123456789012", "region": "us-east-1", "key_id": key, "days": 200}).encode())
        urllib.request.urlopen(request, timeout=5)
        self.usage(key, last_used_days_ago=100, operation="GenerateDataKey")
        used = kms.get_key_last_usage(KeyId=key)["KeyLastUsage"]
        self.assertEqual(used["Operation"], "GenerateDataKey")
        age = datetime.datetime.now(datetime.timezone.utc) - used["Timestamp"]
        self.assertAlmostEqual(age.total_seconds(), 100 * 86400, delta=60)
        # Tracking that started after the last use: that use is no longer on record.
        self.usage(key, tracking_started_days_ago=30)
        answer = kms.get_key_last_usage(KeyId=key)
        self.assertNotIn("KeyLastUsage", answer)
        self.assertGreater(answer["TrackingStartDate"], answer["KeyCreationDate"])


class SecurityHubRulesTest(Emulator):
    """securityhub_rules.py: who may import, ASFF limits, provider updates, GetFindings filters, and
    AssumeRole with an ExternalId."""

    ACCOUNT = "123456789012"  # moto's default account for the "testing" keys

    def finding(self, finding_id: str, **changes) -> dict:
        product = f"arn:aws:securityhub:us-east-1:{self.ACCOUNT}:product/{self.ACCOUNT}/default"
        base = {
            "SchemaVersion": "2018-10-08", "Id": finding_id, "ProductArn": product,
            "GeneratorId": "stackhand/key-auditor/rotation-disabled", "AwsAccountId": self.ACCOUNT,
            "Types": ["Software and Configuration Checks/AWS Security Best Practices/KMS rotation-disabled"],
            "CreatedAt": "2026-12-01T06:00:00Z", "UpdatedAt": "2026-12-01T06:00:00Z",
            "Severity": {"Label": "HIGH"}, "Title": "t", "Description": "d",
            "Resources": [{"Type": "AwsKmsKey", "Id": KEY}],
            "Compliance": {"Status": "FAILED"}, "RecordState": "ACTIVE",
        }
        base.update(changes)
        return base

    def test_a_finding_for_another_account_is_refused_whole(self) -> None:
        hub = self.client("securityhub")
        code = self.code_of(lambda: hub.batch_import_findings(Findings=[self.finding("x-other", AwsAccountId="999999999999")]))
        self.assertEqual(code, "AccessDeniedException")

    def test_limits_fail_the_finding_alone(self) -> None:
        hub = self.client("securityhub")
        answer = hub.batch_import_findings(Findings=[
            self.finding("x-long", Description="d" * 1025),
            self.finding("x-type", Types=["Made Up/Category"]),
            self.finding("x-ok"),
        ])
        self.assertEqual(answer["SuccessCount"], 1)
        reasons = {f["Id"]: f["ErrorMessage"] for f in answer["FailedFindings"]}
        self.assertIn("Description is 1025 characters", reasons["x-long"])
        self.assertIn("namespace", reasons["x-type"])
        self.assertEqual(self.code_of(lambda: hub.batch_import_findings(Findings=[self.finding(f"x{i}") for i in range(101)])),
                         "InvalidInputException")

    def test_passing_resolves_the_workflow_and_the_provider_cannot_change_it(self) -> None:
        hub = self.client("securityhub")
        hub.batch_import_findings(Findings=[self.finding("x-fixed")])
        hub.batch_import_findings(Findings=[self.finding("x-fixed", Compliance={"Status": "PASSED"}, RecordState="ARCHIVED",
                                                         Workflow={"Status": "NEW"}, Severity={"Label": "LOW"})])
        found = hub.get_findings(Filters={"Id": [{"Value": "x-fixed", "Comparison": "EQUALS"}]})["Findings"]
        self.assertEqual(len(found), 1)
        self.assertEqual((found[0]["Workflow"]["Status"], found[0]["RecordState"], found[0]["Severity"]["Label"]),
                         ("RESOLVED", "ARCHIVED", "HIGH"))

    def test_get_findings_filters_by_prefix_and_state(self) -> None:
        hub = self.client("securityhub")
        hub.batch_import_findings(Findings=[self.finding("f-open"), self.finding("f-other", GeneratorId="someone/else")])
        open_ours = hub.get_findings(Filters={
            "GeneratorId": [{"Value": "stackhand/key-auditor/", "Comparison": "PREFIX"}],
            "RecordState": [{"Value": "ACTIVE", "Comparison": "EQUALS"}],
            "Id": [{"Value": "f-", "Comparison": "PREFIX"}],
        })["Findings"]
        self.assertEqual([f["Id"] for f in open_ours], ["f-open"])

    def test_an_external_id_must_match_the_roles_trust_policy(self) -> None:
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111111111111:root"},
                 "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "right-external-id"}}}]}
        self.client("iam").create_role(RoleName="audit-member", AssumeRolePolicyDocument=json.dumps(trust))
        sts = self.client("sts")
        role = f"arn:aws:iam::{self.ACCOUNT}:role/audit-member"
        sts.assume_role(RoleArn=role, RoleSessionName="audit", ExternalId="right-external-id")
        for wrong in ({"ExternalId": "wrong-external-id"}, {}):
            self.assertEqual(self.code_of(lambda: sts.assume_role(RoleArn=role, RoleSessionName="audit", **wrong)), "AccessDenied")
        missing = f"arn:aws:iam::{self.ACCOUNT}:role/never-made"
        self.assertEqual(self.code_of(lambda: sts.assume_role(RoleArn=missing, RoleSessionName="audit", ExternalId="x" * 16)),
                         "AccessDenied")


if __name__ == "__main__":
    unittest.main()
