"""Passive health of upstream targets and providers.

``breaker`` counts answers and failures and decides who may be tried (the hot
path's only part); ``display`` words a state for the admin and commands, ``api``
shapes it for the REST API.
"""
