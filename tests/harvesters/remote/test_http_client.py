"""The harvesters' HTTP client against a loopback server: retries, Retry-After, secrecy."""

from __future__ import annotations

import logging
import ssl
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from loopback import App, Loopback, Reply, Request

from harvesters.http import (
    CredentialsRejectedError,
    DownloadTooLargeError,
    HttpPolicy,
    RemoteClient,
    RemoteSourceError,
    backoff_delay,
    retry_after_s,
    strip_userinfo,
)


class Echo(App):
    def handle(self, request: Request) -> Reply:
        if request.path == "/secret":
            return Reply.text("no", 401)
        if request.path == "/empty":
            return Reply(204)
        if request.path == "/html":
            return Reply.text("<html></html>", kind="text/html")
        return Reply.json({"path": request.path, "q": request.arg("q")})


@pytest.fixture
def server() -> Iterator[Loopback]:
    with Loopback(Echo()) as running:
        yield running


def client(url: str, sleeps: list[float], **policy: float) -> RemoteClient:
    fast = HttpPolicy(timeout_s=2.0, connect_timeout_s=1.0, **policy)  # type: ignore[arg-type]
    return RemoteClient(url, fast, sleep=sleeps.append, rng=lambda: 1.0, secrets=["hunter2"])


def test_retries_500_with_backoff_then_succeeds(server: Loopback) -> None:
    server.app.inject(None, r"/data(/.*)?", "status", times=2, status=503)
    sleeps: list[float] = []
    with client(server.url, sleeps) as http:
        assert http.get_json("/data", {"q": "x"}) == {"path": "/data", "q": "x"}
        assert http.requests_made == 3 and http.retries_made == 2
    assert sleeps == [0.5, 1.0]  # base * 2**attempt, full jitter at rng=1.0


def test_429_retry_after_is_honoured(server: Loopback) -> None:
    server.app.inject(None, r"/data(/.*)?", "status", status=429, headers={"Retry-After": "7"})
    sleeps: list[float] = []
    with client(server.url, sleeps) as http:
        assert http.get_json("/data")["path"] == "/data"
    assert sleeps == [7.0]


def test_retry_after_is_capped(server: Loopback) -> None:
    server.app.inject(None, r"/data(/.*)?", "status", status=503, headers={"Retry-After": "86400"})
    sleeps: list[float] = []
    with client(server.url, sleeps, max_retry_after_s=60.0) as http:
        http.get_json("/data")
    assert sleeps == [60.0]


def test_dropped_connection_is_retried(server: Loopback) -> None:
    server.app.inject(None, r"/data(/.*)?", "drop")
    sleeps: list[float] = []
    with client(server.url, sleeps) as http:
        assert http.get_json("/data")["path"] == "/data"
    assert len(sleeps) == 1


def test_slow_answer_times_out_then_gives_up(server: Loopback) -> None:
    server.app.inject(None, r"/data(/.*)?", "slow", times=2, delay_s=1.5)
    sleeps: list[float] = []
    http = RemoteClient(
        server.url,
        HttpPolicy(timeout_s=0.3, connect_timeout_s=0.3, retries=1),
        sleep=sleeps.append,
        rng=lambda: 0.0,
    )
    with http, pytest.raises(RemoteSourceError) as caught:
        http.get_json("/data")
    assert "cannot reach the source after 2 attempts" in caught.value.message
    assert caught.value.status == 400 and http.requests_made == 2


def test_retries_exhausted_names_status(server: Loopback) -> None:
    server.app.inject(None, r"/data(/.*)?", "status", times=5, status=500)
    with client(server.url, [], retries=2) as http, pytest.raises(RemoteSourceError) as caught:
        http.get_json("/data")
    assert caught.value.message.endswith("GET " + server.url + "/data: HTTP 500 after 3 attempts")


def test_401_is_credentials_rejected_without_retry(server: Loopback) -> None:
    sleeps: list[float] = []
    with client(server.url, sleeps) as http, pytest.raises(CredentialsRejectedError) as caught:
        http.get_json("/secret")
    assert "rejected the credentials (HTTP 401)" in caught.value.message
    assert sleeps == [] and http.requests_made == 1


def test_204_is_none_and_html_is_a_clear_error(server: Loopback) -> None:
    with client(server.url, []) as http:
        assert http.get_json("/empty") is None
        with pytest.raises(RemoteSourceError) as caught:
            http.get_json("/html")
    assert "answered text/html, not JSON" in caught.value.message


def test_unreachable_source_message_has_no_credentials(caplog: pytest.LogCaptureFixture) -> None:
    with socket_closed_port() as port:
        url = f"http://admin:hunter2@127.0.0.1:{port}"
        caplog.set_level(logging.INFO, logger="imagora.harvest.http")
        with client(url, [], retries=1) as http, pytest.raises(RemoteSourceError) as caught:
            http.get_json("/data", {"token": "hunter2"})
    text = caught.value.message + caplog.text
    assert "cannot reach the source" in caught.value.message
    assert "hunter2" not in text and "admin:" not in text


