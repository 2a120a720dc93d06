"""Bringing a provider in: the connection test and capability probe (``probe.py``,
``probe_request.py``), configuration import/export (``config_io.py``) and their
admin views (``admin_views.py``) and REST API views (``api_views.py``)."""
