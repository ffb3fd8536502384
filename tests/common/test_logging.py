import logging

from trustregistry.common.logging import RedactSecretsFilter, WithoutTraceback, redact


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
