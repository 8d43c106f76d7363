//! `pacc gen-inventory`: a synthetic AWS estate of any size, as NDJSON, for
//! benchmarks and load tests.
//!
//! The estate is made of accounts (each with its IAM users, access keys and
//! account summary) and, in each account, VPC "cells": a VPC with its
//! subnets, network ACLs, security groups and flow log, the instances in it
//! with their network interfaces, volumes, snapshots, AMIs, Elastic IPs and
//! key pairs, S3 buckets, and the vulnerability findings of its instances.
//! Every resource type of the stdlib appears, in roughly the proportions of
//! a real estate (findings, volumes, ENIs and snapshots outnumber
//! instances; there are few VPCs), and every document validates against the
//! stdlib schemas. A realistic minority of resources violate the shipped
//! policies (world-open SSH, IMDSv1, unencrypted volumes, public buckets,
//! stale keys, critical CVEs, …).
//!
//! The output is deterministic: the same `--count` and `--seed` always give
//! the same bytes (a ChaCha8 stream seeded from `--seed`, our own range
//! reduction on its `u64`s, and a fixed clock, 2026-11-01T00:00:00Z). It is
//! streamed: JSON is written by hand into a reused line buffer, so memory
//! stays flat however many documents are asked for.

use std::collections::HashSet;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::Path;
use std::time::Instant;

use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

/// The clock the estate is generated against: 2026-11-01T00:00:00Z (the
/// demo inventory's reference date). Evaluate with `--now 2026-11-01`.
pub const NOW: i64 = 1_793_491_200;

/// The default `--seed`.
pub const DEFAULT_SEED: u64 = 20_261_101;

const DAY: i64 = 86_400;

/// The resource types, in the order of [`Stats::by_type`].
pub const TYPES: [&str; 17] = [
    "aws.ec2.vpc",
    "aws.ec2.subnet",
    "aws.ec2.network_acl",
    "aws.ec2.security_group",
    "aws.ec2.flow_log",
    "aws.ec2.instance",
    "aws.ec2.volume",
    "aws.ec2.snapshot",
    "aws.ec2.image",
    "aws.ec2.network_interface",
    "aws.ec2.address",
    "aws.ec2.key_pair",
    "aws.s3.bucket",
    "aws.iam.user",
    "aws.iam.access_key",
    "aws.iam.account_summary",
    "vuln.finding",
];

const VPC: usize = 0;
const SUBNET: usize = 1;
const NACL: usize = 2;
const SG: usize = 3;
const FLOW_LOG: usize = 4;
const INSTANCE: usize = 5;
const VOLUME: usize = 6;
const SNAPSHOT: usize = 7;
const IMAGE: usize = 8;
const ENI: usize = 9;
const ADDRESS: usize = 10;
const KEY_PAIR: usize = 11;
const BUCKET: usize = 12;
const USER: usize = 13;
const ACCESS_KEY: usize = 14;
const SUMMARY: usize = 15;
const FINDING: usize = 16;

/// What was written.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Stats {
    pub docs: u64,
    pub bytes: u64,
    pub accounts: u64,
    /// Documents per type, indexed like [`TYPES`].
    pub by_type: [u64; 17],
}

/// Writes exactly `count` documents, one per line, to `out`.
pub fn generate<W: Write>(count: u64, seed: u64, out: W) -> io::Result<Stats> {
    let mut g = Gen {
        rng: ChaCha8Rng::seed_from_u64(seed),
        salt: splitmix(seed ^ 0x5eed_0fe5_7a7e),
        counter: 0,
        out,
        j: J::default(),
        remaining: count,
        stats: Stats::default(),
        cell_no: 0,
    };
    while g.remaining > 0 {
        g.account()?;
    }
    g.out.flush()?;
    Ok(g.stats)
}

/// `pacc gen-inventory`.
pub fn run(count: u64, seed: u64, out: Option<&Path>) -> i32 {
    let start = Instant::now();
    let result = match out {
        None => generate(
            count,
            seed,
            io::BufWriter::with_capacity(1 << 20, io::stdout().lock()),
        ),
        Some(p) => match std::fs::File::create(p) {
            Ok(f) => generate(count, seed, io::BufWriter::with_capacity(1 << 20, f)),
            Err(e) => {
                eprintln!("error: {}: {e}", p.display());
                return 2;
            }
        },
    };
    match result {
        Ok(stats) => {
            let to = out.map_or("stdout".to_string(), |p| p.display().to_string());
            eprintln!(
                "{} documents ({} accounts, {:.1} MB) -> {to} in {:.2} s (seed {seed}; evaluate with --now 2026-11-01)",
                stats.docs,
                stats.accounts,
                stats.bytes as f64 / 1e6,
                start.elapsed().as_secs_f64()
            );
            for (t, n) in TYPES.iter().zip(stats.by_type) {
                eprintln!("  {n:>9}  {t}");
            }
            0
        }
        // A closed pipe (`| head`) is not an error.
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => 0,
        Err(e) => {
            eprintln!("error: {e}");
            2
        }
    }
}

fn splitmix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9e37_79b9_7f4a_7c15);
    x = (x ^ (x >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    x ^ (x >> 31)
}

// ----- A tiny JSON writer --------------------------------------------------------

/// Writes one JSON document into a reused buffer; `comma` says whether the
/// next value or key needs a separator.
#[derive(Default)]
struct J {
    b: String,
    comma: bool,
}

impl J {
    fn sep(&mut self) {
        if self.comma {
            self.b.push(',');
        }
    }
    fn open(&mut self) {
        self.sep();
        self.b.push('{');
        self.comma = false;
    }
    fn close(&mut self) {
        self.b.push('}');
        self.comma = true;
    }
    fn arr(&mut self) {
        self.sep();
        self.b.push('[');
        self.comma = false;
    }
    fn end(&mut self) {
        self.b.push(']');
        self.comma = true;
    }
    fn key(&mut self, k: &str) {
        self.sep();
        self.b.push('"');
        self.b.push_str(k);
        self.b.push_str("\":");
        self.comma = false;
    }
    /// A string value, escaped.
    fn s(&mut self, v: &str) {
        self.sep();
        self.b.push('"');
        for c in v.chars() {
            match c {
                '"' => self.b.push_str("\\\""),
                '\\' => self.b.push_str("\\\\"),
                '\n' => self.b.push_str("\\n"),
                '\t' => self.b.push_str("\\t"),
                '\r' => self.b.push_str("\\r"),
                c if (c as u32) < 0x20 => {
                    let _ = write!(self.b, "\\u{:04x}", c as u32);
                }
                c => self.b.push(c),
            }
        }
        self.b.push('"');
        self.comma = true;
    }
    /// A string value from format arguments, which must need no escaping
    /// (IDs, ARNs, addresses).
    fn sf(&mut self, args: std::fmt::Arguments) {
        self.sep();
        self.b.push('"');
        let _ = self.b.write_fmt(args);
        self.b.push('"');
        self.comma = true;
    }
    fn i(&mut self, v: i64) {
        self.sep();
        let _ = write!(self.b, "{v}");
        self.comma = true;
    }
    fn f(&mut self, v: f64) {
        self.sep();
        let _ = write!(self.b, "{v:?}");
        self.comma = true;
    }
    fn bool(&mut self, v: bool) {
        self.sep();
        self.b.push_str(if v { "true" } else { "false" });
        self.comma = true;
    }
    fn t(&mut self, secs: i64) {
        self.sep();
        self.b.push('"');
        push_time(&mut self.b, secs);
        self.b.push('"');
        self.comma = true;
    }
    fn ks(&mut self, k: &str, v: &str) {
        self.key(k);
        self.s(v);
    }
    fn ksf(&mut self, k: &str, args: std::fmt::Arguments) {
        self.key(k);
        self.sf(args);
    }
    fn ki(&mut self, k: &str, v: i64) {
        self.key(k);
        self.i(v);
    }
    fn kf(&mut self, k: &str, v: f64) {
        self.key(k);
        self.f(v);
    }
    fn kb(&mut self, k: &str, v: bool) {
        self.key(k);
        self.bool(v);
    }
    fn kt(&mut self, k: &str, secs: i64) {
        self.key(k);
        self.t(secs);
    }
    fn kos(&mut self, k: &str, v: Option<&str>) {
        if let Some(v) = v {
            self.ks(k, v);
        }
    }
    /// Tags as AWS sends them: `[{"Key": …, "Value": …}]`.
    fn tags(&mut self, tags: &[(&str, &str)]) {
        if tags.is_empty() {
            return;
        }
        self.key("tags");
        self.arr();
        for (k, v) in tags {
            self.open();
            self.ks("Key", k);
            self.ks("Value", v);
            self.close();
        }
        self.end();
    }
}

/// RFC 3339, UTC, whole seconds: `2026-11-01T00:00:00Z`.
fn push_time(b: &mut String, secs: i64) {
    let days = secs.div_euclid(DAY);
    let rem = secs.rem_euclid(DAY);
    // Howard Hinnant's civil_from_days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    let _ = write!(
        b,
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    );
}

// ----- Reference data --------------------------------------------------------------

/// Regions with their weights; ap-southeast-2 and sa-east-1 are outside the
/// policy library's approved regions.
const REGIONS: &[(u32, (&str, &str))] = &[
    (40, ("us-east-1", "use1")),
    (18, ("eu-west-1", "euw1")),
    (14, ("us-west-2", "usw2")),
    (10, ("eu-central-1", "euc1")),
    (8, ("us-east-2", "use2")),
    (6, ("ap-southeast-2", "apse2")),
    (4, ("sa-east-1", "sae1")),
];

const ENVS: &[(u32, &str)] = &[(40, "prod"), (28, "dev"), (16, "staging"), (16, "sandbox")];

/// Instance types; m4, c4, t1, r4 are deprecated families for the library.
const INSTANCE_TYPES: &[(u32, &str)] = &[
    (14, "t3.micro"),
    (12, "t3.medium"),
    (10, "m5.large"),
    (9, "m6i.xlarge"),
    (7, "c6g.large"),
    (6, "r6i.2xlarge"),
    (6, "t4g.small"),
    (5, "m7g.xlarge"),
    (5, "c5.2xlarge"),
    (4, "t2.micro"),
    (3, "r5.large"),
    (3, "g5.xlarge"),
    (2, "m4.large"),
    (1, "c4.xlarge"),
    (1, "r4.large"),
    (1, "t1.micro"),
];

const APPS: &[&str] = &[
    "web",
    "api",
    "checkout",
    "search",
    "billing",
    "auth",
    "reporting",
    "etl",
    "ml",
    "ci",
    "monitoring",
    "batch",
    "cache",
    "queue",
    "frontend",
    "payments",
];

