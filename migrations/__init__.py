"""Alembic environment and versions; shipped as a package so installs can find it."""
