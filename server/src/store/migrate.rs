//! The store's schema: the files `server/migrations/NNNN_name.sql`, embedded
//! at build time (`sqlx::migrate!`) and applied in order by sqlx's migrator.
//! It records each applied migration in `_sqlx_migrations` with the SHA-384
//! checksum of its text, applies each in its own transaction, and refuses
//! to open a store one of whose applied migrations has since been edited
//! (`VersionMismatch`) or that records one this build lacks (a newer
//! release's store). A migration is never edited once released: a change
//! is a new file.
//!
//! Stores made before sqlx's migrator was used (every release up to
//! migration 0005) recorded only the applied versions, in
//! `schema_migrations (version, applied_at)`. [`adopt_previous_runner`]
//! takes such a store over once, in one transaction: it records each
//! version listed there in `_sqlx_migrations` *as applied* with the
//! checksum of the embedded file of that version (sqlx's own `skip`:
//! `success = TRUE`, `execution_time = -1`, the marker of a migration
//! recorded rather than run), then drops `schema_migrations`. Seeding the
//! embedded checksums is sound because the previous runner applied exactly
//! these texts (it embedded the same files with `include_str!`, and none
//! has changed since it was added); versions it had not applied yet are
//! then run by sqlx as on any store.

use sqlx::SqlitePool;
use sqlx::migrate::{Migrate, MigrateError, Migrator};

use super::{Result, StoreError, WRITE_TX};

/// Every migration of this build.
pub(super) static MIGRATOR: Migrator = sqlx::migrate!();

/// The table the previous releases' runner kept.
const PREVIOUS_TABLE: &str = "schema_migrations";

/// Brings the store at `url` (open in `pool`) to this build's schema.
pub(super) async fn run(pool: &SqlitePool, url: &str) -> Result<()> {
    let failed = |source| StoreError::Migrate {
        url: url.to_string(),
        source,
    };
    adopt_previous_runner(pool, url).await?;
    MIGRATOR.run(pool).await.map_err(failed)
}

