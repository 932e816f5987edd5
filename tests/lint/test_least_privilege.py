"""Least privilege, checked against the real call sites.

For each function in template.yaml, the AWS operations its crate calls (found in its source as
`<client>.<operation>()`, where `<client>` is a field or variable that holds an SDK client) must equal the actions its role grants for those
services: nothing missing, nothing extra. Actions the code never calls itself (its own logs,
X-Ray, what ECS does on the caller's behalf) are listed below with the reason. No statement may
grant "*", "kms:*" or "iam:*".
"""

import os
import re
import unittest

from cfnlint.decode import decode

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# Binary name -> the SDK client fields in its code and the IAM prefix each one calls.
CLIENTS = {
    "ecs-provider": {"ecs": "ecs"},
    # `client` is a replica Region's KMS client.
    "kms-provider": {"kms": "kms", "client": "kms"},
    "key-rotator": {"kms": "kms"},
    # sts, sqs, organizations, dynamodb, s3: the Organization run (fan-out, member roles, run
    # ledger, JSON Lines findings).
    "key-auditor": {
        "kms": "kms",
        "sns": "sns",
        "cloudwatch": "cloudwatch",
        "ssm": "ssm",
        "sts": "sts",
        "sqs": "sqs",
        "organizations": "organizations",
        "dynamodb": "dynamodb",
        "s3": "s3",
    },
    # scheduler: the settle check after a flapping notice or a hold; cloudformation: deploy noise.
    "alarm-router": {
        "cloudwatch": "cloudwatch",
        "sns": "sns",
        "ecs": "ecs",
        "scheduler": "scheduler",
        "cloudformation": "cloudformation",
        "logs": "logs",
    },
    "monitoring-provider": {"logs": "logs", "cw": "cloudwatch", "sns": "sns", "ssm": "ssm"},
    "drift-detector": {"sns": "sns", "cloudwatch": "cloudwatch", "lambda": "lambda"},
}

# The drift records (shared/src/records.rs): the protocol's runner writes one after every
# successful request of a provider that has a table, and drift-detector reads them all.
RECORDS = os.path.join(ROOT, "shared", "src", "records.rs")
# A provider also reads one record back: the one a repair puts back.
RECORD_WRITES = {"dynamodb:PutItem", "dynamodb:DeleteItem", "dynamodb:GetItem"}
RECORD_READS = {"dynamodb:Scan"}
# SDK operations whose IAM action has another name (a transaction is authorised item by item).
ACTION_OF = {
    "lambda:Invoke": ("lambda:InvokeFunction",),
    "sqs:SendMessageBatch": ("sqs:SendMessage",),
    "dynamodb:TransactWriteItems": ("dynamodb:PutItem", "dynamodb:UpdateItem"),
}
# key-auditor's calls made under the member role of stacks/audit-member.yaml, not its own.
MEMBER_CLIENTS = {"hub": "securityhub"}
# drift-detector runs the providers' Update plans without applying them: it is charged with
# every read those crates make, and may make no write of theirs.
DRY_RUN_OF = ("kms-provider", "monitoring-provider", "ecs-provider")
READ_PREFIXES = ("Describe", "Get", "List", "Query")

# Granted but not called from the code, each with its reason.
PLATFORM_ACTIONS = {
    "logs:CreateLogStream": "Lambda writes the function's own logs",
    "logs:PutLogEvents": "Lambda writes the function's own logs",
    "xray:PutTraceSegments": "Tracing: Active",
    "xray:PutTelemetryRecords": "Tracing: Active",
    "servicediscovery:CreateHttpNamespace": "ECS creates a Service Connect namespace given by name",
    "servicediscovery:GetNamespace": "ECS reads the Service Connect namespace",
    "servicediscovery:GetOperation": "ECS waits for the namespace creation",
    "iam:CreateServiceLinkedRole": "the first cluster in an account creates AWSServiceRoleForECS",
    "sqs:SendMessage": "Lambda's on-failure destination for asynchronous invocations",
    "kms:GenerateDataKey": "SNS and SQS encrypt what the function sends to the platform key's topic and queue",
    "kms:Decrypt": "SNS and SQS encrypt what the function sends to the platform key's topic and queue",
    "ssm:AddTagsToResource": "PutParameter with Tags (the owner ledger's records) needs it",
    "sqs:ReceiveMessage": "Lambda's SQS event source reads key-auditor's unit queues under its role",
    "sqs:DeleteMessage": "Lambda's SQS event source deletes a handled unit's message",
    "sqs:GetQueueAttributes": "Lambda's SQS event source reads the queue's settings",
    "iam:PassRole": "CreateSchedule hands Scheduler the role it runs the settle check with",
}

