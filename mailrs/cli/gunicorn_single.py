"""The web server of ``mailrs up``: gunicorn's gevent worker in one process, no master.

``mailrs up`` runs one web worker, and its supervisor already does what gunicorn's
master (the arbiter) would: it starts the server, restarts it when it dies and stops it
on SIGTERM. The master cost a whole process (gunicorn, gevent and its worker class
loaded to run nothing), so the default install runs the worker alone: the same class
(``worker_class``, gevent), the same settings and command line as ``gunicorn``
(``sys.argv``), the same listening sockets; requests and chat WebSockets are served as
under gunicorn. What the master did that this does not: restart a worker silent for
``timeout`` seconds (the event loop blocked that long), and ``HUP`` reloads.
With more than one worker (``WEB_CONCURRENCY``), and on a scaled-out site (``docker/``)
or a bare ``gunicorn 'web:create_app()'``, gunicorn's master runs them as before.
``python -m mailrs.cli.gunicorn_single`` runs it in a fresh interpreter: what ``mailrs
up`` execs with ``MAILRS_FORK_SERVER=0``, and for a restarted web app (the fork server
by then holds Celery and kombu, which must not be imported before gevent's patching).
"""

from __future__ import annotations

import os
import sys


def main() -> int:
    """Serve the app named in ``sys.argv`` (gunicorn's options) until SIGTERM; exit status."""
    from gunicorn import sock
    from gunicorn.app.wsgiapp import WSGIApplication

    app = WSGIApplication("%(prog)s [OPTIONS] [APP_MODULE]", prog="gunicorn")
    cfg = app.cfg
    if cfg.workers > 1:  # WEB_CONCURRENCY or --workers: gunicorn's master runs them
        app.run()
        return 0
    log = cfg.logger_class(cfg)
    listeners = sock.create_sockets(cfg, log)
    worker = cfg.worker_class(1, os.getppid(), listeners, app, cfg.timeout / 2.0, cfg, log)
    worker.pid = os.getpid()
    log.info("Serving %s in one process (pid %s)", cfg.settings["bind"].value, worker.pid)
    try:
        worker.init_process()  # loads the app, then serves until SIGTERM or SIGINT
    except SystemExit as done:
        return done.code if isinstance(done.code, int) else 1
    finally:
        worker.tmp.close()
        for listener in listeners:
            listener.close()
        sys.stderr.flush()
    return 0


if __name__ == "__main__":  # python -m mailrs.cli.gunicorn_single [gunicorn's options] APP
    sys.exit(main())
