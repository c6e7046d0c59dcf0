"""A loopback web site for the fetch and sync tests: pages, a source feed, and faults on demand."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler

from tests.http_server import Loopback


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    content_type: str | None = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds before answering
    stream: Callable[[], bytes] | None = None  # a body sent in blocks, no Content-Length, then close


class PageServer(Loopback):
    """routes[path] = Reply; unknown paths get 404. hits counts requests per path."""

    def __init__(self) -> None:
        self.routes: dict[str, Reply] = {}
        self.hits: Counter[str] = Counter()
        self.agents: list[str] = []
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"

            def log_message(self, format: str, *args: object) -> None:
                pass

            def do_GET(self) -> None:
                server.hits[self.path] += 1
                server.agents.append(self.headers.get("User-Agent", ""))
                reply = server.routes.get(self.path, Reply(404, b"<h1>404 Not Found</h1>"))
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    if reply.content_type:
                        self.send_header("Content-Type", reply.content_type)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    if reply.stream is None:
                        self.send_header("Content-Length", str(len(reply.body)))
                    self.end_headers()
                    if reply.stream is not None:
                        block = reply.stream()
                        while block:
                            self.wfile.write(block)
                            block = reply.stream()
                    else:
                        self.wfile.write(reply.body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up, as it should on a huge body

        super().__init__(Handler)
