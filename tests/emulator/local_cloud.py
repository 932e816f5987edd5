"""The local platform, as a library: the emulator with its CloudFormation engine, fresh accounts,
and stack operations that wait and report like `sam deploy`. Used by `make local`, the engine's
end-to-end tests (tests/engine) and anyone scripting against the local platform.
"""

import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import boto3
from botocore.config import Config

ROOT = Path(__file__).resolve().parents[2]
REGION = "us-east-1"
FINAL = ("_COMPLETE", "_FAILED")
_CONFIG = Config(retries={"max_attempts": 2, "mode": "standard"}, read_timeout=120)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Emulator:
    """serve.py in its own process, running functions from `binaries` (target/<profile>)."""

    def __init__(self, binaries: Path, port: int | None = None, host: str = "127.0.0.1", logs: Path | None = None) -> None:
        self.port = port or free_port()
        self.endpoint = f"http://{host}:{self.port}"
        self.logs = logs or Path(os.environ.get("TMPDIR", "/tmp")) / f"stackhand-local-{self.port}"
        self.logs.mkdir(parents=True, exist_ok=True)
        missing = [b for b in FUNCTIONS if not (binaries / b).exists()]
        if missing:
            raise SystemExit(f"no function binaries in {binaries} ({', '.join(missing)}): run `cargo build --workspace --bins`")
        env = dict(os.environ, STACKHAND_FUNCTION_LOGS=str(self.logs))
        with open(self.logs / "emulator.log", "ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, str(ROOT / "tests/emulator/serve.py"), "-H", host, "-p", str(self.port),
                 "--functions", str(binaries), "--exit-with-parent"],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1)
                return
            except OSError:
                if self.process.poll() is not None:
                    raise SystemExit(f"the emulator exited; see {self.logs / 'emulator.log'}")
                time.sleep(0.2)
        raise SystemExit(f"the emulator did not start within 30 s; see {self.logs / 'emulator.log'}")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()

    def account(self, account_id: str) -> "Account":
        sts = boto3.client(
            "sts", endpoint_url=self.endpoint, region_name=REGION,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )
        credentials = sts.assume_role(
            RoleArn=f"arn:aws:iam::{account_id}:role/deployer", RoleSessionName="stackhand-local"
        )["Credentials"]
        session = boto3.Session(
            aws_access_key_id=credentials["AccessKeyId"],
            aws_secret_access_key=credentials["SecretAccessKey"],
            aws_session_token=credentials["SessionToken"],
            region_name=REGION,
        )
        return Account(account_id, session, self.endpoint, credentials)


FUNCTIONS = ("kms-provider", "monitoring-provider", "ecs-provider", "alarm-router", "key-rotator", "key-auditor")


@dataclass
class StackResult:
    name: str
    status: str
    reason: str | None
    outputs: dict[str, str]
    events: list[dict[str, Any]]

    def failures(self) -> list[tuple[str, str]]:
        return [
            (e["LogicalResourceId"], e.get("ResourceStatusReason") or "")
            for e in self.events
            if e["ResourceStatus"].endswith("_FAILED")
        ]


class Account:
    def __init__(self, account_id: str, session: boto3.Session, endpoint: str, credentials: dict[str, Any]) -> None:
        self.id = account_id
        self.session = session
        self.endpoint = endpoint
        self.credentials = credentials
        self.cloudformation = self.client("cloudformation")

    def client(self, service: str) -> Any:
        return self.session.client(service, endpoint_url=self.endpoint, config=_CONFIG)

    def _wait(self, stack_id: str, since: int, on_event: Callable[[dict[str, Any]], None] | None) -> StackResult:
        seen = since
        while True:
            stack = self.cloudformation.describe_stacks(StackName=stack_id)["Stacks"][0]
            events = list(reversed(self.cloudformation.describe_stack_events(StackName=stack_id)["StackEvents"]))
            for e in events[seen:]:
                if on_event:
                    on_event(e)
            seen = len(events)
            status = stack["StackStatus"]
            if status.endswith(FINAL) and not status.endswith("CLEANUP_IN_PROGRESS"):
                outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs") or []}
                return StackResult(stack["StackName"], status, stack.get("StackStatusReason"), outputs, events[since:])
            time.sleep(0.25)

    def _event_count(self, stack: str) -> int:
        try:
            return len(self.cloudformation.describe_stack_events(StackName=stack)["StackEvents"])
        except self.cloudformation.exceptions.ClientError:
            return 0

    def deploy(self, stack: str, template: str | Path, parameters: dict[str, str] | None = None,
               on_event: Callable[[dict[str, Any]], None] | None = None) -> StackResult:
        """Creates the stack, or updates it if it exists; waits for the end."""
        body = template.read_text() if isinstance(template, Path) else template
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in (parameters or {}).items()]
        caps = ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM", "CAPABILITY_AUTO_EXPAND"]
        existing = self._live(stack)
        if existing is None:
            stack_id = self.cloudformation.create_stack(
                StackName=stack, TemplateBody=body, Parameters=params, Capabilities=caps
            )["StackId"]
            return self._wait(stack_id, 0, on_event)
        since = self._event_count(existing)
        self.cloudformation.update_stack(StackName=stack, TemplateBody=body, Parameters=params, Capabilities=caps)
        return self._wait(existing, since, on_event)

    def delete(self, stack: str, on_event: Callable[[dict[str, Any]], None] | None = None) -> StackResult:
        stack_id = self._live(stack)
        if stack_id is None:
            return StackResult(stack, "DELETE_COMPLETE", None, {}, [])
        since = self._event_count(stack_id)
        self.cloudformation.delete_stack(StackName=stack_id)
        return self._wait(stack_id, since, on_event)

    def _live(self, stack: str) -> str | None:
        try:
            found = self.cloudformation.describe_stacks(StackName=stack)["Stacks"][0]
        except self.cloudformation.exceptions.ClientError:
            return None
        return None if found["StackStatus"] == "DELETE_COMPLETE" else found["StackId"]


def seed_parameters(env: str, platform_stack: str, vpc: str, subnets: list[str]) -> dict[str, dict[str, str]]:
    """Each seed stack's parameters for environment `env`."""
    return {
        "security": {"Environment": env, "PlatformStack": platform_stack},
        "monitoring": {"Environment": env, "PlatformStack": platform_stack},
        "compute": {"Environment": env, "PlatformStack": platform_stack, "VpcId": vpc, "PrivateSubnetIds": ",".join(subnets)},
    }


def network(account: Account) -> tuple[str, list[str]]:
    """A VPC with two private subnets, what compute.yaml expects to be given."""
    ec2 = account.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.40.{i}.0/24", AvailabilityZone=f"{REGION}{zone}")["Subnet"]["SubnetId"]
        for i, zone in ((1, "a"), (2, "b"))
    ]
    return vpc, subnets
