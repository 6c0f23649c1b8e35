"""fetch(): a real HTTP server on 127.0.0.1 serving invented fixture works, and a guard that blocks everything else.

The network guard (autouse) lets sockets connect only to loopback and answers DNS only for names a test
declares, so a refusal the fetcher fails to make shows up as a guard hit instead of traffic.
"""

from __future__ import annotations

import functools
import gzip
import ipaddress
import itertools
import socket
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fpdf import FPDF
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from citeqa.ingest import fetch as fetch_mod
from citeqa.ingest.extract import extract
from citeqa.ingest.fetch import DEFAULT_USER_AGENT, FetchPolicy, HostThrottle, RobotsCache, address_category, fetch

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "sources"
FONT = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"
LOOPBACK = {"127.0.0.1", "::1"}
ARCHIVED_PAGE = (
    "<!DOCTYPE html><html><head><title>Archived: Foundry Tax Credit Tracker</title></head><body><article>"
    "<h1>Foundry Tax Credit Tracker</h1><p>As of October 2023 the invented tracker listed 57 foundries that had "
    "claimed the reshoring credit, together worth 2.1 billion dollars.</p></article></body></html>"
)


def fixture_bytes(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@functools.cache  # fpdf2 subsets the CJK font: build each PDF once
def make_pdf() -> bytes:
    pdf = FPDF()
    pdf.add_font("wqy", fname=FONT)
    pdf.set_font("wqy", size=12)
    for text in (
        "第一页：虚构的研究所统计，新建工厂投资达到四百二十亿美元。",
        "第二页：回流企业的用工缺口约为一万两千人。",
    ):
        pdf.add_page()
        pdf.set_x(pdf.l_margin)
        pdf.multi_cell(0, 8, text)
    return bytes(pdf.output())


# --------------------------------------------------------------------------- fixtures


@dataclass
class Guard:
    attempts: list[Any] = field(default_factory=list)  # connections the guard blocked
    dns: dict[str, list[str]] = field(default_factory=dict)  # name -> answers (the last one repeats)


@pytest.fixture(autouse=True)
def network_guard(monkeypatch: pytest.MonkeyPatch) -> Guard:
    guard = Guard()
    real_connect = socket.socket.connect
    real_connect_ex = socket.socket.connect_ex
    real_getaddrinfo = socket.getaddrinfo

    def allowed(address: Any) -> bool:
        return isinstance(address, tuple) and address[0] in LOOPBACK

    def connect(sock: socket.socket, address: Any) -> None:
        if not allowed(address):
            guard.attempts.append(address)
            raise OSError(f"test guard: connection to {address!r} blocked")
        return real_connect(sock, address)

    def connect_ex(sock: socket.socket, address: Any) -> int:
        if not allowed(address):
            guard.attempts.append(address)
            return 111
        return real_connect_ex(sock, address)

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if name in guard.dns:
            answers = guard.dns[name]
            ip = answers.pop(0) if len(answers) > 1 else answers[0]
            if ":" in ip:
                return [(socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, port, 0, 0))]
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, port))]
        try:
            ipaddress.ip_address(name)
        except ValueError:
            if name != "localhost":
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known (test guard: no DNS)") from None
        return real_getaddrinfo(host, port, *args, **kwargs)

    monkeypatch.setattr(socket.socket, "connect", connect)
    monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)
    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return guard


@pytest.fixture(scope="module")
def server_instance() -> Any:
    server = HTTPServer(host="127.0.0.1", port=0, threaded=True)  # threaded: a slow handler must not block others
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def server(server_instance: HTTPServer) -> HTTPServer:
    server_instance.clear()
    server_instance.no_handler_status_code = 404  # like a real site: no robots.txt is a 404
    return server_instance


