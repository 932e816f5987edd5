"""CloudFormation's behaviours around custom resources, reproduced by the local engine and shown
here on a team's own stack (examples/consumer.yaml) served by the real provider binaries."""

import copy
import json
import unittest

import yaml

import support  # noqa: I001  (puts tests/emulator on the path)
from support import ROOT, STACKS
from moto.cloudformation.utils import yaml_tag_constructor

yaml.add_multi_constructor("", yaml_tag_constructor, Loader=yaml.SafeLoader)
CONSUMER = yaml.safe_load((ROOT / "examples/consumer.yaml").read_text())


def tearDownModule() -> None:
    support.stop()


def body(template: dict) -> str:
    return json.dumps(template)


def consumer(**changes: dict) -> dict:
    """The example stack with some resources' properties changed (None removes one)."""
    template = copy.deepcopy(CONSUMER)
    for logical_id, properties in changes.items():
        for key, value in properties.items():
            if value is None:
                template["Resources"][logical_id]["Properties"].pop(key, None)
            else:
                template["Resources"][logical_id]["Properties"][key] = value
    return template


class StackBehaviours(support.PlatformCase):
    def setUp(self) -> None:
        self.account, self.platform_stack = self.platform("dev")
        self.params = {"Environment": "dev", "PlatformStack": self.platform_stack}

    def events(self, result, status: str) -> list[str]:
        return [e["LogicalResourceId"] for e in result.events if e["ResourceStatus"] == status]

    def test_a_consumer_stack_creates_updates_and_deletes(self) -> None:
        created = self.account.deploy("orders", body(CONSUMER), self.params)
        self.assertStatus(created, "CREATE_COMPLETE")
        self.assertEqual(created.outputs["LogGroupName"], "/orders/application")
        self.assertEqual(created.outputs["KeyAlias"], "alias/orders-logs")
        # Dependency order: the key before the log group it encrypts, the group before the alarm.
        self.assertEqual(self.events(created, "CREATE_COMPLETE")[:3], ["LogsKey", "Logs", "ErrorsAlarm"])
        logs = self.account.client("logs")
        group = logs.describe_log_groups(logGroupNamePrefix="/orders/")["logGroups"][0]
        key = self.account.client("kms").describe_key(KeyId="alias/orders-logs")["KeyMetadata"]
        self.assertEqual(group["kmsKeyId"], key["Arn"])

        updated = self.account.deploy("orders", body(CONSUMER), dict(self.params, ErrorThreshold="9"))
        self.assertStatus(updated, "UPDATE_COMPLETE")
        self.assertEqual(self.events(updated, "UPDATE_COMPLETE"), ["ErrorsAlarm", "orders"])
        alarm = self.account.client("cloudwatch").describe_alarms(AlarmNames=["orders-log-errors"])["MetricAlarms"][0]
        self.assertEqual(alarm["Threshold"], 9.0)

        deleted = self.account.delete("orders")
        self.assertStatus(deleted, "DELETE_COMPLETE")
        self.assertEqual(self.events(deleted, "DELETE_COMPLETE")[:3], ["ErrorsAlarm", "Logs", "LogsKey"])
        self.assertEqual(logs.describe_log_groups(logGroupNamePrefix="/orders/")["logGroups"], [])

    def test_change_sets_deploy_as_aws_cloudformation_deploy_does(self) -> None:
        cfn = self.account.cloudformation
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in self.params.items()]
        for kind, threshold in (("CREATE", "5"), ("UPDATE", "8")):
            cfn.create_change_set(
                StackName="orders", ChangeSetName=f"deploy-{kind.lower()}", ChangeSetType=kind,
                TemplateBody=body(CONSUMER), Parameters=params + [{"ParameterKey": "ErrorThreshold", "ParameterValue": threshold}],
            )
            cfn.get_waiter("change_set_create_complete").wait(
                StackName="orders", ChangeSetName=f"deploy-{kind.lower()}", WaiterConfig={"Delay": 1}
            )
            cfn.execute_change_set(StackName="orders", ChangeSetName=f"deploy-{kind.lower()}")
            waiter = "stack_create_complete" if kind == "CREATE" else "stack_update_complete"
            cfn.get_waiter(waiter).wait(StackName="orders", WaiterConfig={"Delay": 1, "MaxAttempts": 120})
            alarm = self.account.client("cloudwatch").describe_alarms(AlarmNames=["orders-log-errors"])["MetricAlarms"][0]
            self.assertEqual(alarm["Threshold"], float(threshold))

    def test_a_bad_property_fails_the_stack_names_the_property_and_rolls_back_everything(self) -> None:
        template = consumer(ErrorsAlarm={"EvaluationPeriods": 0})
        result = self.account.deploy("orders", body(template), self.params)
        self.assertStatus(result, "ROLLBACK_COMPLETE")
        [(failed, reason)] = result.failures()
        self.assertEqual(failed, "ErrorsAlarm")
        self.assertIn("EvaluationPeriods", reason)
        self.assertIn("Received response status [FAILED] from custom resource", reason)
        # The FAILED response named a physical id, so the rollback sends it a Delete too, as
        # CloudFormation does; then the group and the key, in reverse order.
        self.assertEqual(self.events(result, "DELETE_COMPLETE"), ["ErrorsAlarm", "Logs", "LogsKey"])
        self.assertEqual(self.account.client("logs").describe_log_groups(logGroupNamePrefix="/orders/")["logGroups"], [])
        kms = self.account.client("kms")
        self.assertFalse([a for a in kms.list_aliases()["Aliases"] if a["AliasName"] == "alias/orders-logs"])

    def test_a_failed_update_rolls_every_resource_back_to_its_old_properties(self) -> None:
        self.assertStatus(self.account.deploy("orders", body(CONSUMER), self.params), "CREATE_COMPLETE")
        bad = consumer(Logs={"RetentionInDays": 30}, ErrorsAlarm={"Period": 7})
        result = self.account.deploy("orders", body(bad), self.params)
        self.assertStatus(result, "UPDATE_ROLLBACK_COMPLETE")
        self.assertIn("Period", dict(result.failures())["ErrorsAlarm"])
        statuses = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in result.events]
        self.assertIn(("Logs", "UPDATE_COMPLETE"), statuses)
        self.assertIn(("orders", "UPDATE_ROLLBACK_IN_PROGRESS"), statuses)
        group = self.account.client("logs").describe_log_groups(logGroupNamePrefix="/orders/")["logGroups"][0]
        self.assertEqual(group["retentionInDays"], 7, "the log group is back to dev's 7 days")
        stack = self.account.cloudformation.describe_stacks(StackName="orders")["Stacks"][0]
        self.assertEqual(stack["StackStatus"], "UPDATE_ROLLBACK_COMPLETE")

    def test_a_new_physical_id_on_update_deletes_the_old_resource_in_the_cleanup_phase(self) -> None:
        self.assertStatus(self.account.deploy("orders", body(CONSUMER), self.params), "CREATE_COMPLETE")
        renamed = consumer(Logs={"LogGroupName": "/orders/application-v2"})
        result = self.account.deploy("orders", body(renamed), self.params)
        self.assertStatus(result, "UPDATE_COMPLETE")
        statuses = [(e["LogicalResourceId"], e["ResourceStatus"], e["PhysicalResourceId"]) for e in result.events]
        cleanup = statuses.index(("orders", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", statuses[0][2]))
        deleted = [s for s in statuses if s[1] == "DELETE_COMPLETE"]
        self.assertEqual(deleted, [("Logs", "DELETE_COMPLETE", "/orders/application")])
        self.assertGreater(statuses.index(deleted[0]), cleanup, "the old group goes only after the update succeeded")
        names = [g["logGroupName"] for g in self.account.client("logs").describe_log_groups(logGroupNamePrefix="/orders/")["logGroups"]]
        self.assertEqual(names, ["/orders/application-v2"])

    def test_an_attribute_the_provider_did_not_return_fails_with_cloudformations_message(self) -> None:
        template = consumer()
        template["Outputs"]["Missing"] = {"Value": {"Fn::GetAtt": ["Logs", "RetentionDays"]}}
        result = self.account.deploy("orders", body(template), self.params)
        self.assertStatus(result, "ROLLBACK_COMPLETE")
        stack = self.account.cloudformation.describe_stacks(StackName="orders")["Stacks"][0]
        reasons = [e.get("ResourceStatusReason") or "" for e in result.events]
        self.assertTrue(any("Vendor response doesn't contain RetentionDays key" in r for r in reasons), reasons)
        self.assertEqual(stack["StackStatus"], "ROLLBACK_COMPLETE")

    def test_a_stack_whose_export_is_imported_cannot_be_deleted(self) -> None:
        security = self.account.deploy("security", STACKS["security"], self.params)
        self.assertStatus(security, "CREATE_COMPLETE")
        importer = consumer(Logs={"KmsKeyArn": {"Fn::ImportValue": "security-MainKeyArn"}})
        self.assertStatus(self.account.deploy("orders", body(importer), self.params), "CREATE_COMPLETE")
        with self.assertRaises(self.account.cloudformation.exceptions.ClientError) as refused:
            self.account.cloudformation.delete_stack(StackName="security")
        self.assertIn("Export security-MainKeyArn cannot be deleted as it is in use by orders", str(refused.exception))
        self.assertStatus(self.account.delete("orders"), "DELETE_COMPLETE")
        self.assertStatus(self.account.delete("security"), "DELETE_COMPLETE")

    def test_a_provider_that_never_answers_fails_the_resource_after_its_service_timeout(self) -> None:
        # key-rotator is not a custom-resource provider: it never answers the ResponseURL.
        template = consumer(Logs={"ServiceToken": {"Fn::ImportValue": f"{self.platform_stack}-KmsProviderServiceToken"}})
        token = self.account.client("lambda").get_function(FunctionName=f"{self.platform_stack}-key-rotator")
        template["Resources"]["Logs"]["Properties"]["ServiceToken"] = token["Configuration"]["FunctionArn"]
        template["Resources"]["Logs"]["Properties"]["ServiceTimeout"] = 2
        result = self.account.deploy("orders", body(template), self.params)
        self.assertStatus(result, "ROLLBACK_COMPLETE")
        self.assertIn("did not receive a response from your Custom Resource", dict(result.failures())["Logs"])
        self.assertIn("ServiceTimeout 2 s", dict(result.failures())["Logs"])


if __name__ == "__main__":
    unittest.main()
