"""A stable URL for the local API: 127.0.0.1:<api port> forwards to the emulator's execute-api URL.

MiniStack serves an HTTP API under /_aws/execute-api/{apiId}/ and the id changes
with every fresh deploy; the README, the dashboard and every curl use one address.

Every method is forwarded (API Gateway has no list of methods, only routes), and what
the emulator cannot route gets API Gateway's answer, JSON: an HTTP API answers a request
no route matches with `404 {"message":"Not Found"}`, whatever its method.
"""

from __future__ import annotations

import http.client
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tandem_local.config import LocalCloud

_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
}  # fmt: skip
NOT_FOUND = b'{"message":"Not Found"}'


def _is_json(content_type: str | None) -> bool:
    return (content_type or "").split(";")[0].strip().lower().endswith("json")


class ApiProxy:
    def __init__(self, cloud: LocalCloud) -> None:
        """Binds the port at once (OSError if it is taken); serves from `start` on."""
        self.cloud = cloud
        self.api_id = ""
        self._server = ThreadingHTTPServer(("127.0.0.1", cloud.api_port), self._handler_class())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="api-proxy", daemon=True)

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def start(self, api_id: str) -> None:
        self.api_id = api_id
        self._thread.start()

    def stop(self) -> None:
        if self._thread.is_alive():
            self._server.shutdown()
        self._server.server_close()

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        proxy = self

        class Forward(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # The server's own refusals (a malformed request line, headers too long) in JSON too.
            error_content_type = "application/json"
            error_message_format = '{"message":"%(message)s"}'

            def __getattr__(self, name: str) -> Callable[[], None]:
                # http.server answers 501 for any method without a do_<METHOD>: forward them all.
                if name.startswith("do_"):
                    return self._forward
                raise AttributeError(name)

            def _forward(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = self.rfile.read(length) if length else None
                headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
                upstream = http.client.HTTPConnection("127.0.0.1", proxy.cloud.aws_port, timeout=35)
                try:
                    target = f"/_aws/execute-api/{proxy.api_id}{urlsplit(self.path).path or '/'}"
                    if query := urlsplit(self.path).query:
                        target += f"?{query}"
                    upstream.request(self.command, target, body=body, headers=headers)
                    answer = upstream.getresponse()
                    payload = answer.read()
                    if answer.status in (404, 405, 501) and not _is_json(answer.getheader("content-type")):
                        # The emulator's own refusal (no such route or method), not our API's: answer
                        # as API Gateway does when no route matches.
                        payload = NOT_FOUND
                        self.send_response(404)
                        self.send_header("content-type", "application/json")
                    else:
                        self.send_response(answer.status, answer.reason)
                        for name, value in answer.getheaders():
                            if name.lower() not in _HOP_BY_HOP:
                                self.send_header(name, value)
                except OSError as error:
                    payload = (
                        b'{"error": "emulator_unavailable", "message": "%s", "details": []}'
                        % str(error).encode()
                    )
                    self.send_response(502)
                    self.send_header("content-type", "application/json")
                finally:
                    upstream.close()
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, format: str, *args: object) -> None:
                pass  # the functions' logs say more, and the terminal shows them

        return Forward
