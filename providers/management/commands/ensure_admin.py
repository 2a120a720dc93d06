"""Make sure an admin login exists, and say how to use it.

Run by ``scripts/run.sh`` before the server starts. With no superuser yet, it
creates one (``ADMIN_USERNAME``, default ``admin``; ``ADMIN_PASSWORD``, default a
generated one) and prints the admin URL, the username and the password. With a
superuser already there, it prints who it is and how to reset the password.
"""
from __future__ import annotations

import os
import secrets
from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

ADMIN_URL = "http://127.0.0.1:{port}/admin/"


class Command(BaseCommand):
    help = "Create an admin superuser if none exists (printing its login), else say how to reset it."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--username", default=os.environ.get("ADMIN_USERNAME", "admin"),
                            help="Username of the superuser to create (default: $ADMIN_USERNAME or 'admin').")
        parser.add_argument("--port", default=os.environ.get("PORT", "8000"), help="Port shown in the admin URL.")

    def handle(self, *args: Any, **options: Any) -> None:
        User = get_user_model()
        url = ADMIN_URL.format(port=options["port"])
        existing = list(User.objects.filter(is_superuser=True, is_active=True).order_by("pk")
                        .values_list(User.USERNAME_FIELD, flat=True)[:5])
        if existing:
            names = ", ".join(existing)
            self.stdout.write(f"Admin: {url}  (existing superuser: {names})")
            self.stdout.write(
                f"Forgot the password? Reset it with: .venv/bin/python manage.py changepassword {existing[0]}"
            )
            return
        username = options["username"].strip()
        if not username:
            raise CommandError("The admin username must not be empty.")
        password = os.environ.get("ADMIN_PASSWORD", "")
        generated = not password
        if generated:
            password = secrets.token_urlsafe(12)
        if User.objects.filter(**{User.USERNAME_FIELD: username}).exists():
            user = User.objects.get(**{User.USERNAME_FIELD: username})
            user.is_staff = user.is_superuser = user.is_active = True
            user.set_password(password)
            user.save()
        else:
            User.objects.create_superuser(**{User.USERNAME_FIELD: username}, email="", password=password)
        self.stdout.write(self.style.SUCCESS("Created an admin login:"))
        self.stdout.write(f"  URL:      {url}")
        self.stdout.write(f"  Username: {username}")
        if generated:
            self.stdout.write(f"  Password: {password}")
            self.stdout.write("  (generated now; only its hash is kept, so note it down. "
                              "Change it in the admin or reset it with "
                              f".venv/bin/python manage.py changepassword {username})")
        else:
            self.stdout.write("  Password: the value of ADMIN_PASSWORD")