const TEAMS: &[&str] = &[
    "platform",
    "payments",
    "storefront",
    "data",
    "ml",
    "security",
    "sre",
    "growth",
];

const FIRST: &[&str] = &[
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "yuki", "zoe",
    "amara", "bjorn", "chen", "dmitri", "elif", "fatima", "goran", "hiro", "ines",
];

const LAST: &[&str] = &[
    "smith", "jones", "garcia", "müller", "rossi", "kowalski", "nguyen", "tanaka", "silva",
    "okafor", "dubois", "larsen", "novak", "haddad", "kim", "patel", "obrien", "schmidt",
];

/// (CVE, title, CVSS, package, installed, fixed)
type Cve = (
    &'static str,
    &'static str,
    f64,
    &'static str,
    &'static str,
    Option<&'static str>,
);

const CVES: &[Cve] = &[
    (
        "CVE-2024-6387",
        "OpenSSH regreSSHion remote code execution",
        8.1,
        "openssh-server",
        "8.7p1-8.amzn2023.0.10",
        Some("8.7p1-8.amzn2023.0.11"),
    ),
    (
        "CVE-2023-48795",
        "OpenSSH Terrapin prefix truncation attack",
        5.9,
        "openssh-server",
        "8.7p1-8.amzn2023.0.10",
        Some("8.7p1-8.amzn2023.0.11"),
    ),
    (
        "CVE-2024-0727",
        "OpenSSL PKCS12 NULL pointer dereference",
        5.5,
        "openssl-libs",
        "1:3.0.8-1.amzn2023.0.11",
        Some("1:3.0.8-1.amzn2023.0.12"),
    ),
    (
        "CVE-2023-5678",
        "OpenSSL excessive time in DH key checks",
        5.3,
        "openssl-libs",
        "1:3.0.8-1.amzn2023.0.11",
        Some("1:3.0.8-1.amzn2023.0.12"),
    ),
    (
        "CVE-2023-4911",
        "glibc \"Looney Tunables\" privilege escalation",
        7.8,
        "glibc",
        "2.34-52.amzn2023.0.3",
        Some("2.34-52.amzn2023.0.6"),
    ),
    (
        "CVE-2023-44487",
        "HTTP/2 Rapid Reset denial of service",
        7.5,
        "nghttp2",
        "1.51.0-1.amzn2023",
        Some("1.59.0-3.amzn2023.0.1"),
    ),
    (
        "CVE-2022-22965",
        "Spring4Shell remote code execution in Spring Framework",
        9.8,
        "spring-beans",
        "5.3.17",
        Some("5.3.18"),
    ),
    (
        "CVE-2023-38545",
        "curl SOCKS5 heap buffer overflow",
        9.8,
        "libcurl-minimal",
        "8.0.1-1.amzn2023",
        Some("8.3.0-1.amzn2023.0.1"),
    ),
    (
        "CVE-2023-38408",
        "OpenSSH ssh-agent remote code execution",
        9.8,
        "openssh-client",
        "1:7.2p2-4ubuntu2.10",
        None,
    ),
    (
        "CVE-2021-3156",
        "sudo Baron Samedit heap overflow",
        7.8,
        "sudo",
        "1.8.23-10.amzn1",
        Some("1.8.23-10.56.amzn1"),
    ),
    (
        "CVE-2024-23897",
        "Jenkins CLI arbitrary file read",
        9.8,
        "jenkins",
        "2.426.2",
        Some("2.442"),
    ),
    (
        "CVE-2024-21626",
        "runc \"Leaky Vessels\" container escape",
        8.6,
        "runc",
        "1.1.7-1.amzn2023",
        Some("1.1.11-1.amzn2023.0.1"),
    ),
    (
        "CVE-2023-7008",
        "systemd-resolved DNSSEC validation bypass",
        5.9,
        "systemd",
        "252.16-1.amzn2023.0.1",
        Some("252.23-2.amzn2023"),
    ),
    (
        "CVE-2023-29383",
        "shadow-utils chfn control character injection",
        3.3,
        "passwd",
        "1:4.8.1-2ubuntu2.1",
        Some("1:4.8.1-2ubuntu2.2"),
    ),
    (
        "CVE-2022-3219",
        "GnuPG denial of service on compressed packets",
        3.3,
        "gnupg",
        "1.4.20-1ubuntu3.3",
        None,
    ),
    (
        "CVE-2024-28182",
        "nghttp2 unbounded CONTINUATION frames",
        5.3,
        "libnghttp2",
        "1.51.0-1.amzn2023",
        Some("1.59.0-3.amzn2023.0.1"),
    ),
    (
        "CVE-2016-5195",
        "Linux kernel Dirty COW privilege escalation",
        7.8,
        "linux-image-4.4.0-21-generic",
        "4.4.0-21.37",
        Some("4.4.0-45.66"),
    ),
    (
        "CVE-2024-3094",
        "xz-utils backdoor in liblzma",
        10.0,
        "xz-libs",
        "5.6.0-1",
        Some("5.6.1-2"),
    ),
];

const ALL_USERS: &str = "http://acs.amazonaws.com/groups/global/AllUsers";
const AUTH_USERS: &str = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers";
const LOG_DELIVERY: &str = "http://acs.amazonaws.com/groups/s3/LogDelivery";
const CORP_CIDR: &str = "203.0.113.0/24";
const VPN_CIDR: &str = "198.51.100.16/28";
const HEX: &[u8; 16] = b"0123456789abcdef";
const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

// ----- The generator -----------------------------------------------------------------

struct Gen<W> {
    rng: ChaCha8Rng,
    /// Mixed into ID counters so that seeds give different IDs.
    salt: u64,
    counter: u64,
    out: W,
    j: J,
    remaining: u64,
    stats: Stats,
    cell_no: u64,
}

/// An account being generated.
struct Account {
    id: String,
    env: &'static str,
    canonical: String,
    kms: String,
    org: &'static str,
}

struct Subnet {
    id: String,
    az: String,
    az_id: String,
    /// The third octet base of the /20.
    base: u32,
    public: bool,
    next_ip: u32,
}

struct SgRef {
    id: String,
    name: String,
}

/// One planned instance: what its dependants (ENIs, volumes, findings) need.
struct Inst {
    id: String,
    subnet: usize,
    private_ip: String,
    public_ip: Option<String>,
    eni: String,
    mac: String,
    sgs: Vec<usize>,
    volumes: Vec<(String, String, i64)>,
    launch: i64,
    terminated: bool,
    env: &'static str,
    app: &'static str,
}

impl<W: Write> Gen<W> {
    // -- randomness ------------------------------------------------------------------

