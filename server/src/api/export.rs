//! `GET /api/v1/inventory`: the current resources' documents as NDJSON,
//! within the caller's asset groups — what `pacc review --server` and
//! `pacc eval --inventory` read, so a review runs over the estate the
//! server last collected without access to the cloud accounts.

use std::sync::Arc;

use axum::Extension;
use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderValue, header};
use axum::response::IntoResponse;
use serde::Deserialize;
use utoipa::IntoParams;

use super::error::{ApiError, ErrorBody};
use super::params::{Check, Params};
use super::{NAME_MAX, Res, S, list_groups, opt_len, read_scope};
use crate::auth::Principal;
use crate::store::{ResourceFilter, Store};

/// Documents read from the store per page of the stream.
const PAGE: i64 = 2000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct InventoryQuery {
    /// Only resources of this type, e.g. aws.ec2.instance.
    #[serde(rename = "type")]
    #[param(min_length = 1, max_length = 128)]
    rtype: Option<String>,
    /// Only the members of this asset group (one of the caller's).
    #[param(min_length = 1, max_length = 128)]
    group: Option<String>,
}
impl Check for InventoryQuery {
    fn check(&self) -> Result<(), ApiError> {
        opt_len("type", &self.rtype, NAME_MAX)?;
        opt_len("group", &self.group, NAME_MAX)
    }
}

/// The current resources, one document per line as last collected.
///
/// Streamed in key order, read in pages (so any size of estate costs
/// constant memory); a caller with roles in some asset groups receives
/// their members only. A scan committing meanwhile may show in the pages
/// read after it. A failure after the first line ends the stream without
/// its final chunk, which a client sees as a truncated body.
#[utoipa::path(get, path = "/api/v1/inventory", tag = "resources", params(InventoryQuery),
    responses((status = 200, description = "NDJSON: one resource document per line (the inventory format `pacc eval --inventory` reads)", content_type = "application/x-ndjson", body = String),
        (status = 404, description = "an unknown asset group", body = ErrorBody),
        (status = 503, description = "the first scan is running: its progress, and when to retry", body = ErrorBody, headers(("Retry-After" = u64, description = "seconds")))))]
pub(super) async fn inventory(
    State(s): S,
    Extension(caller): Extension<Principal>,
    Params(q): Params<InventoryQuery>,
) -> Res {
    let filter = ResourceFilter {
        rtype: q.rtype,
        groups: list_groups(&s, &read_scope(&caller), q.group).await?,
        q: None,
    };
    // The first page before the status line, so that a store failure is
    // an error answer rather than an empty 200.
    let first = s.store.resource_documents(&filter, None, PAGE).await?;
    let store: Arc<dyn Store> = s.store.clone();
    let pages = futures::stream::unfold(
        (Some(first), None::<String>, store, filter),
        |(page, after, store, filter)| async move {
            let page = match page {
                Some(p) => Ok(p),
                None => match after.as_deref() {
                    None => return None,
                    Some(a) => store.resource_documents(&filter, Some(a), PAGE).await,
                },
            };
            match page {
                Err(e) => {
                    tracing::error!(error = %e, "inventory export: reading the store failed");
                    let e: std::io::Error = std::io::Error::other(e.to_string());
                    // Ends the stream: nothing after an error.
                    Some((Err(e), (None, None, store, filter)))
                }
                Ok(rows) => {
                    let next = (rows.len() as i64 == PAGE)
                        .then(|| rows.last().map(|(k, _)| k.clone()))
                        .flatten();
                    let mut out = String::new();
                    for (_, doc) in &rows {
                        ndjson_line(&mut out, doc);
                    }
                    Some((Ok(out), (None, next, store, filter)))
                }
            }
        },
    );
    let mut r = Body::from_stream(pages).into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/x-ndjson"),
    );
    Ok(r)
}

/// Appends `doc` as one line: stored documents are the source's text,
/// which a JSON array file may have spread over several lines.
fn ndjson_line(out: &mut String, doc: &str) {
    if doc.contains(['\n', '\r']) {
        match serde_json::from_str::<serde_json::Value>(doc) {
            Ok(v) => out.push_str(&v.to_string()),
            // Stored documents were parsed when collected; should one not
            // parse now, its lines are joined (JSON allows the whitespace).
            Err(_) => out.push_str(&doc.replace(['\n', '\r'], " ")),
        }
    } else {
        out.push_str(doc);
    }
    out.push('\n');
}

#[cfg(test)]
mod tests {
    use super::ndjson_line;

    #[test]
    fn a_document_over_several_lines_becomes_one() {
        let mut out = String::new();
        ndjson_line(&mut out, "{\"type\": \"t\",\n \"id\": \"a\\nb\"}");
        ndjson_line(&mut out, "{\"type\":\"t\",\"id\":\"c\"}");
        assert_eq!(
            out,
            "{\"id\":\"a\\nb\",\"type\":\"t\"}\n{\"type\":\"t\",\"id\":\"c\"}\n"
        );
    }
}
