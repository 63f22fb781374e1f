//! Intents: each transaction persisted (signed bytes, signature, last valid height) before it
//! is broadcast, and its outcome, compare-and-set on the signature.

use anyhow::Result;
use sqlx::Row;

use super::*;

impl Store {
    /// Records a new intent, or replaces one that expired. Refuses to replace a pending or
    /// confirmed intent: that is how a transaction is never signed twice while the first may land.
    pub async fn put_intent(&self, i: &Intent) -> Result<bool> {
        let result = sqlx::query(
            "INSERT INTO intents (id, job, milestone, action, tx, signature, last_valid_block_height, status, attempts, error, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) \
             ON CONFLICT (id) DO UPDATE SET tx = excluded.tx, signature = excluded.signature, \
             last_valid_block_height = excluded.last_valid_block_height, status = excluded.status, \
             attempts = intents.attempts + 1, error = NULL, updated_at = excluded.updated_at \
             WHERE intents.status IN ('expired', 'failed')",
        )
        .bind(&i.id)
        .bind(&i.job)
        .bind(i64::from(i.milestone))
        .bind(&i.action)
        .bind(&i.tx)
        .bind(&i.signature)
        .bind(i.last_valid_block_height as i64)
        .bind(i.status.as_str())
        .bind(i64::from(i.attempts))
        .bind(i.error.clone())
        .bind(unix_now())
        .execute(&mut *self.conn().await?)
        .await?;
        Ok(result.rows_affected() == 1)
    }

    /// Sets an intent's status (and error).
    pub async fn set_intent_status(
        &self,
        id: &str,
        signature: &str,
        status: IntentStatus,
        error: Option<&str>,
    ) -> Result<bool> {
        // compare-and-set on the signature: a driver still following an older transaction of
        // this intent must not overwrite the status of the newer one that replaced it
        let done =
            sqlx::query("UPDATE intents SET status = $1, error = $2, updated_at = $3 WHERE id = $4 AND signature = $5")
                .bind(status.as_str())
                .bind(error.map(str::to_string))
                .bind(unix_now())
                .bind(id)
                .bind(signature)
                .execute(&mut *self.relaxed().await?)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    fn intent_row(row: &sqlx::any::AnyRow) -> Result<Intent> {
        Ok(Intent {
            id: row.try_get("id")?,
            job: row.try_get("job")?,
            milestone: row.try_get::<i64, _>("milestone")? as u8,
            action: row.try_get("action")?,
            tx: row.try_get("tx")?,
            signature: row.try_get("signature")?,
            last_valid_block_height: row.try_get::<i64, _>("last_valid_block_height")? as u64,
            status: IntentStatus::parse(&row.try_get::<String, _>("status")?)?,
            attempts: row.try_get::<i64, _>("attempts")? as u32,
            error: row.try_get("error")?,
        })
    }

    /// One intent.
    pub async fn intent(&self, id: &str) -> Result<Option<Intent>> {
        let row = sqlx::query("SELECT * FROM intents WHERE id = $1")
            .bind(id)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.as_ref().map(Self::intent_row).transpose()
    }

    /// The intents of `job`, oldest first (what the keeper sent for it, and how each ended).
    pub async fn intents_for_job(&self, job: &str) -> Result<Vec<Intent>> {
        let rows = sqlx::query("SELECT * FROM intents WHERE job = $1 ORDER BY updated_at, id")
            .bind(job)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(Self::intent_row).collect()
    }

    /// How many intents are pending (may still land).
    pub async fn pending_intent_count(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM intents WHERE status = 'pending'")
            .fetch_one(&mut *self.conn().await?)
            .await?;
        Ok(row.try_get::<i64, _>("n")? as u64)
    }

    /// Every intent that may still land.
    pub async fn pending_intents(&self) -> Result<Vec<Intent>> {
        let rows = sqlx::query("SELECT * FROM intents WHERE status = 'pending' ORDER BY updated_at")
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(Self::intent_row).collect()
    }
}
