"""The Organization audit benchmark: member accounts x Regions x keys (the audit fleet's pattern)
on the emulator. key-auditor
fans the run out on an SQS queue and several release binaries, each under its own local Runtime
API, take one unit at a time as Lambda's event source would. Its peers, on the same keys: Prowler's
KMS checks run once per account with the member role (`-R`, `-I`), as its users scan several
accounts, and the sequential boto3 script per account and Region.
"""

import json
import os
import shutil
import subprocess
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3

from audit import PROWLER_CHECKS, _differing, fleet_key, prowler_findings
from harness import PEER_PYTHON, PROWLER, REGION, ROOT, Emulator, RuntimeApi, command, lambda_env, peak_rss_mb, scheduled_run

ROLE = "stackhand-key-audit"
EXTERNAL_ID = "bench-organization-external-id"
REGIONS = ("us-east-1", "eu-west-1")


def _client(emulator: Emulator, service: str, creds: dict, region: str = REGION):
    return boto3.client(service, endpoint_url=emulator.endpoint, region_name=region, aws_access_key_id=creds["AWS_ACCESS_KEY_ID"],
                        aws_secret_access_key=creds["AWS_SECRET_ACCESS_KEY"], aws_session_token=creds["AWS_SESSION_TOKEN"])


def organization(emulator: Emulator, accounts: int, regions: int, keys: int) -> tuple[dict, list[dict], dict]:
    """The audit account with the platform's queues, ledger and bucket; the members, each with the
    member role (trusting the auditor with the ExternalId) and `keys` keys in each Region."""
    central = emulator.account()
    sqs = emulator.client("sqs", central)
    dead = sqs.create_queue(QueueName="audit-units-failed")["QueueUrl"]
    dead_arn = f"arn:aws:sqs:{REGION}:{central['id']}:audit-units-failed"
    units = sqs.create_queue(QueueName="audit-units", Attributes={
        "RedrivePolicy": json.dumps({"deadLetterTargetArn": dead_arn, "maxReceiveCount": "3"}), "VisibilityTimeout": "600"})["QueueUrl"]
    emulator.client("dynamodb", central).create_table(
        TableName="audit-runs", BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "run", "AttributeType": "S"}, {"AttributeName": "unit", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "run", "KeyType": "HASH"}, {"AttributeName": "unit", "KeyType": "RANGE"}])
    bucket = f"audit-findings-{central['id']}"
    emulator.client("s3", central).create_bucket(Bucket=bucket)
    topic = emulator.client("sns", central).create_topic(Name="audit-report")["TopicArn"]
    central.update(units=units, units_arn=f"arn:aws:sqs:{REGION}:{central['id']}:audit-units", dead=dead, dead_arn=dead_arn,
                   bucket=bucket, topic=topic)
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{central['id']}:root"},
                        "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": EXTERNAL_ID}}}]})
    members = [emulator.account() for _ in range(accounts)]
    expected: dict = {}

    def populate(member: dict, region: str) -> dict:
        kms = _client(emulator, "kms", member, region)
        return dict(fleet_key(kms, member["id"], i) for i in range(keys))

    for member in members:
        emulator.client("iam", member).create_role(RoleName=ROLE, AssumeRolePolicyDocument=trust)
    with ThreadPoolExecutor(8) as pool:
        for found in pool.map(lambda job: populate(*job), [(m, r) for m in members for r in REGIONS[:regions]]):
            expected.update(found)
    return central, members, expected


def _env(central: dict, members: list[dict], regions: int) -> dict:
    return {"AUDIT_ACCOUNTS": ",".join(m["id"] for m in members), "AUDIT_REGIONS": ",".join(REGIONS[:regions]),
            "AUDIT_EXTERNAL_ID": EXTERNAL_ID, "AUDIT_MEMBER_ROLE_NAME": ROLE, "AUDIT_QUEUE_URL": central["units"],
            "AUDIT_DEAD_LETTER_QUEUE_ARN": central["dead_arn"], "AUDIT_RUNS_TABLE": "audit-runs",
            "AUDIT_FINDINGS_BUCKET": central["bucket"], "REPORT_TOPIC_ARN": central["topic"], "CONCURRENCY": "16"}


