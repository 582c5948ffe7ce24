"""berth's embedded DNS server for user-defined networks: Docker's ``127.0.0.11``.

Containers on a user-defined network find each other by name (container name, network
aliases, ``--link`` names). Docker does it with a small DNS server per container sandbox
listening on ``127.0.0.11`` inside the container's network namespace, and writes
``nameserver 127.0.0.11`` into the container's resolv.conf (libnetwork ``resolver.go``).
berth does the same, and this module is that server.

Why an address inside each container's namespace: the resolver must answer from the
container's point of view (its networks, its aliases, its ``--dns`` servers) and must be
reachable even on ``--internal`` networks and whatever the container's routes are.
``127.0.0.11`` is on loopback (``127.0.0.0/8`` is a local route on ``lo``, which berth
brings up in every namespace), so no interface or route has to be added, and the address
is the one images and tools already expect from Docker. Docker binds random ports and
DNATs port 53 to them with iptables; berth binds ``127.0.0.11:53`` directly.

Why sockets made on a throwaway thread: a socket belongs for its whole life to the
network namespace of the thread that created it. setns(2) with ``CLONE_NEWNET`` moves only
the calling thread, so :meth:`Resolver.add` makes a short-lived thread that joins the
namespace bound at a path, creates and binds a UDP and a listening TCP socket, and ends
(the trick of :mod:`berth.network.netns`). berthd's own threads never leave the host's
namespace, yet one background thread serves every container's sockets with a selector.

What is answered and what is forwarded (``lookup``, ``reverse`` and ``upstreams`` are
callbacks from the engine, called with the resolver key, usually the container id):

- A (1) and AAAA (28) for a name berth knows: its addresses, TTL 600, in random order
  (round robin, as Docker); a known name without an address of that type gets an empty
  NOERROR answer, never forwarded (Docker's "ipv6Miss").
- PTR for an ``in-addr.arpa``/``ip6.arpa`` name of an address berth knows.
- Everything else (unknown names, other types, other classes) is forwarded, bytes as
  received but with a fresh id, to the container's upstreams in order: over UDP with a
  per-upstream timeout, retried over TCP when the reply is truncated (TC), and over TCP
  when the query came over TCP. The first reply that is not SERVFAIL or REFUSED is relayed
  unchanged except for the id; when no upstream answers, the client gets SERVFAIL.
  Forwarding runs on a small thread pool from berthd's own (host) namespace, on purpose:
  the host's resolvers, including a loopback one such as systemd-resolved's
  ``127.0.0.53``, are reachable from there and not from the container.
- Malformed queries are dropped (UDP) or their connection closed (TCP); a query with a
  question count other than one gets FORMERR, an opcode other than QUERY gets NOTIMP
  (as the miekg/dns server under Docker's resolver does).

Replies set RA, copy RD and CD, and are not authoritative (as Docker's). UDP replies of
berth's own that exceed 512 bytes (or the client's EDNS payload size) are sent truncated
(TC, no answers) so that the client retries over TCP.

When berthd stops, the sockets close with it and the names stop resolving for a moment;
the namespaces outlive berthd (bind mounts), so on restore berthd calls :meth:`add` again
for every live container and the resolver is back at the same address.

The wire format lives in :mod:`berth.network.dnswire` (RFC 1035 section 4, AAAA in RFC
3596, EDNS's OPT in RFC 6891); over TCP each message has a two-byte length prefix (RFC 1035
4.2.2, RFC 7766), and a connection may carry several queries.
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import errno as errno_mod
import ipaddress
import logging
import os
import queue
import random
import selectors
import socket
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from berth import errdefs
from berth.linux import syscalls as sc
from berth.network import dnswire as w

__all__ = ["ADDRESS", "PORT", "Resolver"]

log = logging.getLogger(__name__)

ADDRESS = "127.0.0.11"
PORT = 53


# --- forwarding ------------------------------------------------------------------------


def _upstream_address(spec: str) -> tuple[str, int]:
    """``ip``, ``ip:port``, ``[ip6]:port`` or a bare IPv6 address."""
    host, port = spec, PORT
    if spec.startswith("["):
        host, _, rest = spec[1:].partition("]")
        if rest.startswith(":"):
            port = int(rest[1:])
    elif spec.count(":") == 1:
        host, _, p = spec.partition(":")
        port = int(p)
    return str(ipaddress.ip_address(host)), port


def _recv_exact(sock: socket.socket, n: int) -> bytes:
    buf = bytearray()
    while len(buf) < n:
        chunk = sock.recv(n - len(buf))
        if not chunk:
            raise ConnectionError("connection closed by the upstream")
        buf += chunk
    return bytes(buf)


def _exchange_tcp(message: bytes, addr: tuple[str, int], timeout: float) -> bytes:
    with socket.create_connection(addr, timeout=timeout) as s:
        s.sendall(struct.pack("!H", len(message)) + message)
        (n,) = struct.unpack("!H", _recv_exact(s, 2))
        return _recv_exact(s, n)


def _exchange_udp(message: bytes, addr: tuple[str, int], timeout: float) -> bytes:
    family = socket.AF_INET6 if ":" in addr[0] else socket.AF_INET
    deadline = time.monotonic() + timeout
    with socket.socket(family, socket.SOCK_DGRAM) as s:
        s.connect(addr)
        s.send(message)
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"no reply from {addr[0]}:{addr[1]}")
            s.settimeout(left)
            reply = s.recv(65535)
            # ignore what is not a reply to this query (another id, a query, a runt)
            if len(reply) >= w.HEADER.size and reply[:2] == message[:2] and reply[2] & 0x80:
                if reply[2] & (w.TC >> 8):
                    return _exchange_tcp(message, addr, max(deadline - time.monotonic(), 0.5))
                return reply


# --- the server ------------------------------------------------------------------------

Lookup = Callable[[str, str, int], list[str] | None]
Reverse = Callable[[str, str], str | None]
Upstreams = Callable[[str], Sequence[str]]
_Addr = tuple[Any, ...] | None  # a UDP client's address; None for TCP

_MAX_INFLIGHT = 256  # forwards in flight at once; beyond, SERVFAIL at once
_MAX_CONNS = 64  # TCP connections per key
_TCP_IDLE = 10.0  # seconds an idle TCP connection is kept


@dataclass(eq=False)
class _Conn:
    sock: socket.socket
    inbuf: bytearray = field(default_factory=bytearray)
    outbuf: bytearray = field(default_factory=bytearray)
    last: float = field(default_factory=time.monotonic)
    pending: int = 0
    closed: bool = False


@dataclass(eq=False)
class _Endpoint:
    key: str
    netns: str
    udp: socket.socket
    tcp: socket.socket
    conns: set[_Conn] = field(default_factory=set)
    closed: bool = False


def _bind_in(netns_path: str, syscalls: sc.Syscalls) -> tuple[socket.socket, socket.socket]:
    """A UDP and a listening TCP socket on 127.0.0.11:53 in the namespace at the path."""
    made: list[socket.socket] = []
    failure: list[BaseException] = []

    def work() -> None:
        try:
            fd = os.open(netns_path, os.O_RDONLY | os.O_CLOEXEC)
            try:
                syscalls.setns(fd, sc.CLONE_NEWNET)
            finally:
                os.close(fd)
            made.append(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
            made[-1].bind((ADDRESS, PORT))
            made.append(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            made[-1].setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            made[-1].bind((ADDRESS, PORT))
            made[-1].listen(64)
        except BaseException as exc:  # handed to the caller
            failure.append(exc)

    t = threading.Thread(target=work, name="dns-netns", daemon=True)
    t.start()
    t.join()
    if failure:
        for s in made:
            s.close()
        exc = failure[0]
        if isinstance(exc, OSError):
            what = f"dns resolver on {ADDRESS}:{PORT} in network namespace '{netns_path}'"
            if exc.errno == errno_mod.EADDRINUSE:
                raise errdefs.Conflict(f"{what}: address already in use") from exc
            raise errdefs.from_oserror(what, exc) from exc
        raise exc
    udp, tcp = made
    udp.setblocking(False)
    tcp.setblocking(False)
    return udp, tcp


class Resolver:
    """The DNS server on 127.0.0.11:53 of each added network namespace, all served by one
    thread. ``lookup``, ``reverse`` and ``upstreams`` are called with the key given to
    :meth:`add`; ``lookup`` and ``reverse`` run on the serving thread and must be quick
    (a dict lookup), ``upstreams`` runs on a forwarding thread."""

    def __init__(
        self,
        lookup: Lookup,
        reverse: Reverse,
        upstreams: Upstreams,
        *,
        timeout: float = 2.0,
        syscalls: sc.Syscalls | None = None,
    ) -> None:
        self._lookup = lookup
        self._reverse = reverse
        self._upstreams = upstreams
        self._timeout = timeout
        self._syscalls = syscalls or sc.default()
        self._endpoints: dict[str, _Endpoint] = {}
        self._lock = threading.Lock()  # guards _thread, _closed, _endpoints from callers
        self._sel = selectors.DefaultSelector()
        self._wake_r, self._wake_w = socket.socketpair()
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, None)
        self._calls: queue.SimpleQueue[tuple[Callable[[], None], threading.Event]] = (
            queue.SimpleQueue()
        )
        self._replies: queue.SimpleQueue[tuple[_Endpoint, _Conn | None, _Addr, bytes]] = (
            queue.SimpleQueue()
        )
        self._pool = concurrent.futures.ThreadPoolExecutor(
            max_workers=8, thread_name_prefix="dns-forward"
        )
        self._inflight = 0
        self._thread: threading.Thread | None = None
        self._stop = False
        self._closed = False

    # -- the callers' side (any thread) --

    def add(self, key: str, netns_path: str) -> None:
        """Serve 127.0.0.11:53 in the namespace bound at ``netns_path`` for ``key``,
        replacing the key's sockets if it was added before."""
        with self._lock:
            if self._closed:
                raise errdefs.FailedPrecondition(f"dns resolver is closed: cannot add '{key}'")
            if key in self._endpoints:
                self._in_loop(lambda: self._drop(key))
            udp, tcp = _bind_in(netns_path, self._syscalls)
            ep = _Endpoint(key, netns_path, udp, tcp)
            self._start()
            self._in_loop(lambda: self._register(ep))

    def remove(self, key: str) -> None:
        """Close the key's sockets; an unknown key is fine."""
        with self._lock:
            if key in self._endpoints and not self._closed:
                self._in_loop(lambda: self._drop(key))

    def keys(self) -> list[str]:
        with self._lock:
            return sorted(self._endpoints)

    def close(self) -> None:
        """Stop the serving thread, close every socket, wait for forwards in flight."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._stop = True
            thread = self._thread
        if thread is not None:
            self._wake()
            thread.join()
        for key in list(self._endpoints):
            self._drop(key)
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()

    def __enter__(self) -> Resolver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._serve, name="dns-resolver", daemon=True)
            self._thread.start()

    def _wake(self) -> None:
        with contextlib.suppress(OSError):  # full: the loop is awake already
            self._wake_w.send(b"\0")

    def _in_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the serving thread (the selector is not thread-safe) and wait."""
        if self._thread is None or threading.current_thread() is self._thread:
            fn()
            return
        done = threading.Event()
        self._calls.put((fn, done))
        self._wake()
        done.wait()

    # -- the serving thread --

    def _register(self, ep: _Endpoint) -> None:
        self._endpoints[ep.key] = ep
        self._sel.register(ep.udp, selectors.EVENT_READ, (ep, "udp"))
        self._sel.register(ep.tcp, selectors.EVENT_READ, (ep, "tcp"))

    def _drop(self, key: str) -> None:
        ep = self._endpoints.pop(key, None)
        if ep is None:
            return
        ep.closed = True
        for conn in list(ep.conns):
            self._close_conn(ep, conn)
        for s in (ep.udp, ep.tcp):
            with contextlib.suppress(KeyError, ValueError, OSError):
                self._sel.unregister(s)
            s.close()

    def _serve(self) -> None:
        while not self._stop:
            try:
                events = self._sel.select(timeout=1.0)
            except OSError:
                log.exception("dns resolver: select failed")
                time.sleep(0.1)
                continue
            for skey, mask in events:
                try:
                    self._dispatch(skey, mask)
                except Exception:
                    log.exception("dns resolver: serving %r failed", skey.data)
            self._run_calls()
            self._send_replies()
            self._sweep()
        self._run_calls()

    def _run_calls(self) -> None:
        while True:
            try:
                fn, done = self._calls.get_nowait()
            except queue.Empty:
                return
            try:
                fn()
            except Exception:
                log.exception("dns resolver: update failed")
            finally:
                done.set()

    def _dispatch(self, skey: selectors.SelectorKey, mask: int) -> None:
        if skey.data is None:
            with contextlib.suppress(BlockingIOError):
                self._wake_r.recv(4096)
            return
        ep, what = skey.data
        if ep.closed:
            return
        if what == "udp":
            self._read_udp(ep)
        elif what == "tcp":
            self._accept(ep)
        else:
            conn: _Conn = what
            if conn.closed:
                return
            if mask & selectors.EVENT_READ:
                self._read_conn(ep, conn)
            if mask & selectors.EVENT_WRITE and not conn.closed:
                self._flush_conn(ep, conn)

    def _read_udp(self, ep: _Endpoint) -> None:
        for _ in range(64):  # then give the other sockets a turn
            try:
                data, addr = ep.udp.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return
            except OSError as exc:  # e.g. ICMP errors surfacing here
                log.debug("dns resolver %s: udp receive: %s", ep.key, exc)
                return
            self._handle(ep, None, addr, data)

    def _accept(self, ep: _Endpoint) -> None:
        try:
            sock, _ = ep.tcp.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            log.warning("dns resolver %s: accept: %s", ep.key, exc)
            return
        if len(ep.conns) >= _MAX_CONNS:
            sock.close()
            return
        sock.setblocking(False)
        conn = _Conn(sock)
        ep.conns.add(conn)
        self._sel.register(sock, selectors.EVENT_READ, (ep, conn))

    def _read_conn(self, ep: _Endpoint, conn: _Conn) -> None:
        try:
            data = conn.sock.recv(65537)
        except (BlockingIOError, InterruptedError):
            return
        except OSError:
            data = b""
        if not data:
            self._close_conn(ep, conn)
            return
        conn.last = time.monotonic()
        conn.inbuf += data
        while len(conn.inbuf) >= 2 and not conn.closed:
            (n,) = struct.unpack_from("!H", conn.inbuf)
            if len(conn.inbuf) < 2 + n:
                return
            message = bytes(conn.inbuf[2 : 2 + n])
            del conn.inbuf[: 2 + n]
            self._handle(ep, conn, None, message)

    def _close_conn(self, ep: _Endpoint, conn: _Conn) -> None:
        if conn.closed:
            return
        conn.closed = True
        ep.conns.discard(conn)
        with contextlib.suppress(KeyError, ValueError, OSError):
            self._sel.unregister(conn.sock)
        conn.sock.close()

    def _handle(self, ep: _Endpoint, conn: _Conn | None, addr: _Addr, data: bytes) -> None:
        """Answer, refuse or forward one query."""
        try:
            query = w.parse_query(data)
        except w.MalformedMessage as exc:
            log.debug("dns resolver %s: malformed query dropped: %s", ep.key, exc)
            if conn is not None:
                self._close_conn(ep, conn)
            return
        if query.is_response:
            return
        if query.opcode != 0:
            self._reply(ep, conn, addr, w.header_reply(data, w.NOTIMP))
            return
        if len(query.questions) != 1:
            self._reply(ep, conn, addr, w.header_reply(data, w.FORMERR))
            return
        max_size = 0 if conn is not None else min(query.udp_size, 65535)
        try:
            answer = self._answer(ep.key, query, max_size)
        except Exception:
            log.exception("dns resolver %s: answering %s failed", ep.key, query.questions[0].name)
            answer = w.build_reply(query, w.SERVFAIL)
        if answer is not None:
            self._reply(ep, conn, addr, answer)
            return
        if self._inflight >= _MAX_INFLIGHT:
            log.warning(
                "dns resolver %s: more than %d queries forwarded at once", ep.key, _MAX_INFLIGHT
            )
            self._reply(ep, conn, addr, w.build_reply(query, w.SERVFAIL))
            return
        self._inflight += 1
        if conn is not None:
            conn.pending += 1
        fut = self._pool.submit(self._forward, ep.key, query, data, conn is not None)
        fut.add_done_callback(lambda f: self._forwarded(ep, conn, addr, query, f))

    def _answer(self, key: str, query: w.Query, max_size: int) -> bytes | None:
        """berth's own reply to the query, or None to forward it."""
        q = query.questions[0]
        if q.qclass not in (w.CLASS_IN, w.CLASS_ANY):
            return None
        if q.qtype in (w.TYPE_A, w.TYPE_AAAA):
            addresses = self._lookup(key, q.name, q.qtype)
            if addresses is None:
                return None
            family = socket.AF_INET if q.qtype == w.TYPE_A else socket.AF_INET6
            records = []
            for a in random.sample(addresses, len(addresses)):  # round robin, as Docker
                try:
                    records.append(w.Record(q.qtype, socket.inet_pton(family, a)))
                except OSError:
                    log.warning("dns resolver %s: %r is not an address for %s", key, a, q.name)
            return w.build_reply(query, w.NOERROR, records, max_size=max_size)
        if q.qtype == w.TYPE_PTR:
            address = w.reverse_address(q.name)
            host = self._reverse(key, address) if address is not None else None
            if host is None:
                return None
            return w.build_reply(
                query, w.NOERROR, [w.Record(w.TYPE_PTR, w.encode_name(host))], max_size=max_size
            )
        return None

    def _forward(self, key: str, query: w.Query, data: bytes, tcp: bool) -> bytes:
        """The first usable upstream reply, with the client's id; w.SERVFAIL when none."""
        try:
            servers = list(self._upstreams(key))
        except Exception:
            log.exception("dns resolver %s: listing upstream servers failed", key)
            servers = []
        message = w.with_id(data, random.getrandbits(16))
        for spec in servers:
            try:
                addr = _upstream_address(spec)
            except ValueError:
                log.warning("dns resolver %s: bad upstream server %r", key, spec)
                continue
            if addr == (ADDRESS, PORT):
                continue
            try:
                if tcp:
                    reply = _exchange_tcp(message, addr, self._timeout)
                else:
                    reply = _exchange_udp(message, addr, self._timeout)
            except (OSError, struct.error) as exc:
                log.debug("dns resolver %s: upstream %s: %s", key, spec, exc)
                continue
            if len(reply) < w.HEADER.size or reply[:2] != message[:2]:
                continue
            if reply[3] & 0xF in (w.SERVFAIL, w.REFUSED):  # as Docker: try the next one
                continue
            return w.with_id(reply, query.id)
        return w.build_reply(query, w.SERVFAIL)

    def _forwarded(
        self,
        ep: _Endpoint,
        conn: _Conn | None,
        addr: _Addr,
        query: w.Query,
        fut: concurrent.futures.Future[bytes],
    ) -> None:
        """On a forwarding thread: hand the reply to the serving thread."""
        if fut.cancelled():
            reply = w.build_reply(query, w.SERVFAIL)
        else:
            exc = fut.exception()
            if exc is not None:
                log.error("dns resolver %s: forwarding failed: %s", ep.key, exc)
            reply = w.build_reply(query, w.SERVFAIL) if exc is not None else fut.result()
        self._replies.put((ep, conn, addr, reply))
        self._wake()

    def _send_replies(self) -> None:
        while True:
            try:
                ep, conn, addr, reply = self._replies.get_nowait()
            except queue.Empty:
                return
            self._inflight -= 1
            if conn is not None:
                conn.pending -= 1
            self._reply(ep, conn, addr, reply)

    def _reply(self, ep: _Endpoint, conn: _Conn | None, addr: _Addr, reply: bytes) -> None:
        if ep.closed:
            return
        if conn is None:
            assert addr is not None
            try:
                ep.udp.sendto(reply, addr)
            except OSError as exc:
                log.debug("dns resolver %s: udp send to %s: %s", ep.key, addr, exc)
            return
        if conn.closed:
            return
        conn.outbuf += struct.pack("!H", len(reply)) + reply
        self._flush_conn(ep, conn)

    def _flush_conn(self, ep: _Endpoint, conn: _Conn) -> None:
        try:
            sent = conn.sock.send(conn.outbuf)
        except (BlockingIOError, InterruptedError):
            sent = 0
        except OSError:
            self._close_conn(ep, conn)
            return
        del conn.outbuf[:sent]
        conn.last = time.monotonic()
        events = selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.outbuf else 0)
        self._sel.modify(conn.sock, events, (ep, conn))

    def _sweep(self) -> None:
        """Close TCP connections idle for a while (nothing pending, nothing to send)."""
        now = time.monotonic()
        for ep in list(self._endpoints.values()):
            for conn in list(ep.conns):
                if not conn.pending and not conn.outbuf and now - conn.last > _TCP_IDLE:
                    self._close_conn(ep, conn)
