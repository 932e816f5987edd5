"""Smithy RPC v2 CBOR for moto's CloudWatch.

aws-sdk-cloudwatch 1.100 and later (and other SDKs since 2025) call CloudWatch with the Smithy RPC
v2 CBOR protocol: `POST /service/GraniteServiceVersion20100801/operation/<Operation>`, header
`smithy-protocol: rpc-v2-cbor`, a CBOR body. moto routes CloudWatch's JSON protocol but not this
one, and answers 404. This bridge sits in front of moto's WSGI app: it decodes the CBOR request,
hands moto the same call in the awsJson 1.0 protocol (which CloudWatch also speaks), and encodes
moto's answer back into CBOR with the operation's output shape, so timestamps, integers and
doubles keep their CBOR types. Errors keep their status and become a CBOR `{__type, message}`.

Spec: https://smithy.io/2.0/additional-specs/protocols/smithy-rpc-v2.html
"""

import base64
import datetime
import io
import json
import re

import botocore.session
from botocore.parsers import JSONParser, RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

PATH = re.compile(r"^/service/(?P<service>[A-Za-z0-9_.]+)/operation/(?P<operation>[A-Za-z0-9]+)$")

# Smithy service name (the JSON protocol's target prefix) -> botocore service name.
SERVICES = {"GraniteServiceVersion20100801": "cloudwatch"}

_models: dict = {}


def _model(service: str):
    if service not in _models:
        _models[service] = botocore.session.get_session().get_service_model(SERVICES[service])
    return _models[service]


def _decode_cbor(body: bytes):
    if not body:
        return {}
    parser = RpcV2CBORParser()
    return parser.parse_data_item(parser.get_peekable_stream_from_bytes(body))


def _json_default(value):
    if isinstance(value, datetime.datetime):
        return value.timestamp()
    if isinstance(value, (bytes, bytearray)):
        return base64.b64encode(value).decode()
    raise TypeError(f"cannot send {type(value).__name__} to moto")


class _Encoder(RpcV2CBORSerializer):
    """botocore's CBOR serializer, used for responses instead of requests."""

    def encode(self, value, shape) -> bytes:
        out = bytearray()
        self._serialize_data_item(out, value, shape)
        return bytes(out)

    def encode_error(self, code: str, message: str) -> bytes:
        out = bytearray(self._get_initial_byte(self.MAP_MAJOR_TYPE, 2))
        for text in ("__type", code, "message", message):
            self._serialize_type_string(out, text, None, None)
        return bytes(out)


def _error_parts(status: int, body: bytes) -> tuple[str, str]:
    try:
        doc = json.loads(body or b"{}")
        code = str(doc.get("__type") or doc.get("code") or "InternalFailure").split("#")[-1]
        return code, str(doc.get("message") or doc.get("Message") or "")
    except ValueError:
        text = body.decode(errors="replace")
        if status >= 500:
            return "InternalFailure", text[:500]
        return "ValidationError", text[:500]


class CborBridge:
    """WSGI middleware: CBOR requests in, moto's JSON protocol behind, CBOR responses out."""

    def __init__(self, app) -> None:
        self.app = app

    def __call__(self, environ, start_response):
        match = PATH.match(environ.get("PATH_INFO", ""))
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or match is None
            or match["service"] not in SERVICES
            or environ.get("HTTP_SMITHY_PROTOCOL", "").lower() != "rpc-v2-cbor"
        ):
            return self.app(environ, start_response)
        return self._bridge(environ, start_response, match["service"], match["operation"])

    def _bridge(self, environ, start_response, service, operation):
        length = int(environ.get("CONTENT_LENGTH") or 0)
        request = _decode_cbor(environ["wsgi.input"].read(length))
        body = json.dumps(request, default=_json_default).encode()
        inner = dict(environ)
        inner.update(
            {
                "PATH_INFO": "/",
                "CONTENT_TYPE": "application/x-amz-json-1.0",
                "CONTENT_LENGTH": str(len(body)),
                "HTTP_X_AMZ_TARGET": f"{service}.{operation}",
                "wsgi.input": io.BytesIO(body),
            }
        )
        inner.pop("HTTP_SMITHY_PROTOCOL", None)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured["status"] = status
            captured["headers"] = headers
            return lambda data: None

        chunks = self.app(inner, capture)
        try:
            answer = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status = int(captured["status"].split()[0])
        encoder = _Encoder()
        if 200 <= status < 300:
            op = _model(service).operation_model(operation)
            shape = op.output_shape
            if shape is None:
                out = b""
            else:
                parsed = JSONParser().parse(
                    {"body": answer or b"{}", "headers": {}, "status_code": status}, shape
                )
                parsed.pop("ResponseMetadata", None)
                out = encoder.encode(parsed, shape)
        else:
            code, message = _error_parts(status, answer)
            out = encoder.encode_error(code, message)
        headers = [
            ("Content-Type", "application/cbor"),
            ("smithy-protocol", "rpc-v2-cbor"),
            ("Content-Length", str(len(out))),
        ]
        start_response(captured["status"], headers)
        return [out]


def install() -> None:
    """Wraps the app moto's server builds, before `moto.server.main` runs."""
    from moto import server

    dispatcher = server.DomainDispatcherApplication
    if getattr(dispatcher, "_stackhand_bridged", False):
        return

    class Bridged(dispatcher):
        _stackhand_bridged = True

        def __call__(self, environ, start_response):
            return CborBridge(super().__call__)(environ, start_response)

    server.DomainDispatcherApplication = Bridged
