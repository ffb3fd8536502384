"""The benchmark scripts still run against the product as it is: a tiny run of each, checking
that every request was answered correctly. Their figures are never asserted (they are
measured by hand on a quiet machine)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "bench"


def _run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(  # noqa: S603 - our own script, fixed arguments
        [sys.executable, str(BENCH / script), *args],
        capture_output=True,
        text=True,
        timeout=240,
        env=env,
        check=False,
    )


def _clean_env() -> dict[str, str]:
    # The scripts pick their own database (a throwaway SQLite file, a scratch PostgreSQL
    # database): never the test run's.
    drop = ("DATABASE_URL", "CACHE_URL", "DJANGO_SETTINGS_MODULE")
    return {k: v for k, v in os.environ.items() if k not in drop}


def test_resolve_benchmark_completes_its_resolves():
    done = _run("resolve.py", "--count", "3", "--seconds", "30", env=_clean_env())
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"^resolves: 3 in ", done.stdout, re.MULTILINE), done.stdout
    assert "= the handshake RSA" in done.stdout


def test_admin_list_benchmark_loads_and_lists():
    env = {**_clean_env(), "BENCH_RECORDS": "300", "BENCH_LOOKUPS": "50"}
    done = _run("admin_list.py", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "loaded 300 records" in done.stdout
    assert re.search(r"list, first page .* 50 rows", done.stdout), done.stdout
    assert "lookup by URI (selectors.application_get, 50 lookups)" in done.stdout


@pytest.mark.postgresql
def test_load_benchmark_gets_correct_answers_from_every_endpoint():
    done = _run(
        "load.py",
        *("--rounds", "1", "--seconds", "0.3", "--clients", "1", "--threads", "1"),
        *("--workers", "1", "--max-requests", "200"),
        env=_clean_env(),
    )
    assert "FAILING" not in done.stdout, done.stdout + done.stderr
    rows = re.findall(r"^\S.*?\s(\d+)\s+(\d+)\s+[\d.]+\s+\d+%", done.stdout, re.MULTILINE)
    assert len(rows) == 4, done.stdout + done.stderr  # the ceiling and three endpoints
    assert all(int(ok) > 0 and int(failed) == 0 for ok, failed in rows), done.stdout
