"""Create the benchmark's provider and gateway key in the gateway's database.

Run by the benchmark in the gateway's environment (its own temporary SQLite
file): ``python -m bench.provision --base-url http://127.0.0.1:PORT/v1``. Prints
one JSON line with the raw gateway key on stdout, which only the runner reads.
With ``--route-models`` it also puts a route (``r.<model>``) in front of each model,
for the benchmark's route variant (``manage.py bench --route``).
"""
from __future__ import annotations

import argparse
import json
import os


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--name", default="bench")
    parser.add_argument("--route-models", default="",
                        help="Comma-separated upstream models: a route “r.<model>” in front of each.")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    import django

    django.setup()
    from providers import services
    from providers.routes import services as route_services

    services.provider_create(name=args.name, provider_type="custom", base_url=args.base_url,
                             api_key="sk-bench-upstream")
    for model in filter(None, args.route_models.split(",")):
        route_services.route_create(name=f"r.{model}", targets=route_services.targets_from_names(
            [{"provider": args.name, "model": model}]))
    _key, raw = services.gateway_key_create(name=f"{args.name}-client")
    print(json.dumps({"key": raw}), flush=True)


if __name__ == "__main__":
    main()
