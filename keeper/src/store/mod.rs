//! The keeper's durable state: receipts (the log), transaction intents, step outcomes and
//! anchored checkpoints. SQLite (embedded, WAL) by default, PostgreSQL for operators who run
//! several keepers; the same migrations and queries serve both.

use std::str::FromStr;

use anyhow::{Context, Result};
use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use std::sync::Arc;

use sqlx::{AnyConnection, AnyPool, ConnectOptions, Connection, Row};

mod compensations;
mod intents;
mod notifications;
mod steps;

/// A stored receipt.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredReceipt {
    pub leaf_index: u64,
    pub job: String,
    pub milestone: u8,
    pub hash: String,
    /// The canonical encoding.
    pub body: Vec<u8>,
    pub created_at: i64,
}

/// A decision the keeper told people about, and its webhook delivery.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// `job:milestone:kind`: one per decision awaited.
    pub id: String,
    pub job: String,
    pub milestone: u8,
    /// `approval_needed` or `dispute_open`.
    pub kind: String,
    /// The JSON delivered.
    pub payload: String,
    /// `pending` (to deliver), `delivered`, `failed` (every attempt failed), `expired` (its
    /// window closed before it could be delivered) or `unsent` (no
    /// webhook configured: streamed and listed only).
    pub status: String,
    pub attempts: u32,
    /// When the next attempt is due (unix seconds).
    pub next_at: i64,
    pub error: Option<String>,
    pub created_at: i64,
    pub delivered_at: Option<i64>,
}

/// A compensation the keeper owes or ran ([`crate::compensate`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Compensation {
    /// `job:milestone`.
    pub id: String,
    pub job: String,
    pub milestone: u8,
    /// Hash (hex) of the step's receipt: what it undoes.
    pub undoes: String,
    /// The milestone's compensation from the pinned terms (JSON).
    pub work: String,
    /// `armed` (the job may still end well), `due`, `compensated`, `failed` (every attempt
    /// failed) or `not_needed` (the job ended without a refund, or the milestone was not
    /// submitted with this receipt).
    pub status: String,
    pub attempts: u32,
    /// When the next attempt is due (unix seconds).
    pub next_at: i64,
    pub error: Option<String>,
    /// Hash (hex) of the compensation's own receipt, once compensated.
    pub receipt: Option<String>,
    pub updated_at: i64,
}

/// What the keeper meant to do with a transaction, persisted before broadcasting it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Intent {
    /// `job:milestone:action`.
    pub id: String,
    pub job: String,
    pub milestone: u8,
    pub action: String,
    /// The signed transaction, base64.
    pub tx: String,
    pub signature: String,
    pub last_valid_block_height: u64,
    pub status: IntentStatus,
    pub attempts: u32,
    pub error: Option<String>,
}

/// Where an intent is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum IntentStatus {
    /// Signed and possibly broadcast; may still land.
    Pending,
    /// Landed and succeeded.
    Confirmed,
    /// Landed and failed, or can no longer apply (another keeper won the race).
    Failed,
    /// Its blockhash expired without landing; a new intent may replace it.
    Expired,
}

impl IntentStatus {
    /// The status as stored (`pending`, `confirmed`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            IntentStatus::Pending => "pending",
            IntentStatus::Confirmed => "confirmed",
            IntentStatus::Failed => "failed",
            IntentStatus::Expired => "expired",
        }
    }

    fn parse(s: &str) -> Result<Self> {
        Ok(match s {
            "pending" => IntentStatus::Pending,
            "confirmed" => IntentStatus::Confirmed,
            "failed" => IntentStatus::Failed,
            "expired" => IntentStatus::Expired,
            other => anyhow::bail!("unknown intent status {other:?} in the store"),
        })
    }
}

/// The outcome of executing one step.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    pub job: String,
    pub milestone: u8,
    pub status: StepStatus,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub receipt_index: Option<u64>,
}

/// Where a step stands (its text in the store and the API: `running`, `done`, `failed`,
/// `abandoned`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, strum::Display, strum::EnumString, strum::IntoStaticStr)]
#[strum(serialize_all = "lowercase")]
pub enum StepStatus {
    /// A runner holds its claim.
    Running,
    /// Its receipt is recorded.
    Done,
    /// Its last run produced nothing payable; it runs again after a rest (`retry-later`).
    Failed,
    /// Given up: left to the operator's failure policy.
    Abandoned,
}

