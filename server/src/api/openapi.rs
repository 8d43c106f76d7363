//! The OpenAPI document: derived from the handlers' `#[utoipa::path]`
//! attributes and their parameter and body types as the routes are
//! registered (see `api::router`), so a route cannot exist undocumented
//! and a documented parameter is the one parsed. This module adds what
//! every operation shares: the errors of the HTTP layer.

use utoipa::openapi::path::Operation;
use utoipa::openapi::{ContentBuilder, OpenApi, Ref, RefOr, Response, ResponseBuilder};

use super::error::{ErrorBody, ErrorDetail};

#[derive(utoipa::OpenApi)]
#[openapi(
    info(
        title = "Pac compliance server",
        description = "Compliance figures, issues, resources, exceptions, asset groups, scans and auto-fix jobs. Every error is `{\"error\": {\"status\", \"message\", \"details\"?}}`."
    ),
    components(schemas(ErrorBody, ErrorDetail))
)]
pub struct Doc;

fn error(description: &str) -> RefOr<Response> {
    RefOr::T(
        ResponseBuilder::new()
            .description(description)
            .content(
                "application/json",
                ContentBuilder::new()
                    .schema(Some(Ref::from_schema_name("ErrorBody")))
                    .build(),
            )
            .build(),
    )
}

fn add(op: &mut Operation, code: u16, description: &str) {
    op.responses
        .responses
        .entry(code.to_string())
        .or_insert_with(|| error(description));
}

/// Adds the answers of the HTTP layer to every operation: 400 (a query
/// parameter or body that does not fit), 403 (a foreign Host or Origin),
/// 414 (a request target over the limit); on those that take a body also
/// 408, 413 and 415.
pub fn finish(mut doc: OpenApi) -> OpenApi {
    doc.info.version = env!("CARGO_PKG_VERSION").to_string();
    for item in doc.paths.paths.values_mut() {
        let ops = [
            (&mut item.get, false),
            (&mut item.post, true),
            (&mut item.put, true),
            (&mut item.patch, true),
            (&mut item.delete, true),
        ];
        for (op, with_body) in ops {
            let Some(op) = op else { continue };
            add(
                op,
                400,
                "a query parameter, path parameter or body field does not fit; the message names it",
            );
            add(
                op,
                401,
                "auth is on and the request has no live session or API token; the message says how to sign in",
            );
            add(
                op,
                403,
                "the Host or Origin is not this server's, or the caller's role does not allow this",
            );
            add(op, 414, "the request target is too long");
            add(
                op,
                429,
                "auth is on and this address sent too many unknown tokens or dead sessions; Retry-After says when to retry",
            );
            if with_body {
                add(op, 408, "the request body did not arrive in time");
                add(op, 413, "the request body is too large");
                add(
                    op,
                    415,
                    "the request body is not declared as application/json",
                );
            }
        }
    }
    doc
}
