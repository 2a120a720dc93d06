"""Upstream HTTP: the one client every call to a backend goes through
(``client.request``), its bounded body decoder, the server-sent events decoder
(``sse.py``) and a synchronous entry for the admin-side checks. See ``client.py``."""
