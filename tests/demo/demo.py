#!/usr/bin/env python3
"""`make demo`: the user's journey on this machine, through the local CloudFormation engine.

Deploys template.yaml (the platform), then security -> monitoring -> compute for ENV, printing the
stack events as `sam deploy` does; a stack with a bad property fails and rolls back; an alarm goes
off and its notification arrives; key-rotator and key-auditor run; drift-detector finds a change
made by hand and has it put back; the stacks move to the next
environment; everything is deleted in reverse order and what is kept on purpose is listed. Ends
with a summary; exits non-zero if any step failed.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "emulator"))

import local_cloud  # noqa: E402
import platform_cost  # noqa: E402

ROOT = local_cloud.ROOT
LAYERS = ("security", "monitoring", "compute")
NEXT = {"dev": "qa", "qa": "uat", "uat": "prod", "prod": "dev"}
COLOUR = sys.stdout.isatty() and "NO_COLOR" not in os.environ


def paint(code: str, text: str) -> str:
    return f"\x1b[{code}m{text}\x1b[0m" if COLOUR else text


class Report:
    def __init__(self) -> None:
        self.steps: list[tuple[str, bool, float, str]] = []

    def step(self, name: str, run: Callable[[], tuple[bool, str]]) -> bool:
        print(paint("1", f"\n[{len(self.steps) + 1}] {name}"))
        started = time.monotonic()
        try:
            passed, detail = run()
        except Exception as error:  # a demo step that breaks is a failed step, not a crash
            passed, detail = False, f"{type(error).__name__}: {error}"
        seconds = time.monotonic() - started
        mark = paint("32", "ok") if passed else paint("31", "FAILED")
        print(f"    -> {mark} {detail} ({seconds:.1f} s)")
        self.steps.append((name, passed, seconds, detail))
        return passed

    def summary(self, total_seconds: float) -> int:
        failed = [s for s in self.steps if not s[1]]
        print(paint("1", "\nSummary"))
        for name, passed, seconds, detail in self.steps:
            print(f"  {'ok    ' if passed else 'FAILED'} {seconds:6.1f} s  {name}: {detail}")
        print(f"{len(self.steps)} steps: {len(self.steps) - len(failed)} passed, {len(failed)} failed, in {total_seconds:.0f} s")
        return 1 if failed else 0


def print_event(event: dict[str, Any]) -> None:
    status = event["ResourceStatus"]
    shown = paint("31", status) if "FAILED" in status or "ROLLBACK" in status else status
    reason = event.get("ResourceStatusReason") or ""
    print(f"    {shown:<40} {event['ResourceType']:<30} {event['LogicalResourceId']:<36} {reason[:160]}")


def print_outputs(result: local_cloud.StackResult) -> None:
    for key, value in result.outputs.items():
        print(f"    {paint('2', 'output')} {key:<28} {value[:110]}")


def deployed(result: local_cloud.StackResult, want: str) -> tuple[bool, str]:
    print_outputs(result)
    return result.status == want, f"{result.name} {result.status}"


class Demo:
    def __init__(self, env: str, binaries: Path) -> None:
        self.env = env
        self.emulator = local_cloud.Emulator(binaries)
        self.account = self.emulator.account("000000000000")
        self.platform = f"stackhand-{env}"
        self.outputs: dict[str, dict[str, str]] = {}
        self.vpc, self.subnets = local_cloud.network(self.account)
        print(f"  emulator + CloudFormation engine at {self.emulator.endpoint}; function logs in {self.emulator.logs}")

    def params(self, env: str) -> dict[str, dict[str, str]]:
        return local_cloud.seed_parameters(env, self.platform, self.vpc, self.subnets)

    def deploy(self, stack: str, template: Path | str, params: dict[str, str], want: str) -> tuple[bool, str]:
        result = self.account.deploy(stack, template, params, on_event=print_event)
        self.outputs[stack] = result.outputs
        return deployed(result, want)

    def cost(self) -> tuple[bool, str]:
        """The fixed monthly cost, layer by layer, from the providers' EstimatedMonthlyCostUsd."""
        layers = [platform_cost.from_resources("platform", self.account.cloudformation, self.platform)]
        layers += [platform_cost.from_outputs(layer, self.outputs.get(layer, {})) for layer in LAYERS]
        total = sum(layer.usd for layer in layers)
        shown = " + ".join(f"{layer.layer} {layer.usd:.2f}" for layer in layers)
        seed = platform_cost.SEED_FIGURES[self.env]
        print(f"  {platform_cost.label()}; usage (requests, tasks, logs, deliveries) comes on top: make cost lists it")
        priced = all(layer.items for layer in layers[:2])
        return priced, f"{shown} = {total:.2f} USD a month fixed (the seed says {seed} with usage)"

    def invoke(self, function: str, payload: dict[str, Any]) -> dict[str, Any]:
        answer = self.account.client("lambda").invoke(FunctionName=f"{self.platform}-{function}", Payload=json.dumps(payload))
        body = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError"):
            raise RuntimeError(f"{function}: {body}")
        return body

    def chat_topic(self) -> str:
        """A team's chat topic (mapped to Slack or Teams by Amazon Q Developer): alarm-router sends it
        custom notifications."""
        return self.account.client("sns").create_topic(Name="demo-chat")["TopicArn"]

    def bad_stack(self) -> tuple[bool, str]:
        template = (ROOT / "examples/consumer.yaml").read_text().replace("EvaluationPeriods: 1", "EvaluationPeriods: 0")
        result = self.account.deploy("orders", template, {"Environment": self.env, "PlatformStack": self.platform}, on_event=print_event)
        failures = result.failures()
        logs = self.account.client("logs")
        left = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/orders/")["logGroups"]]
        # uat and prod retain log groups on every Delete, a rollback's too (docs/resources.md).
        unexpected = [g for g in left if not retained(self.account, log_group=g)]
        for group in left:
            print(f"    kept on purpose: {group} ({self.env} retains log groups, even on a rollback)")
        ok = result.status == "ROLLBACK_COMPLETE" and any("EvaluationPeriods" in r for _, r in failures) and not unexpected
        self.account.delete("orders")
        return ok, f"{result.status}; the reason names EvaluationPeriods; {len(left)} retained, nothing else left"

    def alarm(self) -> tuple[bool, str]:
        sqs, sns, cw = (self.account.client(s) for s in ("sqs", "sns", "cloudwatch"))
        platform = self.account.cloudformation.describe_stacks(StackName=self.platform)["Stacks"][0]
        topics = {o["OutputKey"]: o["OutputValue"] for o in platform["Outputs"]}
        queue = sqs.create_queue(QueueName="demo-inbox")["QueueUrl"]
        queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        chat = sns.create_topic(Name="demo-chat")["TopicArn"]  # idempotent: the one the platform was given
        for topic in (topics["AlertTopicArn"], topics["CriticalAlertTopicArn"], chat):
            sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=queue_arn)
        alarms = cw.describe_alarms(AlarmNamePrefix="platform-cluster-")["MetricAlarms"]
        alarm = alarms[0]
        cw.set_alarm_state(AlarmName=alarm["AlarmName"], StateValue="ALARM", StateReason="demo: the cluster is struggling")
        print(f"    {alarm['AlarmName']} -> ALARM; EventBridge delivers the state change to alarm-router")
        routed = self.invoke("alarm-router", alarm_event(self.account.id, alarm))
        print(f"    routed: {json.dumps(routed)[:200]}")
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10, WaitTimeSeconds=2).get("Messages", [])
        envelopes = [json.loads(m["Body"]) for m in messages]
        email = [e for e in envelopes if e["TopicArn"] != chat]
        chats = [json.loads(e["Message"]) for e in envelopes if e["TopicArn"] == chat]
        if len(email) != 1 or len(chats) != 1:
            return False, f"{len(email)} e-mail and {len(chats)} chat notifications arrived (expected one of each)"
        print(f"    Subject: {email[0].get('Subject')}")
        for line in [l for l in email[0].get("Message", "").splitlines() if l][:10]:
            print(f"    | {line}")
        print(f"    chat: {chats[0]['content']['title']} (thread {chats[0]['metadata']['threadId'].rsplit(':', 1)[1]})")
        return True, f"one notification on {email[0]['TopicArn'].rsplit(':', 1)[1]}, one custom notification on demo-chat"

    def keys(self) -> tuple[bool, str]:
        kms = self.account.client("kms")
        kms.create_key(Description="made by hand, rotation off")
        dry = self.invoke("key-rotator", {"dryRun": True})
        for action in dry.get("actions", [])[:8]:
            print(f"    dry run: {action.get('action')} {action.get('keyId')} ({action.get('reason')})")
        real = self.invoke("key-rotator", {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"})
        audit = self.invoke("key-auditor", {"detail-type": "Scheduled Event", "source": "aws.events", "detail": {}})
        findings = {k: v for k, v in (audit.get("summary") or {}).items() if v}
        print(f"    audit: {audit.get('keysScanned')} keys, {audit.get('compliancePercent')}% compliant; findings {findings}")
        acted = len(real.get("actions", []))
        return True, f"rotator acted on {acted} key{'' if acted == 1 else 's'}; auditor scanned {audit.get('keysScanned')}"

    def drift(self) -> tuple[bool, str]:
        """Every custom resource is in step; one changed by hand is named with both values and,
        the platform being deployed with RepairDrift, put back by its provider."""
        clean = self.invoke("drift-detector", {"dryRun": True})
        for drift in clean.get("drifted", []):
            print(f"    FALSE DRIFT: {drift['stack']} {drift['logicalId']}: {drift['differences']}")
        logs = self.account.client("logs")
        group = logs.describe_log_groups(logGroupNamePrefix="/platform/")["logGroups"][0]["logGroupName"]
        kept = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0].get("retentionInDays")
        logs.put_retention_policy(logGroupName=group, retentionInDays=1)
        print(f"    by hand: {group} retention {kept} -> 1 day")
        report = self.invoke("drift-detector", {})
        for drift in report.get("drifted", []):
            for d in drift["differences"]:
                print(f"    [{drift['status']}] {drift['stack']} {drift['logicalId']} ({drift['resourceType']}): "
                      f"{d['property']} live {d['live'][:60]} / stack {d['desired'][:60]}")
        for repair in report.get("repairs", []):
            print(f"    {'repaired' if repair['repaired'] else 'NOT repaired'}: {repair['stack']} {repair['logicalId']} "
                  f"{repair.get('reason', '')}")
        found = [d for d in report.get("drifted", []) if d["physicalId"] == group
                 and any(x["property"] == "RetentionInDays" and x["live"] == "1" for x in d["differences"])]
        now = logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"][0].get("retentionInDays")
        after = self.invoke("drift-detector", {"dryRun": True})
        ok = (not clean.get("drifted") and not clean.get("errors") and len(report.get("drifted", [])) == 1 and found
              and [r["repaired"] for r in report.get("repairs", [])] == [True] and now == kept and not after.get("drifted"))
        return bool(ok), (f"{clean.get('resourcesChecked')} resources in step; the retention changed by hand was "
                          f"found and put back ({now} days)" if ok else f"unexpected: {clean} / {report} / {after}")

    def update(self, target: str) -> tuple[bool, str]:
        changed = []
        for layer in LAYERS:
            before = self.account.cloudformation.describe_stacks(StackName=layer)["Stacks"][0].get("Outputs") or []
            result = self.account.deploy(layer, ROOT / f"stacks/{layer}.yaml", self.params(target)[layer], on_event=print_event)
            after = result.outputs
            for output in before:
                if after.get(output["OutputKey"]) != output["OutputValue"]:
                    print(f"    {layer} output {output['OutputKey']}: {output['OutputValue'][:60]} -> {after.get(output['OutputKey'], '(gone)')[:60]}")
            if result.status != "UPDATE_COMPLETE":
                return False, f"{layer} {result.status}: {result.failures()}"
            changed += [e["LogicalResourceId"] for e in result.events if e["ResourceStatus"] in ("UPDATE_COMPLETE", "CREATE_COMPLETE") and e["LogicalResourceId"] != layer]
        return True, f"{self.env} -> {target} in place: {', '.join(changed) or 'nothing'} changed"

    def teardown(self) -> tuple[bool, str]:
        for stack in (*reversed(LAYERS), self.platform):
            result = self.account.delete(stack, on_event=print_event)
            if result.status != "DELETE_COMPLETE":
                return False, f"{stack} {result.status}: {result.failures()}"
        kms, logs = self.account.client("kms"), self.account.client("logs")
        keys = [(a["AliasName"], a["TargetKeyId"]) for a in kms.list_aliases()["Aliases"] if a["AliasName"].startswith("alias/platform-")]
        groups = [g["logGroupName"] for g in logs.describe_log_groups(logGroupNamePrefix="/platform/")["logGroups"]]
        kept = [(alias, retained(self.account, key_id=key)) for alias, key in keys]
        kept += [(group, retained(self.account, log_group=group)) for group in groups]
        for name, tagged in kept:
            print(f"    kept on purpose: {name} (tagged stackhand:retained-at={tagged})" if tagged else f"    LEFT BEHIND: {name}")
        ok = all(tagged for _, tagged in kept)
        return ok, f"four stacks deleted; {len(kept)} kept on purpose" if kept else "four stacks deleted; nothing kept"


def leaks(demo: Demo) -> tuple[bool, str]:
    """What no function may log: a ResponseURL's signature, a credential it was given."""
    secrets = ["X-Amz-Signature=", "AWS_SECRET_ACCESS_KEY", "SessionToken"]
    logs = [p for p in demo.emulator.logs.glob("*.log") if p.name != "emulator.log"]
    found = [f"{p.name}: {secret}" for p in logs for secret in secrets if secret in p.read_text(errors="replace")]
    for hit in found:
        print(f"    LEAK {hit}")
    return not found, f"{len(logs)} function logs read, {len(found)} leaks"


def retained(account: local_cloud.Account, key_id: str = "", log_group: str = "") -> str:
    """The date a resource was retained on (its `stackhand:retained-at` tag), or ""."""
    if key_id:
        tags = {t["TagKey"]: t["TagValue"] for t in account.client("kms").list_resource_tags(KeyId=key_id)["Tags"]}
    else:
        tags = account.client("logs").list_tags_log_group(logGroupName=log_group)["tags"]
    return tags.get("stackhand:retained-at", "")


def alarm_event(account: str, alarm: dict[str, Any]) -> dict[str, Any]:
    """The EventBridge "CloudWatch Alarm State Change" event for `alarm` going OK -> ALARM."""
    now = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
    metric = {"namespace": alarm.get("Namespace"), "name": alarm.get("MetricName"),
              "dimensions": {d["Name"]: d["Value"] for d in alarm.get("Dimensions", [])}}
    return {
        "version": "0", "id": "5eed0000-demo-4000-8000-000000000009", "detail-type": "CloudWatch Alarm State Change",
        "source": "aws.cloudwatch", "account": account, "time": f"{now}Z", "region": local_cloud.REGION,
        "resources": [alarm["AlarmArn"]],
        "detail": {
            "alarmName": alarm["AlarmName"],
            "state": {"value": "ALARM", "reason": "demo: the cluster is struggling",
                      "reasonData": json.dumps({"version": "1.0", "recentDatapoints": [97.0], "threshold": alarm.get("Threshold")}),
                      "timestamp": f"{now}.000+0000"},
            "previousState": {"value": "OK", "reason": "Threshold Crossed", "timestamp": f"{now}.000+0000"},
            "configuration": {"description": alarm.get("AlarmDescription"), "metrics": [
                {"id": "m1", "returnData": True, "metricStat": {"metric": metric, "period": alarm.get("Period"), "stat": alarm.get("Statistic")}}]},
        },
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="make demo", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--env", default="dev", choices=list(NEXT), help="the environment to deploy (default dev)")
    parser.add_argument("--binaries", type=Path, default=ROOT / "target/debug", help="the function binaries (default target/debug)")
    args = parser.parse_args(argv)
    started = time.monotonic()
    print(paint("1", f"stackhand demo: the platform and the seed stacks, Environment={args.env}"))
    demo = Demo(args.env, args.binaries)
    report = Report()
    try:
        report.step(f"Deploy template.yaml as {demo.platform}", lambda: demo.deploy(demo.platform, ROOT / "template.yaml", {"Environment": args.env, "RepairDrift": "true", "ChatTopicArn": demo.chat_topic()}, "CREATE_COMPLETE"))
        for layer in LAYERS:
            report.step(f"Deploy stacks/{layer}.yaml", lambda layer=layer: demo.deploy(layer, ROOT / f"stacks/{layer}.yaml", demo.params(args.env)[layer], "CREATE_COMPLETE"))
        report.step("What this environment costs every month, layer by layer", demo.cost)
        report.step("A team's stack with a bad property (EvaluationPeriods: 0)", demo.bad_stack)
        report.step("An alarm goes off; alarm-router routes it to SNS", demo.alarm)
        report.step("key-rotator (dry run, then for real) and key-auditor", demo.keys)
        report.step("drift-detector: in step; a retention changed by hand is found and repaired", demo.drift)
        report.step(f"Update the three stacks to {NEXT[args.env]}", lambda: demo.update(NEXT[args.env]))
        report.step("Delete in reverse order: compute, monitoring, security, the platform", demo.teardown)
        report.step("No function logged a ResponseURL signature or a credential", lambda: leaks(demo))
    except KeyboardInterrupt:
        print("\ninterrupted; everything the demo started is stopped")
        return 130
    finally:
        demo.emulator.stop()
    return report.summary(time.monotonic() - started)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
