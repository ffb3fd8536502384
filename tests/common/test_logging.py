import logging
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

from trustregistry.common.logging import RedactSecretsFilter, WithoutTraceback, redact

ROOT = Path(__file__).resolve().parent.parent.parent


def test_secret_parameters_are_redacted_in_request_lines():
    line = '"GET /sys/tools/sha256?secret=DEMO&x=1 HTTP/1.1" 200 44'
    assert redact(line) == '"GET /sys/tools/sha256?secret=[redacted]&x=1 HTTP/1.1" 200 44'
    assert "s3cr3t" not in redact("client_secret=s3cr3t&code=abc&refresh_token=zzz")


def test_filter_rewrites_the_formatted_message():
    record = logging.LogRecord(
        "django.server",
        logging.INFO,
        __file__,
        1,
        '"%s" %s',
        ("GET /x?password=hunter2 HTTP/1.1", 200),
        None,
    )
    RedactSecretsFilter().filter(record)
    assert "hunter2" not in record.getMessage()


def test_forged_host_is_logged_without_traceback(client, caplog):
    with caplog.at_level(logging.WARNING, logger="django.security.DisallowedHost"):
        response = client.get("/healthz", HTTP_HOST="evil.example")
    assert response.status_code == 400
    records = [r for r in caplog.records if r.name == "django.security.DisallowedHost"]
    assert records and all(r.exc_info is None for r in records)
    assert WithoutTraceback().filter(records[0])


def test_secret_values_printed_as_dict_or_json_members_are_redacted():
    line = "Token: {'access_token': 'eyJhbGc.x.y', 'refresh_token': \"R123\", 'scope': 'update'}"
    cleaned = redact(line)
    assert "eyJhbGc" not in cleaned and "R123" not in cleaned
    assert "'scope': 'update'" in cleaned and "'access_token': '[redacted]'" in cleaned
    assert redact('{"code": "abc", "state": "s"}') == '{"code": "[redacted]", "state": "s"}'


def test_secret_parameters_are_redacted_when_their_names_are_percent_encoded():
    """Django decodes `%73ecret` to `secret` (and `Client%5Fsecret` to `Client_secret`): the
    application got the secret while the log line kept it, in the request logs and in
    gunicorn's "Error handling request" line alike."""
    line = "GET /sys/tools/sha256?%73ecret=hunter2&x=1&client%5Fsecret=s2 HTTP/1.1"
    assert redact(line) == (
        "GET /sys/tools/sha256?%73ecret=[redacted]&x=1&client%5Fsecret=[redacted] HTTP/1.1"
    )
    assert redact("/a?%78=1&code%3D=2") == "/a?%78=1&code%3D=2"  # not a secret's name


def test_every_credential_parameter_of_the_protocols_spoken_here_is_redacted():
    """Not only the names the registry reads itself: an ID token or a connector's reply
    (SignedApplicationToken) echoed by a client into a query string, a JWT-bearer
    `assertion`, an RP's `logout_token`, a form's CSRF token, any `*_password` or `*_secret`
    field, an `api_key`: each is a credential to whoever reads the log."""
    names = [
        "id_token",
        "SignedApplicationToken",
        "assertion",
        "logout_token",
        "csrfmiddlewaretoken",
        "new_password1",
        "old_password",
        "webhook_secret",
        "api_key",
        "apiKey",
        "Authorization",
        "X-Signature",
    ]
    line = "GET /x?" + "&".join(f"{name}=V{i}Z" for i, name in enumerate(names)) + "&state=st1"
    cleaned = redact(line)
    for i, name in enumerate(names):
        assert f"V{i}Z" not in cleaned, name
        assert f"{name}=[redacted]" in cleaned
    assert "state=st1" in cleaned
    as_json = redact('{"SignedApplicationToken": "eyJ.a.b", "id_token": "eyJ.c.d", "Nonce": "n"}')
    assert as_json == (
        '{"SignedApplicationToken": "[redacted]", "id_token": "[redacted]", "Nonce": "n"}'
    )


