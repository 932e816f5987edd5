#!/usr/bin/env python3
"""`make local`: the platform on this machine until Ctrl-C.

Starts the emulator and its CloudFormation engine on PORT, deploys template.yaml as
stackhand-<ENV> (the six functions run from the built binaries), prints what to point a
CloudFormation client at, and keeps serving. Deploy your own stacks against it with
`aws cloudformation deploy --endpoint-url http://127.0.0.1:<PORT> ...`, boto3 or an SDK.
"""

import argparse
import signal
import sys
import time
from pathlib import Path

import local_cloud


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="make local",
        description="The stackhand platform locally: emulator, CloudFormation engine, template.yaml deployed.",
        epilog="Example: make local PORT=4566 ENV=prod  (then see docs/operations.md, 'Try a stack locally')",
    )
    parser.add_argument("--port", type=int, default=4566, help="the endpoint's port (default 4566)")
    parser.add_argument("--env", default="dev", choices=["dev", "qa", "uat", "prod"], help="the platform's Environment")
    parser.add_argument("--account", default="000000000000", help="the account to deploy into (default 000000000000)")
    parser.add_argument("--binaries", type=Path, default=local_cloud.ROOT / "target/debug", help="the function binaries (default target/debug)")
    args = parser.parse_args(argv)

    emulator = local_cloud.Emulator(args.binaries, port=args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        account = emulator.account(args.account)
        stack = f"stackhand-{args.env}"
        print(f"==> deploying template.yaml as {stack} (Environment={args.env}) into account {args.account}")
        result = account.deploy(stack, local_cloud.ROOT / "template.yaml", {"Environment": args.env}, on_event=print_event)
        if not result.status.endswith("COMPLETE") or "ROLLBACK" in result.status:
            print(f"{stack}: {result.status} {result.reason or ''}")
            return 1
        print(f"\n{stack} outputs:")
        for key, value in result.outputs.items():
            print(f"  {key:34} {value}")
        credentials = account.credentials
        print(
            f"""
The platform is running at {emulator.endpoint} (Ctrl-C stops it and everything it started).
Function logs: {emulator.logs}/<account>-<function>.log

  export AWS_ENDPOINT_URL={emulator.endpoint} AWS_REGION={local_cloud.REGION}
  export AWS_ACCESS_KEY_ID={credentials['AccessKeyId']} AWS_SECRET_ACCESS_KEY={credentials['SecretAccessKey']}
  export AWS_SESSION_TOKEN={credentials['SessionToken']}
  aws cloudformation deploy --stack-name orders --template-file examples/consumer.yaml \\
      --parameter-overrides Environment={args.env} PlatformStack={stack}
  aws cloudformation describe-stack-events --stack-name orders
"""
        )
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("\nstopping")
        return 0
    finally:
        emulator.stop()


def print_event(event: dict) -> None:
    reason = event.get("ResourceStatusReason") or ""
    print(f"  {event['ResourceStatus']:<38} {event['ResourceType']:<32} {event['LogicalResourceId']:<40} {reason}")


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
