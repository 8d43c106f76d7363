//! API tokens for automation: `pac_` + 32 random bytes in base64url (256
//! bits; the prefix lets secret scanners find them). Only the SHA-256 is
//! stored: a random 256-bit secret cannot be guessed offline, so a slow
//! password hash would add nothing but CPU per request. A token has one
//! role on a list of groups, an expiry, and may be revoked; its last use
//! is recorded (at most once a minute).

use subtle::ConstantTimeEq;

use super::session::{random_id, sha256_hex};
use super::store::TokenRow;
use super::{ALL_GROUPS, Auth, Principal, PrincipalKind, Role};

/// The environment variable that supplies the bootstrap admin token.
pub const BOOTSTRAP_ENV: &str = "PAC_BOOTSTRAP_TOKEN";

/// How long the bootstrap token lives.
pub const BOOTSTRAP_LIFETIME: i64 = 24 * 3600;

/// `last_used_at` is written at most this often per token.
const TOUCH_EVERY: i64 = 60;

/// Why a token was refused (each says what to do).
#[derive(Debug, thiserror::Error)]
pub enum TokenRejected {
    #[error("that is not a Pac API token (they look like `pac_` followed by 43 characters)")]
    Malformed,
    #[error("unknown API token: ask an admin for one (POST /api/v1/tokens)")]
    Unknown,
    #[error("this API token was revoked: ask an admin for a new one")]
    Revoked,
    #[error("this API token has expired: ask an admin for a new one")]
    Expired,
    #[error("{0}")]
    Store(#[from] crate::store::StoreError),
}

/// Whether `t` has the shape of a token this server issues.
pub fn well_formed(t: &str) -> bool {
    t.strip_prefix("pac_").is_some_and(|r| {
        r.len() == 43
            && r.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// A new token: (the secret, shown once; its hash; its list prefix).
pub fn mint() -> Result<(String, String, String), crate::store::StoreError> {
    let t = format!("pac_{}", random_id()?);
    let hash = sha256_hex(&t);
    let prefix = t[..12].to_string();
    Ok((t, hash, prefix))
}

/// The principal of a live token.
pub async fn authenticate(auth: &Auth, t: &str, now: i64) -> Result<Principal, TokenRejected> {
    if !well_formed(t) {
        return Err(TokenRejected::Malformed);
    }
    let hash = sha256_hex(t);
    let row = auth
        .store
        .token_by_hash(&hash)
        .await?
        .ok_or(TokenRejected::Unknown)?;
    // Found through the index; compared again in constant time.
    if !bool::from(row.hash.as_bytes().ct_eq(hash.as_bytes())) {
        return Err(TokenRejected::Unknown);
    }
    if row.revoked_at.is_some() {
        return Err(TokenRejected::Revoked);
    }
    if now >= row.expires_at {
        return Err(TokenRejected::Expired);
    }
    if row.last_used_at.is_none_or(|l| now - l >= TOUCH_EVERY) {
        auth.store.touch_token(row.id, now).await?;
    }
    Ok(principal(&row))
}

fn principal(row: &TokenRow) -> Principal {
    let role = Role::parse(&row.role).unwrap_or(Role::Viewer);
    let groups: Vec<String> = serde_json::from_str(&row.groups).unwrap_or_default();
    Principal {
        kind: PrincipalKind::Token,
        id: format!("token:{}", row.id),
        name: row.name.clone(),
        grants: groups.into_iter().map(|g| (role, g)).collect(),
        session: None,
        claims: None,
    }
}

/// At start with auth on: when no live token holds `admin` on every group
/// and no `[[auth.grant]]` gives it, stores a bootstrap admin token — the
/// one in `PAC_BOOTSTRAP_TOKEN`, or a new one, which is returned so the
/// caller prints it once. `Ok(None)`: nothing was needed or it came from
/// the environment.
pub async fn bootstrap(
    auth: &Auth,
    from_env: Option<&str>,
    now: i64,
) -> Result<Option<String>, String> {
    let granted = auth
        .grants
        .iter()
        .any(|g| g.role == Role::Admin && g.groups.iter().any(|x| x == ALL_GROUPS));
    let live = auth
        .store
        .live_global_admin_token(now)
        .await
        .map_err(|e| e.to_string())?;
    if granted || live {
        return Ok(None);
    }
    let (secret, hash, prefix, printed) = match from_env {
        Some(t) => {
            if !well_formed(t) {
                return Err(format!(
                    "{BOOTSTRAP_ENV} is not a Pac API token: it must be `pac_` followed by 43 characters of base64url (A-Z a-z 0-9 - _), e.g. from `printf 'pac_%s' \"$(head -c 32 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=')\"`"
                ));
            }
            (t.to_string(), sha256_hex(t), t[..12].to_string(), false)
        }
        None => {
            let (t, h, p) = mint().map_err(|e| e.to_string())?;
            (t, h, p, true)
        }
    };
    if auth
        .store
        .token_by_hash(&hash)
        .await
        .map_err(|e| e.to_string())?
        .is_some()
    {
        return Err(format!(
            "{BOOTSTRAP_ENV} names a token this store already had (revoked or expired): give a new one"
        ));
    }
    auth.store
        .put_token(
            "bootstrap",
            &hash,
            &prefix,
            Role::Admin.as_str(),
            &[ALL_GROUPS.to_string()],
            "bootstrap",
            now,
            now + BOOTSTRAP_LIFETIME,
            true,
        )
        .await
        .map_err(|e| e.to_string())?;
    Ok(printed.then_some(secret))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_are_well_formed_and_distinct() {
        let (a, ha, pa) = mint().unwrap();
        let (b, _, _) = mint().unwrap();
        assert!(well_formed(&a) && well_formed(&b));
        assert_ne!(a, b);
        assert_eq!(a.len(), 47);
        assert_eq!(ha, sha256_hex(&a));
        assert!(a.starts_with(&pa));
        for bad in [
            "",
            "pac_",
            "pat_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
            "pac_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa+",
        ] {
            assert!(!well_formed(bad), "{bad}");
        }
    }
}
