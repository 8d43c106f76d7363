//! The command plugin: runs a program (no shell) and reads one record per
//! line of its standard output (NDJSON). A non-zero exit, a timeout or a bad
//! line is reported; the records read before stay collected.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, BufReader};
use tokio::sync::mpsc;

use crate::plugin::Mapping;
use crate::source::{CollectPlan, Connector, Event, SourceError};

/// A `kind = "command"` source.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CommandSource {
    pub name: String,
    /// The program and its arguments: `["scanner", "--format", "ndjson"]`.
    pub command: Vec<String>,
    /// Extra environment variables for the program.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The working directory (default: the current one).
    #[serde(default)]
    pub cwd: Option<PathBuf>,
    /// Kill the program after this many seconds.
    #[serde(default = "default_timeout")]
    pub timeout_secs: u64,
    #[serde(flatten)]
    pub mapping: Mapping,
}

fn default_timeout() -> u64 {
    300
}

pub struct CommandConnector {
    source: CommandSource,
}

impl CommandConnector {
    pub fn new(source: CommandSource) -> CommandConnector {
        CommandConnector { source }
    }

    fn error(&self, message: String) -> SourceError {
        SourceError {
            source_name: self.source.name.clone(),
            scope: self.source.mapping.scope(),
            message,
        }
    }
}

#[async_trait]
impl Connector for CommandConnector {
    fn name(&self) -> &str {
        &self.source.name
    }

    async fn collect(
        &self,
        _plan: &CollectPlan,
        out: mpsc::Sender<Event>,
    ) -> Result<(), SourceError> {
        let src = &self.source;
        let Some((program, args)) = src.command.split_first() else {
            return Err(self.error("`command` is empty; name the program to run".into()));
        };
        let mut cmd = tokio::process::Command::new(program);
        cmd.args(args)
            .envs(&src.env)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &src.cwd {
            cmd.current_dir(dir);
        }
        let mut child = cmd
            .spawn()
            .map_err(|e| self.error(format!("cannot run `{program}`: {e}")))?;
        let (Some(stdout), Some(mut stderr)) = (child.stdout.take(), child.stderr.take()) else {
            return Err(self.error("cannot read the program's output".into()));
        };
        // Drain stderr concurrently so a chatty program cannot block.
        let err_task = tokio::spawn(async move {
            let mut buf = Vec::new();
            let _ = stderr.read_to_end(&mut buf).await;
            buf
        });
        let mut failed = false;
        let read = async {
            let mut lines = BufReader::new(stdout).lines();
            let mut n = 0usize;
            while let Some(line) = lines.next_line().await.transpose() {
                n += 1;
                let line = match line {
                    Ok(l) => l,
                    Err(e) => {
                        failed = true;
                        let _ = out
                            .send(Event::Error(self.error(format!("reading stdout: {e}"))))
                            .await;
                        break;
                    }
                };
                if line.trim().is_empty() {
                    continue;
                }
                let origin = format!("{program} stdout:{n}");
                let doc = serde_json::from_str(&line)
                    .map_err(|e| format!("{origin}: not a JSON record: {e}"))
                    .and_then(|r| src.mapping.document(r, &origin));
                let ev = match doc {
                    Ok(d) => Event::Document(d),
                    Err(e) => {
                        failed = true;
                        Event::Error(self.error(e))
                    }
                };
                if out.send(ev).await.is_err() {
                    break;
                }
            }
            child.wait().await
        };
        let status = tokio::time::timeout(Duration::from_secs(src.timeout_secs), read).await;
        if status.is_err() {
            let _ = child.start_kill();
            let _ = child.wait().await;
        }
        let stderr = err_task.await.unwrap_or_default();
        let tail = String::from_utf8_lossy(&stderr);
        let tail = tail.trim();
        let tail: String = tail
            .chars()
            .rev()
            .take(500)
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect();
        let problem = match status {
            Err(_) => Some(format!(
                "`{program}` did not finish within {} s and was killed",
                src.timeout_secs
            )),
            Ok(Err(e)) => Some(format!("waiting for `{program}`: {e}")),
            Ok(Ok(s)) if !s.success() => Some(format!(
                "`{program}` failed ({s}){}",
                if tail.is_empty() {
                    String::new()
                } else {
                    format!(": {tail}")
                }
            )),
            Ok(Ok(_)) => None,
        };
        if let Some(p) = problem {
            let _ = out.send(Event::Error(self.error(p))).await;
        } else if !failed {
            let _ = out.send(Event::Complete(src.mapping.scope())).await;
        }
        Ok(())
    }
}
