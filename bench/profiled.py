"""Run the gateway under cProfile (a development aid for the benchmark).

``BENCH_GATEWAY_PROFILE=/tmp/gw.prof python manage.py bench ...`` starts the
gateway through this module instead of ``python -m uvicorn``; the profile is
written when the benchmark stops it. Read it with ``python -m pstats``.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import signal


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    import uvicorn

    config = uvicorn.Config(
        "gateway.asgi:application", host="127.0.0.1", port=args.port, loop="uvloop", http="httptools",
        access_log=False, log_level="warning", lifespan="off", backlog=4096,
    )
    server = uvicorn.Server(config)
    # uvicorn re-raises SIGTERM after a graceful stop, which would kill us before the dump.
    server.capture_signals = contextlib.nullcontext  # type: ignore[assignment]
    signal.signal(signal.SIGTERM, lambda *_: setattr(server, "should_exit", True))
    profiler = cProfile.Profile()
    profiler.enable()
    try:
        server.run()
    finally:
        profiler.disable()
        profiler.dump_stats(args.out)


if __name__ == "__main__":
    main()
