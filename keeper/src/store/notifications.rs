//! Notifications: each decision awaited, recorded once, and every webhook delivery attempt.

use anyhow::Result;
use sqlx::Row;

use super::*;

impl Store {
    /// Records a notification unless one with its id exists; returns whether it is new.
    pub async fn add_notification(&self, n: &Notification) -> Result<bool> {
        let done = sqlx::query(
            "INSERT INTO notifications (id, job, milestone, kind, payload, status, attempts, next_at, error, created_at, delivered_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&n.id)
        .bind(&n.job)
        .bind(i64::from(n.milestone))
        .bind(&n.kind)
        .bind(&n.payload)
        .bind(&n.status)
        .bind(i64::from(n.attempts))
        .bind(n.next_at)
        .bind(n.error.clone())
        .bind(n.created_at)
        .bind(n.delivered_at)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records a delivery attempt's outcome.
    pub async fn set_notification(&self, n: &Notification) -> Result<()> {
        sqlx::query(
            "UPDATE notifications SET status = $1, attempts = $2, next_at = $3, error = $4, delivered_at = $5 WHERE id = $6",
        )
        .bind(&n.status)
        .bind(i64::from(n.attempts))
        .bind(n.next_at)
        .bind(n.error.clone())
        .bind(n.delivered_at)
        .bind(&n.id)
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(())
    }

    fn notification_row(row: &sqlx::any::AnyRow) -> Result<Notification> {
        Ok(Notification {
            id: row.try_get("id")?,
            job: row.try_get("job")?,
            milestone: row.try_get::<i64, _>("milestone")? as u8,
            kind: row.try_get("kind")?,
            payload: row.try_get("payload")?,
            status: row.try_get("status")?,
            attempts: row.try_get::<i64, _>("attempts")? as u32,
            next_at: row.try_get("next_at")?,
            error: row.try_get("error")?,
            created_at: row.try_get("created_at")?,
            delivered_at: row.try_get("delivered_at")?,
        })
    }

    /// Up to `limit` notifications due for delivery at `now`, oldest first.
    pub async fn due_notifications(&self, now: i64, limit: u32) -> Result<Vec<Notification>> {
        let rows = sqlx::query(
            "SELECT * FROM notifications WHERE status = 'pending' AND next_at <= $1 ORDER BY next_at, id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(Self::notification_row).collect()
    }

    /// The `limit` newest notifications, newest first (`job`: only that job's).
    pub async fn notifications(&self, job: Option<&str>, limit: u32) -> Result<Vec<Notification>> {
        let rows = sqlx::query(
            "SELECT * FROM notifications WHERE ($1 = '' OR job = $1) ORDER BY created_at DESC, id LIMIT $2",
        )
        .bind(job.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(&mut *self.conn().await?)
        .await?;
        rows.iter().map(Self::notification_row).collect()
    }
}
