"""The pieces every benchmark shares: the emulator (with moto's request recorder), a local Lambda
Runtime API, the presigned-ResponseURL listener, the Lambda environment, and figures.
"""

import http.server
import json
import os
import queue
import socket
import socketserver
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
import uuid

import boto3

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FUNCTIONS = ["kms-provider", "monitoring-provider", "ecs-provider", "alarm-router", "key-rotator", "key-auditor", "drift-detector"]
PEER_PYTHON = os.path.join(ROOT, "bench", ".venv-peers", "bin", "python")
PROWLER = os.path.join(ROOT, "bench", ".venv-prowler", "bin", "prowler")
REGION = "us-east-1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(handler: type) -> socketserver.ThreadingTCPServer:
    """A loopback HTTP server on a free port, serving `handler` from a daemon thread."""
    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


class Emulator:
    """moto in server mode with stackhand's extension; its request recorder counts calls."""

    def __init__(self) -> None:
        self.port = free_port()
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.recording_path = os.path.join(ROOT, "target", f"bench-recording-{self.port}.jsonl")
        self.process = subprocess.Popen(
            [sys.executable, os.path.join(ROOT, "tests", "emulator", "serve.py"), "-p", str(self.port), "--exit-with-parent"],
            env=dict(os.environ, MOTO_RECORDER_FILEPATH=self.recording_path),
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

    def _recorder(self, action: str) -> None:
        urllib.request.urlopen(urllib.request.Request(f"{self.endpoint}/moto-api/recorder/{action}", method="POST"), timeout=10)

    def start_recording(self) -> None:
        self._recorder("reset-recording")
        self._recorder("start-recording")

    def stop_recording(self, account: dict | None) -> dict:
        """Calls made with `account`'s credentials (any, for None) since start_recording, by operation."""
        self._recorder("stop-recording")
        counts: dict = {}
        with open(self.recording_path) as f:
            for line in f:
                entry = json.loads(line)
                headers = {k.lower(): v for k, v in entry.get("headers", {}).items()}
                if account and f"Credential={account['AWS_ACCESS_KEY_ID']}/" not in headers.get("authorization", ""):
                    continue
                # JSON protocols name the operation in X-Amz-Target, RPC v2 CBOR in the path.
                if "x-amz-target" in headers:
                    operation = headers["x-amz-target"].rsplit(".", 1)[-1]
                elif "/operation/" in entry.get("url", ""):
                    operation = entry["url"].rsplit("/operation/", 1)[-1].split("?")[0]
                else:
                    operation = "other"
                counts[operation] = counts.get(operation, 0) + 1
        os.remove(self.recording_path)
        return counts

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

        self.server = serve(Handler)
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

        self.server = serve(Handler)
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


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def spread(values: list[float]) -> str:
    values = sorted(values)
    p90 = values[min(len(values) - 1, int(round(0.9 * (len(values) - 1))))]
    return f"{statistics.median(values):.1f} ms (min {values[0]:.1f}, p90 {p90:.1f}, max {values[-1]:.1f}; n={len(values)})"


def scheduled_run(name: str, emulator: "Emulator", account: dict, extra_env: dict) -> tuple[float, float, dict]:
    """One scheduled event through the release binary `name` under a local Runtime API: the time
    from the event to the result (ms), the peak RSS (MB) and the result."""
    api = RuntimeApi()
    process = subprocess.Popen(command(name), env=lambda_env(api, name, emulator, account, extra_env),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while api.first_poll is None:
            time.sleep(0.001)
        started = time.perf_counter()
        api.events.put((str(uuid.uuid4()), {"detail-type": "Scheduled Event", "source": "aws.scheduler", "detail": "{}"}))
        at, kind, body = api.results.get(timeout=900)
        if kind != "response":
            raise SystemExit(f"{name} failed: {body[:500]!r}")
        return (at - started) * 1000, peak_rss_mb(process.pid), json.loads(body)
    finally:
        process.kill()
        process.wait()
        api.close()