/// Records the migrations the previous runner applied as sqlx's (see the
/// module's comment); nothing when the store has no `schema_migrations`.
async fn adopt_previous_runner(pool: &SqlitePool, url: &str) -> Result<()> {
    let failed = |source: MigrateError| StoreError::Migrate {
        url: url.to_string(),
        source,
    };
    let mut tx = pool.begin_with(WRITE_TX).await?;
    let previous: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = $1")
            .bind(PREVIOUS_TABLE)
            .fetch_one(&mut *tx)
            .await?;
    if previous == 0 {
        return Ok(());
    }
    let versions: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM schema_migrations ORDER BY version")
            .fetch_all(&mut *tx)
            .await?;
    if let Some(&version) = versions.iter().find(|&&v| !MIGRATOR.version_exists(v)) {
        // Rolled back: the store stays as its release left it.
        return Err(StoreError::NewerStore {
            url: url.to_string(),
            version,
        });
    }
    let table = &MIGRATOR.table_name;
    tx.ensure_migrations_table(table).await.map_err(failed)?;
    // Already recorded: an older release was started on the adopted store
    // and recreated its (empty) table before failing.
    let recorded: Vec<i64> = tx
        .list_applied_migrations(table)
        .await
        .map_err(failed)?
        .iter()
        .map(|m| m.version)
        .collect();
    for m in MIGRATOR.iter() {
        if !m.migration_type.is_down_migration()
            && versions.contains(&m.version)
            && !recorded.contains(&m.version)
        {
            tx.skip(table, m).await.map_err(failed)?;
        }
    }
    sqlx::query("DROP TABLE schema_migrations")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::{
        IssueFilter, IssueStatus, JobStatus, ReadStatus, ScanStatus, SqlStore, Store,
    };
    use super::*;
    use sqlx::{Connection, SqliteConnection};

    /// A store the previous release wrote (see the fixture's header).
    const PREVIOUS_RELEASE: &str = include_str!("fixtures/previous_release.sql");

    fn url(dir: &tempfile::TempDir) -> String {
        format!("sqlite://{}", dir.path().join("pac.db").display())
    }

    /// Creates the file at `url` from SQL text, with a plain connection.
    async fn load(url: &str, sql: &str) {
        let opts: sqlx::sqlite::SqliteConnectOptions = url.parse().unwrap();
        let mut db = SqliteConnection::connect_with(&opts.create_if_missing(true))
            .await
            .unwrap();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_string()))
            .execute(&mut db)
            .await
            .unwrap();
        db.close().await.unwrap();
    }

    async fn tables(s: &SqlStore) -> Vec<String> {
        sqlx::query_scalar("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
            .fetch_all(s.pool())
            .await
            .unwrap()
    }

    /// (version, checksum, success, execution_time) as sqlx recorded them.
    async fn recorded(s: &SqlStore) -> Vec<(i64, Vec<u8>, bool, i64)> {
        sqlx::query_as(
            "SELECT version, checksum, success, execution_time FROM _sqlx_migrations ORDER BY version",
        )
        .fetch_all(s.pool())
        .await
        .unwrap()
    }

    fn embedded() -> Vec<(i64, Vec<u8>)> {
        MIGRATOR
            .iter()
            .map(|m| (m.version, m.checksum.to_vec()))
            .collect()
    }

    #[test]
    fn the_migrations_are_the_files_in_order() {
        let versions: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
        assert_eq!(versions, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14]);
        assert!(
            MIGRATOR
                .iter()
                .all(|m| !m.migration_type.is_down_migration())
        );
    }

    #[tokio::test]
    async fn a_new_store_is_migrated_by_sqlx() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqlStore::open(&url(&dir), 1).await.unwrap();
        let t = tables(&s).await;
        assert!(t.contains(&"_sqlx_migrations".to_string()), "{t:?}");
        assert!(!t.contains(&PREVIOUS_TABLE.to_string()), "{t:?}");
        let rec = recorded(&s).await;
        let got: Vec<(i64, Vec<u8>)> = rec.iter().map(|r| (r.0, r.1.clone())).collect();
        assert_eq!(got, embedded());
        assert!(rec.iter().all(|r| r.2 && r.3 >= 0), "run, not skipped");
        drop(s);
        // Opening again applies nothing and changes nothing.
        let s = SqlStore::open(&url(&dir), 2).await.unwrap();
        assert_eq!(recorded(&s).await, rec);
    }

    #[tokio::test]
    async fn refuses_a_store_whose_applied_migration_was_edited() {
        let dir = tempfile::tempdir().unwrap();
        let s = SqlStore::open(&url(&dir), 1).await.unwrap();
        sqlx::query("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 2")
            .execute(s.pool())
            .await
            .unwrap();
        drop(s);
        let err = SqlStore::open(&url(&dir), 2).await.err().expect("refused");
        assert!(
            matches!(
                err,
                StoreError::Migrate {
                    source: MigrateError::VersionMismatch(2),
                    ..
                }
            ),
            "{err}"
        );
    }

    #[tokio::test]
    async fn upgrades_a_store_made_by_the_previous_release() {
        let dir = tempfile::tempdir().unwrap();
        let url = url(&dir);
        load(&url, PREVIOUS_RELEASE).await;
        let s = SqlStore::open(&url, 1_700_009_000).await.unwrap();

        // The migration table is sqlx's, seeded with the embedded checksums
        // and marked as recorded (-1), not run, for what the previous
        // release applied (1-5); 6 (identity) is run; the old table is gone.
        let t = tables(&s).await;
        assert!(!t.contains(&PREVIOUS_TABLE.to_string()), "{t:?}");
        let rec = recorded(&s).await;
        let got: Vec<(i64, Vec<u8>)> = rec.iter().map(|r| (r.0, r.1.clone())).collect();
        assert_eq!(got, embedded());
        let how: Vec<(i64, bool)> = rec.iter().map(|r| (r.0, r.2 && r.3 == -1)).collect();
        assert_eq!(
            how,
            [
                (1, true),
                (2, true),
                (3, true),
                (4, true),
                (5, true),
                (6, false),
                (7, false),
                (8, false),
                (9, false),
                (10, false),
                (11, false),
                (12, false),
                (13, false),
                (14, false)
            ],
            "{rec:?}"
        );

        // The data is intact and reads through the typed rows.
        let (scans, total) = s.scans(10, 0).await.unwrap();
        assert_eq!(total, 3);
        let status: Vec<(i64, ScanStatus)> = scans.iter().map(|r| (r.id, r.status)).collect();
        assert_eq!(
            status,
            [
                (3, ScanStatus::Failed),
                (2, ScanStatus::Suspect),
                (1, ScanStatus::Completed)
            ]
        );
        assert_eq!(scans[1].held_removals, Some(40));
        assert_eq!(scans[1].ingest_errors[0]["error"], "missing id");
        assert_eq!(scans[2].duration_ms, Some(1834));
        assert_eq!(scans[2].trigger, "start");

        let (issues, total) = s.issues(&IssueFilter::default(), 10, 0).await.unwrap();
        assert_eq!(total, 3);
        let st: Vec<(i64, IssueStatus, Option<&str>)> = issues
            .iter()
            .map(|i| (i.id, i.status, i.exception.as_deref()))
            .collect();
        assert_eq!(
            st,
            [
                (1, IssueStatus::Open, None),
                (2, IssueStatus::Exempted, Some("dev-boxes")),
                (3, IssueStatus::Open, None)
            ]
        );
        let one = s.issue(1).await.unwrap().unwrap();
        assert_eq!(one.explanation.unwrap()["rule"], "x");
        assert_eq!(one.resource_id, "i-0a1");
        let kinds: Vec<String> = s
            .issue_events(2)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        assert_eq!(kinds, ["opened", "exempted"]);

        let (jobs, _) = s.jobs(None, None, 10, 0).await.unwrap();
        let js: Vec<(i64, JobStatus)> = jobs.iter().map(|j| (j.id, j.status)).collect();
        assert_eq!(js, [(1, JobStatus::Waiting), (2, JobStatus::Done)]);
        assert_eq!(jobs[0].notify, ["ops@example.com"]);
        assert_eq!(jobs[0].args["force"], false);
        assert_eq!(jobs[1].result.as_ref().unwrap()["changed"], true);
        assert_eq!(
            s.jobs(Some(JobStatus::Waiting), None, 10, 0)
                .await
                .unwrap()
                .1,
            1
        );
        let kinds: Vec<String> = s
            .audit(None)
            .await
            .unwrap()
            .into_iter()
            .map(|a| a.kind)
            .collect();
        assert_eq!(
            kinds,
            ["job_created", "job_created", "notified", "action_ran"]
        );

        let unread = s.unread().await.unwrap();
        assert_eq!(unread["files"].status, ReadStatus::Suspect);
        assert_eq!(unread["files"].scopes.len(), 1);
        assert!(
            !unread.contains_key("demo"),
            "a complete read leaves nothing unknown"
        );
        let r = s.resource("i-0a1").await.unwrap().unwrap();
        assert_eq!(r.document["tags"]["env"], "prod");
        assert_eq!(s.resource_groups(&r.key).await.unwrap(), ["prod"]);
        assert_eq!(
            s.api_exceptions().await.unwrap()[0].targets,
            ["no_public_ip"]
        );
        assert_eq!(
            s.api_groups().await.unwrap()[0].members[0].rtype,
            "aws.ec2.instance"
        );
        let (_, _, body) = s.compliance("").await.unwrap().unwrap();
        assert_eq!(body["overall"], 66.67);
        assert_eq!(s.history("", "").await.unwrap()[0].compliance, Some(66));
        assert_eq!(s.last_good_policies().await.unwrap().unwrap().0.len(), 1);
        assert!(s.check().await.unwrap().is_empty());

        // It keeps working, and opening it again changes nothing.
        assert_eq!(s.begin_scan("demo", "api", 1_700_009_001).await.unwrap(), 4);
        drop(s);
        let s = SqlStore::open(&url, 1_700_009_002).await.unwrap();
        assert_eq!(recorded(&s).await, rec);
        assert_eq!(
            s.scan(4).await.unwrap().unwrap().status,
            ScanStatus::Interrupted
        );
    }

    /// The previous runner exactly: its table, then each file's text in a
    /// transaction with its version recorded.
    async fn previous_runner(url: &str, upto: i64) {
        let mut sql = String::from(
            "CREATE TABLE schema_migrations (version BIGINT PRIMARY KEY, applied_at BIGINT NOT NULL);\n",
        );
        for m in MIGRATOR.iter().filter(|m| m.version <= upto) {
            sql.push_str(m.sql.as_str());
            sql.push_str(&format!(
                "\nINSERT INTO schema_migrations (version, applied_at) VALUES ({}, 0);\n",
                m.version
            ));
        }
        load(url, &sql).await;
    }

    #[tokio::test]
    async fn upgrades_a_store_from_before_migration_5_and_runs_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = url(&dir);
        previous_runner(&url, 4).await;
        load(
            &url,
            "INSERT INTO resources VALUES ('t|a|r|x', 't', 'x', 'a', 'r', 'src', '{}', 'f00dcafe', 1, 1, 1, NULL);
             INSERT INTO scans (id, source, trigger_kind, status, started_at, finished_at) VALUES (1, 'src', 'start', 'completed', 1, 2);",
        )
        .await;
        let s = SqlStore::open(&url, 3).await.unwrap();
        let rec = recorded(&s).await;
        let how: Vec<(i64, bool)> = rec.iter().map(|r| (r.0, r.3 == -1)).collect();
        assert_eq!(
            how,
            [
                (1, true),
                (2, true),
                (3, true),
                (4, true),
                (5, false),
                (6, false),
                (7, false),
                (8, false),
                (9, false),
                (10, false),
                (11, false),
                (12, false),
                (13, false),
                (14, false)
            ],
            "1-4 recorded, 5 and later run by sqlx"
        );
        // Migration 0005 ran: its columns exist, the old hash is cleared.
        let hash: String = sqlx::query_scalar("SELECT hash FROM resources")
            .fetch_one(s.pool())
            .await
            .unwrap();
        assert_eq!(hash, "");
        let scan = s.scan(1).await.unwrap().unwrap();
        assert_eq!(
            (scan.status, scan.duration_ms),
            (ScanStatus::Completed, None)
        );
    }

    #[tokio::test]
    async fn refuses_a_store_from_a_newer_release_and_leaves_it() {
        let dir = tempfile::tempdir().unwrap();
        let url = url(&dir);
        previous_runner(&url, 5).await;
        load(&url, "INSERT INTO schema_migrations VALUES (99, 0);").await;
        let err = SqlStore::open(&url, 1).await.err().expect("refused");
        assert!(
            matches!(err, StoreError::NewerStore { version: 99, .. }),
            "{err}"
        );
        assert!(err.to_string().contains("migration 99"), "{err}");
        let mut db = SqliteConnection::connect(&url).await.unwrap();
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM schema_migrations")
            .fetch_one(&mut db)
            .await
            .unwrap();
        assert_eq!(n, 6, "untouched");
        let sqlx_table: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM sqlite_master WHERE name = '_sqlx_migrations'",
        )
        .fetch_one(&mut db)
        .await
        .unwrap();
        assert_eq!(sqlx_table, 0, "nothing of the adoption was kept");
    }
}
