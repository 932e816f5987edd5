"""Extra HTTP routes on the emulator's own port: test controls (`POST /stackhand/...`) and the
CloudFormation engine's ResponseURLs. Registered before the server starts; moto serves the rest."""

from typing import Any, Callable

# (method, path prefix) -> handler(path, query, body) -> (status, body bytes)
Handler = Callable[[str, str, bytes], tuple[int, bytes]]
_ROUTES: list[tuple[str, str, Handler]] = []
_INSTALLED = False


def route(method: str, prefix: str, handler: Handler) -> None:
    _install()
    _ROUTES.append((method, prefix, handler))


def _install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    from moto import server

    dispatcher = server.DomainDispatcherApplication

    class WithRoutes(dispatcher):  # type: ignore[misc, valid-type]
        def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
            path = environ.get("PATH_INFO") or ""
            method = environ.get("REQUEST_METHOD")
            for wanted, prefix, handler in _ROUTES:
                if method == wanted and path.startswith(prefix):
                    length = int(environ.get("CONTENT_LENGTH") or 0)
                    body = environ["wsgi.input"].read(length) if length else b""
                    status, answer = handler(path, environ.get("QUERY_STRING") or "", body)
                    reason = {200: "OK", 202: "Accepted", 400: "Bad Request", 403: "Forbidden"}.get(status, "")
                    start_response(f"{status} {reason}", [("Content-Type", "application/json"), ("Content-Length", str(len(answer)))])
                    return [answer]
            return super().__call__(environ, start_response)

    server.DomainDispatcherApplication = WithRoutes
    _INSTALLED = True
