"""The gateway's own benchmark: ``python manage.py bench``.

- ``upstream``: a fast, paced, OpenAI-compatible fake upstream (raw asyncio HTTP/1.1);
- ``client``: a raw HTTP/1.1 keep-alive load client (asyncio streams);
- ``runner``: starts everything, interleaves direct and gateway runs, measures;
- ``report``: the table, the JSON file and the plot.

See ``docs/benchmark.md``.
"""
