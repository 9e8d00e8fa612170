"""Broker plumbing: Celery options, the embedded file broker, the Redis transport."""
