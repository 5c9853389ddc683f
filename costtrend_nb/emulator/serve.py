"""Carrying the emulator: in-process as an httpx transport, or on a threaded loopback server.

Example:
    >>> import httpx
    >>> with EmulatorServer() as server:                     # a free port on 127.0.0.1
    ...     httpx.get(server.url + "/api/v1/unknown").status_code
    404
"""

from __future__ import annotations

import asyncio
import email.message
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

MAX_BODY = 1 << 20  #: bytes of request body accepted at most: the API is GET-only


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
        try:
            length = _content_length(self.headers)
        except ValueError as err:  # answered at once: the body is never read
            self._refuse(HTTPStatus.BAD_REQUEST, str(err))
            return
        body = self._read_body(length)
        if body is None:
            return
        reply = self.server.emulator.handle(
            self.command, self.path, dict(self.headers.items()), body, received_at=self.received_at
        )
        if reply.delay:
            time.sleep(reply.delay)
        self._send(reply)

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = do_OPTIONS = _answer

    def _read_body(self, length: int) -> bytes | None:
        """The request's body; None (and the connection closing) when it never came whole."""
        try:
            body = self.rfile.read(length) if length else b""
        except OSError:  # the timeout included
            body = None
        if body is None or len(body) < length:
            self.close_connection = True
            return None
        return body

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """http.server's own refusals (request line or headers too long, bad syntax)."""
        self.log_error("code %d, message %s", code, message)
        self._refuse(code, message or HTTPStatus(code).phrase)

    def _refuse(self, status: int, message: str) -> None:
        """A gateway refusal in the vendor's shape, then the connection closes."""
        self._send(self.server.emulator.http_error(status, message), close=True)

    def _send(self, reply: Reply, *, close: bool = False) -> None:
        close = close or reply.cut is not None
        lines = [f"HTTP/1.1 {reply.status} {HTTPStatus(reply.status).phrase}"]
        lines += [f"{name}: {value}" for name, value in reply.headers]
        lines.append(f"content-length: {len(reply.body)}")
        if close:
            lines.append("connection: close")
            self.close_connection = True
        payload = reply.body if reply.cut is None else reply.body[: reply.cut]
        if getattr(self, "command", None) == "HEAD":
            payload = b""  # a HEAD answer has headers only
        self.wfile.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + payload)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base's name
        log.debug("%s %s", self.address_string(), format % args)


def _content_length(headers: email.message.Message) -> int:
    """The length of a request's body, from headers that frame it plainly.

    Raises:
        ValueError: a chunked (or otherwise encoded) body, lengths that differ, a length that
            is not a number of bytes, or one above :data:`MAX_BODY`.
    """
    if "transfer-encoding" in headers:
        raise ValueError("Transfer-Encoding is not supported: send the body with Content-Length.")
    values = {value.strip() for value in headers.get_all("content-length") or ["0"]}
    if len(values) > 1:
        raise ValueError("Content-Length is given more than once, with different values.")
    value = values.pop()
    if not value.isascii() or not value.isdigit():
        raise ValueError(f"Content-Length must be a number of bytes, not {value[:20]!r}.")
    if len(value) > 16 or int(value) > MAX_BODY:
        raise ValueError(f"Content-Length may not exceed {MAX_BODY} bytes: the API is GET-only.")
    return int(value)


class _HTTPServer(http.server.ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    emulator: Emulator

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A connection that failed (the client went away): logged at debug, not printed."""
        log.debug("connection from %s failed", client_address, exc_info=True)


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