def test_tls_verification_is_on_by_default() -> None:
    assert HttpPolicy().verify_tls is True


def test_helpers() -> None:
    assert retry_after_s("12") == 12.0
    assert retry_after_s("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    assert retry_after_s("soon") is None and retry_after_s(None) is None
    assert strip_userinfo("https://u:p@host/x?y=1") == "https://host/x?y=1"
    policy = HttpPolicy(backoff_s=1.0, max_backoff_s=5.0)
    assert [backoff_delay(n, policy, lambda: 1.0) for n in range(5)] == [1, 2, 4, 5, 5]
    assert backoff_delay(3, policy, lambda: 0.25) == 1.25


class socket_closed_port:
    """A loopback port nobody listens on (bound then closed)."""

    def __enter__(self) -> int:
        import socket

        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        return self.port

    def __exit__(self, *exc: object) -> None:
        pass


def test_https_is_verified_and_plain_http_builds_no_tls_context(tmp_path: Path) -> None:
    """The TLS context is built on the first https request only (it costs ~0.1 s per
    harvest otherwise), and it verifies: a self-signed server is refused unless the source
    turns verification off."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    with Loopback(Echo(), tls=context) as secure, Loopback(Echo()) as plain:
        http = client(plain.url, [])
        assert http.get_json("/x", {"q": "1"}) == {"path": "/x", "q": "1"}
        assert http._tls._transport is None  # no TLS context for plain http
        refused = client(secure.url, [], retries=0)
        with pytest.raises(RemoteSourceError, match="cannot reach the source") as caught:
            refused.get_json("/x")
        assert "CERTIFICATE_VERIFY_FAILED" in caught.value.message
        trusting = RemoteClient(secure.url, HttpPolicy(verify_tls=False, retries=0))
        assert trusting.get_json("/x") == {"path": "/x", "q": None}
        for used in (http, refused, trusting):
            used.close()


class Blob(App):
    """Serves 300 kB of bytes (an archive stand-in) at /blob."""

    body = bytes(range(256)) * 1200

    def handle(self, request: Request) -> Reply:
        return Reply(200, self.body, content_type="application/zip")


def test_download_retries_then_streams_to_the_file(tmp_path: Path) -> None:
    with Loopback(Blob()) as server:
        server.app.inject("GET", "/blob", "status", times=2, status=503)
        server.app.inject("GET", "/blob", "drop", times=1)  # a body cut short
        sleeps: list[float] = []
        target = tmp_path / "blob.zip"
        with client(server.url, sleeps) as http:
            assert http.download("/blob", target, 1_000_000) == len(Blob.body)
            assert http.requests_made == 4 and len(sleeps) == 3
        assert target.read_bytes() == Blob.body


def test_download_over_the_limit_is_refused_once_and_leaves_no_file(tmp_path: Path) -> None:
    with Loopback(Blob()) as server:
        target = tmp_path / "blob.zip"
        with client(server.url, []) as http:
            with pytest.raises(DownloadTooLargeError) as caught:
                http.download("/blob", target, 100_000)
            assert http.requests_made == 1  # not retried
        assert caught.value.message == (
            f"GET {server.url}/blob: the answer is {len(Blob.body)} bytes, over the "
            "100000-byte limit"
        )
        assert not target.exists()


def test_download_401_is_credentials_rejected(server: Loopback, tmp_path: Path) -> None:
    with client(server.url, []) as http, pytest.raises(CredentialsRejectedError) as caught:
        http.download("/secret", tmp_path / "x.zip", 1000)
    assert "rejected the credentials (HTTP 401)" in caught.value.message
    assert not (tmp_path / "x.zip").exists()


class Odd(App):
    """JSON bodies that the fast decoder refuses but the standard one reads."""

    BODIES = {
        "/nan": b'{"tr": NaN, "te": 2.5}',
        "/huge": b'{"id": 123456789012345678901234567890}',
        "/latin1": '{"name": "B\u00e9b\u00e9"}'.encode("utf-16"),
        "/plain": '{"name": "B\u00e9b\u00e9", "values": [1, 2.5, null, true]}'.encode(),
        "/broken": b'{"name": ',
    }

    def handle(self, request: Request) -> Reply:
        return Reply(200, self.BODIES[request.path])


def test_json_bodies_decode_as_the_standard_decoder_reads_them() -> None:
    import json
    import math

    with Loopback(Odd()) as odd, client(odd.url, []) as http:
        assert math.isnan(http.get_json("/nan")["tr"]) and http.get_json("/nan")["te"] == 2.5
        assert http.get_json("/huge") == {"id": 123456789012345678901234567890}
        assert http.get_json("/latin1") == {"name": "B\u00e9b\u00e9"}
        assert http.get_json("/plain") == json.loads(Odd.BODIES["/plain"])
        with pytest.raises(RemoteSourceError, match="not JSON"):
            http.get_json("/broken")
