//! Step claims: one runner per step, leased on the database's clock and fenced by owner.

use anyhow::Result;
use sqlx::Row;

use super::*;

impl Store {
    /// Claims a step for execution as `owner` (a token unique to this run): `true` when this
    /// caller may run it now. A step already running elsewhere is refused until its lease has
    /// lapsed on the database's clock (`lease_secs` from now; the owner renews it while it
    /// runs), which covers a keeper that died mid-step. Finished steps are never claimed.
    pub async fn claim_step(&self, job: &str, milestone: u8, owner: &str, lease_secs: i64) -> Result<bool> {
        self.claim_step_after(job, milestone, owner, lease_secs, 0).await
    }

    /// [`Store::claim_step`], except that a step whose last run failed or was abandoned is
    /// claimed only `rest_secs` after that run ended (on the database's clock): a step retried
    /// later is retried at a bounded rate, whichever keeper sharing the store asks.
    pub async fn claim_step_after(
        &self,
        job: &str,
        milestone: u8,
        owner: &str,
        lease_secs: i64,
        rest_secs: i64,
    ) -> Result<bool> {
        let now = self.now_sql;
        // the rest is a bound integer inlined as text (the statement has one parameter list)
        let rest = rest_secs.max(0);
        let taken_over = format!(
            "DO UPDATE SET status = 'running', updated_at = excluded.updated_at, \
             claimed_by = excluded.claimed_by, lease_until = excluded.lease_until \
             WHERE (steps.status IN ('failed', 'abandoned') AND steps.updated_at + {rest} <= {now}) \
             OR (steps.status = 'running' AND COALESCE(steps.lease_until, steps.updated_at + $4) < {now})"
        );
        self.claim(job, milestone, owner, lease_secs, &taken_over).await
    }

    /// Claims a step that has no row yet (never tried by any keeper sharing the store) by
    /// creating it, running, as `owner` for `lease_secs`: `false`, and nothing written, when
    /// the step has a row ([`Store::claim_step`] judges those).
    pub async fn claim_new_step(&self, job: &str, milestone: u8, owner: &str, lease_secs: i64) -> Result<bool> {
        self.claim(job, milestone, owner, lease_secs, "DO NOTHING").await
    }

    /// Inserts the step's row running under `owner`'s lease; `on_conflict` says what happens to
    /// an existing row. `true` when the claim was written.
    async fn claim(&self, job: &str, milestone: u8, owner: &str, lease_secs: i64, on_conflict: &str) -> Result<bool> {
        let now = self.now_sql;
        let result = sqlx::query(&format!(
            "INSERT INTO steps (job, milestone, status, attempts, last_error, receipt_index, updated_at, claimed_by, lease_until) \
             VALUES ($1, $2, 'running', 0, NULL, NULL, {now}, $3, {now} + $4) \
             ON CONFLICT (job, milestone) {on_conflict}"
        ))
        .bind(job)
        .bind(i64::from(milestone))
        .bind(owner)
        .bind(lease_secs)
        .execute(&mut *self.relaxed().await?)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Extends `owner`'s lease on a running step by `lease_secs` from the database's now;
    /// `false` when the claim was lost (taken over after it lapsed).
    pub async fn renew_claim(&self, job: &str, milestone: u8, owner: &str, lease_secs: i64) -> Result<bool> {
        let now = self.now_sql;
        let result = sqlx::query(&format!(
            "UPDATE steps SET lease_until = {now} + $1 \
             WHERE job = $2 AND milestone = $3 AND claimed_by = $4 AND status = 'running'"
        ))
        .bind(lease_secs)
        .bind(job)
        .bind(i64::from(milestone))
        .bind(owner)
        .execute(&mut *self.relaxed().await?)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Records the outcome of a step `owner` claimed, fenced: `false` (and nothing written)
    /// when another runner took the claim over meanwhile.
    pub async fn finish_step(&self, s: &Step, owner: &str) -> Result<bool> {
        let now = self.now_sql;
        let result = sqlx::query(&format!(
            "UPDATE steps SET status = $1, attempts = $2, last_error = $3, receipt_index = $4, updated_at = {now}, \
             claimed_by = NULL, lease_until = NULL \
             WHERE job = $5 AND milestone = $6 AND claimed_by = $7 AND status = 'running'"
        ))
        .bind(<&'static str>::from(s.status))
        .bind(i64::from(s.attempts))
        .bind(s.last_error.clone())
        .bind(s.receipt_index.map(|i| i as i64))
        .bind(&s.job)
        .bind(i64::from(s.milestone))
        .bind(owner)
        .execute(&mut *self.relaxed().await?)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// A step's outcome so far.
    pub async fn step(&self, job: &str, milestone: u8) -> Result<Option<Step>> {
        let row = sqlx::query("SELECT * FROM steps WHERE job = $1 AND milestone = $2")
            .bind(job)
            .bind(i64::from(milestone))
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.as_ref().map(Self::step_row).transpose()
    }

    /// Every step of `job` recorded so far, by milestone (one query, for the API's job view).
    pub async fn steps_for_job(&self, job: &str) -> Result<Vec<Step>> {
        let rows = sqlx::query("SELECT * FROM steps WHERE job = $1 ORDER BY milestone")
            .bind(job)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(Self::step_row).collect()
    }

    fn step_row(row: &sqlx::any::AnyRow) -> Result<Step> {
        Ok(Step {
            job: row.try_get("job")?,
            milestone: row.try_get::<i64, _>("milestone")? as u8,
            status: {
                let text: String = row.try_get("status")?;
                text.parse().map_err(|_| anyhow::anyhow!("a stored step has an unknown status {text:?}"))?
            },
            attempts: row.try_get::<i64, _>("attempts")? as u32,
            last_error: row.try_get("last_error")?,
            receipt_index: row.try_get::<Option<i64>, _>("receipt_index")?.map(|i| i as u64),
        })
    }
}
