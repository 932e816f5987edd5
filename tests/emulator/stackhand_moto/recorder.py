"""moto's request recorder, safe under the threaded server.

moto appends each entry with buffered writes from whichever server thread took the request; an
entry past the 8 KiB buffer is written in pieces, and two concurrent requests interleave them into
lines no reader can parse (the benchmarks count calls from the recording). One lock makes each
entry one whole line.
"""

import threading
from typing import Any

from moto.moto_api._internal.recorder.models import Recorder

_LOCK = threading.Lock()


def install() -> None:
    original = Recorder._record_request
    if getattr(original, "stackhand_locked", False):
        return

    def record_request(self: Recorder, request: Any, body: bytes | None = None) -> None:
        with _LOCK:
            original(self, request, body)

    record_request.stackhand_locked = True  # type: ignore[attr-defined]
    Recorder._record_request = record_request  # type: ignore[method-assign]