def test_credentials_under_header_names_are_redacted():
    """A printed header dict or WSGI environ, or a query parameter named as a header: the
    header spellings (`X-Api-Key`, hyphens) and the session cookie, which is the signed-in
    user's (an administrator's) credential, as Django's own report filter hides HTTP_COOKIE."""
    headers = redact(
        "{'X-Api-Key': 'K1', 'Cookie': 'sessionid=S1; csrftoken=C1', 'HTTP_COOKIE': 'S2', "
        "'Set-Cookie': 'sessionid=S3; Path=/', 'Accept': 'application/json'}"
    )
    for value in ("K1", "S1", "C1", "S2", "S3"):
        assert value not in headers, value
    assert "'Accept': 'application/json'" in headers
    line = redact("GET /x?x-api-key=K4&api-key=K5&sessionid=S4&auth-code=C2&page-size=20")
    for value in ("K4", "K5", "S4", "C2"):
        assert value not in line, value
    assert "x-api-key=[redacted]" in line and "page-size=20" in line


def test_names_that_only_resemble_a_secret_are_kept():
    """Redacting too much hides what an operator needs to read a request."""
    line = "/id/authorize?response_type=code&redirect_uri=https://a/cb&scope=openid&keyword=k"
    assert redact(line) == line


def test_values_are_redacted_whatever_their_quoting_or_what_follows_them():
    """An escaped quote inside a JSON string, a bytes value, a fragment after a parameter, a
    header printed as a (name, value) pair or as a line: the value is hidden all the same."""
    cases = {
        '{"client_secret": "a\\"b-LEAK", "x": "y"}': '"x": "y"',
        "{'client_secret': b'LEAK'}": "{'client_secret': ",
        "/cb?state=1#access_token=LEAK&x=2": "state=1#access_token=[redacted]",
        "password=hunter#2LEAK&x=1": "password=[redacted]&x=1",
        "[('Authorization', 'Bearer LEAK'), ('Accept', '*/*')]": "('Accept', '*/*')",
        "Authorization: Bearer LEAK": "Authorization: [redacted]",
        "proxy-authorization: Basic LEAK\ncookie: sessionid=LEAK": "cookie: [redacted]",
    }
    for line, kept in cases.items():
        cleaned = redact(line)
        assert "LEAK" not in cleaned, (line, cleaned)
        assert kept in cleaned, (line, cleaned)


def test_a_list_of_names_is_no_name_value_pair():
    """A printed list of field names (`['client_secret', 'redirect_uris']`) lost the name
    after each secret's: the (name, value) rule of a printed header took the next name for
    its value, and hid what an operator reads the line for."""
    line = "missing: ['client_secret', 'redirect_uris', 'name'] ('token', 'read', 'write')"
    assert redact(line) == line
    pairs = "[('Authorization', 'Bearer L1'), (b'x-api-key', b'L2'), ( 'Cookie' , 'L3' )]"
    cleaned = redact(pairs)
    for value in ("L1", "L2", "L3"):
        assert value not in cleaned, cleaned
    assert redact("('Authorization', 'Bearer')") == "('Authorization', '[redacted]')"


def test_names_that_only_say_which_kind_of_token_are_kept():
    line = (
        "POST /id/connect/revocation token_type_hint=refresh_token&token_type=Bearer"
        "&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        "&id_token_signed_response_alg=RS256&token_endpoint_auth_method=private_key_jwt"
    )
    assert redact(line) == line


_HOSTILE_LINES = """
import sys, time
from trustregistry.common.logging import redact
lines = {
    "backslashes in a quoted secret": "{'password': '" + "\\\\" * 100_000,
    "newlines": "\\n" * 100_000,
    "indented empty lines": "\\n " * 50_000,
    "unclosed members": "'a': '" * 16_000,
    "parameters": "a=" * 50_000,
    "hashes in a secret": "password=" + "#a" * 50_000,
    "fragments": "a=" + "#x=" * 30_000,
}
for name, line in lines.items():
    started = time.monotonic()
    redact(line)
    print(name, round(time.monotonic() - started, 3), flush=True)
"""


