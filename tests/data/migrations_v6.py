"""The schema migrations of the groundhog database, in order (see `core/db.py` for the rules).

Never edit or reorder an entry that has shipped; append `(next_version, sql_script)`. The scripts are
SQLite SQL; `core/pg_schema.py` holds the PostgreSQL translation applied for the same versions.
"""

from __future__ import annotations

MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        """
        CREATE TABLE queue (
            idea_id           TEXT PRIMARY KEY,
            session           TEXT NOT NULL DEFAULT '',
            persona           TEXT NOT NULL DEFAULT '',
            day               INTEGER NOT NULL DEFAULT 0,
            present           TEXT,                       -- ISO date the persona lived in
            title             TEXT NOT NULL,
            summary           TEXT NOT NULL,
            rationale         TEXT NOT NULL DEFAULT '',
            builds_on         TEXT NOT NULL DEFAULT '[]', -- JSON list of idea ids
            revision          INTEGER NOT NULL DEFAULT 0,
            parent_id         TEXT,
            score_novelty     INTEGER,                    -- critic rubric, 1-10; NULL when unscored
            score_feasibility INTEGER,
            score_relevance   INTEGER,
            score_clarity     INTEGER,
            novelty           REAL NOT NULL DEFAULT 0,    -- distance to the nearest earlier idea, 0..1
            rank_score        REAL NOT NULL DEFAULT 0,    -- best first
            reasoning         TEXT NOT NULL DEFAULT '',
            weakest_point     TEXT NOT NULL DEFAULT '',
            critic            TEXT NOT NULL DEFAULT '',
            flags             TEXT NOT NULL DEFAULT '[]', -- JSON list of Flag objects
            critique          TEXT NOT NULL,              -- the full CritiqueResult as JSON
            status            TEXT NOT NULL DEFAULT 'pending'
                              CHECK (status IN ('pending', 'accepted', 'rejected', 'deferred')),
            note              TEXT NOT NULL DEFAULT '',
            queued_at         TEXT NOT NULL,              -- ISO 8601 UTC, microseconds
            decided_at        TEXT
        );
        CREATE INDEX queue_status_rank ON queue (status, rank_score);
        CREATE INDEX queue_session ON queue (session);
        CREATE INDEX queue_persona ON queue (persona);
        """,
    ),
    (
        2,
        """
        CREATE TABLE sessions (
            id          TEXT PRIMARY KEY,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            status      TEXT NOT NULL
                        CHECK (status IN ('running', 'interrupted', 'awaiting-review', 'completed', 'failed')),
            reason      TEXT NOT NULL DEFAULT '',
            config      TEXT NOT NULL,                    -- the SessionConfig as JSON (never a key)
            elapsed_s   REAL NOT NULL DEFAULT 0           -- wall time over all runs
        );
        CREATE TABLE days (
            session           TEXT NOT NULL REFERENCES sessions (id),
            persona           TEXT NOT NULL,
            day               INTEGER NOT NULL,
            status            TEXT NOT NULL CHECK (status IN ('done', 'failed')),
            present           TEXT NOT NULL,
            summary           TEXT NOT NULL DEFAULT '{}', -- JSON: context ids, ideas, verdicts, notebook id
            generated         INTEGER NOT NULL DEFAULT 0,
            surviving         INTEGER NOT NULL DEFAULT 0,
            prompt_tokens     INTEGER NOT NULL DEFAULT 0,
            completion_tokens INTEGER NOT NULL DEFAULT 0,
            error             TEXT NOT NULL DEFAULT '',
            finished_at       TEXT NOT NULL,
            PRIMARY KEY (session, persona, day)
        );
        """,
    ),
    (
        3,
        """
        CREATE TABLE pairwise_judgements (              -- "which of these two is better?", for ranking
            id          INTEGER PRIMARY KEY AUTOINCREMENT,
            idea_a      TEXT NOT NULL REFERENCES queue (idea_id),
            idea_b      TEXT NOT NULL REFERENCES queue (idea_id),
            winner      TEXT NOT NULL CHECK (winner IN ('a', 'b', 'tie')),
            judge       TEXT NOT NULL DEFAULT 'human',  -- who chose: the human reviewer, or a model
            source      TEXT NOT NULL DEFAULT '',       -- where: e.g. 'web' (the review page's compare mode)
            note        TEXT NOT NULL DEFAULT '',
            created_at  TEXT NOT NULL,                  -- ISO 8601 UTC
            CHECK (idea_a <> idea_b)
        );
        CREATE INDEX pairwise_judgements_a ON pairwise_judgements (idea_a);
        CREATE INDEX pairwise_judgements_b ON pairwise_judgements (idea_b);
        """,
    ),
    (
        4,
        """
        PRAGMA defer_foreign_keys = ON;
        CREATE TABLE sessions_v4_copy AS SELECT * FROM sessions;
        DROP TABLE sessions;
        CREATE TABLE sessions (
            id          TEXT PRIMARY KEY,
            created_at  TEXT NOT NULL,
            updated_at  TEXT NOT NULL,
            status      TEXT NOT NULL
                        CHECK (status IN ('running', 'interrupted', 'awaiting-review', 'completed',
                                          'completed-with-failures', 'failed')),
            reason      TEXT NOT NULL DEFAULT '',
            config      TEXT NOT NULL,                    -- the SessionConfig as JSON (never a key)
            elapsed_s   REAL NOT NULL DEFAULT 0           -- wall time over all runs
        );
        INSERT INTO sessions (id, created_at, updated_at, status, reason, config, elapsed_s)
            SELECT id, created_at, updated_at, status, reason, config, elapsed_s FROM sessions_v4_copy;
        DROP TABLE sessions_v4_copy;
        ALTER TABLE days ADD COLUMN drafts INTEGER NOT NULL DEFAULT 0;    -- every version of every idea
        ALTER TABLE days ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;  -- tries of this day so far
        ALTER TABLE days ADD COLUMN epoch INTEGER NOT NULL DEFAULT 1;     -- the review epoch it ran in
        UPDATE days SET drafts = (
            SELECT COALESCE(SUM(COALESCE(json_extract(value, '$.versions'), 1)), 0)
            FROM json_each(days.summary, '$.ideas')
        ) WHERE json_valid(summary);
        UPDATE days SET drafts = MAX(drafts, generated);
        CREATE TABLE epochs (                              -- one row per pause for review
            session     TEXT NOT NULL REFERENCES sessions (id),
            persona     TEXT NOT NULL,
            epoch       INTEGER NOT NULL,                  -- the epoch this pause ends: 1, 2, ...
            last_day    INTEGER NOT NULL,                  -- the persona paused after this day
            cause       TEXT NOT NULL CHECK (cause IN ('review-every', 'selection-bits')),
            reason      TEXT NOT NULL DEFAULT '',
            status      TEXT NOT NULL DEFAULT 'waiting'
                        CHECK (status IN ('waiting', 'reviewed', 'resumed-without-review')),
            paused_at   TEXT NOT NULL,
            closed_at   TEXT,                              -- when the next epoch started
            undecided   TEXT NOT NULL DEFAULT '[]',        -- JSON ids still pending at a --no-wait resume
            PRIMARY KEY (session, persona, epoch)
        );
        """,
    ),
    (
        5,
        """
        ALTER TABLE queue ADD COLUMN origin TEXT NOT NULL DEFAULT 'survivor'
            CHECK (origin IN ('survivor', 'audit'));        -- audit: the critic rejected it (a sample)
        CREATE TABLE ratings (                             -- Bradley-Terry ratings from pairwise judgements
            idea_id TEXT PRIMARY KEY REFERENCES queue (idea_id),
            rating REAL NOT NULL, sigma REAL NOT NULL,     -- Elo-scale points, and its standard error
            matches INTEGER NOT NULL, updated_at TEXT NOT NULL
        );
        CREATE TABLE tournaments (                         -- `groundhog rank` runs, resumable
            id TEXT PRIMARY KEY, session TEXT NOT NULL DEFAULT '', ideas TEXT NOT NULL DEFAULT '[]',
            matches INTEGER NOT NULL, max_tokens INTEGER, both_orders INTEGER NOT NULL DEFAULT 0,
            judge TEXT NOT NULL, status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '',
            calls INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
            prompt_tokens INTEGER NOT NULL DEFAULT 0, completion_tokens INTEGER NOT NULL DEFAULT 0,
            created_at TEXT NOT NULL, updated_at TEXT NOT NULL
        );
        CREATE TABLE questions (                           -- what a persona asked the real researcher
            id TEXT PRIMARY KEY, session TEXT NOT NULL, persona TEXT NOT NULL, day INTEGER NOT NULL,
            present TEXT, question TEXT NOT NULL,
            context TEXT NOT NULL DEFAULT '{}',            -- JSON: the day's ideas and notebook id
            status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'answered')),
            answer TEXT NOT NULL DEFAULT '', asked_at TEXT NOT NULL, answered_at TEXT
        );
        CREATE INDEX questions_persona ON questions (persona, status);
        """,
    ),
    (
        6,  # a day's question (in its summary) lands in `questions` with the day row, in its transaction
        """CREATE TRIGGER days_question AFTER INSERT ON days WHEN NEW.summary ->> '$.question.id' IS NOT NULL BEGIN
            INSERT OR REPLACE INTO questions (id, session, persona, day, present, question, context, asked_at)
            SELECT q ->> 'id', NEW.session, NEW.persona, NEW.day, NEW.present, q ->> 'text',
                COALESCE(q -> 'context', '{}'), NEW.finished_at FROM (SELECT NEW.summary -> '$.question' AS q)
            WHERE NOT EXISTS (SELECT 1 FROM questions WHERE id = q ->> 'id' AND status = 'answered');
        END;""",
    ),
]