def _worker(emulator: Emulator, central: dict, env: dict, stop: threading.Event, done: list, peaks: list) -> None:
    """One Lambda execution environment: the release binary under its own Runtime API, fed one unit
    at a time from the queue (BatchSize 1), deleting what it did not ask to retry."""
    sqs = emulator.client("sqs", central)
    api = RuntimeApi()
    process = subprocess.Popen(command("key-auditor"), env=lambda_env(api, "key-auditor", emulator, central, env),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not stop.is_set():
            got = sqs.receive_message(QueueUrl=central["units"], MaxNumberOfMessages=1).get("Messages", [])
            if not got:
                time.sleep(0.05)
                continue
            message = got[0]
            record = {"messageId": message["MessageId"], "receiptHandle": message["ReceiptHandle"], "body": message["Body"],
                      "eventSource": "aws:sqs", "eventSourceARN": central["units_arn"], "awsRegion": REGION}
            api.events.put((str(uuid.uuid4()), {"Records": [record]}))
            _, kind, body = api.results.get(timeout=900)
            failed = kind != "response" or json.loads(body).get("batchItemFailures")
            if failed:
                sqs.change_message_visibility(QueueUrl=central["units"], ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            else:
                sqs.delete_message(QueueUrl=central["units"], ReceiptHandle=message["ReceiptHandle"])
                done.append(time.perf_counter())
        peaks.append(peak_rss_mb(process.pid))
    finally:
        process.kill()
        process.wait()
        api.close()


def ours(emulator: Emulator, central: dict, members: list[dict], regions: int, workers: int) -> dict:
    """The fan-out, then `workers` concurrent execution environments until every unit is counted."""
    env = _env(central, members, regions)
    started = time.perf_counter()
    _, fanout_mb, fanned = scheduled_run("key-auditor", emulator, central, env)
    stop, done, peaks = threading.Event(), [], []
    threads = [threading.Thread(target=_worker, args=(emulator, central, env, stop, done, peaks)) for _ in range(workers)]
    for thread in threads:
        thread.start()
    while len(done) < fanned["units"]:
        time.sleep(0.05)
    stop.set()
    for thread in threads:
        thread.join()
    return {"ms": (max(done) - started) * 1000, "mb": max(peaks + [fanout_mb]), "units": fanned["units"], "run": fanned["run"]}


def findings_in_s3(emulator: Emulator, central: dict) -> dict:
    """key-auditor's findings on the checks Prowler shares, from its JSON Lines objects."""
    s3 = emulator.client("s3", central)
    found: dict = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=central["bucket"], Prefix="findings/"):
        for item in page.get("Contents", []):
            for line in s3.get_object(Bucket=central["bucket"], Key=item["Key"])["Body"].read().decode().splitlines():
                finding = json.loads(line)
                check = finding["compliance"]["control"]
                if check in PROWLER_CHECKS.values() and finding["status"] == "New":
                    found.setdefault(finding["resources"][0]["uid"], []).append(check)
    return {k: sorted(v) for k, v in found.items()}


def _assumed(emulator: Emulator, central: dict, member: dict) -> dict:
    creds = _client(emulator, "sts", central).assume_role(RoleArn=f"arn:aws:iam::{member['id']}:role/{ROLE}",
                                                          RoleSessionName="bench", ExternalId=EXTERNAL_ID)["Credentials"]
    return {"AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"], "AWS_SESSION_TOKEN": creds["SessionToken"]}


