//! Answers kept for idempotency: a step asked again under the same key (a retry after a
//! timeout, a second keeper, a keeper that crashed between the answer and its receipt) gets
//! the stored answer, and the work never runs twice.

use std::str::FromStr;

use sqlx::Row;
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

/// Where answers are kept. SQLite by default ([`SqliteAnswers`]); implement it to keep them
/// elsewhere (several replicas of one agent must share it).
pub trait AnswerStore: Send + Sync {
    /// The answer stored under `key`, if any.
    fn get<'a>(&'a self, key: &'a str) -> futures::future::BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>>;
    /// Stores `answer` under `key`, durably, before it is sent; a key is written once (a
    /// second write keeps the first answer).
    fn put<'a>(&'a self, key: &'a str, answer: &'a [u8]) -> futures::future::BoxFuture<'a, Result<(), StoreError>>;
}

/// An answer as it is stored: the bytes sent, and the keeper and request they were made for.
/// It is sent again only to that keeper's authorization of that same request
/// ([`Answer::replays_to`]): anyone can sign a request with a key of its own, and a job's
/// deliverable is its keeper's (and the poster's through it), nobody else's.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Answer {
    /// The keeper key whose authorization the answer was made for.
    pub keeper: String,
    /// SHA-256 (hex) of the request body it answered, as the authorization signed it.
    pub request_hash: String,
    /// The answer's bytes, as sent.
    pub bytes: Vec<u8>,
}

/// [`Answer`] as the store keeps it (JSON, the bytes in hex).
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    keeper: String,
    request_hash: String,
    answer: String,
}

impl Answer {
    /// The bytes the store keeps.
    pub fn encode(&self) -> Vec<u8> {
        let stored = Stored {
            keeper: self.keeper.clone(),
            request_hash: self.request_hash.clone(),
            answer: hex::encode(&self.bytes),
        };
        serde_json::to_vec(&stored).unwrap_or_default()
    }

    /// Reads what the store kept; an error names a record this version did not write.
    pub fn decode(stored: &[u8]) -> Result<Self, StoreError> {
        let unreadable = |e: String| StoreError(format!("a stored answer this version cannot read: {e}"));
        let s: Stored = serde_json::from_slice(stored).map_err(|e| unreadable(e.to_string()))?;
        let bytes = hex::decode(&s.answer).map_err(|e| unreadable(e.to_string()))?;
        Ok(Answer { keeper: s.keeper, request_hash: s.request_hash, bytes })
    }

    /// Whether the answer may be sent to `keeper`'s authorization of the request `request_hash`.
    pub fn replays_to(&self, keeper: &str, request_hash: &str) -> bool {
        self.keeper == keeper && self.request_hash == request_hash
    }
}

/// The answer store failed.
#[derive(Debug, thiserror::Error)]
#[error("answer store: {0}")]
pub struct StoreError(pub String);

/// Answers in a SQLite file (WAL, every answer fsynced before it is sent).
pub struct SqliteAnswers {
    pool: SqlitePool,
}

impl SqliteAnswers {
    /// Opens (creating) the store at `path`.
    pub async fn open(path: &str) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(&format!("sqlite://{path}"))
            .map_err(|e| StoreError(format!("{path}: {e}")))?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .map_err(|e| StoreError(format!("cannot open {path}: {e}")))?;
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, answer BLOB NOT NULL, created_at INTEGER NOT NULL)",
        )
        .execute(&pool)
        .await
        .map_err(|e| StoreError(e.to_string()))?;
        Ok(SqliteAnswers { pool })
    }
}

impl AnswerStore for SqliteAnswers {
    fn get<'a>(&'a self, key: &'a str) -> futures::future::BoxFuture<'a, Result<Option<Vec<u8>>, StoreError>> {
        Box::pin(async move {
            let row = sqlx::query("SELECT answer FROM answers WHERE key = ?1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await
                .map_err(|e| StoreError(e.to_string()))?;
            row.map(|r| r.try_get::<Vec<u8>, _>(0).map_err(|e| StoreError(e.to_string()))).transpose()
        })
    }

    fn put<'a>(&'a self, key: &'a str, answer: &'a [u8]) -> futures::future::BoxFuture<'a, Result<(), StoreError>> {
        Box::pin(async move {
            let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs());
            sqlx::query(
                "INSERT INTO answers (key, answer, created_at) VALUES (?1, ?2, ?3) ON CONFLICT (key) DO NOTHING",
            )
            .bind(key)
            .bind(answer)
            .bind(now as i64)
            .execute(&self.pool)
            .await
            .map_err(|e| StoreError(e.to_string()))?;
            Ok(())
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn an_answer_is_kept_once_and_survives_reopening() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("answers.sqlite").display().to_string();
        let store = SqliteAnswers::open(&path).await.unwrap();
        assert_eq!(store.get("J:0").await.unwrap(), None);
        store.put("J:0", b"first").await.unwrap();
        store.put("J:0", b"second").await.unwrap();
        assert_eq!(store.get("J:0").await.unwrap().as_deref(), Some(&b"first"[..]), "a key is written once");
        drop(store);
        let again = SqliteAnswers::open(&path).await.unwrap();
        assert_eq!(again.get("J:0").await.unwrap().as_deref(), Some(&b"first"[..]));
    }

    #[test]
    fn an_answer_replays_only_to_its_keepers_same_request() {
        let answer = Answer { keeper: "K".into(), request_hash: "ab".into(), bytes: br#"{"output":1}"#.to_vec() };
        let back = Answer::decode(&answer.encode()).unwrap();
        assert_eq!(back, answer, "the bytes come back as they were sent");
        assert!(back.replays_to("K", "ab"));
        assert!(!back.replays_to("stranger", "ab"), "another key signing the same request");
        assert!(!back.replays_to("K", "cd"), "the keeper asking something else");
        assert!(Answer::decode(br#"{"output":1}"#).unwrap_err().0.contains("cannot read"));
    }
}
