//! Typed query strings and request bodies: each endpoint's parameters are
//! one struct (`deny_unknown_fields`), the same type its OpenAPI entry is
//! derived from, so what is documented is what is accepted. Errors are
//! 400s that name the parameter or field and say what it takes.

use axum::body::Bytes;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;
use serde_json::Value;

use super::error::ApiError;

/// Checks beyond the types: ranges and lengths.
pub trait Check {
    fn check(&self) -> Result<(), ApiError> {
        Ok(())
    }
}

/// The query string, as `T`. An empty value (`?group=`) is refused: it is
/// neither "all" nor a group, and the document says each takes a value.
pub struct Params<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned + Check> FromRequestParts<S> for Params<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, ApiError> {
        parse_query(parts.uri.query()).map(Params)
    }
}

/// Parses a query string into `T` and checks it.
pub fn parse_query<T: DeserializeOwned + Check>(raw: Option<&str>) -> Result<T, ApiError> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(raw.unwrap_or("").as_bytes())
        .into_owned()
        .collect();
    if let Some((k, _)) = pairs.iter().find(|(_, v)| v.is_empty()) {
        return Err(ApiError::bad(format!(
            "query parameter `{k}` is empty: give it a value, or leave it out"
        )));
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let de = serde_urlencoded::Deserializer::new(form_urlencoded::parse(encoded.as_bytes()));
    let t: T = serde_path_to_error::deserialize(de).map_err(|e| {
        let field = e.path().to_string();
        let raw = pairs
            .iter()
            .find(|(k, _)| *k == field)
            .map(|(_, v)| v.as_str())
            .unwrap_or("");
        ApiError::bad(query_message(&field, raw, &e.inner().to_string()))
    })?;
    t.check()?;
    Ok(t)
}

/// serde's wording turned into the API's: the parameter, what it takes,
/// what was given.
fn query_message(field: &str, raw: &str, inner: &str) -> String {
    if let Some(rest) = inner.strip_prefix("unknown field ") {
        // "`x`, expected one of `a`, `b`" or "`x`, there are no fields"
        let (name, takes) = rest.split_once(", ").unwrap_or((rest, ""));
        let takes = takes
            .strip_prefix("expected one of ")
            .or_else(|| takes.strip_prefix("expected "))
            .unwrap_or("no parameters");
        return format!("unknown query parameter {name} (this endpoint takes: {takes})");
    }
    if let Some(rest) = inner.strip_prefix("unknown variant ") {
        let values = rest
            .split_once("expected one of ")
            .or_else(|| rest.split_once("expected "))
            .map(|(_, v)| v)
            .unwrap_or(rest);
        return format!("`{field}` must be one of {values}, not `{raw}`");
    }
    if inner.starts_with("duplicate field") {
        return format!("`{field}` is given twice");
    }
    if inner.contains("digit") || inner.contains("number") || inner.contains("integer") {
        return format!("`{field}` must be a whole number, not `{raw}`");
    }
    format!("query parameter `{field}`: {inner}")
}

/// `value` within `min..=max`, or a 400 naming the parameter.
pub fn in_range(name: &str, value: Option<i64>, min: i64, max: i64) -> Result<(), ApiError> {
    match value {
        Some(v) if !(min..=max).contains(&v) => Err(ApiError::bad(format!(
            "`{name}` must be a whole number from {min} to {max}, not `{v}`"
        ))),
        _ => Ok(()),
    }
}

/// At most `max` characters, or a 400 naming the field, its details
/// positioned at the first character past the limit.
pub fn max_len(name: &str, value: &str, max: usize) -> Result<(), ApiError> {
    match crate::program::FieldError::too_long(name, value, max) {
        None => Ok(()),
        Some(e) => Err(ApiError {
            details: Some(serde_json::json!([&e])),
            ..ApiError::bad(e.message)
        }),
    }
}

/// A text field that must say something: not empty, not only spaces.
pub fn filled(name: &str, value: &str) -> Result<(), ApiError> {
    if value.trim().is_empty() {
        return Err(ApiError::bad(format!(
            "`{name}` must be a non-empty string"
        )));
    }
    Ok(())
}

/// A request body read as `T` and checked (its shape, its unknown fields,
/// its lengths). An empty body is `{}`.
pub fn typed_body<T: DeserializeOwned + Check>(b: &Bytes) -> Result<T, ApiError> {
    let v: Value = if b.is_empty() {
        Value::Object(Default::default())
    } else {
        serde_json::from_slice(b).map_err(|e| {
            ApiError::bad(format!(
                "the request body is not JSON (line {}, column {}): {e}",
                e.line(),
                e.column()
            ))
        })?
    };
    let t: T = serde_path_to_error::deserialize(&v).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.inner().to_string();
        if path == "." {
            ApiError::bad(format!("the request body: {inner}"))
        } else {
            ApiError::bad(format!("the request body's `{path}`: {inner}"))
        }
    })?;
    t.check()?;
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Q {
        page: Option<i64>,
        status: Option<Status>,
        group: Option<String>,
    }
    #[derive(Deserialize, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Status {
        Open,
        Closed,
    }
    impl Check for Q {
        fn check(&self) -> Result<(), ApiError> {
            in_range("page", self.page, 1, 10)
        }
    }

    fn msg(q: &str) -> String {
        parse_query::<Q>(Some(q)).unwrap_err().message
    }

    #[test]
    fn queries_parse_into_their_struct_and_errors_name_the_parameter() {
        let q: Q = parse_query(Some("page=2&status=open")).unwrap();
        assert_eq!(
            (q.page, q.status, q.group),
            (Some(2), Some(Status::Open), None)
        );
        // A parameter without a value is neither absent nor a value.
        assert_eq!(
            msg("page=2&group="),
            "query parameter `group` is empty: give it a value, or leave it out"
        );
        assert!(
            msg("colour=red").contains("unknown query parameter `colour`"),
            "{}",
            msg("colour=red")
        );
        assert!(
            msg("colour=red").contains("`page`"),
            "{}",
            msg("colour=red")
        );
        assert_eq!(msg("page=abc"), "`page` must be a whole number, not `abc`");
        assert!(msg("page=0").starts_with("`page` must be a whole number from 1 to 10"));
        assert!(
            msg("status=fixed") == "`status` must be one of `open` or `closed`, not `fixed`",
            "{}",
            msg("status=fixed")
        );
        assert!(
            msg("page=1&page=2").contains("twice"),
            "{}",
            msg("page=1&page=2")
        );
        // Percent-encoded names are decoded before they are compared.
        assert!(msg("pa%67e=x").contains("`page` must be a whole number"));
    }

    #[test]
    fn bodies_name_the_field_that_does_not_fit() {
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct B {
            name: String,
            members: Vec<M>,
        }
        #[derive(Deserialize, Debug)]
        #[serde(deny_unknown_fields)]
        #[allow(dead_code)]
        struct M {
            r#type: String,
        }
        impl Check for B {}
        let e = |s: &str| {
            typed_body::<B>(&Bytes::from(s.to_string()))
                .unwrap_err()
                .message
        };
        assert!(e("{not json").contains("not JSON"));
        assert!(
            e(r#"{"name":"a","members":[{"type":"x","colour":1}]}"#)
                .contains("`members[0].colour`: unknown field `colour`"),
            "{}",
            e(r#"{"name":"a","members":[{"type":"x","colour":1}]}"#)
        );
        assert!(e(r#"{"name":1,"members":[]}"#).contains("`name`"));
        assert!(typed_body::<B>(&Bytes::from(r#"{"name":"a","members":[]}"#)).is_ok());
    }
}
