//! Self-service exception requests (issue 13, part 6; docs/auth.md,
//! "Exception requests"): a requester asks, an approver of the group
//! decides, and an approved request becomes an ordinary API exception
//! confined to that group. The table of migration 0008 over the store's
//! pool, bound parameters only.

use serde::Serialize;
use sqlx::SqlitePool;

use crate::store::{JsonText, Result};

/// The store serializes writers itself (`BEGIN IMMEDIATE`, see store.rs).
const WRITE_TX: &str = "BEGIN IMMEDIATE";

/// Where a request stands.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Serialize, serde::Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum RequestStatus {
    Pending,
    Approved,
    Rejected,
}

/// One request, as stored and shown.
#[derive(Clone, Debug, Serialize, sqlx::FromRow)]
pub struct RequestRow {
    pub id: i64,
    /// The exception's name once approved.
    pub name: String,
    #[sqlx(rename = "grp")]
    pub group: Option<String>,
    #[sqlx(try_from = "JsonText")]
    pub targets: Vec<String>,
    #[sqlx(try_from = "JsonText")]
    pub resources: Vec<String>,
    pub condition: Option<String>,
    pub expires: String,
    pub reason: String,
    pub requested_by: String,
    pub requested_at: i64,
    pub status: RequestStatus,
    pub decided_by: Option<String>,
    pub decided_at: Option<i64>,
    pub comment: Option<String>,
}

/// A new request's fields.
pub struct NewRequest<'a> {
    pub name: &'a str,
    pub group: Option<&'a str>,
    pub targets: &'a [String],
    pub resources: &'a [String],
    pub condition: Option<&'a str>,
    pub expires: &'a str,
    pub reason: &'a str,
    pub requested_by: &'a str,
    pub requested_at: i64,
}

#[derive(Clone)]
pub struct RequestStore {
    pool: SqlitePool,
}

impl RequestStore {
    pub fn new(pool: SqlitePool) -> RequestStore {
        RequestStore { pool }
    }

    /// Stores a pending request; its id.
    pub async fn put(&self, r: &NewRequest<'_>) -> Result<i64> {
        let mut tx = self.pool.begin_with(WRITE_TX).await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO exception_requests (name, grp, targets, resources, condition, expires, reason, requested_by, requested_at, status)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id",
        )
        .bind(r.name)
        .bind(r.group)
        .bind(serde_json::to_string(r.targets).unwrap_or_default())
        .bind(serde_json::to_string(r.resources).unwrap_or_default())
        .bind(r.condition)
        .bind(r.expires)
        .bind(r.reason)
        .bind(r.requested_by)
        .bind(r.requested_at)
        .bind(RequestStatus::Pending)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn get(&self, id: i64) -> Result<Option<RequestRow>> {
        Ok(
            sqlx::query_as("SELECT * FROM exception_requests WHERE id = $1")
                .bind(id)
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    /// Requests, newest first, optionally of one status.
    pub async fn list(&self, status: Option<RequestStatus>) -> Result<Vec<RequestRow>> {
        Ok(sqlx::query_as(
            "SELECT * FROM exception_requests WHERE ($1 IS NULL OR status = $1) ORDER BY id DESC LIMIT 10000",
        )
        .bind(status)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Moves a pending request to `status`; false when it is not pending
    /// (someone decided first).
    pub async fn decide(
        &self,
        id: i64,
        status: RequestStatus,
        by: &str,
        at: i64,
        comment: Option<&str>,
    ) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE exception_requests SET status = $2, decided_by = $3, decided_at = $4, comment = $5
             WHERE id = $1 AND status = $6",
        )
        .bind(id)
        .bind(status)
        .bind(by)
        .bind(at)
        .bind(comment)
        .bind(RequestStatus::Pending)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Puts an approved request back to pending (its exception could not
    /// be stored).
    pub async fn reopen(&self, id: i64) -> Result<()> {
        sqlx::query(
            "UPDATE exception_requests SET status = $2, decided_by = NULL, decided_at = NULL, comment = NULL WHERE id = $1",
        )
        .bind(id)
        .bind(RequestStatus::Pending)
        .execute(&self.pool)
        .await?;
        Ok(())
    }
}
