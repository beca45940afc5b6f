-- Periodic jobs: what each schedule is, since when, and the runs it has fired.
-- A run's primary key (name, due_at) is what makes a period fire once across every instance
-- sharing this database: the instance whose insert lands submits the job, the others skip.
CREATE TABLE job_schedules (
    name TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    schedule TEXT NOT NULL,
    -- Occurrences before this (ms since the epoch) are not owed: a new or changed schedule
    -- does not fire for the past.
    registered_at BIGINT NOT NULL
);

CREATE TABLE job_schedule_runs (
    name TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    claimed_at BIGINT NOT NULL,
    instance TEXT NOT NULL,
    job_id TEXT,
    PRIMARY KEY (name, due_at)
);
