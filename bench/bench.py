#!/usr/bin/env python3
"""stackhand's benchmarks, each side by side with its peer in the same run, on the same emulator
and the same local Lambda Runtime API. Writes bench/RESULTS.md.

    python bench/bench.py                     # what `make bench` runs
    python bench/bench.py --runs 3 --sizes 20 --audit-runs 1 --no-prowler --no-router --out /tmp/r.md   # the smoke run

1. Cold start: exec -> first GET /runtime/invocation/next, for every function and for the peer
   (crhelper + boto3, bench/peers/).
2. Custom::KmsKey Create end to end: exec -> the CloudFormation response PUT, ours and the peer's,
   with peak memory; and the peak memory of each provider handling one Create.
3. Audit: key-auditor over 100 / 300 / 1000 keys (time, peak memory, KMS calls per key counted by
   the emulator's request recorder), beside the emulator's ceiling for the same calls, a plain
   sequential boto3 audit, and Prowler's KMS checks (when bench/.venv-prowler exists), with
   findings compared key by key.
   Then drift-detector over 100 / 1000 recorded log groups, beside a sequential boto3 check.
4. Size of each arm64 bootstrap (`make build`) and its zip.
5. The alarm router's per-event work (criterion, `cargo bench --bench route`).
"""

import argparse
import json
import os
import platform
import subprocess
import time
import uuid
import zipfile

import audit as audits
import drift
import organization
import report
from harness import FUNCTIONS, PROWLER, PEER_PYTHON, ROOT, Emulator, Listener, RuntimeApi, command, lambda_env, peak_rss_mb, spread


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


def provider_event(name: str, event: dict, emulator: Emulator, account: dict, listener: Listener) -> tuple[float, float]:
    """One custom-resource event in a new process: exec -> response PUT (ms), and peak RSS (MB)."""
    request_id = str(uuid.uuid4())
    event = dict(event, RequestId=request_id, ResponseURL=listener.url(request_id),
                 StackId=f"arn:aws:cloudformation:us-east-1:{account['id']}:stack/bench/{uuid.uuid4()}")
    api = RuntimeApi()
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
        return (at - started) * 1000, peak_rss_mb(process.pid)
    finally:
        process.kill()
        process.wait()
        api.close()


def kms_key_event() -> dict:
    # With an alias, as most keys have one: the duplicate check is then one DescribeKey.
    return {"RequestType": "Create", "ServiceToken": "arn:aws:lambda:us-east-1:123456789012:function:bench",
            "LogicalResourceId": "Key", "ResourceType": "Custom::KmsKey",
            "ResourceProperties": {"ServiceToken": "x", "Environment": "dev", "Description": "bench", "Aliases": [f"bench-{uuid.uuid4()}"]}}


def sample_event(function: str, sample: str, unique: dict) -> dict:
    """A Create from events/, with names made unique so every run creates a new resource."""
    with open(os.path.join(ROOT, "events", function, sample)) as f:
        event = json.load(f)
    for prop, prefix in unique.items():
        event["ResourceProperties"][prop] = f"{prefix}-{uuid.uuid4().hex[:12]}"
    return event


# The Create each provider handles for the memory figure.
MEMORY_EVENTS = {
    "kms-provider": kms_key_event,
    "monitoring-provider": lambda: sample_event("monitoring-provider", "log-group-create.json", {"LogGroupName": "/bench/logs"}),
    "ecs-provider": lambda: sample_event("ecs-provider", "cluster-create.json", {"ClusterName": "bench"}),
}


def artifact_sizes() -> dict:
    """Stripped arm64 bootstrap and its deflated zip, in bytes, for each function `make build` built."""
    sizes = {}
    for name in FUNCTIONS:
        bootstrap = os.path.join(ROOT, "target", "lambda", name, "bootstrap")
        if not os.path.exists(bootstrap):
            continue
        archive = os.path.join(ROOT, "target", "lambda", name, "bench-bootstrap.zip")
        with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as z:
            z.write(bootstrap, "bootstrap")
        sizes[name] = (os.path.getsize(bootstrap), os.path.getsize(archive))
        os.remove(archive)
    return sizes


