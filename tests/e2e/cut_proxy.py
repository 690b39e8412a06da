"""A loopback TCP proxy that can silently stop forwarding: a stalled network path.

    proxy = CutProxy("127.0.0.1", 5432).start()     # listens on 127.0.0.1:<free port>
    url = f"postgresql+psycopg://postgres@127.0.0.1:{proxy.port}/db"
    proxy.cut()     # connections stay open, nothing is forwarded either way, nothing is reset
    proxy.heal()    # forwarding resumes (what waited in the buffers goes through)
    proxy.stop()

Why a real proxy and not a mock: what hangs in a real outage is the driver waiting on a socket
that the kernel keeps open. While cut, the proxy neither reads nor writes; the sender's kernel
still accepts data into the socket buffers and the proxy's kernel still answers TCP
keepalives, so neither TCP nor PostgreSQL notices anything: only a client-side deadline does.
New connections during a cut are accepted by the kernel and then left hanging, like a
half-dead middlebox.
"""

from __future__ import annotations

import select
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.engine import make_url

from bot.store.testing import temp_postgres_url


class CutProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(128)
        self.port = self._listener.getsockname()[1]
        self._forwarding = threading.Event()
        self._forwarding.set()
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.accepted = 0

    # -- control -------------------------------------------------------------------------------

    def start(self) -> CutProxy:
        threading.Thread(target=self._accept_loop, name="cut-proxy-accept", daemon=True).start()
        return self

    def cut(self) -> None:
        self._forwarding.clear()

    def heal(self) -> None:
        self._forwarding.set()

    @property
    def is_cut(self) -> bool:
        return not self._forwarding.is_set()

    def stop(self) -> None:
        self._stopped.set()
        self._forwarding.set()
        for sock in [self._listener, *self._sockets]:
            try:
                sock.close()
            except OSError:
                pass

    def __enter__(self) -> CutProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the pumps -----------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            try:
                ready, _, _ = select.select([self._listener], [], [], 0.05)
                if not ready:
                    continue
                client, _ = self._listener.accept()
            except OSError:
                return
            self.accepted += 1
            threading.Thread(target=self._connect, args=(client,), daemon=True).start()

    def _connect(self, client: socket.socket) -> None:
        with self._lock:
            self._sockets.append(client)
        while not self._forwarding.is_set():  # a new connection during a cut just hangs
            if self._stopped.wait(0.05):
                return
        try:
            upstream = socket.create_connection(self.upstream, timeout=5)
        except OSError:
            client.close()
            return
        upstream.settimeout(None)
        with self._lock:
            self._sockets.append(upstream)
        for src, dst in ((client, upstream), (upstream, client)):
            threading.Thread(target=self._pump, args=(src, dst), daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        while not self._stopped.is_set():
            if not self._forwarding.is_set():
                self._stopped.wait(0.02)
                continue
            try:
                ready, _, _ = select.select([src], [], [], 0.05)
                if not ready:
                    continue
                data = src.recv(65536)
            except (OSError, ValueError):
                data = b""
            if not self._forwarding.is_set():
                # Cut while this chunk was in hand: hold it until the path heals (or forever).
                while not self._forwarding.is_set() and not self._stopped.wait(0.02):
                    pass
            if not data:
                for sock in (dst, src):
                    try:
                        sock.shutdown(socket.SHUT_RDWR)
                    except OSError:
                        pass
                return
            try:
                dst.sendall(data)
            except OSError:
                return


@contextmanager
def proxied_postgres(prefix: str) -> Iterator[tuple[str, CutProxy]]:
    """A throw-away PostgreSQL database reached through a CutProxy: (its URL, the proxy).
    Raises ``PostgresUnavailable`` where no server answers (callers skip)."""
    with temp_postgres_url(prefix=prefix) as url:
        parsed = make_url(url)
        with CutProxy(parsed.host or "127.0.0.1", parsed.port or 5432) as proxy:
            try:
                yield parsed.set(host="127.0.0.1", port=proxy.port).render_as_string(
                    hide_password=False), proxy
            finally:
                proxy.heal()
