"""mailrs: the core shared by smtpd, imapd, web and workers.

``celery -A mailrs worker`` finds the Celery app in ``mailrs.celery``.
"""

__version__ = "0.1.0"
