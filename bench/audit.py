"""The audit benchmark: a fleet of keys in one emulator account, key-auditor over it, and its
peers on the same keys (Prowler, the sequential boto3 script) plus the emulator's own ceiling for
the same three calls.
"""

import json
import os
import shutil
import subprocess
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from harness import PEER_PYTHON, PROWLER, REGION, ROOT, Emulator, scheduled_run

# The calls key-auditor makes per key; the ceiling load makes the same ones.
PER_KEY_CALLS = ("DescribeKey", "GetKeyPolicy", "GetKeyRotationStatus", "GetKeyLastUsage", "ListGrants")


def fleet_key(kms, account_id: str, i: int) -> tuple[str, list[str]]:
    """The fleet's i-th key: every 10th has rotation off, every 50th a public statement, every
    40th is pending deletion, every 25th is multi-Region. Returns its ARN and expected checks."""
    root = f"arn:aws:iam::{account_id}:root"
    statements = [{"Sid": "Root", "Effect": "Allow", "Principal": {"AWS": root}, "Action": "kms:*", "Resource": "*"}]
    checks = []
    if i % 50 == 7:
        statements.append({"Sid": "Public", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*"})
        checks.append("public-key-policy")
    key = kms.create_key(Policy=json.dumps({"Version": "2012-10-17", "Statement": statements}), MultiRegion=(i % 25 == 3))["KeyMetadata"]
    kms.create_alias(AliasName=f"alias/fleet-{i:04d}", TargetKeyId=key["KeyId"])
    if i % 25 == 3:
        checks.append("multi-region-key")
    if i % 40 == 5:
        kms.schedule_key_deletion(KeyId=key["KeyId"], PendingWindowInDays=7)
        checks.append("pending-deletion")
    elif i % 10 == 1:
        checks.append("rotation-disabled")
    else:
        kms.enable_key_rotation(KeyId=key["KeyId"])
    return key["Arn"], sorted(checks)


def fleet(emulator: Emulator, size: int) -> tuple[dict, dict]:
    """An account with `size` keys of the fleet's pattern; returns the account and the expectations."""
    account = emulator.account()
    kms = emulator.client("kms", account)
    with ThreadPoolExecutor(8) as pool:
        expected = dict(pool.map(lambda i: fleet_key(kms, account["id"], i), range(size)))
    return account, expected


def audit(emulator: Emulator, account: dict) -> tuple[float, float, dict]:
    """key-auditor's time from the scheduled event to its result, its peak RSS, and its report."""
    return scheduled_run("key-auditor", emulator, account, {"CONCURRENCY": "16"})


PROWLER_CHECKS = {
    "kms_cmk_rotation_enabled": "rotation-disabled",
    "kms_key_not_publicly_accessible": "public-key-policy",
    "kms_cmk_not_deleted_unintentionally": "pending-deletion",
    "kms_cmk_not_multi_region": "multi-region-key",
}


def prowler(emulator: Emulator, account: dict, out_dir: str) -> tuple[float, float, dict]:
    env = dict(os.environ, AWS_ENDPOINT_URL=emulator.endpoint, AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID=account["AWS_ACCESS_KEY_ID"],
               AWS_SECRET_ACCESS_KEY=account["AWS_SECRET_ACCESS_KEY"], AWS_SESSION_TOKEN=account["AWS_SESSION_TOKEN"])
    started = time.perf_counter()
    process = subprocess.Popen([PROWLER, "aws", "--service", "kms", "-f", REGION, "--output-formats", "json-ocsf", "-o", out_dir, "--no-banner"],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = (time.perf_counter() - started) * 1000
    return elapsed, usage.ru_maxrss / 1024, prowler_findings(out_dir, {})


def prowler_findings(out_dir: str, found: dict) -> dict:
    """Adds the FAIL results of Prowler's OCSF reports in `out_dir` on the shared checks to
    `found` (key ARN -> checks); returns it with each list sorted."""
    for name in os.listdir(out_dir):
        if name.endswith(".ocsf.json"):
            with open(os.path.join(out_dir, name)) as f:
                for item in json.load(f):
                    check = PROWLER_CHECKS.get(item.get("metadata", {}).get("event_code", ""))
                    if check and item.get("status_code") == "FAIL":
                        for resource in item.get("resources", []):
                            found.setdefault(resource.get("uid", ""), []).append(check)
    for checks in found.values():
        checks.sort()
    return found

def sequential(emulator: Emulator, account: dict) -> tuple[float, dict]:
    """The plain sequential boto3 audit (bench/peers/sequential_audit.py) on the same keys."""
    env = dict(os.environ, AWS_ENDPOINT_URL=emulator.endpoint, AWS_DEFAULT_REGION=REGION, AWS_ACCESS_KEY_ID=account["AWS_ACCESS_KEY_ID"],
               AWS_SECRET_ACCESS_KEY=account["AWS_SECRET_ACCESS_KEY"], AWS_SESSION_TOKEN=account["AWS_SESSION_TOKEN"])
    out = subprocess.run([PEER_PYTHON, os.path.join(ROOT, "bench", "peers", "sequential_audit.py")], env=env, capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    return result["elapsed_ms"], result["findings"]


def ceiling(emulator: Emulator, account: dict, key_ids: list[str], workers: int = 16) -> float:
    """What the emulator serves at most: the audit's per-key calls, `workers` at a time
    (boto3 clients in threads), over the same keys. Returns calls per second."""
    local = threading.local()

    def one_key(key_id: str) -> int:
        if not hasattr(local, "kms"):
            local.kms = emulator.client("kms", account)
        local.kms.describe_key(KeyId=key_id)
        local.kms.get_key_policy(KeyId=key_id, PolicyName="default")
        local.kms.get_key_last_usage(KeyId=key_id)
        local.kms.list_grants(KeyId=key_id)
        try:
            local.kms.get_key_rotation_status(KeyId=key_id)
        except local.kms.exceptions.ClientError:
            pass  # pending deletion: the call was still served
        return len(PER_KEY_CALLS)

    started = time.perf_counter()
    with ThreadPoolExecutor(workers) as pool:
        calls = sum(pool.map(one_key, key_ids))
    return calls / (time.perf_counter() - started)


def _findings_on_shared_checks(report: dict) -> dict:
    ours: dict = {}
    for finding in report["findings"]:
        if finding["check"] in PROWLER_CHECKS.values():
            ours.setdefault(finding["arn"], []).append(finding["check"])
    return {k: sorted(v) for k, v in ours.items()}


def _differing(a: dict, b: dict) -> list[str]:
    return sorted(k for k in set(a) | set(b) if a.get(k, []) != b.get(k, []))


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def compare(emulator: Emulator, size: int, use_prowler: bool, runs: int) -> dict:
    """Every audit figure for one fleet size: each subject `runs` times on the same keys, the
    median kept (and every run, for the spread). Each subject runs while the emulator's recorder
    is on, so each pays the same per-request cost and its calls are counted."""
    account, expected = fleet(emulator, size)
    wanted = {k: v for k, v in expected.items() if v}
    row: dict = {"keys": size, "notes": [], "runs": runs, "ours_all": [], "sequential_all": [], "prowler_all": []}

    for _ in range(runs):
        emulator.start_recording()
        ms, mb, report = audit(emulator, account)
        row["ours_calls"] = emulator.stop_recording(account)
        row["ours_all"].append(ms)
        row["ours_mb"] = max(row.get("ours_mb", 0.0), mb)
    row["ours_ms"] = _median(row["ours_all"])
    ours = _findings_on_shared_checks(report)
    row["ours_exact"] = ours == wanted
    if not row["ours_exact"]:
        row["notes"].append(f"key-auditor differs from the expected findings on {len(_differing(ours, wanted))} keys")
    print(f"  key-auditor {row['ours_all']} ms, {row['ours_mb']:.1f} MB, calls {row['ours_calls']}, expected set: {row['ours_exact']}")

    emulator.start_recording()
    row["ceiling_per_s"] = ceiling(emulator, account, [arn.rsplit("/", 1)[-1] for arn in expected])
    emulator.stop_recording(account)
    print(f"  emulator ceiling {row['ceiling_per_s']:.0f} calls/s")

    for _ in range(runs):
        emulator.start_recording()
        ms, theirs = sequential(emulator, account)
        emulator.stop_recording(account)
        row["sequential_all"].append(ms)
    row["sequential_ms"] = _median(row["sequential_all"])
    row["sequential_differing"] = _differing(theirs, wanted)
    print(f"  sequential boto3 {row['sequential_all']} ms, differs on {len(row['sequential_differing'])} keys")

    if use_prowler:
        out_dir = os.path.join(ROOT, "target", f"prowler-{size}")
        for _ in range(runs):
            # A previous run's report would be read as this one's.
            shutil.rmtree(out_dir, ignore_errors=True)
            os.makedirs(out_dir)
            emulator.start_recording()
            ms, mb, theirs = prowler(emulator, account, out_dir)
            row["prowler_calls"] = emulator.stop_recording(account)
            row["prowler_all"].append(ms)
            row["prowler_mb"] = max(row.get("prowler_mb", 0.0), mb)
        row["prowler_ms"] = _median(row["prowler_all"])
        differing = _differing(theirs, ours)
        row["prowler_agree"] = not differing
        for key in differing[:10]:
            row["notes"].append(f"{key}: key-auditor {ours.get(key, [])}, Prowler {theirs.get(key, [])}")
        print(f"  Prowler {row['prowler_all']} ms, {row['prowler_mb']:.0f} MB, agreement: {row['prowler_agree']}")
    return row
