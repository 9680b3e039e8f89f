"""Where the token may go and what counts as an answer: no redirects, no plain http off this
machine, no success without JSON, URL and token from one place, no admin routes on a network."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from relink.api.client import Client
from relink.api.settings import api_settings, read_env_file
from relink.errors import ApiConnectionError, ApiError, ConflictError, InputError, ServerError
from relink.runbook.connection import Connection
from relink.sandbox.launcher import SandboxAdmin

SECRET = "tok-SECRET-transport"


class _Canned(http.server.BaseHTTPRequestHandler):
    """Answers every call with the status, headers and body the test put on the server."""

    def _answer(self) -> None:
        server = self.server
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        server.calls += 1  # type: ignore[attr-defined]
        self.send_response(server.status)  # type: ignore[attr-defined]
        for name, value in server.headers.items():  # type: ignore[attr-defined]
            self.send_header(name, value)
        body = server.body  # type: ignore[attr-defined]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:  # keep the test output quiet
        pass


@pytest.fixture
def canned() -> Iterator[http.server.HTTPServer]:
    server = http.server.HTTPServer(("127.0.0.1", 0), _Canned)
    server.status, server.headers, server.body, server.calls = 200, {}, b"", 0  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def _client(server: http.server.HTTPServer) -> Client:
    host, port = server.server_address[:2]
    return Client(f"http://{host}:{port}", SECRET, retries=0)


@pytest.mark.parametrize("body", [b"<html>done, probably</html>", b"[1, 2]", b""])
def test_a_success_that_is_not_json_is_an_unknown_outcome(canned, body):
    canned.body = body
    canned.headers = {"Content-Type": "text/html"}
    with pytest.raises(ApiConnectionError) as caught:
        _client(canned).disconnect("acct", change_id="chg_1", expected_aliexpress_account="ae")
    assert "not JSON" in str(caught.value) and "may have acted" in str(caught.value)
    assert SECRET not in str(caught.value)


def test_redirects_are_refused_not_followed(canned):
    canned.status = 307
    canned.headers = {"Location": "https://elsewhere.example.net:8443/v1/steal?token=x"}
    with pytest.raises(ApiError) as caught:
        _client(canned).account("acct")
    error = caught.value
    assert not isinstance(error, ApiConnectionError)
    assert error.code == "redirect_refused" and error.status == 307
    assert "elsewhere.example.net:8443" in str(error)
    assert "/v1/steal" not in str(error) and "token=x" not in str(error)
    assert canned.calls == 1  # nothing was sent to the new location


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://api.example.com", "api.example.com"),
        ("http://10.0.0.5:8080", "10.0.0.5"),
        ("http://[2001:db8::1]:80", "2001:db8::1"),
    ],
)
def test_plain_http_off_this_machine_is_refused(url, host):
    with pytest.raises(InputError) as caught:
        Client(url, SECRET)  # refused at construction: nothing is sent
    assert host in str(caught.value) and SECRET not in str(caught.value)


@pytest.mark.parametrize("url", ["ftp://api.example.com", "api.example.com", "file:///etc"])
def test_other_schemes_are_refused(url):
    with pytest.raises(InputError):
        Client(url, SECRET)


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9", "http://127.8.0.1", "http://localhost:9", "http://[::1]:9"],
)
def test_plain_http_to_this_machine_and_https_anywhere_are_fine(url):
    assert Client(url, SECRET).base_url == url
    assert (
        Client("https://api.example.com:8443/", SECRET).base_url == "https://api.example.com:8443"
    )


# ---- URL and token from one place ----


@pytest.fixture
def env_file(tmp_path):
    file = tmp_path / ".env"
    file.write_text("RELINK_API_URL=https://file.example.com\nRELINK_API_TOKEN=tok-file\n")
    return file


def test_both_from_the_environment_or_both_from_the_file(env_file, tmp_path):
    env = {"RELINK_API_URL": "https://env.example.com", "RELINK_API_TOKEN": "tok-env"}
    assert api_settings(env, env_file) == env
    assert api_settings({}, env_file) == read_env_file(env_file)
    assert api_settings({}, tmp_path / "none.env") == {}


@pytest.mark.parametrize(
    "env",
    [{"RELINK_API_URL": "https://env.example.com"}, {"RELINK_API_TOKEN": "tok-env"}],
)
def test_mixing_environment_and_file_is_refused(env, env_file):
    with pytest.raises(InputError, match="same place") as caught:
        api_settings(env, env_file)
    assert "tok-file" not in str(caught.value) and "tok-env" not in str(caught.value)


def test_one_without_the_other_is_refused(tmp_path):
    with pytest.raises(InputError, match="RELINK_API_TOKEN"):
        api_settings({"RELINK_API_URL": "https://env.example.com"}, tmp_path / "none.env")
    half = tmp_path / ".env"
    half.write_text("RELINK_API_TOKEN=tok-only\n")
    with pytest.raises(InputError, match="RELINK_API_URL") as caught:
        api_settings({}, half)
    assert "tok-only" not in str(caught.value)


def test_a_connection_names_the_deployments_host_only():
    client = Client("https://api.example.com:8443/tenant/secret-path", SECRET)
    connection = Connection(client)
    assert (connection.kind, connection.api_label) == ("deployment", "api.example.com:8443")
    assert connection.describe() == "Account API: deployment at api.example.com:8443"
    assert "secret-path" not in connection.describe() and SECRET not in connection.describe()
    embedded = Connection(Client("http://127.0.0.1:9", SECRET), embedded=True)
    assert (embedded.kind, embedded.api_label) == ("sandbox", "SANDBOX")
    assert embedded.describe().startswith("Account API: SANDBOX (")


# ---- the admin routes stay on this machine ----


def test_serve_admin_on_a_network_address_is_refused(tmp_path):
    command = [sys.executable, "-m", "relink.sandbox", "serve", "--db", str(tmp_path / "s.db")]
    done = subprocess.run(
        [*command, "--admin", "--host", "0.0.0.0"], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2
    assert len(done.stderr.strip().splitlines()) == 1 and "--admin" in done.stderr
    assert "Traceback" not in done.stderr


def test_the_sandbox_admin_fails_with_the_clients_errors_and_never_retries(canned):
    host, port = canned.server_address[:2]
    admin = SandboxAdmin(f"http://{host}:{port}")
    canned.status, canned.body = 409, b'{"error": {"code": "not_unpaid", "message": "paid"}}'
    with pytest.raises(ConflictError) as refused:
        admin.cancel_unpaid("acct", "C1")
    assert (refused.value.status, refused.value.code, canned.calls) == (409, "not_unpaid", 1)
    canned.status, canned.body = 503, b""
    with pytest.raises(ServerError):
        admin.advance(days=1)
    assert canned.calls == 2  # a world's move is not repeated


def test_a_sandbox_admin_that_gets_no_answer_raises_a_connection_error():
    with socket.socket() as free:  # a port nobody listens on once this closes
        free.bind(("127.0.0.1", 0))
        port = free.getsockname()[1]
    with pytest.raises(ApiConnectionError) as caught:
        SandboxAdmin(f"http://127.0.0.1:{port}", timeout=2).clock()
    assert caught.value.details["reason"] == "connection refused"
