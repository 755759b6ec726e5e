"""The stores of the queue and the session state: every table on SQLAlchemy Core, SQLite in the home or
PostgreSQL at `database_url`, the schema kept by Alembic migrations (store/migrations/).

`database.open_store` opens one; each store (`queue.ReviewQueue`, `sessions.SessionStore`, ...) works
over the `Database` it is given and never opens or closes one itself.
"""
