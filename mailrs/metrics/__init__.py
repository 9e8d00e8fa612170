"""Prometheus metrics: every process writes to one folder (prometheus-client's multiprocess
mode) and the web app's ``/metrics`` serves the sum (``mailrs.metrics.exposition``).

``setup`` runs once per process before the first metric is touched; the instruments
(``mailrs.metrics.instruments``) are made on first use, after it.
"""
