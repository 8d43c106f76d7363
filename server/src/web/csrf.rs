//! The portal's CSRF token (docs/portal.md, "Forms"): every form carries
//! it in a hidden field, and every POST handler compares it, in constant
//! time, with the one the caller's credential gives. It is bound to that
//! credential (the session cookie, or the `Authorization` header, or
//! `local` with auth off) and to a key drawn at process start, so it is
//! per session, unknowable to another site, and stale after a restart
//! (the form then says to reload the page). This is on top of the HTTP
//! layer's same-origin check of forms (`api::http::check_form`) and the
//! session cookie's `SameSite=Strict`.

use std::sync::OnceLock;

use axum::http::{HeaderMap, StatusCode, header};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::WebError;
use crate::auth::Auth;

static KEY: OnceLock<[u8; 32]> = OnceLock::new();

fn key() -> Result<&'static [u8; 32], WebError> {
    if let Some(k) = KEY.get() {
        return Ok(k);
    }
    let mut b = [0u8; 32];
    getrandom::fill(&mut b).map_err(|e| WebError {
        status: StatusCode::INTERNAL_SERVER_ERROR,
        message: format!("the system's random number generator failed: {e}"),
    })?;
    // Another request may have set it first: that one stands.
    Ok(KEY.get_or_init(|| b))
}

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
    token_of(credential(auth, headers))
}

fn token_of(credential: &str) -> Result<String, WebError> {
    let mut h = Sha256::new();
    h.update(key()?);
    h.update(b"\0pac portal csrf\0");
    h.update(credential.as_bytes());
    Ok(h.finalize().iter().map(|b| format!("{b:02x}")).collect())
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
            "the form's CSRF token is not this session's (the page is older than your session or the server's last start): reload the page and send it again".into()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_token_is_bound_to_its_credential_and_compared_whole() {
        let a = token_of("Bearer pac_a").unwrap();
        let b = token_of("Bearer pac_b").unwrap();
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
        assert_eq!(a, token_of("Bearer pac_a").unwrap());
        assert!(same(&a, &a.clone()));
        assert!(!same(&a, &b));
        assert!(!same(&a[..63], &a));
        assert!(!same("", &a));
    }
}
