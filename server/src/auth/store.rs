//! The identity tables (migration 0006) over the store's pool: portable
//! SQL with bound parameters only, as in `store.rs`.

use sqlx::SqlitePool;

use crate::store::Result;

/// The store's pool, for the identity tables.
#[derive(Clone)]
pub struct AuthStore {
    pool: SqlitePool,
}

/// A sign-in in progress.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct LoginState {
    pub state_hash: String,
    pub nonce: String,
    pub pkce_verifier: String,
    pub return_to: String,
    pub expires_at: i64,
}

/// A session row.
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct SessionRow {
    pub id_hash: String,
    pub principal: String,
    pub display_name: String,
    pub claims: String,
    pub created_at: i64,
    pub last_seen_at: i64,
    pub idle_expires_at: i64,
    pub expires_at: i64,
}

/// An API token row (never the token itself).
#[derive(Clone, Debug, sqlx::FromRow)]
pub struct TokenRow {
    pub id: i64,
    pub name: String,
    pub hash: String,
    pub prefix: String,
    pub role: String,
    pub groups: String,
    pub created_by: String,
    pub created_at: i64,
    pub expires_at: i64,
    pub last_used_at: Option<i64>,
    pub revoked_at: Option<i64>,
    pub revoked_by: Option<String>,
    pub bootstrap: i64,
}

/// The store serializes writers itself (`BEGIN IMMEDIATE`, see store.rs).
const WRITE_TX: &str = "BEGIN IMMEDIATE";

impl AuthStore {
    pub fn new(pool: SqlitePool) -> AuthStore {
        AuthStore { pool }
    }

