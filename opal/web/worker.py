"""gunicorn's threaded worker, but a thread only for a request that has fully arrived.

The stock workers give a client a whole worker (sync) or a thread (gthread) as soon as it sends
its first byte; six clients sending half a header block each held all sync workers until the
90 s timeout (issue 20). Here the worker's event loop reads each request head, and a small body
(at most ``BUFFER_LIMIT``), without blocking; only then does a thread run the request. A head
that has not arrived after ``HEAD_TIMEOUT`` seconds gets 408, an oversized one 431, and either
connection is closed without a thread ever being involved. Sockets handed to a thread carry
kernel receive/send timeouts (``IO_TIMEOUT``): a client that stalls in the middle of a large body
or stops reading a download frees its thread after that long.
"""

from __future__ import annotations

import re
import selectors
import socket
import struct
import time
from collections import deque
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from gunicorn.workers.gthread import TConn, ThreadWorker

#: seconds a client has to send its request head (and a small body) once its connection is open
#: (a kept-alive connection: once it sends the next request's first byte)
HEAD_TIMEOUT = 10.0
#: largest head plus body read in the event loop; a larger body is read by the thread
BUFFER_LIMIT = 64 * 1024
#: seconds a thread waits on a silent client (reading the rest of a body, or sending)
IO_TIMEOUT = 20
_END_OF_HEAD = b"\r\n\r\n"
_LENGTH = re.compile(rb"^content-length:[ \t]*([0-9]{1,12})[ \t]*\r?$", re.I | re.M)
_CHUNKED = re.compile(rb"^transfer-encoding:", re.I | re.M)
_EXPECT = re.compile(rb"^expect:", re.I | re.M)
_END_OF_CHUNKS = b"\r\n0\r\n\r\n"
_REFUSE_408 = (b"HTTP/1.1 408 Request Timeout\r\nConnection: close\r\nContent-Length: 0\r\n"
               b"Cache-Control: no-store\r\n\r\n")
_REFUSE_431 = (b"HTTP/1.1 431 Request Header Fields Too Large\r\nConnection: close\r\n"
               b"Content-Length: 0\r\nCache-Control: no-store\r\n\r\n")


def request_ready(buf: bytes) -> bool | None:
    """True when ``buf`` holds a whole head and as much body as is worth waiting for here,
    None when it can never be (a head larger than the limit), False to keep reading."""
    end = buf.find(_END_OF_HEAD)
    if end < 0:
        return None if len(buf) > BUFFER_LIMIT else False
    head, body = buf[:end + 2], buf[end + 4:]
    if _EXPECT.search(head):
        return True  # the client waits for "100 Continue" before it sends the body
    if _CHUNKED.search(head):
        # a chunked body: wait for its last chunk while it is small, else let the thread read
        return _END_OF_CHUNKS in b"\r\n" + body or len(buf) > BUFFER_LIMIT
    lengths = _LENGTH.findall(head)
    if len(lengths) != 1:
        return True  # no body, or a malformed head that gunicorn's parser refuses at once
    wanted = int(lengths[0])
    return len(body) >= wanted or len(buf) >= BUFFER_LIMIT


@dataclass
class _Pending:
    """A connection whose request is still arriving."""

    conn: TConn
    deadline: float
    buf: bytearray = field(default_factory=bytearray)


class HeadFirstWorker(ThreadWorker):
    """The gthread worker with the request head read by the event loop (see the module)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.heads: deque[_Pending] = deque()

    # the three places where gthread hands a connection to a thread: instead, wait for its head
    def accept(self, listener: socket.socket) -> None:
        try:
            client, address = listener.accept()
        except OSError:  # the other workers were faster, or the client is gone already
            return
        self.nr_conns += 1
        self._wait_for_head(TConn(self.cfg, client, address, listener.getsockname()))

    def on_client_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        self.poller.unregister(client)
        self.keepalived_conns.remove(conn)
        self._wait_for_head(conn)

    def on_pending_socket_readable(self, conn: TConn, client: socket.socket) -> None:
        self.poller.unregister(client)
        self.pending_conns.remove(conn)
        self._wait_for_head(conn)

    def _wait_for_head(self, conn: TConn) -> None:
        conn.sock.setblocking(False)
        pending = _Pending(conn, time.monotonic() + HEAD_TIMEOUT)
        self.heads.append(pending)  # deadlines grow with the append order
        self.poller.register(conn.sock, selectors.EVENT_READ,
                             partial(self._on_head_readable, pending))

    def _on_head_readable(self, pending: _Pending, sock: socket.socket) -> None:
        try:
            data = sock.recv(BUFFER_LIMIT)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._drop(pending)
            return
        pending.buf += data
        ready = request_ready(bytes(pending.buf))
        if ready is None:
            self._drop(pending, _REFUSE_431)
        elif ready:
            self.poller.unregister(sock)
            self.heads.remove(pending)
            self._start(pending)

    def _start(self, pending: _Pending) -> None:
        """Hand the arrived request to a thread, its bytes in front of the socket's."""
        conn = pending.conn
        conn.data_ready = True
        if not conn.initialized:  # a kept-alive connection has its timeouts (and the thread
            # sets it blocking again): two system calls less per request
            conn.sock.setblocking(True)
            timeout = struct.pack("ll", IO_TIMEOUT, 0)
            try:
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeout)
                conn.sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeout)
                conn.init()
            except OSError:
                self.nr_conns -= 1
                conn.close()
                return
        conn.parser.unreader.unread(bytes(pending.buf))
        self.enqueue_req(conn)

    def _drop(self, pending: _Pending, answer: bytes = b"") -> None:
        """Close a connection whose request will not come (gone, too slow, too large)."""
        try:
            self.poller.unregister(pending.conn.sock)
        except (KeyError, ValueError, OSError):
            pass
        try:
            self.heads.remove(pending)
        except ValueError:
            pass
        if answer:
            try:
                pending.conn.sock.send(answer)  # best effort, never blocking
            except OSError:
                pass
        self.nr_conns -= 1
        pending.conn.close()

    def murder_pending(self) -> None:
        """Besides gthread's own: close every connection whose head is overdue, with 408."""
        super().murder_pending()
        now = time.monotonic()
        while self.heads and self.heads[0].deadline <= now:
            pending = self.heads[0]
            self._drop(pending, _REFUSE_408 if pending.buf else b"")
        if not self.alive:  # stopping: a connection that sent nothing yet is not waited for
            for pending in [p for p in self.heads if not p.buf]:
                self._drop(pending)
