"""A stable URL for the local API: 127.0.0.1:<api port> forwards to the emulator's execute-api URL.

MiniStack serves an HTTP API under /_aws/execute-api/{apiId}/ and the id changes
with every fresh deploy; the README, the dashboard and every curl use one address.
"""

from __future__ import annotations

import http.client
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

from tandem_local.config import LocalCloud

_HOP_BY_HOP = {
    "connection", "keep-alive", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "host", "content-length",
}  # fmt: skip


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

            do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_HEAD = _forward

            def log_message(self, format: str, *args: object) -> None:
                pass  # the functions' logs say more, and the terminal shows them

        return Forward
