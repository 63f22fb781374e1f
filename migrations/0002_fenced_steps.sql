-- Step claims fenced by their owner and leased on the database's clock (not each keeper's):
-- a keeper renews its lease while the step runs; a claim taken over after it lapsed turns the
-- old owner's later writes into no-ops.
ALTER TABLE steps ADD COLUMN claimed_by TEXT;
ALTER TABLE steps ADD COLUMN lease_until BIGINT;

-- One receipt per milestone, enforced by the schema: a second runner's receipt is refused.
-- It also serves every lookup by job, so the older non-unique index goes (one index less to
-- write per receipt).
CREATE UNIQUE INDEX IF NOT EXISTS receipts_one_per_milestone ON receipts (job, milestone);
DROP INDEX IF EXISTS receipts_by_job;
