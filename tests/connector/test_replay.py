"""connector.replay: answered nonces shared by the processes of one connector host."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from connector import wsgi
from connector.replay import SqliteReplayGuard
from tests.connector.test_asgi import INSIDE

ROOT = Path(__file__).resolve().parent.parent.parent


def test_a_nonce_is_answered_once_until_it_expires(tmp_path):
    guard = SqliteReplayGuard(tmp_path / "answered.sqlite3")
    assert guard("N1", keep_until=1000.0, now=900.0) is True
    assert guard("N1", keep_until=1000.0, now=950.0) is False
    assert guard("N2", keep_until=1000.0, now=950.0) is True
    # Past its keep_until the token itself is refused as expired; the row may be taken over.
    assert guard("N1", keep_until=2000.0, now=1000.0) is True
    assert guard("N1", keep_until=2000.0, now=1500.0) is False


def test_two_guards_on_one_file_share_what_they_answered(tmp_path):
    """What two processes of a host do: each opens the file on its own."""
    first = SqliteReplayGuard(tmp_path / "answered.sqlite3")
    second = SqliteReplayGuard(tmp_path / "answered.sqlite3")
    assert first("N", keep_until=1000.0, now=900.0) is True
    assert second("N", keep_until=1000.0, now=901.0) is False


def test_threads_racing_with_one_nonce_answer_it_once(tmp_path):
    guard = SqliteReplayGuard(tmp_path / "answered.sqlite3")
    start, results = threading.Barrier(8), []

    def answer() -> None:
        start.wait(timeout=10)
        results.append(guard("RACED", keep_until=1000.0, now=900.0))

    threads = [threading.Thread(target=answer) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(results) == [False] * 7 + [True]


def test_expired_nonces_are_purged(tmp_path):
    import sqlite3

    path = tmp_path / "answered.sqlite3"
    guard = SqliteReplayGuard(path)
    guard("OLD", keep_until=1000.0, now=900.0)
    guard("NEW", keep_until=5000.0, now=2000.0)  # a minute and more later: purges OLD
    with sqlite3.connect(path) as connection:
        kept = [row[0] for row in connection.execute("SELECT nonce FROM answered_nonce")]
    assert kept == ["NEW"]


def test_a_file_that_cannot_be_written_is_refused_when_the_guard_is_built(tmp_path):
    with pytest.raises(ValueError, match="replay database cannot be used"):
        SqliteReplayGuard(tmp_path / "missing-folder" / "answered.sqlite3")


def test_from_environ_names_an_unusable_replay_db(tmp_path, superoffice_env):
    env = {**superoffice_env, "CONNECTOR_REPLAY_DB": str(tmp_path / "no-such" / "a.sqlite3")}
    with pytest.raises(ValueError) as raised:
        wsgi.from_environ(env)
    assert str(raised.value).startswith(f"CONNECTOR_REPLAY_DB ({env['CONNECTOR_REPLAY_DB']}): ")


# One connector process as gunicorn --workers N would start it: the WSGI app from the
# environment, answering SuperOffice's published token once (the clock frozen in its window).
_ONE_PROCESS = """
import io, json, sys, time
sys.path.insert(0, sys.argv[1])
from connector import wsgi

time.time = lambda: float(sys.argv[3])
app = wsgi.from_environ(json.loads(sys.argv[2]))
body = json.dumps({"SignedToken": sys.stdin.read().strip()}).encode()
environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/authenticate",
           "CONTENT_LENGTH": str(len(body)), "wsgi.input": io.BytesIO(body)}
print(b"".join(app(environ, lambda status, headers: None)).decode())
"""


def test_processes_sharing_a_replay_db_answer_a_token_once(tmp_path, interop, superoffice_env):
    """Several worker processes handed the same SignedToken at once (a replay sent to every
    sibling): with CONNECTOR_REPLAY_DB exactly one answers it; each process's own memory would
    let every one of them answer it."""
    env = {**superoffice_env, "CONNECTOR_REPLAY_DB": str(tmp_path / "answered.sqlite3")}
    token = (interop / "superoffice_signed_token_devnet-auth.jwt").read_text()
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _ONE_PROCESS, str(ROOT), json.dumps(env), str(INSIDE)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    answers = []
    for process in processes:
        out, err = process.communicate(token, timeout=60)
        assert process.returncode == 0, err
        answers.append(json.loads(out))
    assert sorted(a["Succeeded"] for a in answers) == [False, False, False, True]
    assert {a["Reason"] for a in answers if not a["Succeeded"]} == {
        "The SignedToken has already been answered (replay)."
    }
