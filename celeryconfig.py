"""Celery settings shared by every mailrs process (the broker URL comes from the mailrs config).

Queues are split by role so each can be scaled and watched on its own.
"""

from kombu import Queue

task_serializer = "json"
accept_content = ["json"]
result_serializer = "json"
task_ignore_result = True
timezone = "UTC"
enable_utc = True

# A killed worker's task runs again; tasks are idempotent so that is safe.
task_acks_late = True
task_reject_on_worker_lost = True
worker_prefetch_multiplier = 4

task_default_queue = "inbound"
task_queues = [Queue("inbound"), Queue("deliver"), Queue("relay"), Queue("bounce")]
task_routes = {
    "mailrs.pipeline": {"queue": "inbound"},
    "mailrs.validate": {"queue": "inbound"},
    "mailrs.spam_check": {"queue": "inbound"},
    "mailrs.route": {"queue": "inbound"},
    "mailrs.deliver": {"queue": "deliver"},
    "mailrs.relay": {"queue": "relay"},
    "mailrs.bounce": {"queue": "bounce"},
    "mailrs.sweep": {"queue": "inbound"},
    "mailrs.dmarc_reports": {"queue": "inbound"},
    "mailrs.tlsrpt": {"queue": "relay"},
}

broker_connection_retry_on_startup = True
broker_connection_timeout = 3

# For sites that run `celery -A mailrs beat`: sweep for stalled messages and due retries
# every minute (each worker also sweeps on its own; see workers/sweeper.py).
beat_schedule = {
    "mailrs-sweep": {"task": "mailrs.sweep", "schedule": 60.0},
    # DMARC aggregate reports (only queued when [spam] dmarc_send_reports is on)
    "mailrs-dmarc-reports": {"task": "mailrs.dmarc_reports", "schedule": 3600.0},
    # yesterday's TLS-RPT reports (RFC 8460), each domain's at most once
    "mailrs-tlsrpt": {"task": "mailrs.tlsrpt", "schedule": 6 * 3600.0},
}
# Task events (for Flower) come from the [celery] task_events key on a Redis or RabbitMQ
# broker; see mailrs/broker.py (the embedded broker has no event fan-out).

# A broker outage is weather: never give up reconnecting (None = retry forever), at start-up
# or later; publishing and consuming resume when the broker is back (the sweeper
# re-publishes what was accepted meanwhile).
broker_connection_retry = True
broker_connection_max_retries = None
broker_channel_error_retry = True
