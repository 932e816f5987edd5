"""The seed platform through the local CloudFormation engine, as users deploy it: template.yaml,
then security -> monitoring -> compute, in each environment; what they make is read back from
the emulator and compared with the seed's matrix."""

import unittest
from datetime import datetime, timezone

import support  # noqa: I001  (puts tests/emulator on the path)
from support import STACKS, local_cloud
import platform_cost  # noqa: E402

LAYERS = ("security", "monitoring", "compute")
KEYS = {"dev": {"main"}, "qa": {"main", "data"}, "uat": {"main", "rds", "s3", "ebs"}, "prod": {"main", "rds", "s3", "ebs"}}
ALIASES = {env: len(keys) for env, keys in KEYS.items()}
DELETION_WINDOW = {"dev": 7, "qa": 14}
RETENTION = {"dev": 7, "qa": 14, "uat": 30, "prod": 90}
ALARMS = {"dev": (0, 2), "qa": (1, 3), "uat": (5, 10), "prod": (20, 200)}
DASHBOARDS = {"dev": (0, 0), "qa": (0, 0), "uat": (0, 1), "prod": (2, 10)}
STRATEGY = {
    "dev": [("FARGATE_SPOT", 0)],
    "qa": [("FARGATE_SPOT", 0)],
    "uat": [("FARGATE", 1), ("FARGATE_SPOT", 0)],
    "prod": [("FARGATE", 2)],
}


def tearDownModule() -> None:
    support.stop()


