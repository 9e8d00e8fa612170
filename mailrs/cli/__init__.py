"""The ``mailrs`` command line."""
