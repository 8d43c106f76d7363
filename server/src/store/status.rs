//! The closed sets of values the store keeps in TEXT columns: issue
//! statuses and close reasons, auto-fix job statuses, scan statuses and
//! read verdicts.
//!
//! Each is an enum stored as the same lowercase text the store has always
//! held (`sqlx::Type`, so existing stores read as before) and sent through
//! the API as the same JSON string (serde). A value the enum does not know
//! (a store written by a newer release) fails the row's decoding instead of
//! passing through as an unchecked string. `type_name = "text"` makes a
//! PostgreSQL build map them to TEXT columns too, not to a PostgreSQL enum.

use std::fmt;

use serde::{Deserialize, Serialize};

/// `as_str` and `Display` from the same spellings the serde and sqlx
/// attributes produce (the tests below check that all three agree).
macro_rules! spelled {
    ($ty:ident { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in declaration order.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The text stored and sent for this value.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $($ty::$variant => $text),+
                }
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

// No `///` on the enums that are API query parameters: utoipa would add the
// comment to the generated OpenAPI document as the parameter's description.

// An issue's state: a failing result opens it, an exception exempts it, a
// passing result (or the resource or rule going away) closes it.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum IssueStatus {
    Open,
    Exempted,
    Closed,
}
spelled!(IssueStatus { Open => "open", Exempted => "exempted", Closed => "closed" });

/// Why an issue closed.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, sqlx::Type,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum CloseReason {
    /// The rule's result for the resource passed.
    Passed,
    /// The resource is gone from its source.
    ResourceRemoved,
    /// The rule is gone from the policies.
    RuleRemoved,
    /// The rule no longer applies to the resource (it left the rule's scope).
    OutOfScope,
}
spelled!(CloseReason {
    Passed => "passed",
    ResourceRemoved => "resource_removed",
    RuleRemoved => "rule_removed",
    OutOfScope => "out_of_scope",
});

// An auto-fix job's state: `waiting` until due, `running` while its action
// runs (at most once), then one of the others.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
#[sqlx(type_name = "text", rename_all = "snake_case")]
pub enum JobStatus {
    Waiting,
    Running,
    Done,
    DryRun,
    Failed,
    Cancelled,
    Suspended,
}
spelled!(JobStatus {
    Waiting => "waiting",
    Running => "running",
    Done => "done",
    DryRun => "dry_run",
    Failed => "failed",
    Cancelled => "cancelled",
    Suspended => "suspended",
});

/// A scan record's state.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum ScanStatus {
    /// Begun and not yet committed (also a `ScanWrite` not yet judged: one
    /// committed so would stay `running`, which `Store::check` reports).
    #[default]
    Running,
    /// Every scope of the source was read.
    Completed,
    /// Some scopes could not be read: their resources are unknown.
    Partial,
    /// The read failed as a whole (nothing of the source changed), or the
    /// scan itself failed before committing.
    Failed,
    /// The server stopped during the scan; nothing of it was committed.
    Interrupted,
    /// The read would have removed too much: held back until confirmed.
    Suspect,
}
spelled!(ScanStatus {
    Running => "running",
    Completed => "completed",
    Partial => "partial",
    Failed => "failed",
    Interrupted => "interrupted",
    Suspect => "suspect",
});

/// How a source's read went (the judge stage's verdict, kept per source in
/// `source_reads`); the same text as the scan status it gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, sqlx::Type)]
#[serde(rename_all = "lowercase")]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum ReadStatus {
    Completed,
    Partial,
    Failed,
    Suspect,
}
spelled!(ReadStatus {
    Completed => "completed",
    Partial => "partial",
    Failed => "failed",
    Suspect => "suspect",
});

impl From<ReadStatus> for ScanStatus {
    fn from(r: ReadStatus) -> ScanStatus {
        match r {
            ReadStatus::Completed => ScanStatus::Completed,
            ReadStatus::Partial => ScanStatus::Partial,
            ReadStatus::Failed => ScanStatus::Failed,
            ReadStatus::Suspect => ScanStatus::Suspect,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::{Connection, SqliteConnection};

    /// Every value is stored as its text, read back as itself, and sent as
    /// the same JSON string; a text the enum does not know is an error.
    async fn round_trip<T>(all: &[T], as_str: fn(T) -> &'static str)
    where
        T: Copy
            + 'static
            + fmt::Debug
            + fmt::Display
            + PartialEq
            + Serialize
            + for<'de> Deserialize<'de>
            + sqlx::Type<sqlx::Sqlite>
            + for<'q> sqlx::Encode<'q, sqlx::Sqlite>
            + for<'r> sqlx::Decode<'r, sqlx::Sqlite>
            + Send
            + Unpin,
    {
        let mut db = SqliteConnection::connect("sqlite::memory:").await.unwrap();
        sqlx::raw_sql("CREATE TABLE t (id BIGINT PRIMARY KEY, status TEXT NOT NULL)")
            .execute(&mut db)
            .await
            .unwrap();
        for (id, &v) in all.iter().enumerate() {
            let text = as_str(v);
            assert_eq!(v.to_string(), text);
            assert_eq!(serde_json::to_value(v).unwrap(), serde_json::json!(text));
            assert_eq!(
                serde_json::from_value::<T>(serde_json::json!(text)).unwrap(),
                v
            );
            sqlx::query("INSERT INTO t (id, status) VALUES ($1, $2)")
                .bind(id as i64)
                .bind(v)
                .execute(&mut db)
                .await
                .unwrap();
            let (stored, back): (String, T) =
                sqlx::query_as("SELECT status, status FROM t WHERE id = $1")
                    .bind(id as i64)
                    .fetch_one(&mut db)
                    .await
                    .unwrap();
            assert_eq!(stored, text, "{v:?} is stored as its text");
            assert_eq!(back, v, "{v:?} reads back");
            // A value written as plain text (an older store) reads too.
            let read: T = sqlx::query_scalar("SELECT $1")
                .bind(text)
                .fetch_one(&mut db)
                .await
                .unwrap();
            assert_eq!(read, v);
        }
        let bad = sqlx::query_scalar::<_, T>("SELECT 'no such status'")
            .fetch_one(&mut db)
            .await;
        assert!(bad.is_err(), "an unknown text is an error, not a value");
    }

    #[tokio::test]
    async fn issue_status_round_trips() {
        round_trip(IssueStatus::ALL, IssueStatus::as_str).await;
        assert_eq!(IssueStatus::ALL.len(), 3);
    }

    #[tokio::test]
    async fn close_reason_round_trips() {
        round_trip(CloseReason::ALL, CloseReason::as_str).await;
        assert_eq!(CloseReason::ResourceRemoved.as_str(), "resource_removed");
    }

    #[tokio::test]
    async fn job_status_round_trips() {
        round_trip(JobStatus::ALL, JobStatus::as_str).await;
        assert_eq!(JobStatus::DryRun.as_str(), "dry_run");
    }

    #[tokio::test]
    async fn scan_status_round_trips() {
        round_trip(ScanStatus::ALL, ScanStatus::as_str).await;
    }

    #[tokio::test]
    async fn read_status_round_trips_and_names_its_scan_status() {
        round_trip(ReadStatus::ALL, ReadStatus::as_str).await;
        for &r in ReadStatus::ALL {
            assert_eq!(ScanStatus::from(r).as_str(), r.as_str());
        }
    }
}