# Actions that lose data or access. Each grant of one must be conditioned on stackhand's owner
# record (aws:ResourceTag/stackhand:stack-id), or be listed below with why it cannot be.
DESTRUCTIVE_VERBS = ("Delete", "Schedule", "Disable", "Untag", "Disassociate", "Revoke")
OWNER_TAG_KEY = "aws:ResourceTag/stackhand:stack-id"
UNCONDITIONED = {
    "kms:DeleteAlias": "aliases take no tags; KMS also authorises DeleteAlias on the key, and that grant is conditioned",
    "logs:DeleteMetricFilter": "metric filters take no tags and often sit on another stack's log group; owner ledger",
    "logs:DeleteQueryDefinition": "query definitions take no tags and have no resource-level permissions; owner ledger",
    "cloudwatch:DeleteDashboards": "stackhand's dashboards carry no tags; owner ledger",
    "cloudwatch:DeleteAlarms": "not conditioned (docs/architecture.md, 'Ownership': the code's owner check holds)",
    "cloudwatch:DeleteAnomalyDetector": "anomaly detectors take no tags; deleted only when no alarm uses them",
    "cloudwatch:UntagResource": "as DeleteAlarms",
    "sns:DeleteTopic": "not conditioned (docs/architecture.md, 'Ownership': the code's owner check holds)",
    "sns:UntagResource": "as DeleteTopic",
    "dynamodb:DeleteItem": "the providers' own drift records table; a record is stackhand's, never a user's data",
    "sqs:DeleteMessage": "the event source deletes handled units from key-auditor's own queues",
}

# Shared modules whose functions make SDK calls on a client the function passes in; a function
# is charged with the calls of exactly the shared functions it uses (`kms_scan::describe(`).
SHARED_MODULES = {"kms_scan": os.path.join(ROOT, "shared", "src", "kms_scan.rs")}
SHARED_USE = re.compile(r"\b(" + "|".join(SHARED_MODULES) + r")::(\w+)\s*\(")

# Methods on a client handle that are not AWS operations.
NOT_OPERATIONS = {"clone"}

CALL = re.compile(r"\b(\w+)\s*\.\s*([a-z][a-z0-9_]*)\s*\(\s*\)", re.S)


def pascal(snake: str) -> str:
    return "".join(part.capitalize() for part in snake.split("_"))


def function_body(path: str, name: str) -> str:
    """The text of `fn name` in a Rust file: from its signature to the closing brace at column 0."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    match = re.search(r"^pub (?:async )?fn " + re.escape(name) + r"\b", text, re.M)
    if match is None:
        raise AssertionError(f"{path} has no pub fn {name}")
    end = text.find("\n}\n", match.start())
    return text[match.start() : end]


def sources(binary: str) -> list[tuple[str, str]]:
    """Every non-test source file of a function, with its path under src/ (submodules too)."""
    src = os.path.join(ROOT, "functions", binary, "src")
    found = []
    for folder, _, names in sorted(os.walk(src)):
        for name in sorted(names):
            if not name.endswith(".rs") or name.endswith("_tests.rs"):
                continue
            path = os.path.join(folder, name)
            with open(path, encoding="utf-8") as f:
                found.append((os.path.relpath(path, src), f.read()))
    return found


def calls_in(binary: str) -> set[str]:
    """The operations the function's own code makes, those of the shared modules it uses, its
    drift records, and for drift-detector the providers' reads."""
    found = own_calls(binary)
    texts = [text for _, text in sources(binary)]
    if any("Records::from_env(" in t for t in texts):
        found |= RECORD_WRITES
    if any(".all()" in t and "Records" in t for t in texts):
        found |= RECORD_READS
    if binary == "drift-detector":
        for provider in DRY_RUN_OF:
            found |= {c for c in own_calls(provider) if c.split(":")[1].startswith(READ_PREFIXES)}
    return found


def own_calls(binary: str) -> set[str]:
    clients = CLIENTS[binary]
    found = set()
    texts = [text for _, text in sources(binary)]
    for module, function in {u for t in texts for u in SHARED_USE.findall(t)}:
        texts.append(function_body(SHARED_MODULES[module], function))
    for text in texts:
        for field, operation in CALL.findall(text):
            if field in clients and operation not in NOT_OPERATIONS:
                call = f"{clients[field]}:{pascal(operation)}"
                found.update(ACTION_OF.get(call, (call,)))
    return found


