"""Carrying the emulator: in-process as an httpx transport, or on a threaded loopback server.

Example:
    >>> import httpx
    >>> with EmulatorServer() as server:                     # a free port on 127.0.0.1
    ...     httpx.get(server.url + "/api/v1/unknown").status_code
    404
"""

from __future__ import annotations

import asyncio
import http.server
import ipaddress
import logging
import socket
import threading
import time
from collections.abc import Awaitable, Callable
from http import HTTPStatus
from typing import Any

import httpx

from .server import Emulator, Reply

__all__ = ["EmulatorServer", "EmulatorTransport"]

log = logging.getLogger("costtrend_nb.emulator")


class EmulatorTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport that answers from an :class:`Emulator`, without any socket.

    A body the emulator cuts short arrives cut short. Latency is slept with ``sleep`` (sync)
    or ``async_sleep``, both injectable so tests need not wait.

    Example:
        >>> client = httpx.Client(transport=EmulatorTransport())
        >>> client.get("https://aicontent.aliyuncs.com/nowhere").status_code
        404
    """

    def __init__(
        self,
        emulator: Emulator | None = None,
        *,
        sleep: Callable[[float], Any] = time.sleep,
        async_sleep: Callable[[float], Awaitable[Any]] = asyncio.sleep,
    ) -> None:
        self.emulator = emulator if emulator is not None else Emulator()
        self._sleep = sleep
        self._async_sleep = async_sleep

    def _answer(self, request: httpx.Request) -> Reply:
        return self.emulator.handle(
            request.method, request.url.raw_path.decode("ascii"), request.headers, request.content
        )

    @staticmethod
    def _response(reply: Reply, request: httpx.Request) -> httpx.Response:
        body = reply.body if reply.cut is None else reply.body[: reply.cut]
        return httpx.Response(reply.status, headers=reply.headers, content=body, request=request)

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        request.read()
        reply = self._answer(request)
        if reply.delay:
            self._sleep(reply.delay)
        return self._response(reply, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        await request.aread()
        reply = self._answer(request)
        if reply.delay:
            await self._async_sleep(reply.delay)
        return self._response(reply, request)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as the real endpoint
    server_version = "costtrend-nb-emulator"
    timeout = 60  # seconds an idle keep-alive connection is kept
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        # answers go out in one write; never wait for a delayed ACK (Nagle's algorithm)
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def parse_request(self) -> bool:
        self.received_at = time.perf_counter()  # the request line is in: the answer's clock starts
        return super().parse_request()

    def _answer(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        body = self.rfile.read(length) if length else b""
        reply = self.server.emulator.handle(
            self.command, self.path, dict(self.headers.items()), body, received_at=self.received_at
        )
        if reply.delay:
            time.sleep(reply.delay)
        reason = HTTPStatus(reply.status).phrase
        lines = [f"HTTP/1.1 {reply.status} {reason}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        lines.append(f"content-length: {len(reply.body)}")
        if reply.cut is not None:
            lines.append("connection: close")
        payload = reply.body if reply.cut is None else reply.body[: reply.cut]
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)
        if reply.cut is not None:
            self.close_connection = True

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _answer

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        log.debug("%s %s", self.address_string(), format % args)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    emulator: Emulator


class EmulatorServer:
    """The emulator on a threaded HTTP server bound to a loopback address.

    Point any client at :attr:`url`; the vendor's SDK takes :attr:`endpoint` with
    ``protocol="http"``.
    """

    def __init__(self, emulator: Emulator | None = None, *, host: str = "127.0.0.1", port: int = 0):
        if host != "localhost" and not ipaddress.ip_address(host).is_loopback:
            raise ValueError(f"the emulator serves loopback only, not {host!r}")
        self.emulator = emulator if emulator is not None else Emulator()
        self._server = _HTTPServer((host, port), _Handler)
        self._server.emulator = self.emulator
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The port the server listens on."""
        return int(self._server.server_address[1])

    @property
    def endpoint(self) -> str:
        """``host:port``, as the vendor SDK's ``Config(endpoint=...)`` wants it."""
        host = self._server.server_address[0]
        return f"{host if isinstance(host, str) else host.decode()}:{self.port}"

    @property
    def url(self) -> str:
        """``http://host:port``, for ``CostTrendClient(endpoint=...)``."""
        return f"http://{self.endpoint}"

    def start(self) -> EmulatorServer:
        """Serve in a background thread."""
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()
        return self

    def serve_forever(self) -> None:
        """Serve in this thread until interrupted."""
        self._server.serve_forever(poll_interval=0.2)

    def stop(self) -> None:
        """Stop serving and close the listening socket."""
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> EmulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
