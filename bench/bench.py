#!/usr/bin/env python3
"""stackhand's benchmarks, each side by side with its peer in the same run, on the same emulator
and the same local Lambda Runtime API. Writes bench/RESULTS.md.

    python bench/bench.py                     # what `make bench` runs
    python bench/bench.py --runs 3 --sizes 20 --no-prowler --out /tmp/r.md   # the smoke run

1. Cold start: exec -> first GET /runtime/invocation/next, for every function and for the peer
   (crhelper + boto3, bench/peers/).
2. Custom::KmsKey Create end to end: exec -> the CloudFormation response PUT, ours and the peer's.
3. Audit: key-auditor over 100 / 300 / 1000 keys (time and peak memory), beside Prowler's KMS
   checks on the same keys when bench/.venv-prowler exists; their findings compared key by key.
"""

import argparse
import http.server
import json
import os
import platform
import queue
import shutil
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUNCTIONS = ["kms-provider", "monitoring-provider", "ecs-provider", "alarm-router", "key-rotator", "key-auditor"]
PEER_PYTHON = os.path.join(ROOT, "bench", ".venv-peers", "bin", "python")
PROWLER = os.path.join(ROOT, "bench", ".venv-prowler", "bin", "prowler")
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Emulator:
    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "emulator", "serve.py"), "-p", str(self.port), "--exit-with-parent"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{self.endpoint}/moto-api/", timeout=1)
                return
            except OSError:
                if time.time() > deadline:
                    raise
                time.sleep(0.1)

    def account(self) -> dict:
        account_id = f"{uuid.uuid4().int % 10**12:012d}"
        sts = boto3.client("sts", endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id="testing", aws_secret_access_key="testing")
        creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/t", RoleSessionName="bench")["Credentials"]
        return {"id": account_id, "AWS_ACCESS_KEY_ID": creds["AccessKeyId"], "AWS_SECRET_ACCESS_KEY": creds["SecretAccessKey"], "AWS_SESSION_TOKEN": creds["SessionToken"]}

    def client(self, service: str, account: dict):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=REGION, aws_access_key_id=account["AWS_ACCESS_KEY_ID"],
                            aws_secret_access_key=account["AWS_SECRET_ACCESS_KEY"], aws_session_token=account["AWS_SESSION_TOKEN"])


class RuntimeApi:
    """A local Lambda Runtime API: hands out queued events, records polls and results."""

    def __init__(self) -> None:
        self.events: "queue.Queue[tuple[str, dict]]" = queue.Queue()
        self.first_poll = None
        self.results: "queue.Queue[tuple[float, str, bytes]]" = queue.Queue()
        api = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if api.first_poll is None:
                    api.first_poll = time.perf_counter()
                request_id, event = api.events.get()
                body = json.dumps(event).encode()
                self.send_response(200)
                self.send_header("Lambda-Runtime-Aws-Request-Id", request_id)
                self.send_header("Lambda-Runtime-Deadline-Ms", str(int(time.time() * 1000) + 900_000))
                self.send_header("Lambda-Runtime-Invoked-Function-Arn", "arn:aws:lambda:us-east-1:123456789012:function:bench")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length)
                kind = self.path.rsplit("/", 1)[-1]
                api.results.put((time.perf_counter(), kind, body))
                self.send_response(202)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.address = f"127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class Listener:
    """The presigned ResponseURL: records when each response PUT arrives."""

    def __init__(self) -> None:
        self.arrived: dict = {}
        listener = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_PUT(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                request_id = self.path.split("/")[-1].split("?")[0]
                listener.arrived[request_id] = (time.perf_counter(), json.loads(body or b"{}"))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.port = self.server.server_address[1]

    def url(self, request_id: str) -> str:
        return f"http://127.0.0.1:{self.port}/response/{request_id}?X-Amz-Signature=bench"


def lambda_env(api: RuntimeApi, name: str, emulator: Emulator, account: dict, extra: dict | None = None) -> dict:
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "AWS_LAMBDA_FUNCTION_NAME": name,
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": REGION,
        "AWS_DEFAULT_REGION": REGION,
        "AWS_ENDPOINT_URL": emulator.endpoint,
        "AWS_ACCESS_KEY_ID": account["AWS_ACCESS_KEY_ID"],
        "AWS_SECRET_ACCESS_KEY": account["AWS_SECRET_ACCESS_KEY"],
        "AWS_SESSION_TOKEN": account["AWS_SESSION_TOKEN"],
        "RUST_LOG": "warn",
    }
    env.update(extra or {})
    return env


def command(name: str) -> list[str]:
    if name == "peer":
        return [PEER_PYTHON, os.path.join(ROOT, "bench", "peers", "runtime_loop.py"), "crhelper_kms", "handler"]
    return [os.path.join(ROOT, "target", "release", name)]


