"""``python manage.py bench``: the gateway's own benchmark (see docs/benchmark.md)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _


class Command(BaseCommand):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # argparse needs plain strings, so translate when the command is built.
        self.help = _(
            "Measure the gateway against a direct upstream on 127.0.0.1: throughput ratio, added latency, "
            "CPU per request, memory per held stream and disconnect propagation. Writes a table, JSON and a PNG plot."
        )

    def add_arguments(self, parser: CommandParser) -> None:
        preset = parser.add_mutually_exclusive_group()
        preset.add_argument("--quick", action="store_true",
                            help=_("One short round per figure (under a minute)."))
        preset.add_argument("--smoke", action="store_true",
                            help=_("A tiny configuration that only checks the machinery."))
        parser.add_argument("--out", default=str(Path(settings.BASE_DIR) / "bench-results"),
                            help=_("Folder for the JSON, table and plot (default: bench-results/)."))
        parser.add_argument("--rounds", type=int, help=_("Rounds per figure (medians are reported)."))
        parser.add_argument("--duration", type=float, help=_("Seconds per run."))
        parser.add_argument("--concurrency",
                            help=_("Comma-separated concurrency levels, e.g. 1,16,64,256."))
        parser.add_argument("--profiles", help=_("Comma-separated profiles: zero, paced."))
        parser.add_argument("--modes", help=_("Comma-separated modes: stream, nonstream."))
        parser.add_argument("--surfaces",
                            help=_("Comma-separated client APIs: chat, messages, responses "
                                   "(messages and responses are measured streamed)."))
        parser.add_argument("--memory-levels",
                            help=_("Comma-separated held-stream counts, e.g. 100,500,1000."))
        parser.add_argument("--no-pin", action="store_true",
                            help=_("Do not pin the gateway to a core of its own."))
        parser.add_argument("--django-path", action="store_true",
                            help=_("Serve /v1 through Django's handler (the raw ASGI fast path off), "
                                              "to compare."))
        parser.add_argument("--route", action="store_true",
                            help=_("Send every request to a route in front of the benchmark provider (the route "
                                   "variant), and measure the time resolving a route adds."))
        parser.add_argument("--no-request-log", action="store_true",
                            help=_("Run the gateway with its request log off (GATEWAY_REQUEST_LOG=false), to "
                                   "measure what recording costs."))
        parser.add_argument("--no-plot", action="store_true", help=_("Skip the PNG plot."))
        parser.add_argument("--refresh-seconds", type=float,
                            help=_("GATEWAY_CONFIG_REFRESH_SECONDS of the gateway under test "
                                              "(default: its own default)."))

    def handle(self, *args: Any, **options: Any) -> None:
        from bench import report
        from bench.runner import Bench, BenchConfig

        name = "smoke" if options["smoke"] else "quick" if options["quick"] else "full"
        config = BenchConfig.preset_named(name)

        def ints(value: str) -> list[int]:
            try:
                numbers = [int(v) for v in value.split(",") if v.strip()]
            except ValueError:
                numbers = []
            if not numbers or min(numbers) < 1:
                raise CommandError(
                    _("Expected comma-separated positive integers, got “%(value)s”.") % {"value": value}
                )
            return numbers

        def words(value: str, known: list[str]) -> list[str]:
            chosen = [w.strip() for w in value.split(",") if w.strip()]
            if not chosen or set(chosen) - set(known):
                raise CommandError(
                    _("Expected a comma-separated choice of %(known)s, got “%(value)s”.")
                    % {"known": ", ".join(known), "value": value}
                )
            return chosen

        if options["rounds"]:
            config.rounds = options["rounds"]
        if options["duration"]:
            config.duration = options["duration"]
        if options["concurrency"]:
            config.concurrency = ints(options["concurrency"])
        if options["memory_levels"]:
            config.memory_levels = ints(options["memory_levels"])
        if options["profiles"]:
            chosen = words(options["profiles"], list(config.profiles))
            config.profiles = {p: config.profiles[p] for p in chosen}
        if options["modes"]:
            config.modes = words(options["modes"], ["stream", "nonstream"])
        if options["surfaces"]:
            config.surfaces = words(options["surfaces"], ["chat", "messages", "responses"])
        config.pin = not options["no_pin"]
        config.fast_path = not options["django_path"]
        config.refresh_seconds = options["refresh_seconds"]
        config.route = options["route"]
        config.request_log = not options["no_request_log"]

        self.stdout.write(
            f"bench preset={name} rounds={config.rounds} duration={config.duration}s "
            f"concurrency={config.concurrency} fast_path={config.fast_path} request_log={config.request_log}"
        )
        if config.route:
            from bench.route_resolve import measure

            resolve = measure()
            self.stdout.write(_("route resolution: %(route)s µs per request, direct model: %(direct)s µs "
                                "(added: %(added)s µs; target ≤ 50 µs); health bookkeeping: %(health)s µs") % resolve)
        data = Bench(config, log=self.stdout.write).run()
        if config.route:
            data["route_resolution_us"] = resolve
        paths = report.write(data, Path(options["out"]), with_plot=not options["no_plot"])
        self.stdout.write("")
        self.stdout.write(report.table(data))
        self.stdout.write("")
        for kind, path in paths.items():
            self.stdout.write(f"{kind}: {path}")
