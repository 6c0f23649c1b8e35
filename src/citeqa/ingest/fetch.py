"""A polite, safe fetcher for untrusted URLs (they come from a document's footnotes).

Safety: http/https only, every redirect hop re-checked, hosts resolved and refused when they point inside the
network (before any connection), bodies capped after decompression, one deadline per URL.
Politeness: robots.txt, one request at a time per host with a pause between requests, bounded retries.
Dead links (404/410/DNS failure) fall back to the Internet Archive's copy nearest the paper's date.

`fetch()` never raises for network trouble: it returns a `FetchResult` with `ok=False` and a one-line `reason`.
"""

from __future__ import annotations

import ipaddress
import json
import re
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Literal
from urllib.parse import urlencode
from urllib.robotparser import RobotFileParser

import httpcore
import httpx

DEFAULT_USER_AGENT = "citeqa/0.2 (+citation checker; polite fetcher)"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
DEAD_STATUSES = frozenset({404, 410})
ROBOTS_MAX_BYTES = 512_000  # RFC 9309 asks crawlers to parse at least 500 KiB
ARCHIVE_API_MAX_BYTES = 1_000_000
# Categories refused even with allow_private_hosts: 169.254.169.254 is the cloud metadata service, and nothing a
# footnote cites lives on a link-local or multicast address.
ALWAYS_REFUSED = frozenset({"link-local", "multicast"})
# Messages raised inside the transport are tagged so fetch() can tell a refusal from a network error.
_REFUSED_TAG = "citeqa-refused: "
_DNS_TAG = "citeqa-dns: "

Via = Literal["live", "archive"]
FailureKind = Literal["refused", "dead", "network", "http", "size", "redirect", "deadline", "robots", "content"]


