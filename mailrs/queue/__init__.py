"""The life of an accepted message: spool, accept, pipeline canvas, sweep, retry, trace headers."""
