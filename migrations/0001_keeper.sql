-- Keeper store, portable between SQLite and PostgreSQL: 64-bit integers and text only
-- (bytes are hex or base64), placeholders written $1, $2, ... in order.

-- Signed receipts, in log order. leaf_index is the receipt's position in the Merkle log.
CREATE TABLE IF NOT EXISTS receipts (
    leaf_index BIGINT PRIMARY KEY,
    job TEXT NOT NULL,
    milestone BIGINT NOT NULL,
    hash TEXT NOT NULL UNIQUE,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS receipts_by_job ON receipts (job, milestone);

-- Every transaction the keeper signed, persisted before it is broadcast.
CREATE TABLE IF NOT EXISTS intents (
    id TEXT PRIMARY KEY,
    job TEXT NOT NULL,
    milestone BIGINT NOT NULL,
    action TEXT NOT NULL,
    tx TEXT NOT NULL,
    signature TEXT NOT NULL,
    last_valid_block_height BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    error TEXT,
    updated_at BIGINT NOT NULL
);
CREATE INDEX IF NOT EXISTS intents_by_status ON intents (status);

-- Off-chain step executions and their outcome.
CREATE TABLE IF NOT EXISTS steps (
    job TEXT NOT NULL,
    milestone BIGINT NOT NULL,
    status TEXT NOT NULL,
    attempts BIGINT NOT NULL,
    last_error TEXT,
    receipt_index BIGINT,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (job, milestone)
);

-- Checkpoints this keeper anchored.
CREATE TABLE IF NOT EXISTS checkpoints (
    day BIGINT PRIMARY KEY,
    size BIGINT NOT NULL,
    root TEXT NOT NULL,
    signature TEXT NOT NULL,
    anchored_at BIGINT NOT NULL
);
