"""The central database: engine and sessions, ORM models, migrations."""
