"""The drift benchmark: an account with N recorded `Custom::LogGroup`s (a tenth changed by hand,
one in 25 deleted), drift-detector over them, and a sequential boto3 script making the same reads
(DescribeLogGroups and ListTagsForResource per group) as the peer: what a home-made check costs.
"""

import json
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

from harness import Emulator, scheduled_run

TABLE = "stackhand-drift-records"
STACK = "arn:aws:cloudformation:us-east-1:{account}:stack/bench-drift/0f0e0d0c"
# The reads drift-detector makes per log group; the peer makes the same ones.
PER_RESOURCE = ("DescribeLogGroups", "ListTagsForResource")


def fleet(emulator: Emulator, size: int) -> tuple[dict, set]:
    """`size` log groups made and recorded as monitoring-provider would; returns the account and
    the logical ids expected to drift."""
    account = emulator.account()
    dynamodb, logs = emulator.client("dynamodb", account), emulator.client("logs", account)
    dynamodb.create_table(TableName=TABLE, BillingMode="PAY_PER_REQUEST",
                          AttributeDefinitions=[{"AttributeName": "ResourceKey", "AttributeType": "S"}],
                          KeySchema=[{"AttributeName": "ResourceKey", "KeyType": "HASH"}])
    stack = STACK.format(account=account["id"])
    expected = set()

    def make(i: int) -> None:
        logical, name = f"Logs{i:04d}", f"/bench/drift/{i:04d}"
        logs.create_log_group(logGroupName=name, tags={"stackhand:stack-id": stack, "stackhand:logical-id": logical,
                                                       "stackhand:request-id": str(uuid.uuid4()), "stackhand:environment": "dev"})
        logs.put_retention_policy(logGroupName=name, retentionInDays=7)
        properties = {"Environment": "dev", "LogGroupName": name}
        dynamodb.put_item(TableName=TABLE, Item={
            "ResourceKey": {"S": f"{stack}|{logical}"}, "StackId": {"S": stack}, "LogicalResourceId": {"S": logical},
            "ResourceType": {"S": "Custom::LogGroup"}, "PhysicalResourceId": {"S": name},
            "Properties": {"S": json.dumps(properties)}, "RecordedAt": {"S": "2026-12-01T00:00:00Z"}})
        if i % 25 == 3:
            logs.delete_log_group(logGroupName=name)
            expected.add(logical)
        elif i % 10 == 1:
            logs.put_retention_policy(logGroupName=name, retentionInDays=1)
            expected.add(logical)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(size)))
    return account, expected


def detect(emulator: Emulator, account: dict) -> tuple[float, float, dict]:
    """drift-detector's time from the scheduled event to its report, and its peak RSS."""
    return scheduled_run("drift-detector", emulator, account, {"RECORDS_TABLE": TABLE, "CONCURRENCY": "8"})


def sequential(emulator: Emulator, account: dict) -> tuple[float, set]:
    """The peer: one boto3 client reading each record's group and tags in turn."""
    dynamodb, logs = emulator.client("dynamodb", account), emulator.client("logs", account)
    started = time.perf_counter()
    drifted = set()
    for page in dynamodb.get_paginator("scan").paginate(TableName=TABLE):
        for item in page["Items"]:
            name = item["PhysicalResourceId"]["S"]
            groups = [g for g in logs.describe_log_groups(logGroupNamePrefix=name)["logGroups"] if g["logGroupName"] == name]
            if not groups:
                drifted.add(item["LogicalResourceId"]["S"])
                continue
            logs.list_tags_for_resource(resourceArn=groups[0]["arn"].removesuffix(":*"))
            if groups[0].get("retentionInDays") != 7:
                drifted.add(item["LogicalResourceId"]["S"])
    return (time.perf_counter() - started) * 1000, drifted


def compare(emulator: Emulator, size: int) -> dict:
    account, expected = fleet(emulator, size)
    emulator.start_recording()
    ours_ms, ours_mb, report = detect(emulator, account)
    calls = emulator.stop_recording(account)
    found = {d["logicalId"] for d in report["drifted"]}
    peer_ms, peer_found = sequential(emulator, account)
    row = {"resources": size, "ours_ms": ours_ms, "ours_mb": ours_mb, "ours_calls": calls, "peer_ms": peer_ms,
           "exact": found == expected and report["resourcesChecked"] == size, "peer_exact": peer_found == expected}
    per = sum(calls.get(op, 0) for op in PER_RESOURCE) / size
    print(f"  drift-detector {ours_ms:.0f} ms, {ours_mb:.1f} MB, {per:.2f} reads per resource, expected set: {row['exact']}; "
          f"sequential boto3 {peer_ms:.0f} ms")
    return row
