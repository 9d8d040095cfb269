"""A recording fake of the API Gateway management API, served over real HTTP.

The application's boto3 adapter talks to it exactly as to API Gateway; tests read what was
pushed, and name connections that should answer 410 Gone.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

PREFIX = "/@connections/"


class ManagementRecorder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.posts: list[tuple[str, dict[str, Any]]] = []
        self.deleted: list[str] = []
        self.gone: set[str] = set()
        recorder = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

            def _connection_id(self) -> str:
                from urllib.parse import unquote

                return unquote(self.path.removeprefix(PREFIX))

            def _answer(self, status: int) -> None:
                self.send_response(status)
                if status == 410:
                    self.send_header("x-amzn-ErrorType", "GoneException")
                    body = b'{"message": "Gone"}'
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                    return
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_POST(self) -> None:
                connection_id = self._connection_id()
                data = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                if connection_id in recorder.gone:
                    return self._answer(410)
                with recorder._lock:
                    recorder.posts.append((connection_id, json.loads(data)))
                return self._answer(200)

            def do_DELETE(self) -> None:
                connection_id = self._connection_id()
                if connection_id in recorder.gone:
                    return self._answer(410)
                with recorder._lock:
                    recorder.deleted.append(connection_id)
                return self._answer(204)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> ManagementRecorder:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()

    def to(self, connection_id: str) -> list[dict[str, Any]]:
        with self._lock:
            return [m for c, m in self.posts if c == connection_id]

    def clear(self) -> None:
        with self._lock:
            self.posts.clear()
            self.deleted.clear()
            self.gone.clear()
