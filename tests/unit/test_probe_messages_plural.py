"""Counts in the connection check and probe messages are plural forms ("1 model", not "1 models")."""
from __future__ import annotations

from django.utils import translation

from providers.onboarding.probe import describe


def test_one_model_is_singular_and_more_are_plural():
    assert describe("ok", {"latency": 7, "count": 1}) == "Reachable in 7 ms; the backend reports 1 model."
    assert describe("ok", {"latency": 7, "count": 3}) == "Reachable in 7 ms; the backend reports 3 models."
    assert describe("models_ok", {"count": 1}) == "/models lists 1 model."
    assert describe("models_ok", {"count": 2}) == "/models lists 2 models."


def test_the_counted_messages_are_translated():
    with translation.override("zh-hans"):
        assert describe("models_ok", {"count": 1}) == "/models 列出了 1 个模型。"
    with translation.override("vi"):
        assert describe("ok", {"latency": 7, "count": 1}) == "Kết nối thành công (7 ms); backend báo có 1 mô hình."
