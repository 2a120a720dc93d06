"""``manage.py bench --smoke`` runs the whole benchmark machinery (fake upstream,
gateway under uvicorn, load client) in a tiny configuration and writes a JSON
report, a table and a plot. Only the shape is checked, never the speed."""
from __future__ import annotations

import io
import json
from pathlib import Path

from django.core.management import call_command


def test_bench_smoke_writes_a_complete_report(tmp_path: Path) -> None:
    out = io.StringIO()
    call_command("bench", "--smoke", "--no-pin", "--out", str(tmp_path), stdout=out)

    data = json.loads((tmp_path / "latest.json").read_text())
    assert data["schema"] == 1
    assert data["config"]["preset"] == "smoke"
    assert {"cpu_model", "cpu_count", "python", "packages"} <= set(data["machine"])
    assert data["machine"]["packages"]["Django"]
    # The gateway under test recorded its requests (the log is on unless --no-request-log).
    assert data["request_log"]["on"] is True and data["request_log"]["rows_written"] > 0

    combos = {(r["surface"], r["profile"], r["mode"], r["concurrency"]) for r in data["results"]}
    assert combos == {("chat", p, m, c) for p in ("zero", "paced") for m in ("stream", "nonstream") for c in (1, 4)} | {
        (s, p, "stream", c) for s in ("messages", "responses") for p in ("zero", "paced") for c in (1, 4)}
    for row in data["results"]:
        assert row["direct_rps"] > 0 and row["gateway_rps"] > 0, row
        assert row["errors"] == {"direct": 0, "gateway": 0}, row
        assert set(row["added_ttft_ms"]) == {"p50", "p99"}
        assert set(row["added_total_ms"]) == {"p50", "p99"}
        assert row["gateway_cpu_ms_per_request"] is not None

    memory = data["memory"]
    assert [level["streams"] for level in memory["levels"]] == [5, 10, 20]
    assert memory["failed_streams"] == 0
    assert all(level["rss_kib"] > 0 for level in memory["levels"])
    for which in ("direct", "gateway"):
        assert data["disconnect"][which]["missed"] == 0
        assert data["disconnect"][which]["p50_ms"] is not None

    assert {t["target"] for t in data["targets"]} and all("met" in t for t in data["targets"])
    assert (tmp_path / "latest.png").read_bytes().startswith(b"\x89PNG")
    table = out.getvalue()
    assert "ratio" in table and "targets:" in table
    assert any(t["target"].startswith("/v1/messages ") for t in data["targets"])
    assert any(t["target"].startswith("/v1/responses ") for t in data["targets"])
    assert "gwk_" not in table and "gwk_" not in (tmp_path / "latest.json").read_text()  # no secret in outputs
