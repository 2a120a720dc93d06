#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gateway.settings")
    from django.core.management import execute_from_command_line

    if len(sys.argv) > 1 and not sys.argv[1].startswith("-"):
        from providers import audit  # importable before Django is set up

        # Writes by any command (shell, loaddata...) name it in the audit trail.
        audit.set_process_actor(f"manage.py {sys.argv[1]}")
    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