def policy_for(server: HTTPServer, **overrides: Any) -> FetchPolicy:
    settings: dict[str, Any] = {
        "allow_private_hosts": True,  # the test server is on 127.0.0.1
        "per_host_delay_s": 0.0,
        "backoff_s": 0.01,
        "connect_timeout_s": 2.0,
        "read_timeout_s": 2.0,
        "total_deadline_s": 5.0,
        "archive_url": server.url_for("/").rstrip("/"),  # never the real archive
    }
    settings.update(overrides)
    return FetchPolicy(**settings)


def get(server: HTTPServer, path_or_url: str, **overrides: Any) -> fetch_mod.FetchResult:
    url = server.url_for(path_or_url) if path_or_url.startswith("/") else path_or_url
    return fetch(url, policy_for(server, **overrides), throttle=HostThrottle(), robots=RobotsCache())


def paths(server: HTTPServer) -> list[str]:
    return [request.path for request, _ in server.log]


# --------------------------------------------------------------------------- documents


def test_english_page(server: HTTPServer) -> None:
    body = fixture_bytes("factory_jobs.html")
    server.expect_request("/doc/outlook.html").respond_with_data(body, content_type="text/html; charset=utf-8")
    result = get(server, "/doc/outlook.html")
    assert result.ok and result.reason == ""
    assert (result.via, result.status, result.body) == ("live", 200, body)
    assert result.content_type == "text/html; charset=utf-8"
    assert result.final_url == result.url == server.url_for("/doc/outlook.html")
    assert datetime.fromisoformat(result.fetched_at).tzinfo is not None
    request = next(r for r, _ in server.log if r.path == "/doc/outlook.html")
    assert request.headers["User-Agent"] == DEFAULT_USER_AGENT
    assert extract(result.body, result.content_type).title == "Ohio Valley Factory Jobs Outlook 2023"


def test_gbk_page_bytes_kept_and_decoded(server: HTTPServer) -> None:
    body = fixture_bytes("zh_gbk.html")
    server.expect_request("/zh/report.html").respond_with_data(body, content_type="text/html")
    result = get(server, "/zh/report.html")
    assert result.ok and result.body == body  # the original bytes, not a re-encoding
    extracted = extract(result.body, result.content_type, result.final_url)
    assert extracted.charset == "gb18030"
    assert any("镕铸厂" in s.text for s in extracted.segments)


def test_cjk_pdf(server: HTTPServer) -> None:
    server.expect_request("/papers/white.pdf").respond_with_data(make_pdf(), content_type="application/pdf")
    result = get(server, "/papers/white.pdf")
    assert result.ok and result.body.startswith(b"%PDF-")
    extracted = extract(result.body, result.content_type)
    assert [s.locator for s in extracted.segments] == ["p. 1", "p. 2"]
    assert "一万两千人" in extracted.segments[1].text


def test_page_whose_figure_contradicts_its_claim(server: HTTPServer) -> None:
    server.expect_request("/scorecard").respond_with_data(
        fixture_bytes("figure_contradiction.html"), content_type="text/html"
    )
    result = get(server, "/scorecard")
    segments = extract(result.body, result.content_type).segments
    claim = next(s for s in segments if "rose by 12 percent" in s.text)
    figure = next(s for s in segments if "fell from 25,000" in s.text)
    assert claim.locator != figure.locator and "figure" in figure.locator


def test_wrong_content_type_still_extracts(server: HTTPServer) -> None:
    server.expect_request("/download").respond_with_data(make_pdf(), content_type="text/html; charset=utf-8")
    result = get(server, "/download")
    assert result.ok and result.content_type.startswith("text/html")
    extracted = extract(result.body, result.content_type)
    assert extracted.kind == "pdf" and "四百二十亿美元" in extracted.text


# --------------------------------------------------------------------------- dead links and the archive