    /// Uniform in `0..n` (Lemire's multiply-shift; the tiny bias is irrelevant here).
    fn below(&mut self, n: u64) -> u64 {
        if n <= 1 {
            return 0;
        }
        ((u128::from(self.rng.next_u64()) * u128::from(n)) >> 64) as u64
    }
    /// Uniform in `lo..=hi` (`lo` when the range is empty).
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        if hi <= lo {
            return lo;
        }
        lo + self.below((hi - lo) as u64 + 1) as i64
    }
    /// True with probability `per_mille`/1000.
    fn chance(&mut self, per_mille: u64) -> bool {
        self.below(1000) < per_mille
    }
    fn pick<T: Copy>(&mut self, xs: &[T]) -> T {
        xs[self.below(xs.len() as u64) as usize]
    }
    fn weighted<T: Copy>(&mut self, xs: &[(u32, T)]) -> T {
        let total: u64 = xs.iter().map(|(w, _)| u64::from(*w)).sum();
        let mut r = self.below(total);
        for (w, x) in xs {
            if r < u64::from(*w) {
                return *x;
            }
            r -= u64::from(*w);
        }
        xs[xs.len() - 1].1
    }
    /// A time between `lo` and `hi` days before [`NOW`].
    fn ago(&mut self, lo: i64, hi: i64) -> i64 {
        NOW - self.range(lo * DAY, hi * DAY)
    }

    // -- identifiers ---------------------------------------------------------------------

    fn next_unique(&mut self) -> u64 {
        self.counter += 1;
        splitmix(self.counter ^ self.salt)
    }
    /// An AWS long ID: `prefix` + `0` + 16 hex digits, unique in the run.
    fn rid(&mut self, prefix: &str) -> String {
        let v = self.next_unique();
        let mut s = String::with_capacity(prefix.len() + 17);
        s.push_str(prefix);
        s.push('0');
        for i in (0..16).rev() {
            s.push(HEX[((v >> (i * 4)) & 15) as usize] as char);
        }
        s
    }
    /// `prefix` + `n` characters of `alphabet`, unique in the run.
    fn upper_id(&mut self, prefix: &str, n: usize) -> String {
        let v = self.next_unique();
        let mut s = String::with_capacity(prefix.len() + n);
        s.push_str(prefix);
        // 12 unique base-32 digits (60 bits), then random filler.
        for i in 0..n {
            let d = if i < 12 {
                (v >> (i * 5)) & 31
            } else {
                self.below(32)
            };
            s.push(B32[d as usize] as char);
        }
        s
    }
    fn hex(&mut self, n: usize) -> String {
        let mut s = String::with_capacity(n);
        while s.len() < n {
            let v = self.rng.next_u64();
            for i in 0..16 {
                if s.len() == n {
                    break;
                }
                s.push(HEX[((v >> (i * 4)) & 15) as usize] as char);
            }
        }
        s
    }
    fn uuid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..]
        )
    }
    fn mac(&mut self) -> String {
        let h = self.hex(10);
        format!(
            "0a:{}:{}:{}:{}:{}",
            &h[0..2],
            &h[2..4],
            &h[4..6],
            &h[6..8],
            &h[8..10]
        )
    }
    fn public_ip(&mut self) -> String {
        let first = self.pick(&[3u32, 18, 34, 44, 52, 54]);
        let v = self.next_unique();
        format!(
            "{first}.{}.{}.{}",
            (v >> 16) & 255,
            (v >> 8) & 255,
            (v & 253) + 1
        )
    }

    // -- output ----------------------------------------------------------------------------

    /// Starts a document; false when the count is reached.
    fn begin(&mut self, ty: usize, id: &str, account: &str, region: &str) -> bool {
        if self.remaining == 0 {
            return false;
        }
        self.j.b.clear();
        self.j.comma = false;
        self.j.open();
        self.j.ks("type", TYPES[ty]);
        self.j.ks("id", id);
        self.j.ks("account", account);
        self.j.ks("region", region);
        self.j.key("attributes");
        self.j.open();
        self.stats.by_type[ty] += 1;
        true
    }
    fn finish(&mut self) -> io::Result<()> {
        self.j.close();
        self.j.close();
        self.j.b.push('\n');
        self.out.write_all(self.j.b.as_bytes())?;
        self.remaining -= 1;
        self.stats.docs += 1;
        self.stats.bytes += self.j.b.len() as u64;
        Ok(())
    }

    // -- accounts -----------------------------------------------------------------------------

    fn account(&mut self) -> io::Result<()> {
        let n = self.stats.accounts;
        self.stats.accounts += 1;
        let org = self.pick(&["acme", "globex", "initech", "umbrella", "hooli", "vandelay"]);
        let a = Account {
            id: format!("{:012}", 100_000_000_000u64 + n * 7_919 % 900_000_000_000),
            env: self.weighted(ENVS),
            canonical: self.hex(64),
            kms: String::new(),
            org,
        };
        let kms = format!("arn:aws:kms:us-east-1:{}:key/{}", a.id, self.uuid());
        let a = Account { kms, ..a };
        self.iam(&a)?;
        let home = self.weighted(REGIONS);
        let cells = self.range(2, 9);
        for c in 0..cells {
            // Most VPCs are in the account's home region.
            let region = if c == 0 || self.chance(700) {
                home
            } else {
                self.weighted(REGIONS)
            };
            let default_vpc = c == 0 && self.chance(300);
            self.cell(&a, region, default_vpc)?;
            if self.remaining == 0 {
                break;
            }
        }
        Ok(())
    }

    fn iam(&mut self, a: &Account) -> io::Result<()> {
        let acct = a.id.as_str();
        // The account summary.
        if self.begin(SUMMARY, acct, acct, "us-east-1") {
            let users = self.range(3, 25);
            let keys_present = i64::from(self.chance(50));
            let mfa = i64::from(!self.chance(80));
            self.j.ki("account_access_keys_present", keys_present);
            self.j.ki("account_mfa_enabled", mfa);
            self.j.ki("account_signing_certificates_present", 0);
            self.j.ki("users", users);
            let g = self.range(1, 8);
            self.j.ki("groups", g);
            let r = self.range(10, 120);
            self.j.ki("roles", r);
            let p = self.range(2, 40);
            self.j.ki("policies", p);
            let d = self.range(1, users);
            self.j.ki("mfa_devices", d);
            let unused = i64::from(self.chance(200));
            self.j.ki("mfa_devices_in_use", d - unused);
            self.finish()?;
        }
        let users = self.range(3, 14);
        let mut names: HashSet<String> = HashSet::new();
        for _ in 0..users {
            let human = self.chance(750);
            let mut name = if human {
                let f = self.pick(FIRST);
                let l = self.pick(LAST);
                format!("{f}.{l}")
            } else {
                let app = self.pick(APPS);
                format!(
                    "{app}-{}",
                    self.pick(&["deployer", "ci", "bot", "svc", "reader"])
                )
            };
            while !names.insert(name.clone()) {
                name.push_str(&self.range(2, 9).to_string());
            }
            let created = self.ago(20, 2500);
            if !self.begin(USER, &name, acct, "us-east-1") {
                return Ok(());
            }
            let j = &mut self.j;
            j.ks("user_name", &name);
            let uid = self.upper_id("AIDA", 17);
            self.j.ks("user_id", &uid);
            self.j
                .ksf("arn", format_args!("arn:aws:iam::{acct}:user/{name}"));
            self.j.kt("create_date", created);
            let password = human && !self.chance(100);
            if password {
                // Most sign in often; a minority have been idle for months.
                let last = if self.chance(120) {
                    self.ago(91, 700)
                } else {
                    self.ago(0, 30)
                };
                if !self.chance(40) {
                    self.j.kt("password_last_used", last.max(created));
                }
                self.j.kb("password_enabled", true);
            } else if self.chance(700) {
                self.j.kb("password_enabled", false);
            }
            // MFA: most console users have a device.
            self.j.key("mfa_devices");
            self.j.arr();
            if password && !self.chance(110) {
                self.j.open();
                self.j.ks("user_name", &name);
                self.j.ksf(
                    "serial_number",
                    format_args!("arn:aws:iam::{acct}:mfa/{name}"),
                );
                let t = self.range(created, NOW);
                self.j.kt("enable_date", t);
                self.j.close();
            }
            self.j.end();
            self.j.key("attached_policies");
            self.j.arr();
            let policy = if self.chance(60) {
                "AdministratorAccess"
            } else if human {
                self.pick(&["ReadOnlyAccess", "PowerUserAccess", "ViewOnlyAccess"])
            } else {
                self.pick(&[
                    "AmazonS3ReadOnlyAccess",
                    "AmazonEC2ContainerRegistryPowerUser",
                ])
            };
            // Users usually get their policies through groups.
            if self.chance(200) {
                self.j.open();
                self.j.ks("policy_name", policy);
                self.j.ksf(
                    "policy_arn",
                    format_args!("arn:aws:iam::aws:policy/{policy}"),
                );
                self.j.close();
            }
            self.j.end();
            self.j.key("policy_names");
            self.j.arr();
            if self.chance(120) {
                let app = self.pick(APPS);
                self.j.sf(format_args!("{app}-inline-access"));
            }
            self.j.end();
            let team = self.pick(TEAMS);
            if self.chance(700) {
                self.j.tags(&[("team", team)]);
            }
            self.finish()?;
            // Access keys: service users have one, some humans one or two.
            let keys = if human {
                self.weighted(&[(55, 0), (38, 1), (7, 2)])
            } else {
                1
            };
            for k in 0..keys {
                let id = self.upper_id("AKIA", 16);
                if !self.begin(ACCESS_KEY, &id, acct, "us-east-1") {
                    return Ok(());
                }
                self.j.ks("access_key_id", &id);
                self.j.ks("user_name", &name);
                let active = k == 0 || self.chance(300);
                let active = active && !self.chance(80);
                self.j
                    .ks("status", if active { "Active" } else { "Inactive" });
                // Keys are rotated every ~90 days, often late.
                let made = if self.chance(200) {
                    self.ago(91, 900)
                } else {
                    self.ago(1, 90)
                }
                .max(created);
                self.j.kt("create_date", made);
                if !self.chance(120) {
                    let used = if self.chance(100) {
                        self.range(made, NOW - 91 * DAY).max(made)
                    } else {
                        self.range(made, NOW)
                    };
                    self.j.kt("last_used_date", used);
                    let svc = self.pick(&["s3", "ec2", "ecr", "sts", "iam", "dynamodb", "sqs"]);
                    self.j.ks("last_used_service", svc);
                    let (r, _) = self.weighted(REGIONS);
                    self.j.ks("last_used_region", r);
                } else if self.chance(500) {
                    // What GetAccessKeyLastUsed returns for a key never used.
                    self.j.ks("last_used_service", "N/A");
                    self.j.ks("last_used_region", "N/A");
                }
                self.finish()?;
            }
        }
        Ok(())
    }

    // -- a VPC and what lives in it ------------------------------------------------------------

    fn cell(
        &mut self,
        a: &Account,
        (region, short): (&'static str, &'static str),
        default_vpc: bool,
    ) -> io::Result<()> {
        self.cell_no += 1;
        let acct = a.id.as_str();
        let octet = (self.cell_no % 250) as u32 + 1;
        let vpc_cidr = if default_vpc {
            "172.31.0.0/16".to_string()
        } else {
            format!("10.{octet}.0.0/16")
        };
        let second = if default_vpc { 31 } else { octet };
        let first = if default_vpc { 172 } else { 10 };
        let env = if self.chance(900) {
            a.env
        } else {
            self.weighted(ENVS)
        };

        // The VPC.
        let vpc_id = self.rid("vpc-");
        if !self.begin(VPC, &vpc_id, acct, region) {
            return Ok(());
        }
        self.j.ks("vpc_id", &vpc_id);
        self.j.ks("cidr_block", &vpc_cidr);
        self.j.ks("state", "available");
        self.j.ks("owner_id", acct);
        self.j.kb("is_default", default_vpc);
        self.j.ks("instance_tenancy", "default");
        let dopt = self.rid("dopt-");
        self.j.ks("dhcp_options_id", &dopt);
        self.j.key("cidr_block_association_set");
        self.j.arr();
        self.j.open();
        let assoc = self.rid("vpc-cidr-assoc-");
        self.j.ks("association_id", &assoc);
        self.j.ks("cidr_block", &vpc_cidr);
        self.j.key("cidr_block_state");
        self.j.open();
        self.j.ks("state", "associated");
        self.j.close();
        self.j.close();
        self.j.end();
        self.j.key("ipv6_cidr_block_association_set");
        self.j.arr();
        let ipv6 = self.chance(200);
        let v6 = format!(
            "2600:1f18:{:x}:{:x}00::/56",
            self.below(0xffff),
            self.below(0xff)
        );
        if ipv6 {
            self.j.open();
            let assoc = self.rid("vpc-cidr-assoc-");
            self.j.ks("association_id", &assoc);
            self.j.ks("ipv6_cidr_block", &v6);
            self.j.key("ipv6_cidr_block_state");
            self.j.open();
            self.j.ks("state", "associated");
            self.j.close();
            self.j.ks("network_border_group", region);
            self.j.ks("ipv6_pool", "Amazon");
            self.j.close();
        }
        self.j.end();
        let app = self.pick(APPS);
        let name = format!("{env}-{app}");
        if !default_vpc {
            self.j.tags(&[("Name", &name), ("env", env)]);
        }
        self.finish()?;

        // Subnets: public and private, over two or three zones.
        let n_subnets = self.range(2, 6) as usize;
        let mut subnets = Vec::with_capacity(n_subnets);
        for k in 0..n_subnets {
            let az_letter = ["a", "b", "c"][k % 3];
            let public = default_vpc || k % 2 == 0;
            let s = Subnet {
                id: self.rid("subnet-"),
                az: format!("{region}{az_letter}"),
                az_id: format!("{short}-az{}", (k % 3) + 1 + (self.cell_no % 3) as usize),
                base: (k as u32) * 16,
                public,
                next_ip: 4,
            };
            if !self.begin(SUBNET, &s.id.clone(), acct, region) {
                return Ok(());
            }
            self.j.ks("subnet_id", &s.id);
            self.j.ksf(
                "subnet_arn",
                format_args!("arn:aws:ec2:{region}:{acct}:subnet/{}", s.id),
            );
            self.j.ks("vpc_id", &vpc_id);
            self.j.ks("owner_id", acct);
            self.j.ksf(
                "cidr_block",
                format_args!("{first}.{second}.{}.0/20", s.base),
            );
            self.j.ks("availability_zone", &s.az);
            self.j.ks("availability_zone_id", &s.az_id);
            self.j.ks("state", "available");
            let free = self.range(3800, 4091);
            self.j.ki("available_ip_address_count", free);
            self.j.kb("default_for_az", default_vpc);
            let auto_ip = public && (default_vpc || (env != "prod" && self.chance(500)));
            self.j.kb("map_public_ip_on_launch", auto_ip);
            self.j.kb("assign_ipv6_address_on_creation", false);
            self.j.kb("ipv6_native", false);
            self.j.key("ipv6_cidr_block_association_set");
            self.j.arr();
            self.j.end();
            let tier = if public { "public" } else { "private" };
            self.j.tags(&[
                ("Name", &format!("{name}-{tier}-{az_letter}")),
                ("tier", tier),
            ]);
            self.finish()?;
            subnets.push(s);
        }

        // Network ACLs: the default (allow all, as AWS creates it) and,
        // outside the default VPC, a custom one on the public subnets.
        let default_acl = self.rid("acl-");
        if !self.begin(NACL, &default_acl, acct, region) {
            return Ok(());
        }
        self.j.ks("network_acl_id", &default_acl);
        self.j.ks("vpc_id", &vpc_id);
        self.j.ks("owner_id", acct);
        self.j.kb("is_default", true);
        self.j.key("entries");
        self.j.arr();
        // Some teams tighten the default ACL to the VPC's own range.
        let inbound = if self.chance(400) {
            vpc_cidr.as_str()
        } else {
            "0.0.0.0/0"
        };
        for egress in [false, true] {
            let from = if egress { "0.0.0.0/0" } else { inbound };
            acl_entry(&mut self.j, 100, "-1", "allow", egress, from, None);
            acl_entry(&mut self.j, 32767, "-1", "deny", egress, "0.0.0.0/0", None);
        }
        self.j.end();
        self.j.key("associations");
        self.j.arr();
        let private: Vec<String> = subnets
            .iter()
            .filter(|s| !s.public || default_vpc)
            .map(|s| s.id.clone())
            .collect();
        for s in &private {
            let assoc = self.rid("aclassoc-");
            self.j.open();
            self.j.ks("network_acl_association_id", &assoc);
            self.j.ks("network_acl_id", &default_acl);
            self.j.ks("subnet_id", s);
            self.j.close();
        }
        self.j.end();
        self.finish()?;
        if !default_vpc {
            let acl = self.rid("acl-");
            if !self.begin(NACL, &acl, acct, region) {
                return Ok(());
            }
            self.j.ks("network_acl_id", &acl);
            self.j.ks("vpc_id", &vpc_id);
            self.j.ks("owner_id", acct);
            self.j.kb("is_default", false);
            self.j.key("entries");
            self.j.arr();
            let ssh_from = if self.chance(60) {
                "0.0.0.0/0"
            } else {
                CORP_CIDR
            };
            let j = &mut self.j;
            acl_entry(j, 100, "6", "allow", false, "0.0.0.0/0", Some((443, 443)));
            acl_entry(j, 110, "6", "allow", false, "0.0.0.0/0", Some((80, 80)));
            acl_entry(j, 120, "6", "allow", false, ssh_from, Some((22, 22)));
            acl_entry(j, 130, "-1", "allow", false, &vpc_cidr, None);
            acl_entry(
                j,
                140,
                "6",
                "allow",
                false,
                "0.0.0.0/0",
                Some((32768, 65535)),
            );
            acl_entry(j, 32767, "-1", "deny", false, "0.0.0.0/0", None);
            acl_entry(j, 100, "-1", "allow", true, "0.0.0.0/0", None);
            acl_entry(j, 32767, "-1", "deny", true, "0.0.0.0/0", None);
            j.end();
            j.key("associations");
            j.arr();
            let public: Vec<String> = subnets
                .iter()
                .filter(|s| s.public)
                .map(|s| s.id.clone())
                .collect();
            for s in &public {
                let assoc = self.rid("aclassoc-");
                self.j.open();
                self.j.ks("network_acl_association_id", &assoc);
                self.j.ks("network_acl_id", &acl);
                self.j.ks("subnet_id", s);
                self.j.close();
            }
            self.j.end();
            self.j.tags(&[("Name", &format!("{name}-public"))]);
            self.finish()?;
        }

        // Security groups.
        let sgs = self.security_groups(acct, region, &vpc_id, &vpc_cidr, env)?;
        if self.remaining == 0 {
            return Ok(());
        }

        // The flow log: most VPCs have an active one; some only on a subnet.
        let fl_target = if self.chance(850) {
            Some(vpc_id.clone())
        } else if self.chance(400) {
            Some(subnets[0].id.clone())
        } else {
            None
        };
        if let Some(target) = fl_target {
            let id = self.rid("fl-");
            if !self.begin(FLOW_LOG, &id, acct, region) {
                return Ok(());
            }
            self.j.ks("flow_log_id", &id);
            self.j.ks("resource_id", &target);
            self.j.ks("flow_log_status", "ACTIVE");
            let failed = self.chance(20);
            self.j.ks(
                "deliver_logs_status",
                if failed { "FAILED" } else { "SUCCESS" },
            );
            let tt = self.weighted(&[(70, "ALL"), (25, "REJECT"), (5, "ACCEPT")]);
            self.j.ks("traffic_type", tt);
            if self.chance(500) {
                self.j.ks("log_destination_type", "s3");
                self.j.ksf(
                    "log_destination",
                    format_args!("arn:aws:s3:::{}-flow-logs-{acct}", a.org),
                );
            } else {
                self.j.ks("log_destination_type", "cloud-watch-logs");
                self.j.ksf(
                    "log_destination",
                    format_args!("arn:aws:logs:{region}:{acct}:log-group:/vpc/flow-logs/{vpc_id}"),
                );
                self.j
                    .ksf("log_group_name", format_args!("/vpc/flow-logs/{vpc_id}"));
                self.j.ksf(
                    "deliver_logs_permission_arn",
                    format_args!("arn:aws:iam::{acct}:role/flow-logs-delivery"),
                );
            }
            self.j.ks("log_format", "${version} ${account-id} ${interface-id} ${srcaddr} ${dstaddr} ${srcport} ${dstport} ${protocol} ${packets} ${bytes} ${start} ${end} ${action} ${log-status}");
            let fast = self.chance(300);
            self.j
                .ki("max_aggregation_interval", if fast { 60 } else { 600 });
            let t = self.ago(30, 1500);
            self.j.kt("creation_time", t);
            self.finish()?;
        }

        // Key pairs and AMIs of this VPC's workloads.
        let n_keys = self.weighted(&[(50, 0), (40, 1), (10, 2)]);
        let mut key_names = Vec::new();
        for _ in 0..n_keys {
            let id = self.rid("key-");
            let app = self.pick(APPS);
            let kname = format!("{env}-{app}-{}", &id[12..16]);
            if !self.begin(KEY_PAIR, &id, acct, region) {
                return Ok(());
            }
            self.j.ks("key_pair_id", &id);
            self.j.ks("key_name", &kname);
            let rsa = self.chance(700);
            if rsa {
                let h = self.hex(32);
                let fp: Vec<&str> = (0..16).map(|i| &h[i * 2..i * 2 + 2]).collect();
                self.j.ks("key_fingerprint", &fp.join(":"));
            } else {
                let h = self.hex(43);
                self.j.ksf("key_fingerprint", format_args!("{h}="));
            }
            self.j.ks("key_type", if rsa { "rsa" } else { "ed25519" });
            if !self.chance(50) {
                let t = if self.chance(350) {
                    self.ago(366, 3000)
                } else {
                    self.ago(1, 365)
                };
                self.j.kt("create_time", t);
            }
            self.j.tags(&[("env", env)]);
            self.finish()?;
            key_names.push(kname);
        }
        let n_images = self.weighted(&[(40, 0), (45, 1), (15, 2)]);
        let mut images = Vec::new();
        for _ in 0..n_images {
            let id = self.rid("ami-");
            images.push(id.clone());
            self.image(acct, region, &id, env, &a.kms)?;
            if self.remaining == 0 {
                return Ok(());
            }
        }

        // Plan the instances, then write them and their dependants.
        let n_inst = self.range(3, 18) as usize;
        let mut insts: Vec<Inst> = Vec::with_capacity(n_inst);
        for _ in 0..n_inst {
            // Most workloads run in private subnets (the odd ones).
            let mut sn = self.below(subnets.len() as u64) as usize;
            if subnets[sn].public && !default_vpc && sn + 1 < subnets.len() && self.chance(600) {
                sn += 1;
            }
            let s = &mut subnets[sn];
            s.next_ip += 1 + (splitmix(s.next_ip.into()) % 9) as u32;
            let ip = format!(
                "{first}.{second}.{}.{}",
                s.base + (s.next_ip / 250),
                s.next_ip % 250 + 4
            );
            let public = s.public;
            let public_ip = (public && (default_vpc || self.chance(550))).then(|| self.public_ip());
            let n_sg = self.weighted(&[(60, 1usize), (30, 2), (10, 3)]);
            let mut my_sgs = Vec::new();
            for _ in 0..n_sg {
                let g = 1 + self.below(sgs.len() as u64 - 1) as usize;
                if !my_sgs.contains(&g) {
                    my_sgs.push(g);
                }
            }
            let id = self.rid("i-");
            let eni = self.rid("eni-");
            let mac = self.mac();
            let n_vol = self.weighted(&[(65, 1usize), (25, 2), (10, 3)]);
            let mut volumes = Vec::new();
            for v in 0..n_vol {
                let dev = if v == 0 {
                    "/dev/xvda".to_string()
                } else {
                    format!("/dev/sd{}", (b'e' + v as u8) as char)
                };
                let size = if v == 0 {
                    self.pick(&[8, 20, 30, 50])
                } else {
                    self.pick(&[100, 200, 500, 1000, 2000])
                };
                volumes.push((self.rid("vol-"), dev, size));
            }
            let env = if self.chance(970) {
                env
            } else {
                self.pick(&["qa", "Production", "prd", "uat"])
            };
            let launch = self.ago(0, 900);
            let app = self.pick(APPS);
            insts.push(Inst {
                id,
                subnet: sn,
                private_ip: ip,
                public_ip,
                eni,
                mac,
                sgs: my_sgs,
                volumes,
                launch,
                terminated: false,
                env,
                app,
            });
        }
        for inst in insts.iter_mut() {
            let img = if images.is_empty() || self.chance(300) {
                None
            } else {
                Some(images[self.below(images.len() as u64) as usize].clone())
            };
            let key = if key_names.is_empty() {
                None
            } else {
                Some(key_names[self.below(key_names.len() as u64) as usize].clone())
            };
            let term = self.instance(
                acct,
                region,
                inst,
                &subnets,
                &sgs,
                &vpc_id,
                img.as_deref(),
                key.as_deref(),
            )?;
            inst.terminated = term;
            if self.remaining == 0 {
                return Ok(());
            }
        }
        for inst in &insts {
            if inst.terminated {
                continue;
            }
            self.instance_eni(acct, region, inst, &subnets, &sgs, &vpc_id)?;
            if self.remaining == 0 {
                return Ok(());
            }
        }
        // ENIs of managed services (load balancers, NAT gateways, Lambda).
        for _ in 0..self.range(0, 4) {
            self.service_eni(acct, region, &subnets, &sgs, &vpc_id)?;
            if self.remaining == 0 {
                return Ok(());
            }
        }

        // Volumes: attached ones, then a few forgotten unattached ones.
        let mut vol_ids = Vec::new();
        for inst in &insts {
            if inst.terminated {
                continue;
            }
            for (k, (vid, dev, size)) in inst.volumes.iter().enumerate() {
                let tags = inst.env;
                self.volume(
                    acct,
                    region,
                    vid,
                    *size,
                    &subnets[inst.subnet].az,
                    Some((&inst.id, dev.as_str(), inst.launch, k == 0)),
                    tags,
                    &a.kms,
                )?;
                vol_ids.push((vid.clone(), *size));
                if self.remaining == 0 {
                    return Ok(());
                }
            }
        }
        for _ in 0..self.weighted(&[(60, 0), (30, 1), (10, 3)]) {
            let vid = self.rid("vol-");
            let size = self.pick(&[20, 100, 500]);
            let az = subnets[0].az.clone();
            self.volume(acct, region, &vid, size, &az, None, env, &a.kms)?;
            vol_ids.push((vid, size));
            if self.remaining == 0 {
                return Ok(());
            }
        }

        // Snapshots: daily backups of some volumes, old AMI snapshots.
        for (vid, size) in &vol_ids {
            let n = self.weighted(&[(45, 0), (35, 1), (20, 2)]);
            for _ in 0..n {
                self.snapshot(acct, region, vid, *size, env, &a.kms)?;
                if self.remaining == 0 {
                    return Ok(());
                }
            }
        }

        // Elastic IPs: one per public instance with a fixed address, plus strays.
        for inst in &insts {
            if inst.terminated || inst.public_ip.is_none() || !self.chance(250) {
                continue;
            }
            self.address(acct, region, Some(inst), env)?;
            if self.remaining == 0 {
                return Ok(());
            }
        }
        if self.chance(150) {
            self.address(acct, region, None, env)?;
        }

        // Buckets.
        for _ in 0..self.weighted(&[(25, 1), (40, 2), (25, 3), (10, 5)]) {
            self.bucket(a, region, env)?;
            if self.remaining == 0 {
                return Ok(());
            }
        }

        // Findings of the scanners on the instances (and a few stale ones).
        for inst in &insts {
            let n = self.weighted(&[(25, 0usize), (25, 1), (20, 2), (15, 3), (10, 5), (5, 9)]);
            for _ in 0..n {
                self.finding(acct, region, &inst.id)?;
                if self.remaining == 0 {
                    return Ok(());
                }
            }
        }
        if self.chance(100) {
            let ghost = self.rid("i-");
            self.finding(acct, region, &ghost)?;
        }
        Ok(())
    }

    fn security_groups(
        &mut self,
        acct: &str,
        region: &str,
        vpc_id: &str,
        vpc_cidr: &str,
        env: &str,
    ) -> io::Result<Vec<SgRef>> {
        let mut out: Vec<SgRef> = Vec::new();
        // The default group, first: AWS creates it with a self-referencing
        // all-traffic inbound rule and an all-traffic outbound rule; CIS asks
        // for both to be removed, and many accounts have done it.
        let default_id = self.rid("sg-");
        let stripped = self.chance(450);
        if !self.begin(SG, &default_id, acct, region) {
            return Ok(out);
        }
        self.sg_header(
            &default_id,
            "default",
            "default VPC security group",
            acct,
            vpc_id,
            region,
        );
        self.j.key("ip_permissions");
        self.j.arr();
        if !stripped {
            perm(&mut self.j, "-1", None, &[], &[], &[(&default_id, acct)]);
        }
        self.j.end();
        self.j.key("ip_permissions_egress");
        self.j.arr();
        if !stripped {
            perm(&mut self.j, "-1", None, &["0.0.0.0/0"], &[], &[]);
        }
        self.j.end();
        self.finish()?;
        out.push(SgRef {
            id: default_id,
            name: "default".into(),
        });

        let n = self.range(2, 8);
        for k in 0..n {
            let id = self.rid("sg-");
            let kind = if k == 0 {
                "web"
            } else {
                self.weighted(&[
                    (20, "app"),
                    (15, "db"),
                    (12, "bastion"),
                    (10, "internal"),
                    (10, "web"),
                    (8, "cache"),
                    (6, "windows"),
                    (5, "monitoring"),
                    (4, "legacy"),
                    (3, "debug"),
                ])
            };
            let app = self.pick(APPS);
            let name = format!("{env}-{app}-{kind}");
            if !self.begin(SG, &id, acct, region) {
                return Ok(out);
            }
            let desc = match kind {
                "web" => "Public HTTP/HTTPS",
                "app" => "Application tier, from the load balancers",
                "db" => "Database tier",
                "bastion" => "SSH bastion",
                "windows" => "Windows hosts (RDP)",
                "debug" => "temporary: debugging, \"remove after the incident\"",
                _ => "managed by terraform",
            };
            let with_desc = !self.chance(30);
            self.sg_header(
                &id,
                &name,
                if with_desc { desc } else { "" },
                acct,
                vpc_id,
                region,
            );
            let web_sg = out
                .get(1)
                .map(|s| s.id.clone())
                .unwrap_or_else(|| id.clone());
            self.j.key("ip_permissions");
            self.j.arr();
            match kind {
                "web" => {
                    for port in [80, 443] {
                        perm(
                            &mut self.j,
                            "tcp",
                            Some((port, port)),
                            &["0.0.0.0/0"],
                            &["::/0"],
                            &[],
                        );
                    }
                }
                "app" => {
                    perm(
                        &mut self.j,
                        "tcp",
                        Some((8080, 8080)),
                        &[],
                        &[],
                        &[(&web_sg, acct)],
                    );
                    if self.chance(40) {
                        perm(
                            &mut self.j,
                            "tcp",
                            Some((8080, 8080)),
                            &["0.0.0.0/0"],
                            &[],
                            &[],
                        );
                    }
                }
                "db" => {
                    let port = self.pick(&[5432, 3306, 1433, 27017, 1521]);
                    if self.chance(25) {
                        perm(
                            &mut self.j,
                            "tcp",
                            Some((port, port)),
                            &["0.0.0.0/0"],
                            &[],
                            &[],
                        );
                    } else {
                        perm(
                            &mut self.j,
                            "tcp",
                            Some((port, port)),
                            &[vpc_cidr],
                            &[],
                            &[],
                        );
                    }
                }
                "cache" => {
                    let port = self.pick(&[6379, 11211, 9200]);
                    let from = if self.chance(20) {
                        "0.0.0.0/0"
                    } else {
                        vpc_cidr
                    };
                    perm(&mut self.j, "tcp", Some((port, port)), &[from], &[], &[]);
                }
                "bastion" => {
                    if self.chance(150) {
                        perm(&mut self.j, "tcp", Some((22, 22)), &["0.0.0.0/0"], &[], &[]);
                    } else {
                        perm(
                            &mut self.j,
                            "tcp",
                            Some((22, 22)),
                            &[CORP_CIDR, VPN_CIDR],
                            &[],
                            &[],
                        );
                    }
                }
                "windows" => {
                    let from = if self.chance(120) {
                        "0.0.0.0/0"
                    } else {
                        CORP_CIDR
                    };
                    perm(&mut self.j, "tcp", Some((3389, 3389)), &[from], &[], &[]);
                    perm(
                        &mut self.j,
                        "tcp",
                        Some((5985, 5986)),
                        &[CORP_CIDR],
                        &[],
                        &[],
                    );
                }
                "internal" => {
                    perm(&mut self.j, "-1", None, &["10.0.0.0/8"], &[], &[]);
                }
                "monitoring" => {
                    perm(
                        &mut self.j,
                        "tcp",
                        Some((9100, 9100)),
                        &[vpc_cidr],
                        &[],
                        &[],
                    );
                    perm(&mut self.j, "icmp", Some((-1, -1)), &[vpc_cidr], &[], &[]);
                }
                "legacy" => {
                    let ports = self.pick(&[(21, 21), (23, 23), (445, 445), (5900, 5900)]);
                    let from = if self.chance(300) {
                        "0.0.0.0/0"
                    } else {
                        CORP_CIDR
                    };
                    perm(&mut self.j, "tcp", Some(ports), &[from], &[], &[]);
                }
                _ => {
                    // "debug": wide open, the classic incident leftover.
                    if self.chance(500) {
                        perm(&mut self.j, "-1", None, &["0.0.0.0/0"], &["::/0"], &[]);
                    } else {
                        perm(
                            &mut self.j,
                            "tcp",
                            Some((0, 65535)),
                            &["0.0.0.0/0"],
                            &[],
                            &[],
                        );
                    }
                }
            }
            self.j.end();
            self.j.key("ip_permissions_egress");
            self.j.arr();
            perm(&mut self.j, "-1", None, &["0.0.0.0/0"], &[], &[]);
            self.j.end();
            let team = self.pick(TEAMS);
            let owner = format!("{team}-team@example.com");
            if self.chance(700) {
                self.j
                    .tags(&[("Name", &name), ("owner", &owner), ("env", env)]);
            } else {
                self.j.tags(&[("Name", &name)]);
            }
            self.finish()?;
            out.push(SgRef { id, name });
        }
        Ok(out)
    }

    fn sg_header(
        &mut self,
        id: &str,
        name: &str,
        desc: &str,
        acct: &str,
        vpc_id: &str,
        region: &str,
    ) {
        self.j.ks("group_id", id);
        self.j.ks("group_name", name);
        if !desc.is_empty() {
            self.j.ks("description", desc);
        }
        self.j.ks("owner_id", acct);
        self.j.ks("vpc_id", vpc_id);
        self.j.ksf(
            "security_group_arn",
            format_args!("arn:aws:ec2:{region}:{acct}:security-group/{id}"),
        );
    }

    fn image(
        &mut self,
        acct: &str,
        region: &str,
        id: &str,
        env: &str,
        kms: &str,
    ) -> io::Result<()> {
        if !self.begin(IMAGE, id, acct, region) {
            return Ok(());
        }
        let app = self.pick(APPS);
        let created = self.ago(1, 1400);
        let mut date = String::new();
        push_time(&mut date, created);
        self.j.ks("image_id", id);
        self.j.ksf("name", format_args!("{app}-{}", &date[..10]));
        if self.chance(600) {
            self.j
                .ksf("description", format_args!("{app} golden image (packer)"));
        }
        let state = if self.chance(50) {
            "deregistered"
        } else {
            "available"
        };
        self.j.ks("state", state);
        self.j.ks("owner_id", acct);
        self.j.kt("creation_date", created);
        let public = self.chance(15);
        self.j.kb("public", public);
        let arch = if self.chance(300) { "arm64" } else { "x86_64" };
        self.j.ks("architecture", arch);
        self.j.ks("image_type", "machine");
        self.j.ks("root_device_type", "ebs");
        self.j.ks("root_device_name", "/dev/xvda");
        let windows = self.chance(80);
        if windows {
            self.j.ks("platform", "windows");
            self.j.ks("platform_details", "Windows");
        } else {
            self.j.ks("platform_details", "Linux/UNIX");
        }
        self.j.kb("ena_support", true);
        if self.chance(400) {
            self.j.ks("imds_support", "v2.0");
        }
        if self.chance(250) {
            self.j.kt("deprecation_time", created + 730 * DAY);
        }
        self.j.key("block_device_mappings");
        self.j.arr();
        self.j.open();
        self.j.ks("device_name", "/dev/xvda");
        self.j.key("ebs");
        self.j.open();
        let snap = self.rid("snap-");
        self.j.ks("snapshot_id", &snap);
        let size = self.pick(&[8, 20, 30]);
        self.j.ki("volume_size", size);
        self.j.ks("volume_type", "gp3");
        let enc = self.chance(800);
        self.j.kb("encrypted", enc);
        if enc {
            self.j.ks("kms_key_id", kms);
        }
        self.j.kb("delete_on_termination", true);
        self.j.close();
        self.j.close();
        self.j.end();
        self.j.key("launch_permissions");
        self.j.arr();
        if self.chance(10) {
            self.j.open();
            self.j.ks("group", "all");
            self.j.close();
        }
        if self.chance(150) {
            self.j.open();
            let other = format!("{:012}", 200_000_000_000 + self.below(1_000_000));
            self.j.ks("user_id", &other);
            self.j.close();
        }
        self.j.end();
        self.j.tags(&[("Name", app), ("env", env)]);
        self.finish()
    }

    #[allow(clippy::too_many_arguments)]
    fn instance(
        &mut self,
        acct: &str,
        region: &str,
        inst: &Inst,
        subnets: &[Subnet],
        sgs: &[SgRef],
        vpc_id: &str,
        image: Option<&str>,
        key: Option<&str>,
    ) -> io::Result<bool> {
        if !self.begin(INSTANCE, &inst.id, acct, region) {
            return Ok(false);
        }
        let s = &subnets[inst.subnet];
        let (code, state) = self.weighted(&[
            (820, (16, "running")),
            (110, (80, "stopped")),
            (40, (48, "terminated")),
            (15, (0, "pending")),
            (15, (64, "stopping")),
        ]);
        let terminated = state == "terminated";
        self.j.ks("instance_id", &inst.id);
        match image {
            Some(img) => self.j.ks("image_id", img),
            None => {
                let ami = self.rid("ami-");
                self.j.ks("image_id", &ami);
            }
        }
        let itype = self.weighted(INSTANCE_TYPES);
        self.j.ks("instance_type", itype);
        self.j.kt("launch_time", inst.launch);
        self.j.key("state");
        self.j.open();
        self.j.ki("code", code);
        self.j.ks("name", state);
        self.j.close();
        self.j.key("placement");
        self.j.open();
        self.j.ks("availability_zone", &s.az);
        let tenancy = if self.chance(20) {
            "dedicated"
        } else {
            "default"
        };
        self.j.ks("tenancy", tenancy);
        if self.chance(50) {
            self.j.ks("group_name", "");
        }
        self.j.close();
        self.j.key("monitoring");
        self.j.open();
        let mon = if self.chance(300) {
            "enabled"
        } else {
            "disabled"
        };
        self.j.ks("state", mon);
        self.j.close();
        self.j.kos("key_name", key);
        if !terminated {
            self.j.ks("vpc_id", vpc_id);
            self.j.ks("subnet_id", &s.id);
            self.j.ks("private_ip_address", &inst.private_ip);
            let dns = format!("ip-{}.ec2.internal", inst.private_ip.replace('.', "-"));
            self.j.ks("private_dns_name", &dns);
            if let Some(p) = &inst.public_ip {
                self.j.ks("public_ip_address", p);
                self.j.ksf(
                    "public_dns_name",
                    format_args!("ec2-{}.compute-1.amazonaws.com", p.replace('.', "-")),
                );
            } else {
                self.j.ks("public_dns_name", "");
            }
            if self.chance(600) {
                self.j.key("iam_instance_profile");
                self.j.open();
                self.j.ksf(
                    "arn",
                    format_args!(
                        "arn:aws:iam::{acct}:instance-profile/{}-{}",
                        inst.env, inst.app
                    ),
                );
                let pid = self.upper_id("AIPA", 17);
                self.j.ks("id", &pid);
                self.j.close();
            }
        } else {
            self.j.ks("private_dns_name", "");
        }
        if !self.chance(40) {
            self.j.key("metadata_options");
            self.j.open();
            self.j.ks("state", "applied");
            let tokens = if self.chance(800) {
                "required"
            } else {
                "optional"
            };
            self.j.ks("http_tokens", tokens);
            let hops = if self.chance(300) { 2 } else { 1 };
            self.j.ki("http_put_response_hop_limit", hops);
            let ep = if self.chance(30) {
                "disabled"
            } else {
                "enabled"
            };
            self.j.ks("http_endpoint", ep);
            self.j.ks("http_protocol_ipv6", "disabled");
            self.j.ks("instance_metadata_tags", "disabled");
            self.j.close();
        }
        self.j.key("security_groups");
        self.j.arr();
        if !terminated {
            for &g in &inst.sgs {
                self.j.open();
                self.j.ks("group_id", &sgs[g].id);
                self.j.ks("group_name", &sgs[g].name);
                self.j.close();
            }
        }
        self.j.end();
        self.j.key("block_device_mappings");
        self.j.arr();
        if !terminated {
            for (vid, dev, _) in &inst.volumes {
                self.j.open();
                self.j.ks("device_name", dev);
                self.j.key("ebs");
                self.j.open();
                self.j.ks("volume_id", vid);
                self.j.ks("status", "attached");
                self.j.kt("attach_time", inst.launch);
                self.j.kb("delete_on_termination", dev == "/dev/xvda");
                self.j.close();
                self.j.close();
            }
        }
        self.j.end();
        self.j.key("network_interfaces");
        self.j.arr();
        if !terminated {
            self.j.open();
            self.j.ks("network_interface_id", &inst.eni);
            self.j.ks("status", "in-use");
            self.j.ks("subnet_id", &s.id);
            self.j.ks("vpc_id", vpc_id);
            self.j.ks("private_ip_address", &inst.private_ip);
            self.j.ks("mac_address", &inst.mac);
            self.j.ks("owner_id", acct);
            self.j.ks("description", "");
            self.j.ks("interface_type", "interface");
            self.j.kb("source_dest_check", true);
            self.eni_groups_and_association(inst, sgs);
            self.j.key("ipv6_addresses");
            self.j.arr();
            self.j.end();
            self.j.close();
        }
        self.j.end();
        let windows = self.chance(80);
        if windows {
            self.j.ks("platform", "windows");
            self.j.ks("platform_details", "Windows");
        } else {
            self.j.ks("platform_details", "Linux/UNIX");
        }
        if self.chance(100) {
            self.j.ks("instance_lifecycle", "spot");
        }
        if !terminated {
            self.j.kb("source_dest_check", true);
        }
        match state {
            "stopped" | "terminated" => {
                // Stopped a few days to a year after the last launch.
                let stop = self.range(inst.launch, NOW).min(inst.launch + 400 * DAY);
                let mut t = String::new();
                push_time(&mut t, stop);
                let reason = format!("User initiated ({} {} GMT)", &t[..10], &t[11..19]);
                self.j.ks("state_transition_reason", &reason);
            }
            _ => self.j.ks("state_transition_reason", ""),
        }
        let team = self.pick(TEAMS);
        let owner = format!("{team}-team@example.com");
        let cc = format!("cc-{}", 1000 + self.below(60));
        let name = format!("{}-{}-{}", inst.env, inst.app, &inst.id[14..18]);
        let mut tags: Vec<(&str, &str)> = vec![("Name", &name), ("env", inst.env)];
        if !self.chance(70) {
            tags.push(("owner", &owner));
        }
        if !self.chance(90) {
            tags.push(("cost-center", &cc));
        }
        if !self.chance(60) {
            tags.push(("app", inst.app));
        }
        self.j.tags(&tags);
        self.finish()?;
        Ok(terminated)
    }

    /// An interface's `groups` and (for a public instance) `association`,
    /// as both the instance's own interface list and the ENI document carry them.
    fn eni_groups_and_association(&mut self, inst: &Inst, sgs: &[SgRef]) {
        self.j.key("groups");
        self.j.arr();
        for &g in &inst.sgs {
            self.j.open();
            self.j.ks("group_id", &sgs[g].id);
            self.j.ks("group_name", &sgs[g].name);
            self.j.close();
        }
        self.j.end();
        if let Some(p) = &inst.public_ip {
            self.j.key("association");
            self.j.open();
            self.j.ks("public_ip", p);
            self.j.ks("ip_owner_id", "amazon");
            self.j.close();
        }
    }

    fn instance_eni(
        &mut self,
        acct: &str,
        region: &str,
        inst: &Inst,
        subnets: &[Subnet],
        sgs: &[SgRef],
        vpc_id: &str,
    ) -> io::Result<()> {
        if !self.begin(ENI, &inst.eni, acct, region) {
            return Ok(());
        }
        let s = &subnets[inst.subnet];
        self.j.ks("network_interface_id", &inst.eni);
        self.j.ks("interface_type", "interface");
        self.j.ks("status", "in-use");
        self.j.ks("subnet_id", &s.id);
        self.j.ks("vpc_id", vpc_id);
        self.j.ks("availability_zone", &s.az);
        self.j.ks("private_ip_address", &inst.private_ip);
        self.j.ks("mac_address", &inst.mac);
        self.j.ks("owner_id", acct);
        self.j.kb("requester_managed", false);
        self.j.kb("source_dest_check", true);
        self.j.ks("description", "");
        self.eni_groups_and_association(inst, sgs);
        self.j.key("attachment");
        self.j.open();
        let att = self.rid("eni-attach-");
        self.j.ks("attachment_id", &att);
        self.j.ks("instance_id", &inst.id);
        self.j.ks("instance_owner_id", acct);
        self.j.ki("device_index", 0);
        self.j.ks("status", "attached");
        self.j.kt("attach_time", inst.launch);
        self.j.kb("delete_on_termination", true);
        self.j.close();
        self.j.key("private_ip_addresses");
        self.j.arr();
        self.j.open();
        self.j.ks("private_ip_address", &inst.private_ip);
        self.j.kb("primary", true);
        self.j.close();
        self.j.end();
        self.j.key("ipv6_addresses");
        self.j.arr();
        self.j.end();
        self.finish()
    }

    fn service_eni(
        &mut self,
        acct: &str,
        region: &str,
        subnets: &[Subnet],
        sgs: &[SgRef],
        vpc_id: &str,
    ) -> io::Result<()> {
        let id = self.rid("eni-");
        if !self.begin(ENI, &id, acct, region) {
            return Ok(());
        }
        let s = &subnets[self.below(subnets.len() as u64) as usize];
        let (kind, requester, desc) = self.pick(&[
            (
                "load_balancer",
                "amazon-elb",
                "ELB app/web-alb/50dc6c495c0c9188",
            ),
            (
                "nat_gateway",
                "",
                "Interface for NAT Gateway nat-0a1b2c3d4e5f60718",
            ),
            ("lambda", "", "AWS Lambda VPC ENI-etl-ingest"),
            (
                "vpc_endpoint",
                "",
                "VPC Endpoint Interface vpce-0a1b2c3d4e5f60718",
            ),
        ]);
        let ip = format!("10.250.{}.{}", self.below(250), 4 + self.below(250));
        let mac = self.mac();
        self.j.ks("network_interface_id", &id);
        self.j.ks("interface_type", kind);
        self.j.ks("status", "in-use");
        self.j.ks("subnet_id", &s.id);
        self.j.ks("vpc_id", vpc_id);
        self.j.ks("availability_zone", &s.az);
        self.j.ks("private_ip_address", &ip);
        self.j.ks("mac_address", &mac);
        self.j.ks("owner_id", acct);
        if !requester.is_empty() {
            self.j.ks("requester_id", requester);
        }
        self.j.kb("requester_managed", true);
        self.j.kb("source_dest_check", kind != "nat_gateway");
        self.j.ks("description", desc);
        self.j.key("groups");
        self.j.arr();
        if kind != "nat_gateway" {
            self.j.open();
            self.j.ks("group_id", &sgs[1].id);
            self.j.ks("group_name", &sgs[1].name);
            self.j.close();
        }
        self.j.end();
        let public = matches!(kind, "load_balancer" | "nat_gateway") && s.public;
        let pip = public.then(|| self.public_ip());
        if let Some(p) = &pip {
            self.j.key("association");
            self.j.open();
            self.j.ks("public_ip", p);
            self.j.ks("ip_owner_id", "amazon");
            self.j.close();
        }
        self.j.key("private_ip_addresses");
        self.j.arr();
        self.j.open();
        self.j.ks("private_ip_address", &ip);
        self.j.kb("primary", true);
        self.j.close();
        self.j.end();
        self.finish()
    }

    #[allow(clippy::too_many_arguments)]
    fn volume(
        &mut self,
        acct: &str,
        region: &str,
        vid: &str,
        size: i64,
        az: &str,
        attached: Option<(&str, &str, i64, bool)>,
        env: &str,
        kms: &str,
    ) -> io::Result<()> {
        if !self.begin(VOLUME, vid, acct, region) {
            return Ok(());
        }
        let vtype = self.weighted(&[
            (680, "gp3"),
            (200, "gp2"),
            (30, "io1"),
            (20, "io2"),
            (40, "st1"),
            (20, "sc1"),
            (10, "standard"),
        ]);
        let created = match attached {
            Some((_, _, launch, _)) => launch - self.range(0, 600),
            None => self.ago(1, 700),
        };
        self.j.ks("volume_id", vid);
        self.j.ki("size", size);
        self.j.ks("volume_type", vtype);
        self.j.ks(
            "state",
            if attached.is_some() {
                "in-use"
            } else {
                "available"
            },
        );
        self.j.ks("availability_zone", az);
        self.j.kt("create_time", created);
        let enc = !self.chance(90);
        self.j.kb("encrypted", enc);
        if enc {
            self.j.ks("kms_key_id", kms);
        }
        match self.below(10) {
            0..=2 => {
                let s = self.rid("snap-");
                self.j.ks("snapshot_id", &s);
            }
            3..=6 => self.j.ks("snapshot_id", ""),
            _ => {}
        }
        match vtype {
            "gp3" => {
                self.j.ki("iops", 3000);
                self.j.ki("throughput", 125);
            }
            "gp2" => self.j.ki("iops", (size * 3).clamp(100, 16_000)),
            "io1" | "io2" => {
                let iops = self.pick(&[4000, 10_000, 32_000]);
                self.j.ki("iops", iops);
            }
            _ => {}
        }
        self.j.key("attachments");
        self.j.arr();
        if let Some((iid, dev, launch, root)) = attached {
            self.j.open();
            self.j.ks("volume_id", vid);
            self.j.ks("instance_id", iid);
            self.j.ks("device", dev);
            self.j.ks("state", "attached");
            self.j.kt("attach_time", launch);
            self.j.kb("delete_on_termination", root);
            self.j.close();
        }
        self.j.end();
        let team = self.pick(TEAMS);
        let owner = format!("{team}-team@example.com");
        let cc = format!("cc-{}", 1000 + self.below(60));
        let mut tags: Vec<(&str, &str)> = vec![("env", env)];
        if !self.chance(100) {
            tags.push(("owner", &owner));
        }
        if !self.chance(120) {
            tags.push(("cost-center", &cc));
        }
        if self.chance(300) {
            tags.push(("backup", "daily"));
        }
        self.j.tags(&tags);
        self.finish()
    }

    fn snapshot(
        &mut self,
        acct: &str,
        region: &str,
        vid: &str,
        size: i64,
        env: &str,
        kms: &str,
    ) -> io::Result<()> {
        let id = self.rid("snap-");
        if !self.begin(SNAPSHOT, &id, acct, region) {
            return Ok(());
        }
        self.j.ks("snapshot_id", &id);
        self.j.ks("volume_id", vid);
        self.j.ki("volume_size", size);
        let state = self.weighted(&[(970, "completed"), (20, "pending"), (10, "error")]);
        self.j.ks("state", state);
        let t = if self.chance(250) {
            self.ago(366, 2000)
        } else {
            self.ago(0, 365)
        };
        self.j.kt("start_time", t);
        self.j.ks("owner_id", acct);
        if self.chance(700) {
            self.j.ks("description", "daily backup (AWS Backup)");
        } else if self.chance(300) {
            self.j.ks("description", "");
        }
        let enc = !self.chance(60);
        self.j.kb("encrypted", enc);
        if enc {
            self.j.ks("kms_key_id", kms);
        }
        let archived = self.chance(100);
        self.j.ks(
            "storage_tier",
            if archived { "archive" } else { "standard" },
        );
        self.j.key("create_volume_permissions");
        self.j.arr();
        if self.chance(8) {
            self.j.open();
            self.j.ks("group", "all");
            self.j.close();
        } else if self.chance(30) {
            self.j.open();
            let other = format!("{:012}", 200_000_000_000 + self.below(1_000_000));
            self.j.ks("user_id", &other);
            self.j.close();
        }
        self.j.end();
        let team = self.pick(TEAMS);
        let owner = format!("{team}-team@example.com");
        let mut tags: Vec<(&str, &str)> = vec![("env", env)];
        if !self.chance(120) {
            tags.push(("owner", &owner));
        }
        if !self.chance(150) {
            tags.push(("cost-center", "cc-1042"));
        }
        if self.chance(300) {
            tags.push(("retention", "7y"));
        }
        self.j.tags(&tags);
        self.finish()
    }

    fn address(
        &mut self,
        acct: &str,
        region: &str,
        inst: Option<&Inst>,
        env: &str,
    ) -> io::Result<()> {
        let id = self.rid("eipalloc-");
        if !self.begin(ADDRESS, &id, acct, region) {
            return Ok(());
        }
        match inst.and_then(|i| i.public_ip.as_deref().map(|p| (i, p))) {
            Some((i, p)) => {
                self.j.ks("public_ip", p);
                self.j.ks("allocation_id", &id);
                self.j.ks("domain", "vpc");
                let assoc = self.rid("eipassoc-");
                self.j.ks("association_id", &assoc);
                self.j.ks("instance_id", &i.id);
                self.j.ks("network_interface_id", &i.eni);
                self.j.ks("network_interface_owner_id", acct);
                self.j.ks("private_ip_address", &i.private_ip);
            }
            None => {
                let p = self.public_ip();
                self.j.ks("public_ip", &p);
                self.j.ks("allocation_id", &id);
                self.j.ks("domain", "vpc");
            }
        }
        self.j.ks("public_ipv4_pool", "amazon");
        self.j.ks("network_border_group", region);
        self.j.tags(&[("env", env)]);
        self.finish()
    }

    fn bucket(&mut self, a: &Account, region: &str, env: &str) -> io::Result<()> {
        let purpose = self.pick(&[
            "logs",
            "assets",
            "backups",
            "data-lake",
            "artifacts",
            "exports",
            "static-site",
            "ml-models",
            "reports",
            "uploads",
        ]);
        self.counter += 1;
        let name = format!("{}-{purpose}-{env}-{:x}", a.org, self.counter);
        let acct = a.id.as_str();
        if !self.begin(BUCKET, &name, acct, region) {
            return Ok(());
        }
        self.j.ks("name", &name);
        let created = self.ago(1, 3000);
        self.j.kt("creation_date", created);
        self.j.key("acl");
        self.j.open();
        self.j.key("owner");
        self.j.open();
        self.j.ks("id", &a.canonical);
        self.j.close();
        self.j.key("grants");
        self.j.arr();
        self.j.open();
        self.j.key("grantee");
        self.j.open();
        self.j.ks("type", "CanonicalUser");
        self.j.ks("id", &a.canonical);
        self.j.close();
        self.j.ks("permission", "FULL_CONTROL");
        self.j.close();
        let static_site = purpose == "static-site";
        let public_read = if static_site {
            self.chance(400)
        } else {
            self.chance(12)
        };
        let grant = |j: &mut J, uri: &str, perm: &str| {
            j.open();
            j.key("grantee");
            j.open();
            j.ks("type", "Group");
            j.ks("uri", uri);
            j.close();
            j.ks("permission", perm);
            j.close();
        };
        if purpose == "logs" {
            grant(&mut self.j, LOG_DELIVERY, "WRITE");
            grant(&mut self.j, LOG_DELIVERY, "READ_ACP");
        }
        if public_read {
            grant(&mut self.j, ALL_USERS, "READ");
        }
        if self.chance(4) {
            grant(&mut self.j, ALL_USERS, "WRITE");
        }
        if self.chance(6) {
            grant(&mut self.j, AUTH_USERS, "READ");
        }
        self.j.end();
        self.j.close();
        if self.chance(450) {
            self.j.key("policy_status");
            self.j.open();
            let public = if static_site {
                self.chance(500)
            } else {
                self.chance(15)
            };
            self.j.kb("is_public", public);
            self.j.close();
        }
        if !(self.chance(130) || static_site && self.chance(600)) {
            self.j.key("public_access_block");
            self.j.open();
            let all = !self.chance(80);
            let acls = all || self.chance(500);
            let ignore = all || self.chance(500);
            self.j.kb("block_public_acls", acls);
            self.j.kb("ignore_public_acls", ignore);
            self.j.kb("block_public_policy", all);
            self.j.kb("restrict_public_buckets", all);
            self.j.close();
        }
        if !self.chance(40) {
            self.j.key("encryption");
            self.j.open();
            self.j.key("rules");
            self.j.arr();
            self.j.open();
            self.j.key("apply_server_side_encryption_by_default");
            self.j.open();
            if self.chance(350) {
                self.j.ks("sse_algorithm", "aws:kms");
                self.j.ks("kms_master_key_id", &a.kms);
            } else {
                self.j.ks("sse_algorithm", "AES256");
            }
            self.j.close();
            let key = self.chance(500);
            self.j.kb("bucket_key_enabled", key);
            self.j.close();
            self.j.end();
            self.j.close();
        }
        let class = self.weighted(&[
            (15, "confidential"),
            (5, "Restricted"),
            (50, "internal"),
            (30, "public"),
        ]);
        let critical = matches!(class, "confidential" | "Restricted");
        self.j.key("versioning");
        self.j.open();
        match self.below(100) {
            0..=64 => {
                self.j.ks("status", "Enabled");
                let mfa = if self.chance(if critical { 450 } else { 20 }) {
                    "Enabled"
                } else {
                    "Disabled"
                };
                self.j.ks("mfa_delete", mfa);
            }
            65..=69 => self.j.ks("status", "Suspended"),
            _ => {}
        }
        self.j.close();
        if purpose != "logs" && self.chance(550) {
            self.j.key("logging");
            self.j.open();
            self.j.ksf(
                "target_bucket",
                format_args!("{}-access-logs-{acct}", a.org),
            );
            self.j.ksf("target_prefix", format_args!("s3/{name}/"));
            self.j.close();
        }
        let team = self.pick(TEAMS);
        let owner = format!("{team}-team@example.com");
        let mut tags: Vec<(&str, &str)> = vec![("env", env), ("data-classification", class)];
        if !self.chance(100) {
            tags.push(("owner", &owner));
        }
        if !self.chance(130) {
            tags.push(("cost-center", "cc-1042"));
        }
        self.j.tags(&tags);
        self.finish()
    }

    fn finding(&mut self, acct: &str, region: &str, instance: &str) -> io::Result<()> {
        let h = self.hex(32);
        let id = format!("arn:aws:inspector2:{region}:{acct}:finding/{h}");
        if !self.begin(FINDING, &id, acct, region) {
            return Ok(());
        }
        // Low and medium findings dominate; critical ones are rarer.
        let c = if self.chance(700) {
            self.pick(&[1usize, 2, 3, 12, 13, 14, 15])
        } else {
            self.below(CVES.len() as u64) as usize
        };
        let (cve, title, cvss, pkg, installed, fixed) = CVES[c];
        self.j.ks("resource_id", instance);
        if !self.chance(50) {
            self.j.ks("resource_type", "aws.ec2.instance");
        }
        self.j.ks("cve", cve);
        self.j.ks("title", title);
        // Scanners disagree a little on scores.
        let score = if self.chance(100) {
            (cvss - 0.5f64).max(0.0)
        } else {
            cvss
        };
        if score.fract() == 0.0 && self.chance(500) {
            self.j.ki("cvss", score as i64);
        } else {
            self.j.kf("cvss", score);
        }
        let sev = if score >= 9.0 {
            "critical"
        } else if score >= 7.0 {
            "high"
        } else if score >= 4.0 {
            "medium"
        } else {
            "low"
        };
        self.j.ks("severity", sev);
        let first = self.ago(0, 900);
        self.j.kt("first_seen", first);
        if self.chance(700) {
            let last = self.range(first, NOW);
            self.j.kt("last_seen", last);
        }
        self.j.ks("package_name", pkg);
        self.j.ks("installed_version", installed);
        if let Some(f) = fixed {
            self.j.ks("fixed_version", f);
        }
        let scanner = self.weighted(&[
            (60, "inspector"),
            (15, "qualys"),
            (15, "tenable"),
            (10, "trivy"),
        ]);
        self.j.ks("scanner", scanner);
        self.finish()
    }
}

