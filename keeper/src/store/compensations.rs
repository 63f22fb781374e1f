//! Compensations: the saga's undo, armed when a step runs and chosen fairly for each round.

use anyhow::Result;
use sqlx::Row;

use super::*;

impl Store {
    /// Arms a compensation; a step run again (by a runner that took over its claim) re-arms it
    /// with its own receipt while it is still only armed.
    pub async fn arm_compensation(&self, c: &Compensation) -> Result<()> {
        sqlx::query(
            "INSERT INTO compensations (id, job, milestone, undoes, work, status, attempts, next_at, error, receipt, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET undoes = excluded.undoes, work = excluded.work \
             WHERE compensations.status = 'armed'",
        )
        .bind(&c.id)
        .bind(&c.job)
        .bind(i64::from(c.milestone))
        .bind(&c.undoes)
        .bind(&c.work)
        .bind(&c.status)
        .bind(i64::from(c.attempts))
        .bind(c.next_at)
        .bind(c.error.clone())
        .bind(c.receipt.clone())
        .bind(c.updated_at)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    /// Records a compensation's new state.
    pub async fn set_compensation(&self, c: &Compensation) -> Result<()> {
        sqlx::query(
            "UPDATE compensations SET status = $1, attempts = $2, next_at = $3, error = $4, receipt = $5, updated_at = $6 WHERE id = $7",
        )
        .bind(&c.status)
        .bind(i64::from(c.attempts))
        .bind(c.next_at)
        .bind(c.error.clone())
        .bind(c.receipt.clone())
        .bind(unix_now())
        .bind(&c.id)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    fn compensation_row(row: &sqlx::any::AnyRow) -> Result<Compensation> {
        Ok(Compensation {
            id: row.try_get("id")?,
            job: row.try_get("job")?,
            milestone: row.try_get::<i64, _>("milestone")? as u8,
            undoes: row.try_get("undoes")?,
            work: row.try_get("work")?,
            status: row.try_get("status")?,
            attempts: row.try_get::<i64, _>("attempts")? as u32,
            next_at: row.try_get("next_at")?,
            error: row.try_get("error")?,
            receipt: row.try_get("receipt")?,
            updated_at: row.try_get("updated_at")?,
        })
    }

    /// Compensations still open (`armed` or `due`), of at most `jobs` jobs, by job then
    /// milestone. The jobs are chosen fairly, never by address (which anyone can grind): jobs
    /// with a compensation due first, then those looked at longest ago
    /// ([`Store::set_compensations_seen`]).
    pub async fn open_compensations(&self, jobs: u32) -> Result<Vec<Compensation>> {
        let rows = sqlx::query(
            "SELECT * FROM compensations WHERE job IN (SELECT job FROM compensations \
             WHERE status IN ('armed', 'due') GROUP BY job \
             ORDER BY MAX(CASE WHEN status = 'due' THEN 1 ELSE 0 END) DESC, MIN(updated_at), job LIMIT $1) \
             AND status IN ('armed', 'due') ORDER BY job, milestone",
        )
        .bind(i64::from(jobs))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(Self::compensation_row).collect()
    }

    /// Marks `job`'s open compensations as looked at `now` (its job still running): the next
    /// rounds take the jobs looked at longest ago first.
    pub async fn set_compensations_seen(&self, job: &str, now: i64) -> Result<()> {
        sqlx::query("UPDATE compensations SET updated_at = $1 WHERE job = $2 AND status IN ('armed', 'due')")
            .bind(now)
            .bind(job)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// A job's compensations, by milestone.
    pub async fn compensations_for_job(&self, job: &str) -> Result<Vec<Compensation>> {
        let rows = sqlx::query("SELECT * FROM compensations WHERE job = $1 ORDER BY milestone")
            .bind(job)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(Self::compensation_row).collect()
    }
}