impl StepStatus {
    /// Whether a run ended without paid work (the step may run again, or is left to the policy).
    pub fn unpaid(self) -> bool {
        matches!(self, StepStatus::Failed | StepStatus::Abandoned)
    }
}

/// An anchored checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StoredCheckpoint {
    pub day: u32,
    pub size: u64,
    pub root: String,
    pub signature: String,
    pub anchored_at: i64,
}

/// The store.
#[derive(Clone, Debug)]
pub struct Store {
    db: Db,
    /// The database's clock as unix seconds in SQL: leases are judged on it, never on the
    /// clocks of the keepers sharing the store.
    now_sql: &'static str,
}

/// The store's database connections.
#[derive(Clone, Debug)]
enum Db {
    /// SQLite: two connections to the file, used one operation at a time. Not a pool: a pool
    /// pings a connection each time it is handed back, a round trip to the connection's
    /// worker thread per query that doubled the thread wake-ups behind every write.
    Sqlite(Arc<tokio::sync::Mutex<SqliteConnections>>),
    /// PostgreSQL: a pool, for concurrent operations and for keepers sharing the database.
    Pool(AnyPool),
}

/// The two SQLite connections: both write the same WAL, so a durable commit also makes every
/// relaxed commit before it durable.
#[derive(Debug)]
struct SqliteConnections {
    /// `synchronous=FULL`: a commit is on disk when it returns.
    durable: AnyConnection,
    /// `synchronous=NORMAL` ([`Store::relaxed`]).
    relaxed: AnyConnection,
}

/// One operation's connection.
enum Conn<'a> {
    /// The SQLite connections, locked; `true` for the relaxed one.
    Sqlite(tokio::sync::MutexGuard<'a, SqliteConnections>, bool),
    Pooled(sqlx::pool::PoolConnection<sqlx::Any>),
}

impl std::ops::Deref for Conn<'_> {
    type Target = AnyConnection;
    fn deref(&self) -> &AnyConnection {
        match self {
            Conn::Sqlite(both, relaxed) => {
                if *relaxed {
                    &both.relaxed
                } else {
                    &both.durable
                }
            }
            Conn::Pooled(conn) => conn,
        }
    }
}

impl std::ops::DerefMut for Conn<'_> {
    fn deref_mut(&mut self) -> &mut AnyConnection {
        match self {
            Conn::Sqlite(both, relaxed) => {
                if *relaxed {
                    &mut both.relaxed
                } else {
                    &mut both.durable
                }
            }
            Conn::Pooled(conn) => conn,
        }
    }
}

/// This machine's wall clock in unix seconds: the times the keeper records and its scan
/// freshness (claims are judged on the database's clock instead).
pub use agentrail_client::unix_now;

/// The claim a receipt's step must still be held by for the receipt to be stored
/// ([`Store::append_receipts_fenced`]).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct StepFence {
    /// The runner's owner token (its claim).
    pub owner: String,
    /// Attempts the step took, recorded with it.
    pub attempts: u32,
}

/// A receipt was not stored: its runner no longer holds the step's claim (taken over after
/// the lease lapsed).
#[derive(Debug, thiserror::Error)]
#[error("the claim on {job} milestone {milestone} was lost: the receipt was not stored")]
pub struct ClaimLost {
    pub job: String,
    pub milestone: u8,
}

