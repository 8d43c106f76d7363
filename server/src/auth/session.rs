//! Server-side sessions: the cookie holds 32 random bytes (base64url), the
//! store their SHA-256. A session ends when unused for `session_idle` or
//! `session_max` after sign-in, whichever comes first, or at sign-out.

use axum::http::HeaderValue;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

use super::store::SessionRow;
use super::{Auth, Principal, PrincipalKind, UserClaims, grants_for};
use crate::store::Result;

/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY: i64 = 60;

/// 32 random bytes, base64url without padding (43 characters).
pub fn random_id() -> Result<String> {
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| {
        crate::store::StoreError::Database(sqlx::Error::Protocol(format!(
            "the system's random number generator failed: {e}"
        )))
    })?;
    Ok(URL_SAFE_NO_PAD.encode(b))
}

/// Lower-case hex SHA-256 of `s`: how ids and tokens are stored.
pub fn sha256_hex(s: &str) -> String {
    Sha256::digest(s.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session cookie's name: `__Host-` (Secure, Path=/, no Domain,
/// enforced by browsers) when served over https.
pub fn cookie_name(secure: bool) -> &'static str {
    if secure {
        "__Host-pac_session"
    } else {
        "pac_session"
    }
}

/// `Set-Cookie` for a new session. SameSite=Strict: no other site can make
/// a browser send it.
pub fn set_cookie(secure: bool, id: &str, max_age: i64) -> HeaderValue {
    let v = format!(
        "{}={id}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{}",
        cookie_name(secure),
        if secure { "; Secure" } else { "" }
    );
    HeaderValue::from_str(&v).unwrap_or_else(|_| HeaderValue::from_static(""))
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear_cookie(secure: bool) -> HeaderValue {
    HeaderValue::from_static(if secure {
        "__Host-pac_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
    } else {
        "pac_session=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
    })
}

/// Creates a session for a signed-in user; the cookie value.
pub async fn create(
    auth: &Auth,
    principal: &str,
    display_name: &str,
    claims: &UserClaims,
    now: i64,
) -> Result<String> {
    let id = random_id()?;
    let expires_at = now + auth.max;
    auth.store
        .put_session(&SessionRow {
            id_hash: sha256_hex(&id),
            principal: principal.to_string(),
            display_name: display_name.to_string(),
            claims: serde_json::to_string(claims).unwrap_or_else(|_| "{}".into()),
            created_at: now,
            last_seen_at: now,
            idle_expires_at: (now + auth.idle).min(expires_at),
            expires_at,
        })
        .await?;
    // The user's digest subscriptions read with what the provider says
    // now (a group taken away at the provider leaves their digests too).
    auth.store.refresh_subscriptions(principal, claims).await?;
    Ok(id)
}

/// The user of a live session (its use recorded); `None` for an unknown
/// or ended one (an ended one is deleted).
pub async fn principal(auth: &Auth, cookie: &str, now: i64) -> Result<Option<Principal>> {
    // A value we never issue is not looked up.
    if cookie.len() != 43
        || !cookie
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    {
        return Ok(None);
    }
    let hash = sha256_hex(cookie);
    let Some(row) = auth.store.session(&hash).await? else {
        return Ok(None);
    };
    if now >= row.expires_at || now >= row.idle_expires_at {
        auth.store.delete_session(&hash).await?;
        return Ok(None);
    }
    let mut idle_expires_at = row.idle_expires_at;
    if now - row.last_seen_at >= TOUCH_EVERY {
        idle_expires_at = (now + auth.idle).min(row.expires_at);
        auth.store
            .touch_session(&hash, now, idle_expires_at)
            .await?;
    }
    let claims: UserClaims = serde_json::from_str(&row.claims).unwrap_or_default();
    Ok(Some(Principal {
        kind: PrincipalKind::User,
        id: row.principal,
        name: row.display_name,
        grants: grants_for(&auth.grants, &claims),
        session: Some((row.expires_at, idle_expires_at)),
        claims: Some(claims),
    }))
}

/// Ends the session named by `cookie`; whether there was one.
pub async fn end(auth: &Auth, cookie: &str) -> Result<bool> {
    auth.store.delete_session(&sha256_hex(cookie)).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_43_characters_and_stored_hashed() {
        let a = random_id().unwrap();
        let b = random_id().unwrap();
        assert_eq!(a.len(), 43);
        assert_ne!(a, b);
        assert_eq!(
            sha256_hex("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn cookies_carry_their_attributes() {
        let c = set_cookie(true, "ID", 600);
        assert_eq!(
            c.to_str().unwrap(),
            "__Host-pac_session=ID; Path=/; HttpOnly; SameSite=Strict; Max-Age=600; Secure"
        );
        let c = set_cookie(false, "ID", 600);
        assert_eq!(
            c.to_str().unwrap(),
            "pac_session=ID; Path=/; HttpOnly; SameSite=Strict; Max-Age=600"
        );
        assert!(clear_cookie(true).to_str().unwrap().contains("Max-Age=0"));
    }
}