@dataclass(frozen=True)
class FetchPolicy:
    """How hard and how politely to fetch. Defaults suit real sites; tests shrink the delays."""

    user_agent: str = DEFAULT_USER_AGENT
    connect_timeout_s: float = 5.0
    read_timeout_s: float = 20.0
    max_bytes: int = 25_000_000
    max_redirects: int = 5
    retries: int = 2
    backoff_s: float = 0.5
    max_retry_after_s: float = 60.0
    per_host_delay_s: float = 1.0
    max_crawl_delay_s: float = 30.0
    respect_robots: bool = True
    allow_private_hosts: bool = False
    archive_fallback: bool = True
    archive_url: str = "https://web.archive.org"
    archive_timestamp: str = "20231101"  # the paper's date: prefer the copy its author could have read
    total_deadline_s: float = 60.0

    def __post_init__(self) -> None:
        # A bad policy is a programming error, not a property of some URL: fail loudly.
        for name in ("connect_timeout_s", "read_timeout_s", "total_deadline_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"FetchPolicy.{name} must be > 0")
        for name in ("max_redirects", "retries", "backoff_s", "max_retry_after_s", "per_host_delay_s"):
            if getattr(self, name) < 0:
                raise ValueError(f"FetchPolicy.{name} must be >= 0")
        if self.max_bytes <= 0:
            raise ValueError("FetchPolicy.max_bytes must be > 0")
        if not re.fullmatch(r"\d{1,14}", self.archive_timestamp):
            raise ValueError("FetchPolicy.archive_timestamp must be 1-14 digits (YYYYMMDDhhmmss prefix)")


@dataclass
class FetchResult:
    """What one fetch produced. On failure ok=False, body is empty and `reason` says why in one line."""

    url: str
    final_url: str = ""
    via: Via = "live"
    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    fetched_at: str = ""
    ok: bool = True
    reason: str = ""
    redirects: list[str] = field(default_factory=list)
    live_status: int | None = None  # when via="archive": what the live URL answered
    live_reason: str = ""
    archive_timestamp: str = ""


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class _Failure(Exception):
    def __init__(self, reason: str, kind: FailureKind, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.kind = kind
        self.status = status


class _Retryable(Exception):
    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


# --------------------------------------------------------------------------- host checks


IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def address_category(ip: IPAddress) -> str | None:
    """Why an address is not a public internet host ("loopback", "link-local", ...), or None when it is."""
    if isinstance(ip, ipaddress.IPv6Address):
        # ::ffff:169.254.169.254 and 2002:a9fe:a9fe:: reach IPv4 hosts: judge the embedded address
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is not None:
            return address_category(embedded)
    # order matters: ipaddress calls 169.254/16 "private" too, but link-local must win (it is always refused)
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast:
        return "multicast"
    if ip.is_unspecified:
        return "unspecified"
    if ip.is_loopback:
        return "loopback"
    if ip.is_private:
        return "private"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "non-public"
    return None


class HostRefused(Exception):
    """The host resolves to an address that may not be contacted (loopback, private, link-local, ...)."""


class HostUnresolvable(Exception):
    """DNS has no address for the host (a dead link, as far as fetch() is concerned)."""


def resolve_checked(host: str, port: int, *, allow_private_hosts: bool = False) -> list[str]:
    """Resolve `host` and return its addresses, or raise if any of them may not be contacted.

    Every address must pass: a name resolving to one public and one private address is refused, since the
    connection could go to either.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise HostUnresolvable(f"DNS lookup failed for {host} ({exc})") from None
    addresses: list[str] = []
    for info in infos:
        raw = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        ip = ipaddress.ip_address(raw)
        category = address_category(ip)
        if category in ALWAYS_REFUSED:
            raise HostRefused(f"refused {host}: it resolves to a {category} address ({ip}), which is never fetched")
        if category is not None and not allow_private_hosts:
            raise HostRefused(
                f"refused {host}: it resolves to a {category} address ({ip}) and private hosts are not allowed"
            )
        if raw not in addresses:
            addresses.append(raw)
    if not addresses:
        raise HostUnresolvable(f"DNS lookup failed for {host} (no addresses)")
    return addresses


class _GuardedBackend(httpcore.SyncBackend):
    """Re-checks the host at connect time and connects to the address it checked.

    fetch() checks each hop's host before any request, but DNS can answer differently a moment later (DNS
    rebinding: public address for the check, 127.0.0.1 for the connection). Resolving here and connecting to
    the checked IP closes that gap for clients made by `make_client`; a caller-supplied client only gets the
    pre-request check. TLS still verifies the certificate against the hostname (httpcore passes the origin
    host as server_hostname, not the address we connect to).
    """

    def __init__(self, allow_private_hosts: bool) -> None:
        self._allow_private = allow_private_hosts

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.NetworkStream:
        try:
            addresses = resolve_checked(host, port, allow_private_hosts=self._allow_private)
        except HostRefused as exc:
            raise httpcore.ConnectError(_REFUSED_TAG + str(exc)) from None
        except HostUnresolvable as exc:
            raise httpcore.ConnectError(_DNS_TAG + str(exc)) from None
        last: Exception | None = None
        for address in addresses:
            try:
                return super().connect_tcp(address, port, timeout, local_address, socket_options)  # type: ignore[arg-type]
            except httpcore.ConnectError as exc:  # try the next address, like socket.create_connection
                last = exc
        assert last is not None
        raise last


def make_client(policy: FetchPolicy) -> httpx.Client:
    """An httpx client that never follows redirects itself, ignores proxy env vars and guards each connection."""
    # trust_env=False: an HTTP(S)_PROXY variable would send every request to the proxy, bypassing the host check
    transport = httpx.HTTPTransport(trust_env=False)
    pool = getattr(transport, "_pool", None)
    if isinstance(pool, httpcore.ConnectionPool) and hasattr(pool, "_network_backend"):
        # httpx has no public hook for the network backend; test_fetch's rebinding test fails if this stops working
        pool._network_backend = _GuardedBackend(policy.allow_private_hosts)
    return httpx.Client(
        transport=transport,
        follow_redirects=False,
        trust_env=False,
        headers={"User-Agent": policy.user_agent},
    )


# --------------------------------------------------------------------------- politeness


class HostThrottle:
    """One request at a time per host, and at least `delay_s` between the end of one and the start of the next."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[str, threading.Lock] = {}
        self._last: dict[str, float] = {}

    @contextmanager
    def slot(self, host: str, delay_s: float, timeout_s: float | None = None) -> Iterator[None]:
        """Hold the host for one request; raises TimeoutError when the wait would exceed `timeout_s`."""
        with self._guard:
            lock = self._locks.setdefault(host, threading.Lock())
        if not lock.acquire(timeout=-1 if timeout_s is None else max(timeout_s, 0.0)):
            raise TimeoutError(f"waited too long for another request to {host}")
        try:
            started = time.monotonic()
            wait = self._last.get(host, float("-inf")) + delay_s - started
            if wait > 0:
                if timeout_s is not None and wait > timeout_s - (time.monotonic() - started):
                    raise TimeoutError(f"the per-host delay for {host} would pass the deadline")
                time.sleep(wait)
            yield
        finally:
            self._last[host] = time.monotonic()
            lock.release()


_ALLOW_ALL = "allow-all"


class RobotsCache:
    """Parsed robots.txt per origin (scheme://host:port), kept for the life of the object."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[str, RobotFileParser | str] = {}

    def get(self, origin: str) -> RobotFileParser | str | None:
        with self._lock:
            return self._entries.get(origin)

    def put(self, origin: str, entry: RobotFileParser | str) -> None:
        with self._lock:
            self._entries[origin] = entry

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


# Shared by default so separate fetch() calls in one process stay polite to the same host.
DEFAULT_THROTTLE = HostThrottle()
DEFAULT_ROBOTS = RobotsCache()


# --------------------------------------------------------------------------- body decoding


def _size_reason(max_bytes: int, detail: str) -> str:
    return f"body larger than {max_bytes / 1_000_000:.3g} MB ({detail})"


class _Decoder:
    """Content-Encoding decoder that never produces more than 64 KiB per step (a gzip bomb stays small)."""

    STEP = 65_536

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding.strip().lower()
        if self.encoding in ("", "identity"):
            self._z = None
        elif self.encoding in ("gzip", "x-gzip"):
            self._z = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self.encoding == "deflate":
            self._z = zlib.decompressobj()  # zlib-wrapped; feed() falls back to raw deflate, which some servers send
        else:
            raise _Failure(f"unsupported Content-Encoding '{self.encoding}'", "content")
        self._started = False

    def feed(self, data: bytes) -> Iterator[bytes]:
        if self._z is None:
            yield data
            return
        pending = data
        while pending:
            try:
                out = self._z.decompress(pending, self.STEP)
            except zlib.error as exc:
                if self.encoding == "deflate" and not self._started:
                    self._z = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._started = True
                    continue
                raise _Failure(f"corrupt {self.encoding} body ({exc})", "content") from None
            self._started = True
            if out:
                yield out
            pending = self._z.unconsumed_tail
            if self._z.eof:
                break

    def flush(self) -> bytes:
        return self._z.flush() if self._z is not None else b""


def _retry_after_s(value: str | None) -> float | None:
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


# --------------------------------------------------------------------------- one fetch


@dataclass
class _Got:
    url: str
    status: int
    phrase: str = ""
    content_type: str = ""
    body: bytes = b""
    location: str = ""
    redirects: list[str] = field(default_factory=list)


_WAYBACK_SNAPSHOT_RE = re.compile(r"^(?P<prefix>/web/\d{1,14})(?P<mod>[a-z]{2}_)?/(?P<target>.+)$")


class _Run:
    """State for one fetch(): the deadline, the client, the shared throttle and robots cache."""

    def __init__(self, policy: FetchPolicy, client: httpx.Client, throttle: HostThrottle, robots: RobotsCache):
        self.policy = policy
        self.client = client
        self.throttle = throttle
        self.robots = robots
        self.deadline = time.monotonic() + policy.total_deadline_s

    # -- deadline

    def remaining(self) -> float:
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise _Failure(f"gave up: total deadline of {self.policy.total_deadline_s:g} s exceeded", "deadline")
        return left

    # -- the whole fetch, with the archive fallback

    def fetch(self, url: str) -> FetchResult:
        try:
            got = self.get(url, max_bytes=self.policy.max_bytes, check_robots=self.policy.respect_robots)
        except _Failure as failure:
            if failure.kind == "dead" and self.policy.archive_fallback:
                return self.from_archive(url, failure)
            return _failed(url, failure.reason, failure.status)
        if got.status in DEAD_STATUSES:
            dead = _Failure(f"HTTP {got.status} {got.phrase}".strip(), "dead", got.status)
            if self.policy.archive_fallback:
                return self.from_archive(url, dead)
            return _failed(url, dead.reason, got.status)
        if not 200 <= got.status < 300:
            return _failed(url, f"HTTP {got.status} {got.phrase}".strip(), got.status)
        return FetchResult(
            url=url,
            final_url=got.url,
            via="live",
            status=got.status,
            content_type=got.content_type,
            body=got.body,
            fetched_at=_now_iso(),
            redirects=got.redirects,
        )

    def from_archive(self, url: str, dead: _Failure) -> FetchResult:
        policy = self.policy
        api = f"{policy.archive_url.rstrip('/')}/wayback/available?" + urlencode(
            {"url": url, "timestamp": policy.archive_timestamp}
        )

        def give_up(why: str) -> FetchResult:
            return _failed(url, f"{dead.reason}; {why}", dead.status)

        try:
            # the availability endpoint is an API, not a crawl target: no robots.txt check for it
            lookup = self.get(api, max_bytes=ARCHIVE_API_MAX_BYTES, check_robots=False)
        except _Failure as exc:
            return give_up(f"archive lookup failed: {exc.reason}")
        if lookup.status != 200:
            return give_up(f"archive lookup failed: HTTP {lookup.status}")
        try:
            closest = json.loads(lookup.body.decode("utf-8"))["archived_snapshots"].get("closest") or {}
        except (ValueError, KeyError, TypeError, AttributeError):
            return give_up("archive lookup returned unreadable JSON")
        snapshot = closest.get("url") if isinstance(closest, dict) else None
        if not (closest.get("available") and isinstance(snapshot, str) and snapshot):
            return give_up(f"no archived copy at {policy.archive_url}")
        snapshot = self.raw_snapshot_url(snapshot)
        try:
            got = self.get(snapshot, max_bytes=policy.max_bytes, check_robots=policy.respect_robots)
        except _Failure as exc:
            return give_up(f"archived copy failed: {exc.reason}")
        if not 200 <= got.status < 300:
            return give_up(f"archived copy failed: HTTP {got.status}")
        return FetchResult(
            url=url,
            final_url=got.url,
            via="archive",
            status=got.status,
            content_type=got.content_type,
            body=got.body,
            fetched_at=_now_iso(),
            redirects=got.redirects,
            live_status=dead.status,
            live_reason=dead.reason,
            archive_timestamp=str(closest.get("timestamp", "")),
        )

    def raw_snapshot_url(self, snapshot: str) -> str:
        """Ask the archive for the original bytes (`id_`), not its toolbar-wrapped page with rewritten links."""
        archive = httpx.URL(self.policy.archive_url)
        try:
            parsed = httpx.URL(snapshot)
        except httpx.InvalidURL:
            return snapshot
        if parsed.host != archive.host:
            return snapshot
        match = _WAYBACK_SNAPSHOT_RE.match(parsed.raw_path.decode("ascii", "replace"))
        if match and not match.group("mod"):
            parsed = parsed.copy_with(raw_path=f"{match.group('prefix')}id_/{match.group('target')}".encode())
        if archive.scheme == "https" and parsed.scheme == "http":
            parsed = parsed.copy_with(scheme="https")  # the API reports http:// snapshot URLs; skip that redirect
        return str(parsed)

    # -- one URL, following redirects by hand

    def get(self, url: str, *, max_bytes: int, check_robots: bool) -> _Got:
        current = url.strip()
        seen: list[str] = []
        for _hop in range(self.policy.max_redirects + 1):
            parsed = _parse_url(current, redirected=bool(seen))
            if str(parsed) in seen:
                raise _Failure(f"redirect loop: {parsed} was visited twice", "redirect")
            seen.append(str(parsed))
            self.check_host(parsed)
            if check_robots:
                self.check_robots(parsed)
            got = self.send(parsed, max_bytes)
            if got.status not in REDIRECT_STATUSES:
                got.redirects = seen[1:]
                return got
            if not got.location:
                raise _Failure(f"HTTP {got.status} redirect without a Location header", "redirect", got.status)
            try:
                following = parsed.join(got.location)
            except httpx.InvalidURL:
                raise _Failure(f"redirect to a malformed URL {got.location!r}", "redirect", got.status) from None
            if following.scheme not in ("http", "https"):  # file://, ftp://, gopher:// ... never followed
                scheme = following.scheme or "(none)"
                raise _Failure(f"redirect to unsupported scheme '{scheme}' refused ({got.location})", "refused")
            current = str(following)
        raise _Failure(f"too many redirects (more than {self.policy.max_redirects})", "redirect")

    def check_host(self, url: httpx.URL) -> None:
        host = url.raw_host.decode("ascii")
        try:
            resolve_checked(host, url.port or _default_port(url), allow_private_hosts=self.policy.allow_private_hosts)
        except HostRefused as exc:
            raise _Failure(str(exc), "refused") from None
        except HostUnresolvable as exc:
            raise _Failure(str(exc), "dead") from None

    def check_robots(self, url: httpx.URL) -> None:
        origin = _origin(url)
        entry = self.robots.get(origin)
        if entry is None:
            entry = self.load_robots(origin)
        if isinstance(entry, RobotFileParser) and not entry.can_fetch(self.policy.user_agent, str(url)):
            raise _Failure(f"disallowed by robots.txt at {origin}/robots.txt", "robots")
        if entry == "disallow-all":
            raise _Failure(f"robots.txt at {origin} is unavailable (server error); not fetching", "robots")

    def load_robots(self, origin: str) -> RobotFileParser | str:
        try:
            got = self.get(origin + "/robots.txt", max_bytes=ROBOTS_MAX_BYTES, check_robots=False)
        except _Failure as exc:
            if exc.kind in ("size", "redirect", "content"):
                self.robots.put(origin, _ALLOW_ALL)  # RFC 9309: an unreadable robots.txt counts as absent
                return _ALLOW_ALL
            if exc.kind == "http" and (exc.status or 0) >= 500:
                return "disallow-all"  # RFC 9309: server error means "assume disallowed"; not cached, may recover
            raise  # the host is unreachable: the page would fail the same way (dead -> archive)
        if got.status >= 500:
            return "disallow-all"
        if not 200 <= got.status < 300:
            self.robots.put(origin, _ALLOW_ALL)  # 4xx: no robots.txt, everything allowed
            return _ALLOW_ALL
        parser = RobotFileParser(origin + "/robots.txt")
        parser.parse(got.body.decode("utf-8", "replace").splitlines())
        self.robots.put(origin, parser)
        return parser

    def host_delay(self, url: httpx.URL) -> float:
        delay = self.policy.per_host_delay_s
        entry = self.robots.get(_origin(url)) if self.policy.respect_robots else None
        if isinstance(entry, RobotFileParser):
            crawl_delay = entry.crawl_delay(self.policy.user_agent)
            if crawl_delay:
                delay = max(delay, min(float(crawl_delay), self.policy.max_crawl_delay_s))
        return delay

    # -- one request, with retries

    def send(self, url: httpx.URL, max_bytes: int) -> _Got:
        attempt = 0
        while True:
            left = self.remaining()
            try:
                with self.throttle.slot(url.host, self.host_delay(url), timeout_s=left):
                    return self.once(url, max_bytes)
            except TimeoutError:
                raise _Failure(
                    f"gave up: total deadline of {self.policy.total_deadline_s:g} s exceeded", "deadline"
                ) from None
            except _Retryable as exc:
                if attempt >= self.policy.retries:
                    kind: FailureKind = "http" if exc.status else "network"
                    tries = f" (after {attempt + 1} attempts)" if attempt else ""
                    raise _Failure(f"{exc.reason}{tries}", kind, exc.status) from None
                if exc.retry_after is not None:
                    wait = min(exc.retry_after, self.policy.max_retry_after_s)
                else:
                    wait = self.policy.backoff_s * 2**attempt
                if wait >= self.deadline - time.monotonic():
                    raise _Failure(
                        f"{exc.reason}; waiting {wait:g} s to retry would pass the deadline",
                        "http" if exc.status else "network",
                        exc.status,
                    ) from None
                time.sleep(wait)
                attempt += 1

    def once(self, url: httpx.URL, max_bytes: int) -> _Got:
        left = self.remaining()
        timeout = httpx.Timeout(
            connect=min(self.policy.connect_timeout_s, left),
            read=min(self.policy.read_timeout_s, left),
            write=min(self.policy.read_timeout_s, left),
            pool=min(self.policy.connect_timeout_s, left),
        )
        request = self.client.build_request(
            "GET",
            url,
            headers={
                "User-Agent": self.policy.user_agent,
                "Accept": "text/html,application/xhtml+xml,application/pdf;q=0.9,text/plain;q=0.8,*/*;q=0.5",
                "Accept-Encoding": "gzip, deflate",  # only what _Decoder can bound
            },
            timeout=timeout,
        )
        try:
            response = self.client.send(request, stream=True, follow_redirects=False)
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({_timeout_kind(exc)}) fetching {url}") from None
        except httpx.ConnectError as exc:
            message = str(exc)
            if message.startswith(_REFUSED_TAG):
                raise _Failure(message.removeprefix(_REFUSED_TAG), "refused") from None
            if message.startswith(_DNS_TAG):
                raise _Failure(message.removeprefix(_DNS_TAG), "dead") from None
            raise _Retryable(f"connection to {url.host} failed ({message or type(exc).__name__})") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"network error fetching {url} ({type(exc).__name__}: {exc})") from None
        try:
            status = response.status_code
            phrase = response.reason_phrase
            if status == 429 or status >= 500:
                raise _Retryable(
                    f"HTTP {status} {phrase}".strip(), status, _retry_after_s(response.headers.get("retry-after"))
                )
            if status in REDIRECT_STATUSES:
                return _Got(str(url), status, phrase, location=response.headers.get("location", ""))
            content_type = response.headers.get("content-type", "")
            if not 200 <= status < 300:
                return _Got(str(url), status, phrase, content_type)
            return _Got(str(url), status, phrase, content_type, self.read_body(response, max_bytes))
        finally:
            response.close()

    def read_body(self, response: httpx.Response, max_bytes: int) -> bytes:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise _Failure(_size_reason(max_bytes, f"Content-Length {int(declared):,} bytes"), "size")
        decoder = _Decoder(response.headers.get("content-encoding", ""))
        parts: list[bytes] = []
        total = 0
        try:
            for raw in response.iter_raw(chunk_size=16_384):
                for piece in decoder.feed(raw):
                    total += len(piece)
                    if total > max_bytes:
                        detail = (
                            "after decompression" if decoder.encoding not in ("", "identity") else "stopped reading"
                        )
                        raise _Failure(_size_reason(max_bytes, detail), "size")
                    parts.append(piece)
                self.remaining()  # a slow drip must not outlive the deadline
            tail = decoder.flush()
        except httpx.TimeoutException as exc:
            raise _Retryable(f"timed out ({_timeout_kind(exc)}) reading {response.url}") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"network error reading {response.url} ({type(exc).__name__})") from None
        if total + len(tail) > max_bytes:
            raise _Failure(_size_reason(max_bytes, "after decompression"), "size")
        parts.append(tail)
        return b"".join(parts)


def _timeout_kind(exc: httpx.TimeoutException) -> str:
    return {
        httpx.ConnectTimeout: "connect",
        httpx.ReadTimeout: "read",
        httpx.WriteTimeout: "write",
        httpx.PoolTimeout: "pool",
    }.get(type(exc), "timeout")


def _default_port(url: httpx.URL) -> int:
    return 443 if url.scheme == "https" else 80


def _origin(url: httpx.URL) -> str:
    return f"{url.scheme}://{url.netloc.decode('ascii')}"


def _parse_url(text: str, *, redirected: bool) -> httpx.URL:
    try:
        url = httpx.URL(text)
    except (httpx.InvalidURL, TypeError) as exc:
        raise _Failure(f"malformed URL {text!r} ({exc})", "redirect" if redirected else "content") from None
    if url.scheme not in ("http", "https"):
        scheme = url.scheme or "(none)"
        if redirected:
            raise _Failure(f"redirect to unsupported scheme '{scheme}' refused ({text})", "refused")
        raise _Failure(f"unsupported URL scheme '{scheme}' (only http and https)", "refused")
    if not url.host:
        raise _Failure(f"malformed URL {text!r} (no host)", "content")
    return url


def _failed(url: str, reason: str, status: int | None) -> FetchResult:
    return FetchResult(url=url, ok=False, reason=reason, status=status, fetched_at=_now_iso())


def fetch(
    url: str,
    policy: FetchPolicy | None = None,
    *,
    client: httpx.Client | None = None,
    throttle: HostThrottle | None = None,
    robots: RobotsCache | None = None,
) -> FetchResult:
    """Fetch one untrusted URL under `policy`; never raises for network problems (see FetchResult.reason).

    `client` lets a caller reuse connections (build it with `make_client` to keep the connect-time host guard);
    `throttle` and `robots` default to process-wide instances so separate calls stay polite to the same host.
    """
    if not isinstance(url, str):
        raise ValueError(f"url must be a str, not {type(url).__name__}")
    policy = policy or FetchPolicy()
    own_client = client is None
    http = make_client(policy) if client is None else client
    try:
        run = _Run(policy, http, throttle or DEFAULT_THROTTLE, robots or DEFAULT_ROBOTS)
        try:
            return run.fetch(url)
        except _Failure as exc:  # a deadline hit between steps
            return _failed(url, exc.reason, exc.status)
    finally:
        if own_client:
            http.close()


__all__ = [
    "ALWAYS_REFUSED",
    "DEFAULT_ROBOTS",
    "DEFAULT_THROTTLE",
    "DEFAULT_USER_AGENT",
    "FetchPolicy",
    "FetchResult",
    "HostRefused",
    "HostThrottle",
    "HostUnresolvable",
    "RobotsCache",
    "address_category",
    "fetch",
    "make_client",
    "resolve_checked",
]