/// A network ACL entry.
fn acl_entry(
    j: &mut J,
    n: i64,
    proto: &str,
    action: &str,
    egress: bool,
    cidr: &str,
    ports: Option<(i64, i64)>,
) {
    j.open();
    j.ki("rule_number", n);
    j.ks("protocol", proto);
    j.ks("rule_action", action);
    j.kb("egress", egress);
    j.ks("cidr_block", cidr);
    if let Some((from, to)) = ports {
        j.key("port_range");
        j.open();
        j.ki("from", from);
        j.ki("to", to);
        j.close();
    }
    j.close();
}

/// A security group rule.
fn perm(
    j: &mut J,
    proto: &str,
    ports: Option<(i64, i64)>,
    cidrs: &[&str],
    cidrs6: &[&str],
    groups: &[(&str, &str)],
) {
    j.open();
    j.ks("ip_protocol", proto);
    if let Some((from, to)) = ports {
        j.ki("from_port", from);
        j.ki("to_port", to);
    }
    j.key("ip_ranges");
    j.arr();
    for c in cidrs {
        j.open();
        j.ks("cidr_ip", c);
        j.close();
    }
    j.end();
    j.key("ipv6_ranges");
    j.arr();
    for c in cidrs6 {
        j.open();
        j.ks("cidr_ipv6", c);
        j.close();
    }
    j.end();
    j.key("prefix_list_ids");
    j.arr();
    j.end();
    j.key("user_id_group_pairs");
    j.arr();
    for (g, u) in groups {
        j.open();
        j.ks("group_id", g);
        j.ks("user_id", u);
        j.close();
    }
    j.end();
    j.close();
}

