//! Stage 1, collect: the documents and errors a source's connector
//! returns, and what the store knows of the estate before this scan.

use pac_connectors::{CollectPlan, Connector, Event, Scope, SourceError};
use tokio::sync::mpsc;

use super::Warm;
use crate::store::{ScanBase, Store};

/// What a scan collected from its source.
pub(super) struct Collected {
    pub docs: Vec<serde_json::Value>,
    /// The scopes that could not be read, with why.
    pub failed: Vec<SourceError>,
}

/// Collects everything `connector` has. A connector that could collect
/// nothing at all (`Err`) is an error of the whole source (the unscoped
/// [`Scope::default`]), judged like any other failure.
pub(super) async fn collect(connector: &dyn Connector) -> Collected {
    let (tx, mut rx) = mpsc::channel::<Event>(4096);
    let plan = CollectPlan::everything();
    let run = connector.collect(&plan, tx);
    let mut docs = Vec::new();
    let mut failed = Vec::new();
    let drain = async {
        while let Some(e) = rx.recv().await {
            match e {
                Event::Document(d) => docs.push(d),
                Event::Error(e) => failed.push(e),
                Event::Complete(_) | Event::Progress { .. } => {}
            }
        }
    };
    let (res, ()) = tokio::join!(run, drain);
    if let Err(e) = res {
        failed.push(SourceError {
            source_name: e.source_name,
            scope: Scope::default(),
            message: format!("could not be collected at all: {}", e.message),
        });
    }
    Collected { docs, failed }
}

/// Stored documents: (key, source, document text).
pub(super) type StoredDocs = Vec<(String, String, String)>;

/// What the store knows before this scan.
pub(super) struct Stored {
    /// The state the scan reconciles against.
    pub base: ScanBase,
    /// The other sources' stored documents (empty on the warm path, which
    /// holds them parsed).
    pub others: StoredDocs,
    /// This source's stored documents, read only when some of them may be
    /// carried (a scope failed, or the read is held).
    pub own_stored: StoredDocs,
}

impl Stored {
    /// Reads the stored state, or takes it from `warm` (the previous
    /// scan's, still current) with only the counters read again.
    /// `partial`: some scope failed, so this source's documents are read
    /// too.
    pub async fn read(
        store: &dyn Store,
        source: &str,
        warm: Option<&mut Warm>,
        partial: bool,
    ) -> Result<Stored, String> {
        let e = |e: crate::store::StoreError| e.to_string();
        Ok(match warm {
            Some(w) => {
                // Taken, not copied: the warm state is this scan's alone.
                let mut base = std::mem::take(&mut w.base);
                store.refresh_counters(&mut base).await.map_err(e)?;
                base.confirmed_removals = store.confirmed_removals(source).await.map_err(e)?;
                Stored {
                    base,
                    others: Vec::new(),
                    own_stored: Vec::new(),
                }
            }
            None => Stored {
                base: store.scan_base(source).await.map_err(e)?,
                others: store.documents(None, Some(source)).await.map_err(e)?,
                own_stored: if partial {
                    store.documents(Some(source), None).await.map_err(e)?
                } else {
                    Vec::new()
                },
            },
        })
    }

    /// A held read: every stored document of the estate is carried, so
    /// what is not read yet is read now (`was_warm`: the others' documents
    /// were taken from the warm state, which is dropped).
    pub async fn hold(
        &mut self,
        store: &dyn Store,
        source: &str,
        was_warm: bool,
    ) -> Result<(), String> {
        let e = |e: crate::store::StoreError| e.to_string();
        if was_warm {
            self.others = store.documents(None, Some(source)).await.map_err(e)?;
        }
        if self.own_stored.is_empty() {
            self.own_stored = store.documents(Some(source), None).await.map_err(e)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;

    /// A connector that sends what it is given, then fails or not.
    struct Fake {
        events: Vec<Event>,
        fail: Option<&'static str>,
    }

    #[async_trait]
    impl Connector for Fake {
        fn name(&self) -> &str {
            "fake"
        }

        async fn collect(
            &self,
            _plan: &CollectPlan,
            out: mpsc::Sender<Event>,
        ) -> Result<(), SourceError> {
            for e in &self.events {
                out.send(e.clone()).await.unwrap();
            }
            match self.fail {
                Some(m) => Err(SourceError {
                    source_name: "fake".into(),
                    scope: Scope::default(),
                    message: m.into(),
                }),
                None => Ok(()),
            }
        }
    }

    fn account(a: &str) -> Scope {
        Scope {
            account: Some(a.into()),
            ..Scope::default()
        }
    }

    #[tokio::test]
    async fn documents_and_scoped_errors_are_kept_apart() {
        let fake = Fake {
            events: vec![
                Event::Document(serde_json::json!({"id": "a"})),
                Event::Error(SourceError {
                    source_name: "fake".into(),
                    scope: account("2"),
                    message: "access denied".into(),
                }),
                Event::Complete(account("1")),
                Event::Document(serde_json::json!({"id": "b"})),
            ],
            fail: None,
        };
        let c = collect(&fake).await;
        assert_eq!(c.docs.len(), 2);
        assert_eq!(c.docs[1]["id"], "b");
        assert_eq!(c.failed.len(), 1);
        assert_eq!(c.failed[0].scope, account("2"));
    }

    #[tokio::test]
    async fn a_connector_that_collects_nothing_fails_the_whole_source() {
        let fake = Fake {
            events: vec![Event::Document(serde_json::json!({"id": "a"}))],
            fail: Some("no credentials"),
        };
        let c = collect(&fake).await;
        assert_eq!(c.docs.len(), 1, "what it sent is still judged");
        assert_eq!(c.failed.len(), 1);
        assert_eq!(c.failed[0].scope, Scope::default());
        assert!(c.failed[0].message.contains("no credentials"));
    }
}