def _serve_archive(server: HTTPServer, live_url: str) -> str:
    wayback = server.url_for(f"/web/20231101000000/{live_url}")
    server.expect_request(
        "/wayback/available", query_string={"url": live_url, "timestamp": "20231101"}
    ).respond_with_json(
        {"archived_snapshots": {"closest": {"available": True, "url": wayback, "timestamp": "20231101000000"}}}
    )
    raw = f"/web/20231101000000id_/{live_url}"  # the fetcher asks for the original bytes, not the toolbar page
    server.expect_request(raw).respond_with_data(ARCHIVED_PAGE, content_type="text/html; charset=utf-8")
    return server.url_for(raw)


@pytest.mark.parametrize(("status", "phrase"), [(404, "NOT FOUND"), (410, "GONE")])
def test_dead_link_served_from_archive(server: HTTPServer, status: int, phrase: str) -> None:
    live_url = server.url_for("/tracker")
    server.expect_request("/tracker").respond_with_data("gone", status=status)
    snapshot = _serve_archive(server, live_url)
    result = get(server, live_url)
    assert result.ok and result.via == "archive"
    assert result.final_url == snapshot
    assert (result.status, result.live_status) == (200, status)
    assert result.live_reason.upper() == f"HTTP {status} {phrase}"
    assert result.archive_timestamp == "20231101000000"
    assert "57 foundries" in extract(result.body, result.content_type).text


def test_dns_failure_served_from_archive(server: HTTPServer, network_guard: Guard) -> None:
    live_url = "http://vanished-institute.invalid/tracker"
    _serve_archive(server, live_url)
    result = get(server, live_url)
    assert result.ok and result.via == "archive"
    assert "DNS lookup failed for vanished-institute.invalid" in result.live_reason
    assert network_guard.attempts == []


def test_dead_link_without_archived_copy(server: HTTPServer) -> None:
    server.expect_request("/tracker").respond_with_data("gone", status=404)
    server.expect_request("/wayback/available").respond_with_json({"archived_snapshots": {}})
    result = get(server, "/tracker")
    assert not result.ok and result.status == 404 and result.body == b""
    assert result.reason.upper().startswith("HTTP 404 NOT FOUND; NO ARCHIVED COPY AT HTTP://127.0.0.1")


def test_forbidden_is_not_a_dead_link(server: HTTPServer) -> None:
    server.expect_request("/members").respond_with_data("no", status=403)
    result = get(server, "/members")
    assert not result.ok and result.status == 403 and result.reason.startswith("HTTP 403")
    assert "/wayback/available" not in paths(server)


def test_wayback_snapshot_url_asks_for_raw_bytes_over_https() -> None:
    run = fetch_mod._Run(FetchPolicy(), None, HostThrottle(), RobotsCache())  # type: ignore[arg-type]
    raw = run.raw_snapshot_url("http://web.archive.org/web/20231101000000/https://example.org/a?b=1")
    assert raw == "https://web.archive.org/web/20231101000000id_/https://example.org/a?b=1"
    assert run.raw_snapshot_url("https://mirror.example/web/2023/x") == "https://mirror.example/web/2023/x"


# --------------------------------------------------------------------------- retries, timeouts, deadline


