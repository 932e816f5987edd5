"""COMPARISON BASELINE. The part of the AWS Lambda Python runtime that matters for the benchmark:
import the handler module (which builds its boto3 client at import, as Lambda code does), then
poll the Runtime API for events, call the handler with a Lambda-like context, post the result.

    python runtime_loop.py <module> <handler>
"""

import importlib
import json
import os
import sys
import time
import urllib.request

API = os.environ["AWS_LAMBDA_RUNTIME_API"]
BASE = f"http://{API}/2018-06-01/runtime/invocation"


class Context:
    def __init__(self, request_id: str, deadline_ms: int) -> None:
        self.aws_request_id = request_id
        self.function_name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", "peer")
        self.function_version = "$LATEST"
        self.invoked_function_arn = f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"
        self.memory_limit_in_mb = "128"
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = "2026/11/26/[$LATEST]peer"
        self._deadline_ms = deadline_ms

    def get_remaining_time_in_millis(self) -> int:
        return max(0, self._deadline_ms - int(time.time() * 1000))


def main() -> None:
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    module = importlib.import_module(sys.argv[1])
    handler = getattr(module, sys.argv[2])
    while True:
        with urllib.request.urlopen(f"{BASE}/next") as response:
            request_id = response.headers["Lambda-Runtime-Aws-Request-Id"]
            deadline = int(response.headers.get("Lambda-Runtime-Deadline-Ms", "0"))
            event = json.loads(response.read())
        result = handler(event, Context(request_id, deadline))
        body = json.dumps(result).encode()
        urllib.request.urlopen(urllib.request.Request(f"{BASE}/{request_id}/response", data=body, method="POST")).read()


if __name__ == "__main__":
    main()