class SeedPlatform(support.PlatformCase):
    def deploy_seed(self, account: local_cloud.Account, env: str, platform_stack: str) -> dict[str, local_cloud.StackResult]:
        vpc, subnets = local_cloud.network(account)
        parameters = local_cloud.seed_parameters(env, platform_stack, vpc, subnets)
        results = {}
        for layer in LAYERS:
            results[layer] = account.deploy(layer, STACKS[layer], parameters[layer])
            self.assertIn(results[layer].status, ("CREATE_COMPLETE", "UPDATE_COMPLETE"), f"{env} {layer}: {results[layer].failures()}")
        return results

    def check_matrix(self, account: local_cloud.Account, env: str) -> None:
        kms, logs, cw, sns, ecs = (account.client(s) for s in ("kms", "logs", "cloudwatch", "sns", "ecs"))
        aliases = {
            a["AliasName"].removeprefix("alias/platform-"): a["TargetKeyId"]
            for a in kms.list_aliases()["Aliases"]
            if a["AliasName"].startswith("alias/platform-")
        }
        self.assertLessEqual(KEYS[env], set(aliases), f"{env} keys")
        for name in set(aliases) - KEYS[env]:
            # A key the profile dropped on an Update, kept because uat/prod retain (docs/resources.md).
            tags = {t["TagKey"] for t in kms.list_resource_tags(KeyId=aliases[name])["Tags"]}
            self.assertIn("stackhand:retained-at", tags, f"{env}: key {name} is neither in the profile nor retained")

        group = logs.describe_log_groups(logGroupNamePrefix="/platform/platform/application")["logGroups"][0]
        self.assertEqual(group.get("retentionInDays"), RETENTION[env], f"{env} retention")
        self.assertEqual("kmsKeyId" in group, env != "dev", f"{env} log encryption: {group}")

        alarms = cw.describe_alarms(AlarmNamePrefix="platform-", AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        metric_alarms, composites = alarms["MetricAlarms"], alarms["CompositeAlarms"]
        low, high = ALARMS[env]
        self.assertTrue(low <= len(metric_alarms) + len(composites) <= high, f"{env} alarms: {len(metric_alarms) + len(composites)}")
        anomaly = [a for a in metric_alarms if a.get("ThresholdMetricId")]
        self.assertEqual(bool(anomaly), env == "prod", f"{env} anomaly detection")
        for alarm in metric_alarms + composites:
            self.assertEqual(alarm.get("AlarmActions", []), [], f"{alarm['AlarmName']}: alarm-router routes; actions would notify twice")

        topics = [t["TopicArn"].rsplit(":", 1)[1] for t in sns.list_topics()["Topics"]]
        self.assertIn("platform-alerts", topics)
        self.assertEqual("platform-critical" in topics, env in ("uat", "prod"), f"{env} critical topic: {topics}")

        dashboards = cw.list_dashboards(DashboardNamePrefix="platform-")["DashboardEntries"]
        low, high = DASHBOARDS[env]
        self.assertTrue(low <= len(dashboards) <= high, f"{env} dashboards: {[d['DashboardName'] for d in dashboards]}")

        cluster = ecs.describe_clusters(clusters=["platform"], include=["CONFIGURATIONS", "SETTINGS"])["clusters"][0]
        exec_logging = (cluster.get("configuration") or {}).get("executeCommandConfiguration", {}).get("logging")
        self.assertEqual(exec_logging not in (None, "NONE"), env in ("dev", "qa"), f"{env} ECS Exec: {cluster.get('configuration')}")
        self.assertEqual("serviceConnectDefaults" in cluster, env in ("uat", "prod"), f"{env} Service Connect")
        strategy = [(s["capacityProvider"], s.get("base", 0)) for s in cluster["defaultCapacityProviderStrategy"]]
        self.assertEqual(sorted(strategy), sorted(STRATEGY[env]), f"{env} capacity strategy")
        insights = {s["name"]: s["value"] for s in cluster.get("settings", [])}
        self.assertEqual(insights.get("containerInsights"), "enabled")

    def check_cost(self, account: local_cloud.Account, env: str, results: dict[str, local_cloud.StackResult], platform_stack: str) -> None:
        """Each layer's estimate is what AWS bills monthly for what the layer actually made."""
        price = platform_cost.PRICES["usd_per_month"]
        security = platform_cost.from_outputs("security", results["security"].outputs)
        self.assertAlmostEqual(security.usd, len(KEYS[env]) * price["kms-key"], msg=f"{env} keys")
        cw = account.client("cloudwatch")
        alarms = cw.describe_alarms(AlarmNamePrefix="platform-", AlarmTypes=["MetricAlarm", "CompositeAlarm"])
        metrics = sum(3 if a.get("ThresholdMetricId") else 1 for a in alarms["MetricAlarms"])
        dashboards = len(cw.list_dashboards(DashboardNamePrefix="platform-")["DashboardEntries"])
        billed = metrics * price["alarm-metric"] + len(alarms["CompositeAlarms"]) * price["composite-alarm"] + dashboards * price["dashboard"]
        monitoring = platform_cost.from_outputs("monitoring", results["monitoring"].outputs)
        self.assertAlmostEqual(monitoring.usd, round(billed, 2), msg=f"{env} monitoring: {monitoring.items}")
        self.assertEqual(platform_cost.from_outputs("compute", results["compute"].outputs).items, [("Cluster", 0.0)])
        platform = platform_cost.from_resources("platform", account.cloudformation, platform_stack)
        self.assertEqual(sorted(name for name, _ in platform.items), ["KeyAuditDashboard", "PlatformKey"])
        self.assertAlmostEqual(platform.usd, price["kms-key"] + price["dashboard"])

    def check_teardown(self, account: local_cloud.Account, env: str) -> None:
        """After the Deletes: only what the profile keeps on purpose (uat/prod keys and logs)."""
        kms, logs, cw, ecs = (account.client(s) for s in ("kms", "logs", "cloudwatch", "ecs"))
        aliases = [a for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith("alias/platform-")]
        groups = logs.describe_log_groups(logGroupNamePrefix="/platform/")["logGroups"]
        retained = env in ("uat", "prod")
        self.assertEqual(len(aliases), ALIASES[env] if retained else 0, f"{env} aliases after delete")
        self.assertEqual(len(groups), 1 if retained else 0, f"{env} log groups after delete")
        if not retained:
            now = datetime.now(timezone.utc)
            for key in kms.list_keys()["Keys"]:
                meta = kms.describe_key(KeyId=key["KeyId"])["KeyMetadata"]
                tags = {t["TagKey"]: t["TagValue"] for t in kms.list_resource_tags(KeyId=key["KeyId"]).get("Tags", [])}
                if tags.get("stackhand:logical-id") == "Keys":
                    self.assertEqual(meta["KeyState"], "PendingDeletion")
                    self.assertEqual(round((meta["DeletionDate"] - now).total_seconds() / 86400), DELETION_WINDOW[env])
        self.assertEqual(cw.describe_alarms(AlarmNamePrefix="platform-")["MetricAlarms"], [])
        self.assertEqual(cw.list_dashboards(DashboardNamePrefix="platform-")["DashboardEntries"], [])
        clusters = ecs.describe_clusters(clusters=["platform"])["clusters"]
        self.assertTrue(all(c["status"] == "INACTIVE" for c in clusters), clusters)

    def lifecycle(self, env: str) -> None:
        account, platform_stack = self.platform(env)
        results = self.deploy_seed(account, env, platform_stack)
        self.assertIn("ClusterName", results["compute"].outputs)
        self.assertIn("Summary", results["monitoring"].outputs)
        self.check_matrix(account, env)
        self.check_cost(account, env, results, platform_stack)
        for layer in reversed(LAYERS):
            self.assertStatus(account.delete(layer), "DELETE_COMPLETE")
        self.check_teardown(account, env)
        self.assertStatus(account.delete(platform_stack), "DELETE_COMPLETE")

    def test_dev(self) -> None:
        self.lifecycle("dev")

    def test_qa(self) -> None:
        self.lifecycle("qa")

    def test_uat(self) -> None:
        self.lifecycle("uat")

    def test_prod(self) -> None:
        self.lifecycle("prod")

    def test_updates_move_every_layer_through_every_environment_in_place(self) -> None:
        account, platform_stack = self.platform("dev")
        vpc, subnets = local_cloud.network(account)
        first = None
        for env in ("dev", "qa", "uat", "prod", "dev"):
            parameters = local_cloud.seed_parameters(env, platform_stack, vpc, subnets)
            for layer in LAYERS:
                result = account.deploy(layer, STACKS[layer], parameters[layer])
                self.assertIn(result.status, ("CREATE_COMPLETE", "UPDATE_COMPLETE"), f"-> {env} {layer}: {result.failures()}")
                replaced = [e["LogicalResourceId"] for e in result.events if e["ResourceStatus"] == "DELETE_COMPLETE"
                            and e["ResourceType"].startswith("Custom::") and e["LogicalResourceId"] not in ("CriticalTopic", "PlatformDashboard")]
                self.assertEqual(replaced, [], f"-> {env} {layer} replaced resources")
            self.check_matrix(account, env)
            cluster = account.cloudformation.describe_stacks(StackName="compute")["Stacks"][0]
            outputs = {o["OutputKey"]: o["OutputValue"] for o in cluster["Outputs"]}
            first = first or outputs["ClusterArn"]
            self.assertEqual(outputs["ClusterArn"], first, "the cluster is updated in place")


if __name__ == "__main__":
    unittest.main()