impl Store {
    /// Opens (creating if needed) the store at `url`: `sqlite://path` or `postgres://...`, and
    /// applies the migrations.
    pub async fn open(url: &str) -> Result<Self> {
        sqlx::any::install_default_drivers();
        let url =
            if url.starts_with("sqlite:") && !url.contains('?') { format!("{url}?mode=rwc") } else { url.to_string() };
        // never the password: these errors reach logs and terminals
        let shown = agentrail_client::redact::redact_url(&url);
        let options = AnyConnectOptions::from_str(&url)
            .with_context(|| format!("invalid database URL {shown:?}"))?
            // per-statement logging costs a formatted message per query on the hot path
            .log_statements(log::LevelFilter::Off);
        let cannot_open = || format!("cannot open the keeper store at {shown}");
        let (db, sqlite) = if url.starts_with("sqlite:") {
            let mut durable = options.connect().await.with_context(cannot_open)?;
            sqlx::query("PRAGMA journal_mode=WAL").execute(&mut durable).await?;
            sqlx::query("PRAGMA synchronous=FULL").execute(&mut durable).await?;
            let mut relaxed = options.connect().await.with_context(cannot_open)?;
            sqlx::query("PRAGMA synchronous=NORMAL").execute(&mut relaxed).await?;
            (Db::Sqlite(Arc::new(tokio::sync::Mutex::new(SqliteConnections { durable, relaxed }))), true)
        } else {
            let pool =
                AnyPoolOptions::new().max_connections(8).connect_with(options).await.with_context(cannot_open)?;
            (Db::Pool(pool), false)
        };
        let store = Store {
            db,
            now_sql: if sqlite {
                "CAST(strftime('%s', 'now') AS BIGINT)"
            } else {
                "CAST(EXTRACT(EPOCH FROM now()) AS BIGINT)"
            },
        };
        // a rolling upgrade of keepers sharing PostgreSQL: an older keeper restarting after a
        // newer one migrated must still start, so migrations are additive (new tables, new
        // nullable columns, never a rename or a drop) and migrations it does not know are
        // accepted instead of refused (`migrations_from_a_newer_keeper_are_accepted`)
        // the migrations in the repository's `migrations/` folder, embedded at build time
        let mut migrator = sqlx::migrate!("../migrations");
        migrator.set_ignore_missing(true);
        migrator.run(&mut *store.conn().await?).await.context("applying the store migrations")?;
        Ok(store)
    }

