"""No token, code or refresh token in a log line, also when DJANGO_LOG_LEVEL is DEBUG."""

from __future__ import annotations

import logging

import pytest

pytestmark = pytest.mark.django_db


def test_a_whole_code_flow_at_debug_level_logs_no_token(
    caplog, flow, confidential_app, internal_user
):
    caplog.set_level(logging.DEBUG)  # as DJANGO_LOG_LEVEL=DEBUG sets the root logger
    code = flow.code(confidential_app, internal_user)
    tokens = flow.exchange(confidential_app, code).json()
    refreshed = flow.refresh(confidential_app, tokens["refresh_token"]).json()
    logged = "\n".join(record.getMessage() for record in caplog.records)
    for secret in (
        code,
        tokens["access_token"],
        tokens["refresh_token"],
        tokens["id_token"],
        refreshed["access_token"],
        refreshed["refresh_token"],
    ):
        assert secret not in logged
