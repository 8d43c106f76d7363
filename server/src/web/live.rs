//! Live updates: `GET /events`, a server-sent event stream that says when
//! a scan has completed (`event: scan`, `data: {"scan": ID}`), so that an
//! open page can offer its fresh figures: `portal.js` shows a notice with
//! a reload link and reloads nothing under the reader. Progressive
//! enhancement: without JavaScript every page is as before.
//!
//! The stream carries scan ids only (nothing of any group), and answers
//! only a client that asks for an event stream: another (a crawler, a
//! test reading the whole body) gets a 406 instead of a body without end.

use std::convert::Infallible;
use std::time::Duration;

use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use tokio::sync::broadcast::error::RecvError;

use super::{St, WebError};

pub async fn events(State(s): St, headers: HeaderMap) -> Response {
    let wants_stream = headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/event-stream"));
    if !wants_stream {
        return WebError {
            status: StatusCode::NOT_ACCEPTABLE,
            message: "this is an event stream of completed scans: ask for it with `Accept: text/event-stream` (the portal's pages do)".into(),
        }
        .into_response();
    }
    let rx = s.scans_done.subscribe();
    let closing = s.closing.subscribe();
    let stream = futures::stream::unfold((rx, closing), |(mut rx, mut closing)| async move {
        loop {
            let got = tokio::select! {
                got = rx.recv() => got,
                // The server is stopping: end the stream (the browser
                // reconnects to the next server by itself).
                _ = closing.wait_for(|c| *c) => return None,
            };
            match got {
                Ok(id) => {
                    let e = Event::default()
                        .event("scan")
                        .data(format!("{{\"scan\":{id}}}"));
                    return Some((Ok::<Event, Infallible>(e), (rx, closing)));
                }
                // A reader that fell behind learns of the newest scan.
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => return None,
            }
        }
    });
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(20)))
        .into_response()
}
