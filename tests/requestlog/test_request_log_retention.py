"""Rows older than GATEWAY_REQUEST_LOG_DAYS go by themselves (the writer prunes
hourly) and on demand (``manage.py prune_request_log``); 0 keeps everything."""
from __future__ import annotations

from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from tests.requestlog.rows import make_row

pytestmark = pytest.mark.django_db


def remaining() -> set[str]:
    from chat.models import RequestLog

    return set(RequestLog.objects.values_list("key_name", flat=True))


@pytest.fixture
def aged() -> None:
    for days, name in ((40, "forty"), (31, "thirty-one"), (29, "twenty-nine"), (0, "today")):
        make_row(ago=timedelta(days=days, minutes=1), key_name=name)


def test_the_command_deletes_rows_past_the_retention(aged, settings):
    settings.GATEWAY_REQUEST_LOG_DAYS = 30
    out = StringIO()
    call_command("prune_request_log", stdout=out)
    assert remaining() == {"twenty-nine", "today"}
    assert "Deleted 2 request log rows older than 30 days." in out.getvalue()


def test_the_command_takes_another_number_of_days(aged):
    call_command("prune_request_log", "--days", "1", stdout=StringIO())
    assert remaining() == {"today"}
    with pytest.raises(CommandError):
        call_command("prune_request_log", "--days", "0", stdout=StringIO())


def test_zero_days_keeps_everything(aged, settings):
    settings.GATEWAY_REQUEST_LOG_DAYS = 0
    out = StringIO()
    call_command("prune_request_log", stdout=out)
    assert len(remaining()) == 4 and "kept forever" in out.getvalue()


def test_the_writer_prunes_once_an_hour_by_itself(aged, settings):
    from chat import requestlog_writer

    settings.GATEWAY_REQUEST_LOG_DAYS = 30
    requestlog_writer.prune_if_due(now=1_000_000.0)
    assert remaining() == {"twenty-nine", "today"}
    make_row(ago=timedelta(days=35), key_name="late")
    requestlog_writer.prune_if_due(now=1_000_000.0 + 60)  # not due yet
    assert "late" in remaining()
    requestlog_writer.prune_if_due(now=1_000_000.0 + requestlog_writer.PRUNE_EVERY_SECONDS)
    assert "late" not in remaining()


def test_pruning_goes_in_chunks(settings, monkeypatch):
    from chat import services

    monkeypatch.setattr(services, "PRUNE_CHUNK", 3)
    for _ in range(7):
        make_row(ago=timedelta(days=50))
    assert services.request_log_prune(days=30) == 7
    assert remaining() == set()
