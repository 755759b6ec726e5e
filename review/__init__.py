"""Reviewing the queue: decisions fed back into the log, undo, provenance, the questions' answers, export and
statistics. The two interfaces over it are rooms of their own (`terminal/`, `web/`); the rows are `store.queue`."""