def test_500_then_200(server: HTTPServer) -> None:
    calls: list[float] = []

    def flaky(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("try later", status=500)
        return Response("<html><body><p>Recovered page about invented lathe orders.</p></body></html>", 200)

    server.expect_request("/flaky").respond_with_handler(flaky)
    result = get(server, "/flaky")
    assert result.ok and result.status == 200 and b"invented lathe orders" in result.body
    assert len(calls) == 2


def test_persistent_500_gives_up_after_retries(server: HTTPServer) -> None:
    server.expect_request("/broken").respond_with_data("down", status=500)
    result = get(server, "/broken", retries=2)
    assert not result.ok and result.status == 500
    assert result.reason.startswith("HTTP 500") and result.reason.endswith("(after 3 attempts)")
    assert paths(server).count("/broken") == 3


def test_slow_endpoint_times_out_in_bounded_time(server: HTTPServer) -> None:
    def slow(request: Request) -> Response:
        time.sleep(1.5)
        return Response("too late", 200)

    server.expect_request("/slow").respond_with_handler(slow)
    started = time.monotonic()
    result = get(server, "/slow", read_timeout_s=0.2, retries=1, total_deadline_s=1.0)
    elapsed = time.monotonic() - started
    assert not result.ok and "timed out (read)" in result.reason
    assert elapsed < 1.2


def test_total_deadline_caps_retries(server: HTTPServer) -> None:
    def sluggish_503(request: Request) -> Response:
        time.sleep(0.3)
        return Response("busy", status=503)

    server.expect_request("/sluggish").respond_with_handler(sluggish_503)
    started = time.monotonic()
    result = get(server, "/sluggish", retries=10, total_deadline_s=0.5)
    assert not result.ok and "deadline" in result.reason
    assert time.monotonic() - started < 1.0
    assert paths(server).count("/sluggish") <= 2


def test_429_retry_after_is_honoured(server: HTTPServer) -> None:
    calls: list[float] = []

    def limited(request: Request) -> Response:
        calls.append(time.monotonic())
        if len(calls) == 1:
            return Response("slow down", status=429, headers={"Retry-After": "1"})
        return Response("ok", 200)

    server.expect_request("/limited").respond_with_handler(limited)
    result = get(server, "/limited")
    assert result.ok and result.body == b"ok"
    assert len(calls) == 2 and calls[1] - calls[0] >= 0.95


def test_retry_after_is_capped(server: HTTPServer) -> None:
    calls: list[float] = []

    def limited(request: Request) -> Response:
        calls.append(time.monotonic())
        return Response("slow down", 429, {"Retry-After": "3600"}) if len(calls) == 1 else Response("ok", 200)

    server.expect_request("/limited").respond_with_handler(limited)
    started = time.monotonic()
    result = get(server, "/limited", max_retry_after_s=0.05)
    assert result.ok and time.monotonic() - started < 1.0


# --------------------------------------------------------------------------- size caps


def test_oversize_content_length_refused_unread(server: HTTPServer) -> None:
    server.expect_request("/huge").respond_with_data(b"x" * 200_000, content_type="text/plain")
    result = get(server, "/huge", max_bytes=100_000)
    assert not result.ok and result.body == b""
    assert result.reason == "body larger than 0.1 MB (Content-Length 200,000 bytes)"


def test_oversize_stream_without_length_stops(server: HTTPServer) -> None:
    def endless(request: Request) -> Response:
        return Response((b"y" * 10_000 for _ in range(100)), 200, content_type="text/plain")

    server.expect_request("/stream").respond_with_handler(endless)
    result = get(server, "/stream", max_bytes=50_000)
    assert not result.ok and result.reason == "body larger than 0.05 MB (stopped reading)"


def test_gzip_body_is_decoded(server: HTTPServer) -> None:
    page = fixture_bytes("factory_jobs.html")
    server.expect_request("/gz").respond_with_data(
        gzip.compress(page), headers={"Content-Encoding": "gzip"}, content_type="text/html; charset=utf-8"
    )
    result = get(server, "/gz")
    assert result.ok and result.body == page


def test_gzip_bomb_stops_at_the_cap(server: HTTPServer) -> None:
    bomb = gzip.compress(b"\0" * 20_000_000, compresslevel=9)
    assert len(bomb) < 100_000  # small on the wire: only the decoded size can catch it
    server.expect_request("/bomb").respond_with_data(bomb, headers={"Content-Encoding": "gzip"})
    result = get(server, "/bomb", max_bytes=1_000_000)
    assert not result.ok and result.reason == "body larger than 1 MB (after decompression)"


# --------------------------------------------------------------------------- redirects and hosts


def test_redirect_followed(server: HTTPServer) -> None:
    server.expect_request("/old").respond_with_data("", status=301, headers={"Location": "/new"})
    server.expect_request("/new").respond_with_data("moved here", content_type="text/plain")
    result = get(server, "/old")
    assert result.ok and result.body == b"moved here"
    assert result.final_url == server.url_for("/new") and result.redirects == [server.url_for("/new")]


def test_redirect_loop(server: HTTPServer) -> None:
    server.expect_request("/loop/a").respond_with_data("", status=302, headers={"Location": "/loop/b"})
    server.expect_request("/loop/b").respond_with_data("", status=302, headers={"Location": "/loop/a"})
    result = get(server, "/loop/a")
    assert not result.ok and result.reason.startswith("redirect loop:")
    assert paths(server).count("/loop/a") == 1


def test_too_many_redirects(server: HTTPServer) -> None:
    def hop(request: Request) -> Response:
        n = int(request.path.rsplit("/", 1)[1])
        return Response("", 302, {"Location": f"/hop/{n + 1}"})

    for n in range(10):
        server.expect_request(f"/hop/{n}").respond_with_handler(hop)
    result = get(server, "/hop/0", max_redirects=3)
    assert not result.ok and result.reason == "too many redirects (more than 3)"
    assert [p for p in paths(server) if p.startswith("/hop/")] == ["/hop/0", "/hop/1", "/hop/2", "/hop/3"]


def test_redirect_to_file_scheme_refused(server: HTTPServer) -> None:
    server.expect_request("/to-file").respond_with_data("", status=302, headers={"Location": "file:///etc/passwd"})
    result = get(server, "/to-file")
    assert not result.ok
    assert result.reason == "redirect to unsupported scheme 'file' refused (file:///etc/passwd)"


def test_redirect_to_cloud_metadata_refused_before_connecting(server: HTTPServer, network_guard: Guard) -> None:
    target = "http://169.254.169.254/latest/meta-data/"
    server.expect_request("/to-metadata").respond_with_data("", status=302, headers={"Location": target})
    result = get(server, "/to-metadata")  # allow_private_hosts=True: link-local is refused anyway
    assert not result.ok and "link-local address (169.254.169.254)" in result.reason
    assert network_guard.attempts == []


def test_loopback_refused_when_private_hosts_are_off(server: HTTPServer) -> None:
    server.expect_request("/doc").respond_with_data("secret intranet page")
    result = get(server, "/doc", allow_private_hosts=False)
    assert not result.ok
    assert "loopback address (127.0.0.1) and private hosts are not allowed" in result.reason
    assert server.log == []  # not even robots.txt was asked for


def test_name_resolving_to_private_address_refused(server: HTTPServer, network_guard: Guard) -> None:
    network_guard.dns["intranet.example"] = ["10.1.2.3"]
    result = get(server, "http://intranet.example/wiki", allow_private_hosts=False)
    assert not result.ok and "private address (10.1.2.3)" in result.reason
    assert network_guard.attempts == []


def test_dns_rebinding_caught_at_connect_time(server: HTTPServer, network_guard: Guard) -> None:
    # first answer (the pre-request check) looks public, the next (the connection) is the metadata service
    network_guard.dns["rebind.example"] = ["93.184.216.34", "169.254.169.254"]
    result = get(server, "http://rebind.example/x", allow_private_hosts=False, respect_robots=False)
    assert not result.ok and "link-local address (169.254.169.254)" in result.reason
    assert network_guard.dns["rebind.example"] == ["169.254.169.254"]  # the pre-check did consume an answer
    assert network_guard.attempts == []


@pytest.mark.parametrize("url", ["ftp://files.example/report.pdf", "file:///etc/passwd", "javascript:alert(1)"])
def test_non_http_schemes_refused(server: HTTPServer, url: str) -> None:
    result = get(server, url)
    assert not result.ok and result.reason.startswith("unsupported URL scheme")
    assert server.log == []


def test_malformed_url_and_programming_errors(server: HTTPServer) -> None:
    assert get(server, "http://[::1/x").reason.startswith("malformed URL")
    with pytest.raises(ValueError):
        fetch(None, FetchPolicy())  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        FetchPolicy(max_bytes=0)


@pytest.mark.parametrize(
    ("address", "category"),
    [
        ("127.0.0.1", "loopback"),
        ("10.0.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),
        ("::ffff:169.254.169.254", "link-local"),
        ("2002:a9fe:a9fe::1", "link-local"),
        ("fe80::1", "link-local"),
        ("224.0.0.1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::1", "loopback"),
        ("fd00:ec2::254", "private"),
        ("8.8.8.8", None),
        ("2606:4700::1111", None),
    ],
)
def test_address_category(address: str, category: str | None) -> None:
    assert address_category(ipaddress.ip_address(address)) == category


# --------------------------------------------------------------------------- politeness


def test_robots_txt_disallow(server: HTTPServer) -> None:
    robots = "User-agent: citeqa\nDisallow: /private/\n\nUser-agent: *\nDisallow: /\n"
    server.expect_request("/robots.txt").respond_with_data(robots, content_type="text/plain")
    server.expect_request("/private/memo.html").respond_with_data("internal memo")
    server.expect_request("/public/page.html").respond_with_data("public page")
    policy = policy_for(server)
    cache, throttle = RobotsCache(), HostThrottle()
    blocked = fetch(server.url_for("/private/memo.html"), policy, throttle=throttle, robots=cache)
    allowed = fetch(server.url_for("/public/page.html"), policy, throttle=throttle, robots=cache)
    assert not blocked.ok and blocked.reason.startswith("disallowed by robots.txt")
    assert allowed.ok and allowed.body == b"public page"
    assert paths(server) == ["/robots.txt", "/public/page.html"]  # robots.txt cached; the memo never asked for
    ignoring = get(server, "/private/memo.html", respect_robots=False)
    assert ignoring.ok and ignoring.body == b"internal memo"


def test_robots_txt_server_error_means_disallowed(server: HTTPServer) -> None:
    server.expect_request("/robots.txt").respond_with_data("oops", status=503)
    server.expect_request("/page").respond_with_data("page")
    result = get(server, "/page", retries=0)
    assert not result.ok and "robots.txt" in result.reason and "unavailable" in result.reason
    assert "/page" not in paths(server)


def test_per_host_delay_between_requests(server: HTTPServer) -> None:
    seen: list[float] = []

    def record(request: Request) -> Response:
        seen.append(time.monotonic())
        return Response("ok", 200)

    server.expect_request("/robots.txt").respond_with_handler(lambda r: (record(r), Response("", 404))[1])
    server.expect_request("/a").respond_with_handler(record)
    server.expect_request("/b").respond_with_handler(record)
    policy = policy_for(server, per_host_delay_s=0.25)
    cache, throttle = RobotsCache(), HostThrottle()
    assert fetch(server.url_for("/a"), policy, throttle=throttle, robots=cache).ok
    assert fetch(server.url_for("/b"), policy, throttle=throttle, robots=cache).ok
    assert paths(server) == ["/robots.txt", "/a", "/b"]
    gaps = [later - earlier for earlier, later in itertools.pairwise(seen)]
    assert len(gaps) == 2 and min(gaps) >= 0.24


def test_one_request_at_a_time_per_host(server: HTTPServer) -> None:
    lock = threading.Lock()
    state = {"now": 0, "max": 0}

    def tracked(request: Request) -> Response:
        with lock:
            state["now"] += 1
            state["max"] = max(state["max"], state["now"])
        time.sleep(0.15)
        with lock:
            state["now"] -= 1
        return Response("ok", 200)

    server.expect_request("/busy").respond_with_handler(tracked)
    policy = policy_for(server, respect_robots=False)
    throttle = HostThrottle()
    results: list[bool] = []
    threads = [
        threading.Thread(target=lambda: results.append(fetch(server.url_for("/busy"), policy, throttle=throttle).ok))
        for _ in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=5)
    assert results == [True, True, True]
    assert state["max"] == 1 and paths(server).count("/busy") == 3
