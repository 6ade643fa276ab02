"""The console (issue #20): a web application the risk centre and the departments work in.

A separate process (``riskloop console``) that serves server-rendered pages (aiohttp, Jinja2,
htmx vendored in ``static/``: nothing from the internet at runtime). It decides nothing itself:
everything jurisdiction-bound is asked of the worker's API with the person's own token
(``console.backend``), so the worker stays the one place that decides and audits.
"""
