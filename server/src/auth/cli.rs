//! `pacc token create|list|revoke`: API tokens through a running server's
//! API (`/api/v1/tokens`), authenticated with the token in `PAC_TOKEN`
//! (an admin's, e.g. the bootstrap token). https or http; redirects are
//! not followed (a token is never sent anywhere but to `--server`).

use serde_json::{Value, json};

/// The environment variable holding the caller's own token.
pub const TOKEN_ENV: &str = "PAC_TOKEN";

/// What to do.
pub enum TokenCommand {
    Create {
        name: String,
        role: String,
        groups: Vec<String>,
        /// `90d`, `90`.
        expires: String,
    },
    List,
    Revoke {
        id: i64,
    },
}

/// `90d` or `90` → 90.
pub fn parse_days(s: &str) -> Result<i64, String> {
    let t = s.trim();
    let n = t.strip_suffix('d').unwrap_or(t);
    n.parse::<i64>()
        .ok()
        .filter(|d| *d >= 1)
        .ok_or_else(|| format!("--expires `{s}`: give a number of days, e.g. 90d"))
}

/// Runs the command against `server`; the process exit code (0 done, 1
/// refused by the server, 2 a usage or connection problem).
pub fn run(server: &str, cmd: TokenCommand) -> i32 {
    let Ok(token) = std::env::var(TOKEN_ENV) else {
        eprintln!(
            "error: set {TOKEN_ENV} to an admin's API token (at first start, the bootstrap token `pacc serve` printed)"
        );
        return 2;
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return 2;
        }
    };
    match rt.block_on(call(server.trim_end_matches('/'), &token, cmd)) {
        Ok(()) => 0,
        Err((code, m)) => {
            eprintln!("error: {m}");
            code
        }
    }
}

async fn call(server: &str, token: &str, cmd: TokenCommand) -> Result<(), (i32, String)> {
    let http = crate::remote::client().map_err(|e| (2, e))?;
    let url = format!("{server}/api/v1/tokens");
    let req = match &cmd {
        TokenCommand::Create {
            name,
            role,
            groups,
            expires,
        } => {
            let days = parse_days(expires).map_err(|e| (2, e))?;
            http.post(&url)
                .json(&json!({"name": name, "role": role, "groups": groups, "expires_days": days}))
        }
        TokenCommand::List => http.get(&url),
        TokenCommand::Revoke { id } => http.delete(format!("{url}/{id}")),
    };
    let resp = req
        .timeout(std::time::Duration::from_secs(30))
        .bearer_auth(token)
        .send()
        .await
        .map_err(|e| (2, format!("cannot reach {server}: {e}")))?;
    let status = resp.status();
    let body: Value = resp.json().await.unwrap_or(Value::Null);
    if !status.is_success() {
        let m = body["error"]["message"]
            .as_str()
            .map(str::to_string)
            .unwrap_or_else(|| format!("the server answered {status}"));
        return Err((1, m));
    }
    match cmd {
        TokenCommand::Create { .. } => {
            eprintln!(
                "created token {} ({} on {}), expires {}; it is shown this once:",
                body["id"],
                body["role"].as_str().unwrap_or(""),
                body["groups"],
                crate::clock::rfc3339(body["expires_at"].as_i64().unwrap_or(0))
            );
            println!("{}", body["token"].as_str().unwrap_or(""));
        }
        TokenCommand::List => {
            println!(
                "{:>4}  {:<16} {:<9} {:<24} {:<8} {:<20} LAST USED",
                "ID", "NAME", "ROLE", "GROUPS", "STATUS", "EXPIRES"
            );
            for t in body["items"].as_array().into_iter().flatten() {
                let groups: Vec<&str> = t["groups"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(Value::as_str)
                    .collect();
                println!(
                    "{:>4}  {:<16} {:<9} {:<24} {:<8} {:<20} {}",
                    t["id"],
                    t["name"].as_str().unwrap_or(""),
                    t["role"].as_str().unwrap_or(""),
                    groups.join(","),
                    t["status"].as_str().unwrap_or(""),
                    crate::clock::rfc3339(t["expires_at"].as_i64().unwrap_or(0)),
                    t["last_used_at"]
                        .as_i64()
                        .map(crate::clock::rfc3339)
                        .unwrap_or_else(|| "never".into())
                );
            }
        }
        TokenCommand::Revoke { id } => eprintln!("revoked token {id}"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_in_days() {
        assert_eq!(parse_days("90d"), Ok(90));
        assert_eq!(parse_days("7"), Ok(7));
        assert!(parse_days("0d").is_err());
        assert!(
            parse_days("2027-03-31")
                .unwrap_err()
                .contains("number of days")
        );
    }
}
