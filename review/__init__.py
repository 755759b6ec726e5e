"""The review queue in SQLite, its export and statistics, and the interactive review screen.

`store.queue.ReviewQueue` holds the ideas that survived the critique until a human accepts, rejects or
defers them; `review.export` renders them for reading or for other tools; `review.stats` measures how
often the critic and the human agree.
"""