def router_work() -> dict:
    """Median ns per event for each sample, from criterion's estimates."""
    subprocess.run(["cargo", "bench", "--workspace", "--bench", "route", "--", "--noplot"], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    root = os.path.join(ROOT, "target", "criterion", "route")
    medians = {}
    for sample in sorted(os.listdir(root)):
        estimates = os.path.join(root, sample, "new", "estimates.json")
        if os.path.exists(estimates):
            with open(estimates) as f:
                medians[sample] = json.load(f)["median"]["point_estimate"]
    return medians


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20, help="cold starts and creates per subject (default 20)")
    parser.add_argument("--sizes", default="100,300,1000", help="audit sizes (default 100,300,1000)")
    parser.add_argument("--audit-runs", type=int, default=3, help="runs of each audit subject per size; the median is kept (default 3)")
    parser.add_argument("--drift-sizes", default="100,1000", help="drift check sizes, in recorded resources (default 100,1000)")
    parser.add_argument("--org", default="10x2x100",
                        help="the Organization audit: accounts x Regions (1-2) x keys per account and Region (default 10x2x100); empty to skip")
    parser.add_argument("--org-workers", type=int, default=4, help="key-auditor execution environments at once for the Organization (default 4)")
    parser.add_argument("--no-prowler", action="store_true", help="skip the Prowler comparison")
    parser.add_argument("--no-router", action="store_true", help="skip the criterion benchmark of the alarm router")
    parser.add_argument("--out", default=os.path.join(ROOT, "bench", "RESULTS.md"), help="where the results go")
    args = parser.parse_args()
    for name in FUNCTIONS:
        if not os.path.exists(command(name)[0]):
            raise SystemExit(f"missing target/release/{name}: run `make build-release` first")
    if not os.path.exists(PEER_PYTHON):
        raise SystemExit("missing bench/.venv-peers: run `make bench`, which installs bench/requirements-peers.txt")
    use_prowler = not args.no_prowler and os.path.exists(PROWLER)
    sizes = [int(s) for s in args.sizes.split(",") if s]
    started = time.time()
    results: dict = {"runs": args.runs, "sizes": args.sizes, "audit_runs": args.audit_runs, "machine": f"{os.cpu_count()} cores, {platform.processor() or platform.machine()}, "
                     f"{platform.system()} {platform.release()}, Python {platform.python_version()}"}

    emulator = Emulator()
    account = emulator.account()
    listener = Listener()
    print("cold start (exec -> first Runtime API poll)")
    results["cold"] = {}
    for name in FUNCTIONS + ["peer"]:
        results["cold"][name] = [cold_start(name, emulator, account) for _ in range(args.runs)]
        print(f"  {name:<20} {spread(results['cold'][name])}")

    print("Custom::KmsKey Create (exec -> response PUT)")
    results["create"] = {}
    for name in ["kms-provider", "peer"]:
        runs = [provider_event(name, kms_key_event(), emulator, account, listener) for _ in range(args.runs)]
        results["create"][name] = ([ms for ms, _ in runs], max(mb for _, mb in runs))
        print(f"  {name:<20} {spread(results['create'][name][0])}, peak {results['create'][name][1]:.1f} MB")

    print("peak memory, one Create per provider")
    results["memory"] = {}
    for name, event in MEMORY_EVENTS.items():
        results["memory"][name] = max(provider_event(name, event(), emulator, account, listener)[1] for _ in range(3))
        print(f"  {name:<20} {results['memory'][name]:.1f} MB")

    results["audit"] = []
    for size in sizes:
        print(f"audit of {size} keys")
        results["audit"].append(audits.compare(emulator, size, use_prowler, args.audit_runs))

    results["drift"] = []
    for size in [int(s) for s in args.drift_sizes.split(",") if s]:
        print(f"drift check of {size} recorded resources")
        results["drift"].append(drift.compare(emulator, size))

    if args.org:
        accounts, regions, keys = (int(n) for n in args.org.split("x"))
        print(f"Organization audit: {accounts} accounts x {regions} Regions x {keys} keys, {args.org_workers} workers")
        results["organization"] = organization.compare(emulator, accounts, regions, keys, args.org_workers, use_prowler)

    results["sizes_arm64"] = artifact_sizes()
    if not args.no_router:
        print("alarm-router per-event work (criterion)")
        results["router"] = router_work()
    results["elapsed_s"] = time.time() - started
    # The raw figures too, so the report can be re-rendered: `python bench/report.py target/bench-results.json`.
    with open(os.path.join(ROOT, "target", "bench-results.json"), "w") as f:
        json.dump(results, f)
    with open(args.out, "w") as f:
        f.write(report.render(results))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
