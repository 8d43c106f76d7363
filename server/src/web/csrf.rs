//! The portal's CSRF token (docs/portal.md, "Forms"): every form carries
//! it in a hidden field, and every POST handler compares it, in constant
//! time, with the one the caller's credential gives. It is bound to that
//! credential (the session cookie, or the `Authorization` header, or
//! `local` with auth off) and to a key drawn once and kept in the store
//! (`Auth::csrf_key`), so it is per session, unknowable to another site,
//! and still valid after a restart (sessions survive one too). This is on
//! top of the HTTP
//! layer's same-origin check of forms (`api::http::check_form`) and the
//! session cookie's `SameSite=Strict`.

use axum::http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::WebError;
use crate::auth::Auth;

/// What the caller authenticated with, as the authentication layer reads
/// it: the `Authorization` header first, else the session cookie.
fn credential<'a>(auth: &Auth, headers: &'a HeaderMap) -> &'a str {
    if let Some(v) = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        return v;
    }
    if auth.on()
        && let Some(c) = crate::auth::cookie(
            headers,
            crate::auth::session::cookie_name(auth.secure_cookies),
        )
    {
        return c;
    }
    "local"
}

/// The token of the caller's credential (64 hex characters).
pub fn token(auth: &Auth, headers: &HeaderMap) -> Result<String, WebError> {
    Ok(token_of(&auth.csrf_key, credential(auth, headers)))
}

fn token_of(key: &[u8; 32], credential: &str) -> String {
    let mut h = Sha256::new();
    h.update(key);
    h.update(b"\0pac portal csrf\0");
    h.update(credential.as_bytes());
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn same(given: &str, want: &str) -> bool {
    given.len() == want.len() && bool::from(given.as_bytes().ct_eq(want.as_bytes()))
}

/// Whether `given` is the caller's token; a 403 page otherwise.
pub fn check(auth: &Auth, headers: &HeaderMap, given: &str) -> Result<(), WebError> {
    let want = token(auth, headers)?;
    if same(given, &want) {
        return Ok(());
    }
    Err(WebError {
        status: StatusCode::FORBIDDEN,
        message: if given.is_empty() {
            "the form has no CSRF token: send it from the portal's own page".into()
        } else {
            "the form's CSRF token is not this session's (the page is older than your session): reload the page and send it again".into()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bound_to_its_credential_and_compared_whole() {
        let key = [7u8; 32];
        let a = token_of(&key, "Bearer pac_a");
        let b = token_of(&key, "Bearer pac_b");
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(a, token_of(&key, "Bearer pac_a"));
        assert_ne!(a, token_of(&[8u8; 32], "Bearer pac_a"), "bound to the key");
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same(&a[..63], &a));
        assert!(!same("", &a));
    }
}