#[cfg(test)]
mod tests {
    use super::*;
    use pac_runtime::Inventory;

    fn bytes(count: u64, seed: u64) -> Vec<u8> {
        let mut out = Vec::new();
        let stats = generate(count, seed, &mut out).unwrap();
        assert_eq!(stats.docs, count);
        assert_eq!(stats.bytes, out.len() as u64);
        out
    }

    #[test]
    fn timestamps_are_rfc3339() {
        let mut s = String::new();
        push_time(&mut s, NOW);
        assert_eq!(s, "2026-11-01T00:00:00Z");
        s.clear();
        push_time(&mut s, 951_782_400 + 86_399); // 2000-02-29T23:59:59Z
        assert_eq!(s, "2000-02-29T23:59:59Z");
        s.clear();
        push_time(&mut s, 0);
        assert_eq!(s, "1970-01-01T00:00:00Z");
    }

    #[test]
    fn the_same_seed_gives_the_same_bytes() {
        let a = bytes(3_000, 7);
        assert_eq!(a, bytes(3_000, 7));
        assert_ne!(a, bytes(3_000, 8));
        // A shorter run is a prefix of a longer one.
        let short = bytes(1_000, 7);
        assert_eq!(&a[..short.len()], &short[..]);
    }

    #[test]
    fn ten_thousand_documents_load_without_errors() {
        let c = pac_compiler::compile_sources(Vec::new());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("inv.ndjson");
        let file = std::fs::File::create(&path).unwrap();
        let stats = generate(10_000, DEFAULT_SEED, io::BufWriter::new(file)).unwrap();
        let (inv, errors) = Inventory::read_path(&c.program.schemas, &path);
        assert!(
            errors.is_empty(),
            "{} errors, first: {}",
            errors.len(),
            errors[0]
        );
        assert_eq!(inv.len(), 10_000);
        // Every stdlib type is there, in realistic proportions.
        for (t, n) in TYPES.iter().zip(stats.by_type) {
            assert!(n > 0, "no {t}");
        }
        let share = |t: usize| stats.by_type[t] as f64 / 10_000.0;
        assert!(share(FINDING) > share(INSTANCE));
        assert!(share(VOLUME) > share(INSTANCE));
        assert!(share(INSTANCE) > 5.0 * share(VPC));
        let by_type = inv.by_type();
        let schemas = &c.program.schemas;
        for (t, n) in TYPES.iter().zip(stats.by_type) {
            let id = schemas.resource(t).unwrap();
            assert_eq!(
                by_type.get(id.0 as usize).map_or(0, Vec::len) as u64,
                n,
                "{t}"
            );
        }
    }

