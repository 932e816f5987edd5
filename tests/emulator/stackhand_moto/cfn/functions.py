"""Lambda, locally: each stackhand function the engine deploys runs as its real binary, polling its
own Lambda Runtime API (the same endpoints Lambda serves, /2018-06-01/runtime/...).

A function is started on its first invocation with the environment Lambda would give it: its
template's variables, the execution role's credentials (an STS AssumeRole on the emulator, so it
acts in the stack's account), and AWS_ENDPOINT_URL pointing at the emulator. One instance per
function serves one invocation at a time, as one Lambda execution environment does; a timeout or
a crash ends the instance and the next invocation starts a new one (a cold start).
"""

import json
import os
import queue
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

CONFIG: dict[str, Any] = {
    # Where the function binaries are (target/<profile>); STACKHAND_FUNCTIONS_DIR sets it.
    "binaries": os.environ.get("STACKHAND_FUNCTIONS_DIR"),
    # The emulator's own URL, for AWS_ENDPOINT_URL and ResponseURLs.
    "endpoint": "http://127.0.0.1:5000",
    # Function output goes to <logs>/<function>.log.
    "logs": os.environ.get("STACKHAND_FUNCTION_LOGS") or tempfile.gettempdir(),
}


class InvokeError(Exception):
    """The function could not run, or answered with an error (Lambda's FunctionError)."""


@dataclass
class Invocation:
    request_id: str
    payload: bytes
    deadline_ms: int
    done: threading.Event = field(default_factory=threading.Event)
    result: bytes | None = None
    error: str | None = None


@dataclass
class FunctionSpec:
    account_id: str
    region: str
    name: str
    arn: str
    binary: str
    role_arn: str
    variables: dict[str, str]
    timeout_s: int
    memory_mb: int


class _RuntimeApi(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _RuntimeHandler)
        self.pending: "queue.Queue[Invocation]" = queue.Queue()
        self.running: dict[str, Invocation] = {}
        self.init_error: str | None = None
        self.function_arn = ""


