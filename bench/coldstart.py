#!/usr/bin/env python3
"""Cold start of a function binary: time from exec to its first
`GET /2018-06-01/runtime/invocation/next` on a local Lambda Runtime API stub.

    python3 bench/coldstart.py target/release/monitoring-provider --runs 20

The stub never hands out an event; each run is killed once it has polled. The environment is
Lambda's minimum (no AWS_ENDPOINT_URL is needed: nothing calls AWS before the first event).
"""

import argparse
import http.server
import os
import socketserver
import statistics
import subprocess
import threading
import time


class FirstPoll(http.server.BaseHTTPRequestHandler):
    seen: dict = {}

    def do_GET(self) -> None:
        FirstPoll.seen.setdefault("at", time.perf_counter())
        time.sleep(0.05)
        self.send_response(500)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("binary", help="path to a function binary")
    parser.add_argument("--runs", type=int, default=20, help="how many cold starts (default 20)")
    args = parser.parse_args()

    server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), FirstPoll)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ.get("PATH", ""),
        "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_address[1]}",
        "AWS_LAMBDA_FUNCTION_NAME": os.path.basename(args.binary),
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "128",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }
    times = []
    for _ in range(args.runs):
        FirstPoll.seen.clear()
        started = time.perf_counter()
        process = subprocess.Popen([args.binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        while "at" not in FirstPoll.seen:
            if process.poll() is not None:
                raise SystemExit(f"{args.binary} exited with {process.returncode} before polling")
            time.sleep(0.0002)
        times.append((FirstPoll.seen["at"] - started) * 1000)
        process.kill()
        process.wait()
    print(
        f"{os.path.basename(args.binary)}: median {statistics.median(times):.1f} ms, "
        f"min {min(times):.1f}, max {max(times):.1f} ({args.runs} runs)"
    )


if __name__ == "__main__":
    main()
