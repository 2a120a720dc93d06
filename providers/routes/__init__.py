"""Routes: model ids of the gateway's own served by weighted, prioritised targets.

``services`` writes and reads them (the one place their rules live), ``admin`` and
``api`` are their doors; the hot path reads them from the routing table
(``providers.routing``) and falls back across targets in ``chat.fallback``.
"""
