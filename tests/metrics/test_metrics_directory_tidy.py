"""The metrics directory tidies itself when a worker starts: directories of server runs
that are over go, the live gauges of killed workers leave the sums, and the files of
the current run's living and dead workers' counters stay (totals never go backwards)."""
from __future__ import annotations

import os
import subprocess
import sys

from chat import metrics


def _dead_pid() -> int:
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          check=True)
    return int(done.stdout)


def test_over_runs_and_killed_workers_gauges_go(tmp_path, settings):
    settings.GATEWAY_METRICS_DIR = tmp_path
    run = metrics.run_directory()
    run.mkdir()
    dead = _dead_pid()
    for name in (f"gauge_livesum_{dead}.db", f"counter_{dead}.db", f"gauge_livesum_{os.getpid()}.db"):
        (run / name).write_bytes(b"")
    over = tmp_path / f"run-{dead}-12345"  # a process group that no longer exists
    over.mkdir()
    (over / "counter_1.db").write_bytes(b"")
    # A live group's id, but an earlier start: the id was used again. (A group of its own:
    # the test runner's group leader may have exited, e.g. under a backgrounded shell.)
    leader = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        reused = tmp_path / f"run-{leader.pid}-1"
        reused.mkdir()
        foreign = tmp_path / "not-a-run"
        foreign.mkdir()

        metrics._tidy(tmp_path, run)
    finally:
        leader.kill()
        leader.wait()

    assert sorted(p.name for p in run.iterdir()) == sorted([f"counter_{dead}.db", f"gauge_livesum_{os.getpid()}.db"])
    assert not over.exists() and not reused.exists()
    assert foreign.exists()