    #[test]
    fn the_policy_library_finds_a_minority_of_violations() {
        let files = pac_compiler::files::pac_files(&[std::path::PathBuf::from(
            std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
        )
        .join("../policies")])
        .and_then(|f| pac_compiler::files::read_sources(&f))
        .unwrap();
        let c = pac_compiler::compile_sources(files);
        let text = String::from_utf8(bytes(5_000, 1)).unwrap();
        let (inv, errors) = Inventory::read_str(&c.program.schemas, "gen", &text);
        assert!(errors.is_empty(), "{}", errors[0]);
        let report = pac_runtime::evaluate(
            &c.program,
            &inv,
            &pac_runtime::EvalOptions {
                now: NOW,
                ..Default::default()
            },
        );
        let t = report.summary.total;
        assert_eq!(
            t.errors,
            0,
            "{:?}",
            report
                .results
                .iter()
                .find(|r| matches!(r.outcome, pac_runtime::Outcome::Error(_)))
        );
        let failed = t.failed + t.exempt;
        assert!(
            failed * 100 / t.evaluated < 25,
            "{failed} of {}",
            t.evaluated
        );
        // Most policies on the types the estate has find something
        // somewhere (the services it does not generate yet are left out).
        let generated: std::collections::HashSet<&str> =
            inv.resources.iter().map(|r| &*r.type_name).collect();
        let on_estate: Vec<_> = report
            .summary
            .policies
            .iter()
            .filter(|p| {
                c.program.policies[p.policy]
                    .rules
                    .iter()
                    .any(|&ri| generated.contains(c.program.rules[ri].resource_type.as_str()))
            })
            .collect();
        let hit = on_estate
            .iter()
            .filter(|p| p.counts.failed + p.counts.exempt > 0)
            .count();
        assert!(
            hit * 10 >= on_estate.len() * 8,
            "{hit} of {} policies fail anywhere",
            on_estate.len()
        );
    }
}