def cold_start(name: str, emulator: Emulator, account: dict) -> float:
    api = RuntimeApi()
    started = time.perf_counter()
    process = subprocess.Popen(command(name), env=lambda_env(api, name, emulator, account), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while api.first_poll is None:
            if process.poll() is not None:
                raise SystemExit(f"{name} exited with {process.returncode} before polling")
            time.sleep(0.0002)
        return (api.first_poll - started) * 1000
    finally:
        process.kill()
        process.wait()
        api.close()


def kms_create(name: str, emulator: Emulator, account: dict, listener: Listener) -> float:
    api = RuntimeApi()
    request_id = str(uuid.uuid4())
    event = {
        "RequestType": "Create", "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:bench",
        "ResponseURL": listener.url(request_id),
        "StackId": f"arn:aws:cloudformation:us-east-1:{account['id']}:stack/bench/{uuid.uuid4()}",
        "RequestId": request_id, "LogicalResourceId": "Key", "ResourceType": "Custom::KmsKey",
        # With an alias, as most keys have one: the duplicate check is then one DescribeKey.
        "ResourceProperties": {"ServiceToken": "x", "Environment": "dev", "Description": "bench", "Aliases": [f"bench-{request_id}"]},
    }
    api.events.put((str(uuid.uuid4()), event))
    started = time.perf_counter()
    process = subprocess.Popen(command(name), env=lambda_env(api, name, emulator, account), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while request_id not in listener.arrived:
            if process.poll() is not None or time.time() > deadline:
                raise SystemExit(f"{name}: no response PUT (exit {process.returncode})")
            time.sleep(0.0005)
        at, body = listener.arrived[request_id]
        if body.get("Status") != "SUCCESS":
            raise SystemExit(f"{name}: {body}")
        return (at - started) * 1000
    finally:
        process.kill()
        process.wait()
        api.close()


def fleet(emulator: Emulator, size: int) -> tuple[dict, dict]:
    """An account with `size` keys: every 10th has rotation off, every 50th a public statement,
    every 40th is pending deletion, every 25th is multi-Region. Returns the expectations."""
    account = emulator.account()
    kms = emulator.client("kms", account)
    root = f"arn:aws:iam::{account['id']}:root"
    expected: dict = {}

    def make(i: int) -> None:
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
        expected[key["Arn"]] = sorted(checks)

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(make, range(size)))
    return account, expected


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def audit(emulator: Emulator, account: dict) -> tuple[float, float, dict]:
    api = RuntimeApi()
    env = lambda_env(api, "key-auditor", emulator, account, {"CONCURRENCY": "16"})
    process = subprocess.Popen(command("key-auditor"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while api.first_poll is None:
            time.sleep(0.001)
        started = time.perf_counter()
        api.events.put((str(uuid.uuid4()), {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"}))
        at, kind, body = api.results.get(timeout=900)
        if kind != "response":
            raise SystemExit(f"key-auditor failed: {body[:500]!r}")
        return (at - started) * 1000, peak_rss_mb(process.pid), json.loads(body)
    finally:
        process.kill()
        process.wait()
        api.close()


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
    findings: dict = {}
    for name in os.listdir(out_dir):
        if name.endswith(".ocsf.json"):
            with open(os.path.join(out_dir, name)) as f:
                for item in json.load(f):
                    check = PROWLER_CHECKS.get(item.get("metadata", {}).get("event_code", ""))
                    if check and item.get("status_code") == "FAIL":
                        for resource in item.get("resources", []):
                            findings.setdefault(resource.get("uid", ""), []).append(check)
    return elapsed, usage.ru_maxrss / 1024, {k: sorted(v) for k, v in findings.items()}


def spread(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return f"{statistics.median(values):.1f} ms (min {values[0]:.1f}, p90 {p90:.1f}, max {values[-1]:.1f}; n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="cold starts and creates per subject (default 20)")
    parser.add_argument("--sizes", default="100,300,1000", help="audit sizes (default 100,300,1000)")
    parser.add_argument("--no-prowler", action="store_true", help="skip the Prowler comparison")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"), help="where the results go")
    args = parser.parse_args()
    for name in FUNCTIONS:
        if not os.path.exists(command(name)[0]):
            raise SystemExit(f"missing target/release/{name}: run `make build-release` first")
    if not os.path.exists(PEER_PYTHON):
        raise SystemExit("missing bench/.venv-peers: run `make bench`, which installs bench/requirements-peers.txt")
    use_prowler = not args.no_prowler and os.path.exists(PROWLER)

    emulator = Emulator()
    account = emulator.account()
    listener = Listener()
    lines = ["# Benchmark results", "", f"Machine: {os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
             f"{platform.system()} {platform.release()}, Python {platform.python_version()}. Emulator: moto in server mode (tests/emulator/serve.py).", ""]
    print("cold start (exec -> first Runtime API poll)")
    cold = {}
    for name in FUNCTIONS + ["peer"]:
        cold[name] = [cold_start(name, emulator, account) for _ in range(args.runs)]
        print(f"  {name:<20} {spread(cold[name])}")
    peer_cold = statistics.median(cold["peer"])
    lines += ["## 1. Cold start: exec -> first `GET /runtime/invocation/next`", "",
              f"Command: `python bench/bench.py --runs {args.runs}` (part of `make bench`).", "",
              "| function | median and spread | ratio to the peer |", "|---|---|---|"]
    for name in FUNCTIONS:
        lines.append(f"| {name} | {spread(cold[name])} | {peer_cold / statistics.median(cold[name]):.0f}x faster |")
    lines.append(f"| peer: crhelper + boto3 (Python) | {spread(cold['peer'])} | 1x |")

    print("Custom::KmsKey Create (exec -> response PUT)")
    create = {name: [kms_create(name, emulator, account, listener) for _ in range(args.runs)] for name in ["kms-provider", "peer"]}
    for name, values in create.items():
        print(f"  {name:<20} {spread(values)}")
    ratio = statistics.median(create["peer"]) / statistics.median(create["kms-provider"])
    lines += ["", "## 2. `Custom::KmsKey` Create, exec -> CloudFormation response PUT", "",
              "Both create a symmetric key with rotation on and one alias. Ours makes 4 calls (DescribeKey on the alias for the duplicate check, CreateKey with policy and tags, EnableKeyRotation, CreateAlias), the peer 3 (no duplicate check). Each run is a new process, so both include their first-event set-up (SDK config, TLS, boto3 import).", "",
              "| subject | median and spread | ratio |", "|---|---|---|",
              f"| kms-provider | {spread(create['kms-provider'])} | {ratio:.1f}x faster |",
              f"| peer: crhelper + boto3 | {spread(create['peer'])} | 1x |"]

    lines += ["", "## 3. Audit: every key in the account", "",
              "The fleet: every 10th key has rotation off, every 50th a public statement, every 40th is pending deletion, every 25th is multi-Region.", "",
              "| keys | key-auditor | peak memory | Prowler (kms) | Prowler peak memory | ratio | findings agree |", "|---|---|---|---|---|---|---|"]
    notes = []
    for size in [int(s) for s in args.sizes.split(",") if s]:
        fleet_account, expected = fleet(emulator, size)
        ours_ms, ours_mb, report = audit(emulator, fleet_account)
        ours: dict = {}
        for f in report["findings"]:
            if f["check"] in PROWLER_CHECKS.values():
                ours.setdefault(f["arn"], []).append(f["check"])
        ours = {k: sorted(v) for k, v in ours.items()}
        wanted = {k: v for k, v in expected.items() if v}
        exact = "yes" if ours == wanted else "NO"
        if ours != wanted:
            notes.append(f"- {size} keys: key-auditor differs from the expected findings on {sum(1 for k in set(ours) | set(wanted) if ours.get(k) != wanted.get(k))} keys")
        print(f"  audit {size:>5} keys: key-auditor {ours_ms:.0f} ms, {ours_mb:.1f} MB, matches the expected set: {exact}")
        if use_prowler:
            out_dir = os.path.join(ROOT, "target", f"prowler-{size}")
            # A previous run's report would be read as this one's.
            shutil.rmtree(out_dir, ignore_errors=True)
            os.makedirs(out_dir)
            theirs_ms, theirs_mb, theirs = prowler(emulator, fleet_account, out_dir)
            differing = sorted(k for k in set(theirs) | set(ours) if theirs.get(k, []) != ours.get(k, []))
            agree = "yes" if not differing else f"{len(differing)} keys differ"
            for key in differing[:10]:
                notes.append(f"- {size} keys, {key}: key-auditor {ours.get(key, [])}, Prowler {theirs.get(key, [])}")
            lines.append(f"| {size} | {ours_ms:.0f} ms | {ours_mb:.1f} MB | {theirs_ms:.0f} ms | {theirs_mb:.0f} MB | {theirs_ms / ours_ms:.0f}x faster | {agree} |")
            print(f"               Prowler {theirs_ms:.0f} ms, {theirs_mb:.0f} MB, agreement: {agree}")
        else:
            lines.append(f"| {size} | {ours_ms:.0f} ms | {ours_mb:.1f} MB | not run | | | expected set: {exact} |")
    if notes:
        lines += ["", "Differences:", ""] + notes
    lines += ["", f"Reproduce: `make bench` (or `python bench/bench.py --runs {args.runs} --sizes {args.sizes}`), on a machine otherwise idle.", ""]
    with open(args.out, "w") as f:
        f.write("\n".join(lines))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
