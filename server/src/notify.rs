//! Notifications to owners before an auto-fix runs: the [`Notifier`]
//! interface, a log notifier and an SMTP one (lettre).

use async_trait::async_trait;
use lettre::message::header::{Header, HeaderName, HeaderValue};
use lettre::message::{Mailbox, MultiPart};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct Notification {
    pub to: Vec<String>,
    pub subject: String,
    /// The plain-text part.
    pub body: String,
    /// An HTML part (rendered by askama, every value escaped), sent with
    /// the plain text as `multipart/alternative`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub html: Option<String>,
    /// An https or http unsubscribe URL: sent as `List-Unsubscribe` with
    /// RFC 8058's `List-Unsubscribe-Post` (one click, from the mail
    /// reader).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unsubscribe: Option<String>,
}

/// `List-Unsubscribe: <URL>` (RFC 2369).
#[derive(Clone)]
struct ListUnsubscribe(String);

impl Header for ListUnsubscribe {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe")
    }
    fn parse(s: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribe(s.to_string()))
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), format!("<{}>", header_text(&self.0)))
    }
}

/// `List-Unsubscribe-Post: List-Unsubscribe=One-Click` (RFC 8058).
#[derive(Clone)]
struct ListUnsubscribePost;

impl Header for ListUnsubscribePost {
    fn name() -> HeaderName {
        HeaderName::new_from_ascii_str("List-Unsubscribe-Post")
    }
    fn parse(_: &str) -> Result<Self, Box<dyn std::error::Error + Send + Sync>> {
        Ok(ListUnsubscribePost)
    }
    fn display(&self) -> HeaderValue {
        HeaderValue::new(Self::name(), "List-Unsubscribe=One-Click".into())
    }
}

/// A header value with every control character (CR and LF above all) made
/// a space: data in a subject can never start a header of its own.
pub fn header_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[async_trait]
pub trait Notifier: Send + Sync {
    /// `log`, `smtp`, … (recorded in the audit log).
    fn kind(&self) -> &'static str;
    async fn send(&self, n: &Notification) -> Result<(), String>;
}

/// Writes notifications to the server's log.
#[derive(Debug, Default)]
pub struct LogNotifier;

#[async_trait]
impl Notifier for LogNotifier {
    fn kind(&self) -> &'static str {
        "log"
    }
    async fn send(&self, n: &Notification) -> Result<(), String> {
        // One line per notification only at DEBUG: a first scan of a large
        // estate sends thousands; the auto-fix run logs their count at INFO.
        tracing::debug!(to = ?n.to, subject = %n.subject, "notification");
        Ok(())
    }
}

/// Sends mail through an SMTP relay.
pub struct SmtpNotifier {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl SmtpNotifier {
    /// `insecure`: plain SMTP without TLS (a local relay or a test sink).
    pub fn new(host: &str, port: u16, from: &str, insecure: bool) -> Result<SmtpNotifier, String> {
        let from: Mailbox = from
            .parse()
            .map_err(|e| format!("notify.from `{from}` is not a mail address: {e}"))?;
        let transport = if insecure {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
                .port(port)
                .build()
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::relay(host)
                .map_err(|e| format!("SMTP relay `{host}`: {e}"))?
                .port(port)
                .build()
        };
        Ok(SmtpNotifier { transport, from })
    }
}

#[async_trait]
impl Notifier for SmtpNotifier {
    fn kind(&self) -> &'static str {
        "smtp"
    }
    async fn send(&self, n: &Notification) -> Result<(), String> {
        let mut b = Message::builder()
            .from(self.from.clone())
            .subject(header_text(&n.subject));
        if let Some(u) = &n.unsubscribe {
            b = b
                .header(ListUnsubscribe(u.clone()))
                .header(ListUnsubscribePost);
        }
        let mut any = false;
        for to in &n.to {
            match to.parse::<Mailbox>() {
                Ok(m) => {
                    b = b.to(m);
                    any = true;
                }
                Err(e) => tracing::warn!("not a mail address, skipped: {to}: {e}"),
            }
        }
        if !any {
            return Err(format!("no valid recipient among {:?}", n.to));
        }
        let msg = match &n.html {
            Some(html) => b.multipart(MultiPart::alternative_plain_html(
                n.body.clone(),
                html.clone(),
            )),
            None => b.body(n.body.clone()),
        }
        .map_err(|e| format!("cannot build the message: {e}"))?;
        self.transport
            .send(msg)
            .await
            .map(|_| ())
            .map_err(|e| format!("SMTP: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_text_keeps_no_line_break() {
        assert_eq!(
            header_text("a\r\nBcc: evil@example.com"),
            "a  Bcc: evil@example.com"
        );
    }
}
