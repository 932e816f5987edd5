#!/usr/bin/env python3
"""Plays CloudFormation's ResponseURL for manual runs: prints every PUT and answers 200.

    python3 tests/emulator/response_listener.py 9000

The sample events in events/*/ point their ResponseURL at http://127.0.0.1:9000, so
`cargo lambda invoke --data-file events/monitoring-provider/log-group-create.json` shows the
answer here.
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, HTTPServer


class Handler(BaseHTTPRequestHandler):
    def do_PUT(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        try:
            shown = json.dumps(json.loads(body), indent=2)
        except ValueError:
            shown = body.decode(errors="replace")
        path = self.path.split("?", 1)[0]
        print(f"PUT {path} (Content-Type: {self.headers.get('Content-Type')!r})\n{shown}", flush=True)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


if __name__ == "__main__":
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 9000
    print(f"listening for custom-resource responses on http://127.0.0.1:{port}", flush=True)
    HTTPServer(("127.0.0.1", port), Handler).serve_forever()