    /// A connection for one operation whose commits are durable before they return.
    async fn conn(&self) -> Result<Conn<'_>> {
        self.connection(false).await
    }

    /// A connection for a write whose loss in a power failure the keeper recovers from by
    /// itself: a claim (its lease lapses), a lease renewal, an intent's outcome (start-up
    /// reconciliation reads it back from the chain), a failed step (it is retried). On SQLite
    /// its commits skip the WAL fsync (`synchronous=NORMAL`: they survive a crash of the
    /// keeper, not of the machine), and the next durable commit (a receipt, an intent before
    /// its broadcast) syncs them with everything before it: one fsync less per such write.
    /// Nothing whose loss could pay twice or lose a receipt is written this way. PostgreSQL
    /// commits as its server is configured.
    async fn relaxed(&self) -> Result<Conn<'_>> {
        self.connection(true).await
    }

    async fn connection(&self, relaxed: bool) -> Result<Conn<'_>> {
        Ok(match &self.db {
            Db::Sqlite(both) => Conn::Sqlite(both.lock().await, relaxed),
            Db::Pool(pool) => Conn::Pooled(pool.acquire().await?),
        })
    }

    /// Number of receipts, i.e. the log's size.
    pub async fn log_size(&self) -> Result<u64> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM receipts").fetch_one(&mut *self.conn().await?).await?;
        Ok(row.try_get::<i64, _>("n")? as u64)
    }

    /// Appends a receipt at `leaf_index`, which must be the current size: a second writer that
    /// raced for the same index fails on the primary key and nothing is half-written.
    /// Appends `rows` (consecutive indices) in one transaction: all durable, or none. Rows go
    /// in multi-row statements (per-statement overhead, not fsync, dominates small rows).
    pub async fn append_receipts(&self, rows: &[StoredReceipt]) -> Result<()> {
        self.append_receipts_fenced(rows, &[]).await
    }

    /// [`Store::append_receipts`], also marking done, in the same transaction, the step each
    /// fence names (a fence per row, or none): the receipt is stored only while its runner
    /// still holds the step's claim, and the step is done exactly when its receipt is durable.
    /// A lost claim fails the whole transaction with [`ClaimLost`].
    pub async fn append_receipts_fenced(&self, rows: &[StoredReceipt], fences: &[Option<StepFence>]) -> Result<()> {
        // 6 placeholders a row: SQLite looks each `$n` up by walking the statement's list of
        // names, so binding costs grow with the square of the placeholders; 32 rows (192
        // placeholders) a statement binds 256 receipts ~15% faster than one 1,536-placeholder
        // statement, and stays far below both databases' limits
        const ROWS_PER_STATEMENT: usize = 32;
        let mut conn = self.conn().await?;
        let mut tx = conn.begin().await?;
        for chunk in rows.chunks(ROWS_PER_STATEMENT) {
            let values: Vec<String> = (0..chunk.len())
                .map(|k| {
                    let p = 6 * k;
                    format!("(${}, ${}, ${}, ${}, ${}, ${})", p + 1, p + 2, p + 3, p + 4, p + 5, p + 6)
                })
                .collect();
            let sql = format!(
                "INSERT INTO receipts (leaf_index, job, milestone, hash, body, created_at) VALUES {}",
                values.join(", ")
            );
            let mut query = sqlx::query(&sql);
            for r in chunk {
                query = query
                    .bind(r.leaf_index as i64)
                    .bind(r.job.clone())
                    .bind(i64::from(r.milestone))
                    .bind(r.hash.clone())
                    .bind(hex::encode(&r.body))
                    .bind(r.created_at);
            }
            let first = chunk[0].leaf_index;
            query.execute(&mut *tx).await.with_context(|| format!("storing receipts from {first}"))?;
        }
        let now = self.now_sql;
        for (r, fence) in rows.iter().zip(fences).filter_map(|(r, f)| f.as_ref().map(|f| (r, f))) {
            let done = sqlx::query(&format!(
                "UPDATE steps SET status = 'done', attempts = $1, last_error = NULL, receipt_index = $2, \
                 updated_at = {now}, claimed_by = NULL, lease_until = NULL \
                 WHERE job = $3 AND milestone = $4 AND claimed_by = $5 AND status = 'running'"
            ))
            .bind(i64::from(fence.attempts))
            .bind(r.leaf_index as i64)
            .bind(&r.job)
            .bind(i64::from(r.milestone))
            .bind(&fence.owner)
            .execute(&mut *tx)
            .await?;
            if done.rows_affected() != 1 {
                // dropping the transaction rolls the receipts back
                return Err(ClaimLost { job: r.job.clone(), milestone: r.milestone }.into());
            }
        }
        tx.commit().await.context("committing receipts")?;
        Ok(())
    }

    /// Appends one receipt row ([`Store::append_receipts`]).
    pub async fn append_receipt(&self, r: &StoredReceipt) -> Result<()> {
        self.append_receipts(std::slice::from_ref(r)).await
    }

    fn receipt_row(row: &sqlx::any::AnyRow) -> Result<StoredReceipt> {
        Ok(StoredReceipt {
            leaf_index: row.try_get::<i64, _>("leaf_index")? as u64,
            job: row.try_get("job")?,
            milestone: row.try_get::<i64, _>("milestone")? as u8,
            hash: row.try_get("hash")?,
            body: hex::decode(row.try_get::<String, _>("body")?).context("receipt body is not hex")?,
            created_at: row.try_get("created_at")?,
        })
    }

    /// Every receipt in log order (to rebuild the tree at start-up).
    pub async fn receipts(&self) -> Result<Vec<StoredReceipt>> {
        self.receipts_from(0).await
    }

    /// The receipts from `index` on, in log order.
    pub async fn receipts_from(&self, index: u64) -> Result<Vec<StoredReceipt>> {
        let rows = sqlx::query("SELECT * FROM receipts WHERE leaf_index >= $1 ORDER BY leaf_index")
            .bind(index as i64)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(Self::receipt_row).collect()
    }

    /// The receipts of one job.
    pub async fn receipts_for_job(&self, job: &str) -> Result<Vec<StoredReceipt>> {
        let rows = sqlx::query("SELECT * FROM receipts WHERE job = $1 ORDER BY leaf_index")
            .bind(job)
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(Self::receipt_row).collect()
    }

    /// The receipt at `index`.
    pub async fn receipt(&self, index: u64) -> Result<Option<StoredReceipt>> {
        let row = sqlx::query("SELECT * FROM receipts WHERE leaf_index = $1")
            .bind(index as i64)
            .fetch_optional(&mut *self.conn().await?)
            .await?;
        row.as_ref().map(Self::receipt_row).transpose()
    }

    /// The latest receipt of a job's milestone, if one was written.
    pub async fn receipt_for(&self, job: &str, milestone: u8) -> Result<Option<StoredReceipt>> {
        let row =
            sqlx::query("SELECT * FROM receipts WHERE job = $1 AND milestone = $2 ORDER BY leaf_index DESC LIMIT 1")
                .bind(job)
                .bind(i64::from(milestone))
                .fetch_optional(&mut *self.conn().await?)
                .await?;
        row.as_ref().map(Self::receipt_row).transpose()
    }

    /// The creation time of every receipt, in log order (what anchoring needs, without bodies).
    pub async fn receipt_times(&self) -> Result<Vec<i64>> {
        let rows = sqlx::query("SELECT created_at FROM receipts ORDER BY leaf_index")
            .fetch_all(&mut *self.conn().await?)
            .await?;
        rows.iter().map(|r| Ok(r.try_get::<i64, _>("created_at")?)).collect()
    }

    /// Binds the store to `identity` (name, value pairs: keeper key, cluster, program) the
    /// first time, and afterwards refuses to serve another: an error naming each mismatch.
    pub async fn bind_identity(&self, identity: &[(&str, String)]) -> Result<()> {
        let mut mismatches = Vec::new();
        for (name, value) in identity {
            sqlx::query("INSERT INTO store_identity (name, value) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING")
                .bind(*name)
                .bind(value)
                .execute(&mut *self.conn().await?)
                .await?;
            let row = sqlx::query("SELECT value FROM store_identity WHERE name = $1")
                .bind(*name)
                .fetch_one(&mut *self.conn().await?)
                .await?;
            let bound: String = row.try_get("value")?;
            if &bound != value {
                mismatches.push(format!("{name} is {bound}, not {value}"));
            }
        }
        if !mismatches.is_empty() {
            anyhow::bail!(
                "this store belongs to another keeper or cluster ({}); use that keeper's own store",
                mismatches.join("; ")
            );
        }
        Ok(())
    }

    /// Records an anchored checkpoint.
    pub async fn put_checkpoint(&self, c: &StoredCheckpoint) -> Result<()> {
        sqlx::query("INSERT INTO checkpoints (day, size, root, signature, anchored_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (day) DO NOTHING")
            .bind(i64::from(c.day))
            .bind(c.size as i64)
            .bind(&c.root)
            .bind(&c.signature)
            .bind(c.anchored_at)
            .execute(&mut *self.conn().await?)
            .await?;
        Ok(())
    }

    /// Every anchored checkpoint, by day.
    pub async fn checkpoints(&self) -> Result<Vec<StoredCheckpoint>> {
        let rows = sqlx::query("SELECT * FROM checkpoints ORDER BY day").fetch_all(&mut *self.conn().await?).await?;
        rows.iter()
            .map(|row| {
                Ok(StoredCheckpoint {
                    day: row.try_get::<i64, _>("day")? as u32,
                    size: row.try_get::<i64, _>("size")? as u64,
                    root: row.try_get("root")?,
                    signature: row.try_get("signature")?,
                    anchored_at: row.try_get("anchored_at")?,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The durability promise of each SQLite connection: receipts and intents commit with an
    /// fsync (`FULL` = 2), the writes the keeper recovers by itself without (`NORMAL` = 1).
    #[tokio::test]
    async fn sqlite_connections_sync_as_documented() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&format!("sqlite://{}", dir.path().join("k.sqlite").display())).await.unwrap();
        let level = |row: sqlx::any::AnyRow| row.try_get::<i64, _>(0).unwrap();
        let durable = sqlx::query("PRAGMA synchronous").fetch_one(&mut *store.conn().await.unwrap()).await.unwrap();
        let relaxed = sqlx::query("PRAGMA synchronous").fetch_one(&mut *store.relaxed().await.unwrap()).await.unwrap();
        assert_eq!((level(durable), level(relaxed)), (2, 1));
        let mode = sqlx::query("PRAGMA journal_mode").fetch_one(&mut *store.conn().await.unwrap()).await.unwrap();
        assert_eq!(mode.try_get::<String, _>(0).unwrap(), "wal", "both connections share the WAL");
    }
}