def sequential(emulator: Emulator, central: dict, members: list[dict], regions: int) -> tuple[float, dict]:
    """bench/peers/sequential_audit.py once per account and Region, with the member role."""
    total, found = 0.0, {}
    for member in members:
        creds = _assumed(emulator, central, member)
        for region in REGIONS[:regions]:
            env = dict(os.environ, AWS_ENDPOINT_URL=emulator.endpoint, AWS_DEFAULT_REGION=region, **creds)
            out = subprocess.run([PEER_PYTHON, os.path.join(ROOT, "bench", "peers", "sequential_audit.py")], env=env,
                                 capture_output=True, text=True, check=True)
            result = json.loads(out.stdout.strip().splitlines()[-1])
            total += result["elapsed_ms"]
            found.update(result["findings"])
    return total, found


def prowler(emulator: Emulator, central: dict, members: list[dict], regions: int) -> tuple[float, float, dict]:
    """Prowler's KMS checks, one run per account assuming the member role with the ExternalId."""
    env = dict(os.environ, AWS_ENDPOINT_URL=emulator.endpoint, AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID=central["AWS_ACCESS_KEY_ID"],
               AWS_SECRET_ACCESS_KEY=central["AWS_SECRET_ACCESS_KEY"], AWS_SESSION_TOKEN=central["AWS_SESSION_TOKEN"])
    total, peak, found = 0.0, 0.0, {}
    for member in members:
        out_dir = os.path.join(ROOT, "target", f"prowler-org-{member['id']}")
        shutil.rmtree(out_dir, ignore_errors=True)
        os.makedirs(out_dir)
        started = time.perf_counter()
        process = subprocess.Popen([PROWLER, "aws", "--service", "kms", "-R", f"arn:aws:iam::{member['id']}:role/{ROLE}", "-I", EXTERNAL_ID,
                                    "-f", *REGIONS[:regions], "--output-formats", "json-ocsf", "-o", out_dir, "--no-banner"],
                                   env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        _, _, usage = os.wait4(process.pid, 0)
        total += (time.perf_counter() - started) * 1000
        peak = max(peak, usage.ru_maxrss / 1024)
        prowler_findings(out_dir, found)
    return total, peak, found


def compare(emulator: Emulator, accounts: int, regions: int, keys: int, workers: int, use_prowler: bool) -> dict:
    central, members, expected = organization(emulator, accounts, regions, keys)
    wanted = {k: v for k, v in expected.items() if v}
    row: dict = {"accounts": accounts, "regions": regions, "keys": keys, "workers": workers, "notes": []}
    emulator.start_recording()
    row.update(ours(emulator, central, members, regions, workers))
    row["ours_calls"] = emulator.stop_recording(None)
    theirs_ours = findings_in_s3(emulator, central)
    row["ours_exact"] = theirs_ours == wanted
    if not row["ours_exact"]:
        row["notes"].append(f"key-auditor differs from the expected findings on {len(_differing(theirs_ours, wanted))} keys")
    print(f"  key-auditor {row['ms']:.0f} ms for {row['units']} units with {workers} workers, {row['mb']:.1f} MB, expected set: {row['ours_exact']}")

    row["sequential_ms"], seq = sequential(emulator, central, members, regions)
    row["sequential_differing"] = len(_differing(seq, wanted))
    print(f"  sequential boto3 {row['sequential_ms']:.0f} ms, differs on {row['sequential_differing']} keys")
    if use_prowler:
        row["prowler_ms"], row["prowler_mb"], theirs = prowler(emulator, central, members, regions)
        differing = _differing(theirs, theirs_ours)
        row["prowler_agree"] = not differing
        row["prowler_differing"] = len(differing)
        for key in differing[:10]:
            row["notes"].append(f"{key}: key-auditor {theirs_ours.get(key, [])}, Prowler {theirs.get(key, [])}")
        print(f"  Prowler {row['prowler_ms']:.0f} ms, {row['prowler_mb']:.0f} MB, agreement: {row['prowler_agree']}")
    return row
