//! The SMTP notifier against a local SMTP sink (a minimal SMTP server on
//! loopback that keeps every message it is given).

mod server_support;

use std::sync::{Arc, Mutex};

use pac_server::clock::ManualClock;
use pac_server::config::Config;
use pac_server::notify::{Notification, Notifier, SmtpNotifier};
use pac_server::{Parts, Server};
use server_support::*;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

#[derive(Clone, Debug, Default)]
struct Mail {
    from: String,
    to: Vec<String>,
    data: String,
}

/// Starts the sink; returns its port and the mails it received.
async fn smtp_sink() -> (u16, Arc<Mutex<Vec<Mail>>>) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = l.local_addr().unwrap().port();
    let mails = Arc::new(Mutex::new(Vec::new()));
    let store = mails.clone();
    tokio::spawn(async move {
        loop {
            let Ok((s, _)) = l.accept().await else { return };
            let store = store.clone();
            tokio::spawn(async move {
                let (r, mut w) = s.into_split();
                let mut r = BufReader::new(r);
                let _ = w.write_all(b"220 sink ESMTP\r\n").await;
                let mut mail = Mail::default();
                let mut line = String::new();
                loop {
                    line.clear();
                    if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    let cmd = line.trim_end().to_string();
                    let upper = cmd.to_ascii_uppercase();
                    let reply: &[u8] = if upper.starts_with("EHLO") || upper.starts_with("HELO") {
                        b"250-sink\r\n250 8BITMIME\r\n"
                    } else if upper.starts_with("MAIL FROM:") {
                        mail.from = cmd[10..].trim().to_string();
                        b"250 OK\r\n"
                    } else if upper.starts_with("RCPT TO:") {
                        mail.to.push(cmd[8..].trim().to_string());
                        b"250 OK\r\n"
                    } else if upper == "DATA" {
                        let _ = w.write_all(b"354 end with .\r\n").await;
                        let mut data = String::new();
                        loop {
                            line.clear();
                            if r.read_line(&mut line).await.unwrap_or(0) == 0 {
                                return;
                            }
                            if line == ".\r\n" {
                                break;
                            }
                            data.push_str(&line);
                        }
                        mail.data = data;
                        store.lock().unwrap().push(std::mem::take(&mut mail));
                        b"250 queued\r\n"
                    } else if upper == "QUIT" {
                        let _ = w.write_all(b"221 bye\r\n").await;
                        return;
                    } else if upper == "RSET" || upper == "NOOP" {
                        b"250 OK\r\n"
                    } else {
                        b"502 not implemented\r\n"
                    };
                    if w.write_all(reply).await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    (port, mails)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_smtp_notifier_delivers_to_a_real_smtp_server() {
    let (port, mails) = smtp_sink().await;
    let n = SmtpNotifier::new("127.0.0.1", port, "Pac <pac@example.com>", true).unwrap();
    n.send(&Notification {
        to: vec!["owner@example.com".into(), "not an address".into()],
        subject: "[pac] sg_ssh_open_to_world on sg-1".into(),
        body: "revoke_world_ingress runs tomorrow".into(),
        html: None,
        unsubscribe: None,
    })
    .await
    .unwrap();
    let got = mails.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].from, "<pac@example.com>");
    assert_eq!(got[0].to, ["<owner@example.com>"]);
    assert!(
        got[0]
            .data
            .contains("Subject: [pac] sg_ssh_open_to_world on sg-1")
    );
    assert!(got[0].data.contains("revoke_world_ingress runs tomorrow"));

    // No valid recipient is an error, not a silent success.
    let e = n
        .send(&Notification {
            to: vec!["nobody".into()],
            subject: "s".into(),
            body: "b".into(),
            html: None,
            unsubscribe: None,
        })
        .await
        .unwrap_err();
    assert!(e.contains("no valid recipient"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scan_notifies_owners_by_mail_and_audits_it() {
    let (port, mails) = smtp_sink().await;
    let dir = tempfile::tempdir().unwrap();
    let inventory = dir.path().join("inventory.ndjson");
    write_ndjson(&inventory, &demo_docs());
    let cfg = Config::parse(&format!(
        "data_dir = {:?}\npolicies = [{:?}]\n[notify]\nkind = \"smtp\"\nhost = \"127.0.0.1\"\nport = {port}\nfrom = \"pac@example.com\"\ninsecure = true\n[[source]]\nname = \"demo\"\nkind = \"inventory\"\npaths = [{:?}]\n",
        dir.path().join("data"),
        root().join("policies"),
        inventory
    ))
    .unwrap();
    let server = Server::build(
        &cfg,
        Parts {
            clock: Some(ManualClock::new(DEMO_NOW)),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let addr = start_api(server.clone()).await;
    server.scan("demo", "test").await.unwrap();
    let got = mails.lock().unwrap().clone();
    // One mail per owner per scan, listing every fix of theirs.
    let ssh: usize = got
        .iter()
        .map(|m| {
            m.data
                .matches("Policy rule `sg_ssh_open_to_world` fails on")
                .count()
        })
        .sum();
    assert_eq!(ssh, 4, "{got:#?}");
    let mut owners: Vec<&Vec<String>> = got.iter().map(|m| &m.to).collect();
    assert!(owners.iter().all(|t| t.len() == 1), "{owners:?}");
    owners.sort();
    owners.dedup();
    assert_eq!(owners.len(), got.len(), "an owner got two mails");
    assert!(got.iter().any(|m| {
        m.to == ["<platform-team@example.com>"]
            && m.data
                .contains("Policy rule `sg_ssh_open_to_world` fails on")
    }));
    let (_, jobs) = get(&addr, "/api/v1/autofix/jobs?per_page=1").await;
    let id = &jobs["items"][0]["id"];
    let (_, job) = get(&addr, &format!("/api/v1/autofix/jobs/{id}")).await;
    let notified = job["audit"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["kind"] == "notified")
        .cloned()
        .unwrap();
    assert_eq!(notified["detail"]["notifier"], "smtp");
    assert_eq!(notified["detail"]["result"], "sent");
}