class _RuntimeHandler(BaseHTTPRequestHandler):
    server: _RuntimeApi

    def log_message(self, *_: Any) -> None:  # the function's own log says enough
        pass

    def _answer(self, status: int, body: bytes = b"{}", headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        if not self.path.endswith("/runtime/invocation/next"):
            return self._answer(404)
        invocation = self.server.pending.get()
        self.server.running[invocation.request_id] = invocation
        self._answer(
            200,
            invocation.payload,
            {
                "Lambda-Runtime-Aws-Request-Id": invocation.request_id,
                "Lambda-Runtime-Deadline-Ms": str(invocation.deadline_ms),
                "Lambda-Runtime-Invoked-Function-Arn": self.server.function_arn,
                "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
            },
        )

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        parts = self.path.strip("/").split("/")
        if self.path.endswith("/runtime/init/error"):
            self.server.init_error = body.decode("utf-8", "replace")
            return self._answer(202)
        if len(parts) >= 5 and parts[2] == "invocation":
            invocation = self.server.running.pop(parts[3], None)
            if invocation is None:
                return self._answer(400, b'{"errorType":"InvalidRequestID"}')
            if parts[4] == "response":
                invocation.result = body
            else:
                invocation.error = body.decode("utf-8", "replace")
            invocation.done.set()
            return self._answer(202)
        return self._answer(404)


class LocalFunction:
    """One function's execution environment: its Runtime API and, while warm, its process."""

    def __init__(self, spec: FunctionSpec) -> None:
        self.spec = spec
        self.lock = threading.Lock()
        self.api: _RuntimeApi | None = None
        self.process: subprocess.Popen[bytes] | None = None

    def _binary_path(self) -> str:
        folder = CONFIG["binaries"]
        if not folder:
            raise InvokeError(
                f"{self.spec.name}: the local engine runs function binaries from STACKHAND_FUNCTIONS_DIR, which is not set"
            )
        path = os.path.join(folder, self.spec.binary)
        if not os.access(path, os.X_OK):
            raise InvokeError(f"{self.spec.name}: no binary {path} (build it: make build-debug)")
        return path

    def _environment(self) -> dict[str, str]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.sts.models import sts_backends

        role = sts_backends[DEFAULT_ACCOUNT_ID]["aws"].assume_role(
            region_name=self.spec.region,
            role_session_name=self.spec.name[:64],
            role_arn=self.spec.role_arn,
            policy="",
            duration=43200,
            external_id="",
        )
        env = {k: str(v) for k, v in self.spec.variables.items()}
        env.update(
            {
                "PATH": os.environ.get("PATH", ""),
                "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{self.api.server_address[1]}",  # type: ignore[union-attr]
                "AWS_LAMBDA_FUNCTION_NAME": self.spec.name,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(self.spec.memory_mb),
                "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
                "AWS_REGION": self.spec.region,
                "AWS_DEFAULT_REGION": self.spec.region,
                "AWS_ENDPOINT_URL": CONFIG["endpoint"],
                "AWS_ACCESS_KEY_ID": role.access_key_id,
                "AWS_SECRET_ACCESS_KEY": role.secret_access_key,
                "AWS_SESSION_TOKEN": role.session_token,
            }
        )
        return env

    def _start(self) -> None:
        self.api = _RuntimeApi()
        self.api.function_arn = self.spec.arn
        threading.Thread(target=self.api.serve_forever, daemon=True).start()
        log = open(os.path.join(CONFIG["logs"], f"{self.spec.account_id}-{self.spec.name}.log"), "ab")
        self.process = subprocess.Popen(
            [self._binary_path()],
            env=self._environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        if self.api is not None:
            self.api.shutdown()
            self.api.server_close()
        self.process = None
        self.api = None

    def invoke(self, event: Any) -> Any:
        """Runs one invocation to its end and returns the function's output (decoded JSON)."""
        with self.lock:
            if self.process is None or self.process.poll() is not None:
                self.stop()
                self._start()
            assert self.api is not None and self.process is not None
            deadline = time.time() + self.spec.timeout_s
            invocation = Invocation(str(uuid.uuid4()), json.dumps(event).encode(), int(deadline * 1000))
            self.api.pending.put(invocation)
            while not invocation.done.wait(0.05):
                if self.api.init_error is not None:
                    error = self.api.init_error
                    self.stop()
                    raise InvokeError(f"{self.spec.name}: Runtime.InitError: {error}")
                if self.process.poll() is not None:
                    code = self.process.returncode
                    self.stop()
                    raise InvokeError(f"{self.spec.name}: Runtime exited with status {code} (Runtime.ExitError)")
                if time.time() > deadline:
                    self.stop()
                    raise InvokeError(
                        f"{self.spec.name}: Task timed out after {self.spec.timeout_s:.2f} seconds"
                    )
            if invocation.error is not None:
                raise InvokeError(f"{self.spec.name}: {invocation.error}")
            return json.loads(invocation.result or b"null")


_FUNCTIONS: dict[tuple[str, str, str], LocalFunction] = {}
_REGISTRY_LOCK = threading.Lock()


def register(spec: FunctionSpec) -> None:
    """Makes `spec` the function behind its name; a changed configuration starts cold."""
    with _REGISTRY_LOCK:
        old = _FUNCTIONS.pop((spec.account_id, spec.region, spec.name), None)
        _FUNCTIONS[(spec.account_id, spec.region, spec.name)] = LocalFunction(spec)
    if old is not None:
        old.stop()


def unregister(account_id: str, region: str, name: str) -> None:
    with _REGISTRY_LOCK:
        old = _FUNCTIONS.pop((account_id, region, name), None)
    if old is not None:
        old.stop()


def find(arn_or_name: str, account_id: str, region: str) -> LocalFunction | None:
    """The local function a ServiceToken or FunctionName names, if the engine runs it."""
    if arn_or_name.startswith("arn:"):
        parts = arn_or_name.split(":")
        if len(parts) < 7 or parts[2] != "lambda":
            return None
        account_id, region, name = parts[4], parts[3], parts[6]
    else:
        name = arn_or_name
    with _REGISTRY_LOCK:
        return _FUNCTIONS.get((account_id, region, name))
