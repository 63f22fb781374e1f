-- Compensations the keeper owes: one row per executed milestone whose terms declare how to undo
-- it, armed when the step ran; due once its job has ended with a milestone refunded; run last
-- milestone first, retried with backoff, and recorded with the receipt of the compensation.
CREATE TABLE IF NOT EXISTS compensations (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    milestone BIGINT NOT NULL,
    undoes TEXT NOT NULL,
    work TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    error TEXT,
    receipt TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS compensations_open ON compensations (status, job);