def test_hostile_lines_are_redacted_in_linear_time():
    """The filter runs on every log line, and a 404's line holds the path anybody sends. A
    quoted value of backslashes could be split two ways at each (escape or character), so a
    few dozen took seconds, more took forever; a header-line name began with `\\s*`, which
    crossed newlines, so each of many empty lines was scanned to the end. A 100 KB line must
    take well under a second. Run apart, so that a regression fails the test, not hangs it."""
    try:
        run = subprocess.run(  # noqa: S603
            [sys.executable, "-c", _HOSTILE_LINES],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=10,
        )
    except subprocess.TimeoutExpired as exc:
        raise AssertionError(f"redaction still running after 10 s: {exc.stdout!r}") from None
    assert run.returncode == 0, run.stderr
    for line in run.stdout.splitlines():
        name, seconds = line.rsplit(" ", 1)
        assert float(seconds) < 0.5, line
    assert len(run.stdout.splitlines()) == 7, run.stdout


def test_escaped_values_are_still_redacted_to_their_closing_quote():
    cleaned = redact('{"password": "a\\\\b\\"c-LEAK", "x": "\\\\"}')
    assert "LEAK" not in cleaned and '"x": "\\\\"' in cleaned, cleaned
    assert redact("  Authorization: Bearer LEAK\n\nnext") == "  Authorization: [redacted]\n\nnext"


# ------------------------------------------------------------------ gunicorn's error log

_TINY_WSGI = """
def app(environ, start_response):
    if environ.get("PATH_INFO") == "/boom":
        raise RuntimeError("a bug")
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok"]
"""


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _send(port: int, raw: bytes) -> None:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(raw)
        connection.recv(1024)


def test_gunicorn_error_log_names_no_secret_of_a_request_it_cannot_parse_or_serve(tmp_path):
    """gunicorn.conf.py's error log (production's, README) printed the request line it could
    not parse, query string included, a header line it could not parse (an Authorization or
    Cookie header without its colon) and the URI of a request the app failed on, at WARNING
    and ERROR: a secret of the query or of the header reached the log. The lines stay, their
    request bytes go."""
    (tmp_path / "tiny_wsgi.py").write_text(_TINY_WSGI)
    port = _free_port()
    env = {**os.environ, "GUNICORN_BIND": f"127.0.0.1:{port}", "GUNICORN_WORKERS": "1"}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "gunicorn", "-c", str(ROOT / "gunicorn.conf.py")]
        + ["--no-control-socket", "--pythonpath", str(tmp_path), "tiny_wsgi:app"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                _send(port, b"GET /up HTTP/1.1\r\nHost: x\r\n\r\n")
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not start"
                time.sleep(0.2)
        for raw in (
            b"GET /sys/tools/sha256?secret=SECRET-ONE\x01 HTTP/1.1\r\nHost: x\r\n\r\n",
            b"GET /id/connect/userinfo?access_token=SECRET-TWO SECRET-THREE HTTP/1.1\r\n\r\n",
            b"GET /api/me HTTP/1.1\r\nHost: x\r\nAuthorization Basic U0VDUkVULUZPVVI=\r\n\r\n",
            b"GET /admin/ HTTP/1.1\r\nHost: x\r\nCookie sessionid=SECRET-FIVE\r\n\r\n",
            b"GET /boom?code=SECRET-SIX&state=s HTTP/1.1\r\nHost: x\r\n\r\n",
        ):
            _send(port, raw)
    finally:
        server.terminate()
        log = server.communicate(timeout=30)[0].decode("utf-8", "replace")
    assert log.count("Invalid request from ip=127.0.0.1") == 4, log
    assert "Invalid request from ip=127.0.0.1: Invalid HTTP Header\n" in log, log
    assert "Error handling request GET /boom?code=[redacted]&state=s" in log, log
    secrets = (
        "SECRET-ONE",
        "SECRET-TWO",
        "SECRET-THREE",
        "U0VDUkVULUZPVVI",
        "SECRET-FIV",
        "SECRET-SIX",
    )
    for secret in secrets:
        assert secret not in log, log
