"""The Alembic environment of the groundhog database: `env.py` and the revisions under `versions/`."""
