"""Raw loopback sockets for the failure matrix: servers that misbehave at the TCP level.

Why raw sockets and not the fake API: the own-connectivity rule depends on *how* a request
failed (refused, reset, no answer, a drip), which only a real socket shows to httpx.
``LoopbackServer`` switches behaviour while running (``mode``), so a test can fix a broken
server and watch the next poll recover; it counts accepted connections and requests.
"""

from __future__ import annotations

import socket
import threading
import time


def closed_port() -> int:
    """A loopback port with nothing listening (connecting is refused)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LoopbackServer:
    """Modes: ``close`` (accept, then hang up before answering), ``blackhole`` (accept, read,
    never answer), ``drip`` (headers at once, then the body a byte every ``drip_s``), ``ok``
    (answer ``body`` as JSON at once)."""

    def __init__(self, mode: str = "ok", *, body: bytes = b'{"data": []}', status: int = 200,
                 drip_s: float = 0.2) -> None:
        self.mode = mode
        self.body = body
        self.status = status
        self.drip_s = drip_s
        self.requests = 0
        self.paths: list[str] = []
        self.times: list[float] = []        # time.monotonic() of each request
        self.accepted: list[float] = []     # time.monotonic() of each connection
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        self._stop = threading.Event()
        self._conns: list[socket.socket] = []
        self._lock = threading.Lock()
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            with self._lock:
                self._conns.append(conn)
                self.accepted.append(time.monotonic())
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _read_request(self, conn: socket.socket) -> bool:
        data = b""
        conn.settimeout(5)
        while b"\r\n\r\n" not in data:
            try:
                chunk = conn.recv(65536)
            except OSError:
                return False
            if not chunk:
                return False
            data += chunk
        line = data.split(b"\r\n", 1)[0].decode("latin-1")
        with self._lock:
            self.requests += 1
            self.times.append(time.monotonic())
            self.paths.append(line.split(" ")[1] if " " in line else line)
        return True

    def _serve(self, conn: socket.socket) -> None:
        try:
            if self.mode == "close":
                conn.close()
                return
            while not self._stop.is_set():
                if not self._read_request(conn):
                    return
                mode = self.mode
                if mode == "close":
                    return
                if mode == "blackhole":
                    self._stop.wait(60)
                    return
                head = (f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
                        f"Content-Length: {len(self.body)}\r\n\r\n").encode()
                conn.sendall(head)
                if mode == "drip":
                    for i in range(len(self.body)):
                        if self._stop.wait(self.drip_s):
                            return
                        conn.sendall(self.body[i:i + 1])
                else:
                    conn.sendall(self.body)
        except OSError:
            pass
        finally:
            with self._lock:
                if conn in self._conns:
                    self._conns.remove(conn)
            try:
                conn.close()
            except OSError:
                pass

    def close(self) -> None:
        self._stop.set()
        self._sock.close()
        with self._lock:
            for c in self._conns:
                try:
                    c.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                c.close()
            self._conns.clear()

    def __enter__(self) -> LoopbackServer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
