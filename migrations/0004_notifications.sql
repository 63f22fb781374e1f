-- Decisions the keeper told people about: one row per milestone awaiting its poster's approval
-- or its arbiter's decision, with the webhook delivery's state (retried with backoff).
CREATE TABLE IF NOT EXISTS notifications (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    milestone BIGINT NOT NULL,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    next_at BIGINT NOT NULL,
    error TEXT,
    created_at BIGINT NOT NULL,
    delivered_at BIGINT
);
CREATE INDEX IF NOT EXISTS notifications_due ON notifications (status, next_at);