def statements(role: dict) -> list[dict]:
    """The role's statements; one under `Fn::If` counts as granted (its condition's true side)."""
    out = []
    for policy in role["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            if "Fn::If" in statement:
                statement = statement["Fn::If"][1]
            out.append(statement)
    return out


def actions(statement: dict) -> list[str]:
    action = statement.get("Action", [])
    return [action] if isinstance(action, str) else list(action)


class LeastPrivilege(unittest.TestCase):
    @classmethod
    def setUpClass(cls) -> None:
        template, matches = decode(os.path.join(ROOT, "template.yaml"))
        assert template is not None, matches
        cls.resources = template["Resources"]

    def roles(self):
        for logical_id, resource in self.resources.items():
            if resource["Type"] != "AWS::Serverless::Function":
                continue
            binary = resource["Metadata"]["BuildProperties"]["Binary"]
            role_id = resource["Properties"]["Role"]["Fn::GetAtt"][0]
            yield binary, self.resources[role_id]

    def test_every_function_has_its_own_role(self) -> None:
        seen = {}
        for binary, role in self.roles():
            self.assertNotIn(id(role), seen, f"{binary} shares a role with {seen.get(id(role))}")
            seen[id(role)] = binary
        self.assertEqual(sorted(seen.values()), sorted(CLIENTS))

    def test_granted_actions_equal_called_operations(self) -> None:
        for binary, role in self.roles():
            called = calls_in(binary)
            self.assertTrue(called, f"no SDK calls found for {binary}")
            granted = {a for s in statements(role) for a in actions(s)}
            prefixes = {c.split(":")[0] for c in called} | set(CLIENTS[binary].values())
            for_services = {a for a in granted if a.split(":")[0] in prefixes}
            extra = for_services - called - set(PLATFORM_ACTIONS)
            missing = called - granted
            self.assertEqual(missing, set(), f"{binary} calls but is not granted")
            self.assertEqual(extra, set(), f"{binary} is granted but never calls")
            unexplained = granted - called - set(PLATFORM_ACTIONS)
            self.assertEqual(unexplained, set(), f"{binary} has grants nobody explained")

    def test_no_wildcard_actions(self) -> None:
        for binary, role in self.roles():
            for statement in statements(role):
                for action in actions(statement):
                    self.assertNotIn(action, ("*", "kms:*", "iam:*"), f"{binary}: {statement}")
                    self.assertFalse(action.endswith(":*"), f"{binary}: {action}")


class OwnershipConditions(unittest.TestCase):
    """IAM backs the ownership rule: what can lose data needs stackhand's owner record."""

    @classmethod
    def setUpClass(cls) -> None:
        LeastPrivilege.setUpClass()
        cls.resources = LeastPrivilege.resources

    def conditioned(self, statement: dict) -> bool:
        condition = statement.get("Condition", {})
        return condition.get("Null", {}).get(OWNER_TAG_KEY) == "false"

    def test_destructive_actions_need_the_owner_record(self) -> None:
        for binary, role in LeastPrivilege.roles(self):
            for statement in statements(role):
                if statement.get("Effect") != "Allow":
                    continue
                for action in actions(statement):
                    verb = action.split(":")[1]
                    if not verb.startswith(DESTRUCTIVE_VERBS) or action in UNCONDITIONED:
                        continue
                    self.assertTrue(
                        self.conditioned(statement),
                        f"{binary}: {action} in {statement.get('Sid')} has no owner-record condition",
                    )

    def test_cluster_tags_only_at_creation_or_on_own_clusters(self) -> None:
        role = self.resources["EcsProviderRole"]
        tagging = [s for s in statements(role) if "ecs:TagResource" in actions(s)]
        self.assertTrue(tagging)
        for statement in tagging:
            on_create = statement.get("Condition", {}).get("StringEquals", {}).get("ecs:CreateAction")
            self.assertTrue(on_create == "CreateCluster" or self.conditioned(statement), statement)

    def test_every_unconditioned_grant_is_still_granted(self) -> None:
        granted = {
            a
            for r in self.resources.values()
            if r["Type"] == "AWS::IAM::Role"
            for s in statements(r)
            for a in actions(s)
        }
        self.assertEqual(set(UNCONDITIONED) - granted, set(), "stale entries in UNCONDITIONED")


TEMPLATES = ["template.yaml"] + sorted(
    os.path.join("stacks", n) for n in os.listdir(os.path.join(ROOT, "stacks")) if n.endswith(".yaml")
)



class NoDataLoss(unittest.TestCase):
    """Read from the call sites, so a new code path cannot slip past."""

    def test_the_key_audit_writes_nothing_but_its_metrics_and_its_report(self) -> None:
        writes = {c for c in calls_in("key-auditor") if not c.split(":")[1].startswith(READ_PREFIXES)}
        # Besides: the Organization run's queue and ledger, and the member role it assumes.
        self.assertEqual(
            writes,
            {
                "cloudwatch:PutMetricData",
                "sns:Publish",
                "sqs:SendMessage",
                "dynamodb:PutItem",
                "dynamodb:UpdateItem",
                "sts:AssumeRole",
                "s3:PutObject",
            },
        )

    def test_the_organization_grants_exist_only_with_audit_accounts(self) -> None:
        role = load("template.yaml")["Resources"]["KeyAuditorRole"]
        organization = {"sts", "sqs:ReceiveMessage", "dynamodb", "organizations", "s3:"}
        for statement in role["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]:
            text = str(statement)
            if any(word in text for word in organization) or "AuditUnitsQueue" in text:
                self.assertEqual(statement["Fn::If"][0], "AuditsOrganization", statement)
                self.assertEqual(statement["Fn::If"][2], {"Ref": "AWS::NoValue"})

    def test_drift_detection_writes_nothing_but_its_metrics_and_its_report(self) -> None:
        writes = {c for c in calls_in("drift-detector") if not c.split(":")[1].startswith(READ_PREFIXES)}
        self.assertEqual(
            writes, {"cloudwatch:PutMetricData", "sns:Publish", "dynamodb:Scan", "lambda:InvokeFunction"}
        )

    def test_drift_repairs_are_granted_only_with_repair_drift(self) -> None:
        role = load("template.yaml")["Resources"]["DriftDetectorRole"]
        for policy in role["Properties"]["Policies"]:
            for statement in policy["PolicyDocument"]["Statement"]:
                if "lambda:InvokeFunction" in str(statement):
                    self.assertEqual(statement["Fn::If"][0], "RepairsDrift", statement)
                    self.assertEqual(statement["Fn::If"][2], {"Ref": "AWS::NoValue"})

    def test_the_record_constants_are_the_calls_records_rs_makes(self) -> None:
        with open(RECORDS, encoding="utf-8") as f:
            text = f.read()
        made = {f"dynamodb:{pascal(op)}" for field, op in CALL.findall(text) if field == "client"}
        self.assertEqual(made, RECORD_WRITES | RECORD_READS)

    def test_only_the_kms_provider_can_schedule_a_key_deletion(self) -> None:
        for binary in CLIENTS:
            if binary != "kms-provider":
                self.assertNotIn("kms:ScheduleKeyDeletion", calls_in(binary), binary)

    def test_every_key_deletion_goes_through_the_one_guarded_helper(self) -> None:
        sites = [
            path
            for path, text in sources("kms-provider")
            for line in text.splitlines()
            if ".schedule_key_deletion()" in line
        ]
        self.assertEqual(sites, ["store/mod.rs"], "ScheduleKeyDeletion is called outside KeyStore::schedule_deletion")


def load(relative: str) -> dict:
    template, matches = decode(os.path.join(ROOT, relative))
    assert template is not None, matches
    return template


def iam_statements(resource: dict) -> list[dict]:
    """Statements of an IAM role, policy or managed policy (not key or queue policies)."""
    props = resource.get("Properties", {})
    kind = resource.get("Type")
    if kind == "AWS::IAM::Role":
        docs = [p.get("PolicyDocument", {}) for p in props.get("Policies", []) if isinstance(p, dict)]
    elif kind in ("AWS::IAM::Policy", "AWS::IAM::ManagedPolicy"):
        docs = [props.get("PolicyDocument", {})]
    else:
        return []
    out = []
    for doc in docs:
        statement = doc.get("Statement", []) if isinstance(doc, dict) else []
        out.extend(statement if isinstance(statement, list) else [statement])
    return out


class AuditMember(unittest.TestCase):
    """stacks/audit-member.yaml: the role key-auditor assumes in member accounts."""

    def setUp(self) -> None:
        self.role = load("stacks/audit-member.yaml")["Resources"]["AuditMemberRole"]

    def test_it_grants_exactly_the_reads_the_audit_makes_on_kms(self) -> None:
        granted = {a for s in statements(self.role) for a in actions(s) if a.startswith("kms:")}
        reads = {c for c in calls_in("key-auditor") if c.startswith("kms:")}
        self.assertEqual(granted, reads)
        self.assertTrue(all(a.split(":")[1].startswith(READ_PREFIXES) for a in granted), granted)

    def test_it_grants_exactly_the_security_hub_calls_the_audit_makes(self) -> None:
        granted = {a for s in statements(self.role) for a in actions(s) if a.startswith("securityhub:")}
        made = {
            f"{MEMBER_CLIENTS[field]}:{pascal(op)}"
            for _, text in sources("key-auditor")
            for field, op in CALL.findall(text)
            if field in MEMBER_CLIENTS
        }
        self.assertEqual(granted, made)
        self.assertEqual(made, {"securityhub:BatchImportFindings", "securityhub:GetFindings"})

    def test_it_trusts_only_the_auditor_role_with_the_external_id(self) -> None:
        trust = self.role["Properties"]["AssumeRolePolicyDocument"]["Statement"]
        self.assertEqual(len(trust), 1)
        self.assertEqual(trust[0]["Principal"], {"AWS": {"Ref": "AuditorRoleArn"}})
        self.assertEqual(trust[0]["Condition"], {"StringEquals": {"sts:ExternalId": {"Ref": "ExternalId"}}})


class EveryTemplate(unittest.TestCase):
    def test_no_iam_statement_grants_every_action(self) -> None:
        for relative in TEMPLATES:
            for name, resource in load(relative)["Resources"].items():
                for statement in iam_statements(resource):
                    for action in actions(statement):
                        self.assertNotIn(action, ("*", "kms:*", "iam:*"), f"{relative} {name}: {statement}")

    def test_every_custom_resource_sets_a_service_timeout(self) -> None:
        for relative in TEMPLATES:
            for name, resource in load(relative)["Resources"].items():
                if not str(resource.get("Type", "")).startswith("Custom::"):
                    continue
                timeout = resource.get("Properties", {}).get("ServiceTimeout")
                self.assertIsNotNone(timeout, f"{relative} {name} has no ServiceTimeout")
                self.assertTrue(60 <= int(timeout) <= 3600, f"{relative} {name}: ServiceTimeout {timeout}")

    def test_cloudformation_waits_longer_than_a_provider_can_run(self) -> None:
        # A provider always answers before its Lambda timeout (the deadline guard). With a longer
        # ServiceTimeout, CloudFormation never gives up first, so it never sends a Delete while
        # the Create is still running and could leave what it makes behind.
        template = load("template.yaml")
        default = template["Globals"]["Function"]["Timeout"]
        longest = max(
            resource["Properties"].get("Timeout", default)
            for resource in template["Resources"].values()
            if resource["Type"] == "AWS::Serverless::Function"
            and resource["Metadata"]["BuildProperties"]["Binary"].endswith("-provider")
        )
        for relative in TEMPLATES:
            for name, resource in load(relative)["Resources"].items():
                if str(resource.get("Type", "")).startswith("Custom::"):
                    timeout = int(resource["Properties"]["ServiceTimeout"])
                    self.assertGreater(timeout, longest, f"{relative} {name}: ServiceTimeout {timeout} <= provider timeout {longest}")


class ScannerSelfTest(unittest.TestCase):
    def test_finds_calls_split_across_lines(self) -> None:
        code = "self.logs\n            .put_retention_policy()\n .x()"
        self.assertIn(("logs", "put_retention_policy"), CALL.findall(code))
        code = "store\n            .kms\n            .create_key()"
        self.assertIn(("kms", "create_key"), CALL.findall(code))
        self.assertEqual(pascal("put_cluster_capacity_providers"), "PutClusterCapacityProviders")

    def test_shared_functions_are_charged_to_the_functions_that_use_them(self) -> None:
        self.assertIn("kms:ListKeys", calls_in("key-rotator"))
        self.assertNotIn("kms:ListAliases", calls_in("key-rotator"))
        self.assertIn("kms:ListAliases", calls_in("key-auditor"))


if __name__ == "__main__":
    unittest.main()
