//! The file plugin: a JSON or NDJSON file, or every `.json`, `.ndjson` and
//! `.jsonl` file of a directory, each record a document or the attributes
//! of one (see [`crate::plugin`]).

use std::path::{Path, PathBuf};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::plugin::{Mapping, records};
use crate::source::{CollectPlan, Connector, Event, SourceError};

/// A `kind = "file"` source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FileSource {
    pub name: String,
    /// A file, or a directory whose JSON files are read in name order.
    pub path: PathBuf,
    #[serde(flatten)]
    pub mapping: Mapping,
}

pub struct FileConnector {
    source: FileSource,
}

impl FileConnector {
    pub fn new(source: FileSource) -> FileConnector {
        FileConnector { source }
    }

    fn error(&self, message: String) -> SourceError {
        SourceError {
            source_name: self.source.name.clone(),
            scope: self.source.mapping.scope(),
            message,
        }
    }
}

async fn files(path: &Path) -> std::io::Result<Vec<PathBuf>> {
    if !tokio::fs::metadata(path).await?.is_dir() {
        return Ok(vec![path.to_owned()]);
    }
    let mut out = Vec::new();
    let mut dir = tokio::fs::read_dir(path).await?;
    while let Some(e) = dir.next_entry().await? {
        let p = e.path();
        let json = p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| matches!(x, "json" | "ndjson" | "jsonl"));
        if json && e.file_type().await?.is_file() {
            out.push(p);
        }
    }
    out.sort();
    Ok(out)
}

#[async_trait]
impl Connector for FileConnector {
    fn name(&self) -> &str {
        &self.source.name
    }

    async fn collect(
        &self,
        _plan: &CollectPlan,
        out: mpsc::Sender<Event>,
    ) -> Result<(), SourceError> {
        let path = &self.source.path;
        let list = files(path)
            .await
            .map_err(|e| self.error(format!("{}: {e}", path.display())))?;
        let total = list.len() as u64;
        let mut failed = false;
        for (n, file) in list.iter().enumerate() {
            let shown = file.display().to_string();
            let text = match tokio::fs::read_to_string(file).await {
                Ok(t) => t,
                Err(e) => {
                    failed = true;
                    let _ = out
                        .send(Event::Error(
                            self.error(format!("{shown}: cannot read: {e}")),
                        ))
                        .await;
                    continue;
                }
            };
            // An empty file is a failed export, not an empty estate (an
            // empty one is written `[]`): its scope must not read as "every
            // resource is gone".
            if text.trim_start_matches('\u{feff}').trim().is_empty() {
                failed = true;
                let _ = out
                    .send(Event::Error(self.error(format!(
                        "{shown}: the file is empty (write `[]` for an estate that really is empty)"
                    ))))
                    .await;
                continue;
            }
            let array = text.trim_start().starts_with('[');
            for (pos, rec) in records(&text) {
                let origin = if array {
                    format!("{shown}[{}]", pos.saturating_sub(1))
                } else {
                    format!("{shown}:{pos}")
                };
                let doc = rec
                    .map_err(|e| format!("{origin}: {e}"))
                    .and_then(|r| self.source.mapping.document(r, &origin));
                let ev = match doc {
                    Ok(d) => Event::Document(d),
                    Err(e) => {
                        failed = true;
                        Event::Error(self.error(e))
                    }
                };
                if out.send(ev).await.is_err() {
                    return Ok(());
                }
            }
            let _ = out
                .send(Event::Progress {
                    source_name: self.source.name.clone(),
                    done: n as u64 + 1,
                    total: Some(total),
                    what: shown,
                })
                .await;
        }
        if !failed {
            let _ = out.send(Event::Complete(self.source.mapping.scope())).await;
        }
        Ok(())
    }
}