    pub async fn put_login_state(
        &self,
        binding_hash: &str,
        s: &LoginState,
        created_at: i64,
    ) -> Result<()> {
        sqlx::query(
            "INSERT INTO login_states (binding_hash, state_hash, nonce, pkce_verifier, return_to, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(binding_hash)
        .bind(&s.state_hash)
        .bind(&s.nonce)
        .bind(&s.pkce_verifier)
        .bind(&s.return_to)
        .bind(created_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Removes and returns the sign-in bound to `binding_hash`: one
    /// statement, so a second callback with the same binding finds nothing.
    pub async fn take_login_state(&self, binding_hash: &str) -> Result<Option<LoginState>> {
        Ok(sqlx::query_as(
            "DELETE FROM login_states WHERE binding_hash = $1 RETURNING state_hash, nonce, pkce_verifier, return_to, expires_at",
        )
        .bind(binding_hash)
        .fetch_optional(&self.pool)
        .await?)
    }

    /// The 32-byte key `name`, drawn from `fresh` the first time and kept
    /// (the first writer's stands when two race).
    pub async fn server_key(&self, name: &str, fresh: [u8; 32], at: i64) -> Result<[u8; 32]> {
        sqlx::query(
            "INSERT INTO server_keys (name, key, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING",
        )
        .bind(name)
        .bind(&fresh[..])
        .bind(at)
        .execute(&self.pool)
        .await?;
        let key: Vec<u8> = sqlx::query_scalar("SELECT key FROM server_keys WHERE name = $1")
            .bind(name)
            .fetch_one(&self.pool)
            .await?;
        // A stored key of another length (edited by hand) is not used.
        Ok(key.try_into().unwrap_or(fresh))
    }

    pub async fn put_session(&self, s: &SessionRow) -> Result<()> {
        sqlx::query(
            "INSERT INTO sessions (id_hash, principal, display_name, claims, created_at, last_seen_at, idle_expires_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(&s.id_hash)
        .bind(&s.principal)
        .bind(&s.display_name)
        .bind(&s.claims)
        .bind(s.created_at)
        .bind(s.last_seen_at)
        .bind(s.idle_expires_at)
        .bind(s.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// A user signed in: their digest subscriptions (migration 0013) read
    /// with these claims, and go to the provider's address when it gives
    /// one.
    pub async fn refresh_subscriptions(
        &self,
        principal: &str,
        claims: &super::UserClaims,
    ) -> Result<()> {
        let json = serde_json::to_string(claims).unwrap_or_else(|_| "{}".into());
        sqlx::query(
            "UPDATE digest_subscriptions SET claims = $2, address = COALESCE($3, address) WHERE principal = $1",
        )
        .bind(principal)
        .bind(json)
        .bind(claims.email.as_deref())
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn session(&self, id_hash: &str) -> Result<Option<SessionRow>> {
        Ok(sqlx::query_as("SELECT * FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn touch_session(&self, id_hash: &str, at: i64, idle_expires_at: i64) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET last_seen_at = $2, idle_expires_at = $3 WHERE id_hash = $1",
        )
        .bind(id_hash)
        .bind(at)
        .bind(idle_expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    pub async fn delete_session(&self, id_hash: &str) -> Result<bool> {
        let r = sqlx::query("DELETE FROM sessions WHERE id_hash = $1")
            .bind(id_hash)
            .execute(&self.pool)
            .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Deletes ended sessions and abandoned sign-ins; how many rows went.
    pub async fn sweep(&self, now: i64) -> Result<u64> {
        let a = sqlx::query("DELETE FROM sessions WHERE expires_at <= $1 OR idle_expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        let b = sqlx::query("DELETE FROM login_states WHERE expires_at <= $1")
            .bind(now)
            .execute(&self.pool)
            .await?;
        Ok(a.rows_affected() + b.rows_affected())
    }

    /// Inserts a token (its id assigned here); the id.
    #[allow(clippy::too_many_arguments)]
    pub async fn put_token(
        &self,
        name: &str,
        hash: &str,
        prefix: &str,
        role: &str,
        groups: &[String],
        created_by: &str,
        created_at: i64,
        expires_at: i64,
        bootstrap: bool,
    ) -> Result<i64> {
        let mut tx = self.pool.begin_with(WRITE_TX).await?;
        let id: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(id), 0) + 1 FROM api_tokens")
            .fetch_one(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, name, hash, prefix, role, groups, created_by, created_at, expires_at, bootstrap) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(id)
        .bind(name)
        .bind(hash)
        .bind(prefix)
        .bind(role)
        .bind(serde_json::to_string(groups).unwrap_or_else(|_| "[]".into()))
        .bind(created_by)
        .bind(created_at)
        .bind(expires_at)
        .bind(bootstrap as i64)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    pub async fn token_by_hash(&self, hash: &str) -> Result<Option<TokenRow>> {
        Ok(sqlx::query_as("SELECT * FROM api_tokens WHERE hash = $1")
            .bind(hash)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn token(&self, id: i64) -> Result<Option<TokenRow>> {
        Ok(sqlx::query_as("SELECT * FROM api_tokens WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?)
    }

    pub async fn tokens(&self) -> Result<Vec<TokenRow>> {
        Ok(sqlx::query_as("SELECT * FROM api_tokens ORDER BY id")
            .fetch_all(&self.pool)
            .await?)
    }

    pub async fn touch_token(&self, id: i64, at: i64) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used_at = $2 WHERE id = $1")
            .bind(id)
            .bind(at)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Revokes a live token; false when there is none to revoke.
    pub async fn revoke_token(&self, id: i64, at: i64, by: &str) -> Result<bool> {
        let r = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $2, revoked_by = $3 WHERE id = $1 AND revoked_at IS NULL",
        )
        .bind(id)
        .bind(at)
        .bind(by)
        .execute(&self.pool)
        .await?;
        Ok(r.rows_affected() == 1)
    }

    /// Appends one event to the audit log.
    pub async fn append_audit(&self, e: &super::audit::NewEvent) -> Result<()> {
        let json = |v: &Option<serde_json::Value>| v.as_ref().map(|v| v.to_string());
        sqlx::query(
            "INSERT INTO audit_events (at, actor, ip, method, path, status, target, before, after)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.at)
        .bind(&e.actor)
        .bind(&e.ip)
        .bind(&e.method)
        .bind(&e.path)
        .bind(e.status)
        .bind(&e.target)
        .bind(json(&e.before))
        .bind(json(&e.after))
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Audit events, newest first.
    pub async fn audit_events(
        &self,
        f: &super::audit::AuditFilter,
    ) -> Result<Vec<super::audit::AuditEvent>> {
        Ok(sqlx::query_as(
            "SELECT * FROM audit_events
             WHERE ($1 IS NULL OR actor = $1) AND ($2 IS NULL OR at >= $2) AND ($3 IS NULL OR at < $3)
               AND ($4 = 0 OR status >= 400) AND ($5 IS NULL OR id < $5)
             ORDER BY id DESC LIMIT $6",
        )
        .bind(&f.actor)
        .bind(f.since)
        .bind(f.until)
        .bind(i64::from(f.failed))
        .bind(f.before_id)
        .bind(f.limit)
        .fetch_all(&self.pool)
        .await?)
    }

    /// Whether a live token holds `admin` on every group.
    pub async fn live_global_admin_token(&self, now: i64) -> Result<bool> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM api_tokens WHERE role = 'admin' AND groups = '[\"*\"]' AND revoked_at IS NULL AND expires_at > $1",
        )
        .bind(now)
        .fetch_one(&self.pool)
        .await?;
        Ok(n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::SqlStore;

    /// The CSRF key (any server key) is drawn once per store and read back
    /// after a restart (a new pool on the same file); another store has
    /// its own.
    #[tokio::test]
    async fn a_server_key_outlives_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("d/pac.db").display());
        let s = SqlStore::open(&url, 10).await.unwrap();
        let first = AuthStore::new(s.pool().clone())
            .server_key("csrf", [1; 32], 10)
            .await
            .unwrap();
        assert_eq!(first, [1; 32]);
        drop(s);
        let s = SqlStore::open(&url, 20).await.unwrap();
        let store = AuthStore::new(s.pool().clone());
        assert_eq!(
            store.server_key("csrf", [2; 32], 20).await.unwrap(),
            [1; 32]
        );
        assert_eq!(
            store.server_key("other", [3; 32], 20).await.unwrap(),
            [3; 32]
        );
        let elsewhere = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", elsewhere.path().join("pac.db").display());
        let s = SqlStore::open(&url, 10).await.unwrap();
        let store = AuthStore::new(s.pool().clone());
        assert_eq!(
            store.server_key("csrf", [4; 32], 10).await.unwrap(),
            [4; 32]
        );
    }
}
