"""Celery tasks of the message pipeline: one module per stage (validate, deliver, sweep)."""
