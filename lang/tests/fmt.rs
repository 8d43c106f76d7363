//! The formatter: snapshots of the canonical style, and the properties every
//! formatting must have (idempotence, the same tree, the same comments) on
//! the messy inputs below, on every `.pac` file of the repository, and on
//! those files with comments inserted between any two tokens.

use pac_lang::lexer::CommentKind;
use pac_lang::{format, parse_file};
use serde_json::Value;
use std::path::{Path, PathBuf};

/// Every construct, laid out badly, with comments in awkward places.
const MESSY: &str = r#"// File header comment.
/* A block
   comment over two lines. */
package   aws.ec2.network   // trailing on package



/// Security groups must not allow SSH from the whole internet.
///Second doc line without a space.
policy ssh_open_to_world {   // after the brace
  title    "Security group allows \"SSH\" from 0.0.0.0/0"
  severity critical // was high
  category security
  remediation "Remove the rule.\tUse a bastion."
  tags ["cis-5.2", "pacbot:check-for-inbound-ssh-port",]


  // Leading comment of the rule.
  /// The SSH rule.
  rule ssh on aws.ec2.security_group in prod_running {
    let world=0.0.0.0/0   // the world
    let   limit = 90*1 + -1
    /* block before violation */ violation when any p in ip_permissions where
      covers_port(p, 22) and exists r in p.ip_ranges: r.cidr_ip == world // trailing cond
    message "{group_id} allows SSH from {len(ip_permissions)} anywhere {{literally}}\n"
    // dangling at the end of the rule
  }

  rule   long_one on aws.ec2.instance {
    violation when has(public_ip_address) and (metadata_options?.http_tokens ?? "optional") != "required" and not (state.name in ["stopped", "terminated"]) or launch_time < now - 90d
  }
  autofix revoke_world_ingress(ports: [22, 3389]) for ssh after 86400s notify tags["owner"] ?? "secops@example.com"
}
// between items, no blank line
group prod_running {
  aws.ec2.instance where state.name == "running" and tags["env"] ?? "" == "prod" // prod only
  aws.ec2.volume   where has(tags["env"])

  aws.s3.bucket
  description "Production"
}

exception "CHG-1234" for ssh_open_to_world {
  resources ["sg-0a1b2c", "sg-0d4e5f"]  expires 2027-03-31  reason "bastion, reviewed by secops"
}
sticky exception sandbox for untagged_resources, ssh_open_to_world.ssh   in  sandbox_group {
  where tags["env"] ?? "" == "sandbox" // sandbox accounts
  expires 2027-06-30T12:00:00+02:00
  reason "sandbox accounts"
}

/// A schema.
schema demo.thing { name: string, /// The group.
  group: string?
  sizes: list<int>    labels: map<string, string> // string keys
  nested: list<list<Item?>>
}

record Item {
  // only a comment
  x: float
}

fn big(x: int, y: float) -> bool = let z = x * 2; z > 10 and count(sizes) > 0 and y >= 7.50 and 1_000 < x
fn covers(p: aws.ec2.IpPermission, port: int) -> bool =
  p.ip_protocol == "-1"
  // a comment between operands
  or (p.ip_protocol not in ["icmp", "icmpv6", "1", "58"]
      and (p.from_port ?? 0) <= port and port <= (p.to_port ?? 65535)) // trailing fn
fn pick(a: int) -> int = if a > 0 then a else -a
action tag_resource(key: string, value: string) on aws.ec2.instance, aws.ec2.volume
action stop_instance() on aws.ec2.instance

test "SSH from anywhere is a violation" {
  now 2026-11-01                       // the evaluation clock
  given aws.ec2.security_group sg {
    group_id: "sg-1",
    ip_permissions: [{ ip_protocol: "tcp", from_port: 22, to_port: 22,
                       ip_ranges: [{ cidr_ip: "0.0.0.0/0" }] }]   // strings are read as ip
  }
  given aws.ec2.security_group ok { group_id: "sg-2", "group-name": "web", owner_id: "111122223333", tags: { "cost-center": "42" } }
  given from "fixtures/sgs.json"       // inventory documents
  expect ssh_open_to_world fails sg
  expect ssh_open_to_world.ssh passes ok
  expect "CHG-1234" exempts sg
}
// The end.
"#;

/// Comments between the tokens of expressions, lists and heads.
const AWKWARD: &str = r#"policy p /* after name */ {
  title /* before value */ "x"
  rule r on /* mid head */ t // head trailing
  {
    violation when a and // after and
      b or /* inline */ c
    let x = f(a, // after comma
      b /* before close */)
    let y = [
      // own line first
      1,
      2, // two
      // own line before close
    ]
    let z = (a // inside paren
    )
    let w = {}
    let v = f(/* empty */)
    let u = any x in xs: // after colon
      x > 1
    let q = if a // after cond
      then b else c
    let m = x.
      // own line in field
      y
  }
  autofix x() // after args
    for r // after rule
    after 1h
}
/* a */ /* b */ group g { aws.s3.bucket } /* c */ // d
/// doc
// free line between doc and node
fn f() -> int = 1
fn g() -> int = /// orphan doc in expr
  2
schema s { a: int /* x */ , b: int }
group h {
  // only comments

  // two
}
test "t" { given T h { a: 1 // c
} }
"#;

/// Long expressions, lists and records that must break.
const LONG: &str = r#"fn a(x: int) -> int = if x > 100000000000 and x < 200000000000 then x * 2 + x % 7 - (x / 3) else if x == 0 then -1 else let y = x * x; let z = y + y; z - y * z + y * z * z * z * z * z * z
fn b(xs: list<int>) -> bool = all x in xs: any y in xs: none z in xs: x + y == z and count w in xs: w > x and w < y or w == z
fn c(s: aws.s3.bucket) -> bool = starts_with(s.apply_server_side_encryption_by_default?.sse_algorithm ?? "", "aws:kms", "extra-argument-here", "more")
fn d(m: map<string>) -> bool = m["a-very-long-key-name-here"] ?? "default-value-that-is-long" not in ["value-one", "value-two", "value-three"]
fn e() -> list<int> = [1111111111, 2222222222, 3333333333, 4444444444, 5555555555, 6666666666, 7777777777, 8888888888]
fn f() -> bool = ((((a and b) or (c and d)) and ((e or f) and (g or h))) or (((i and j) or (k and l)) and ((m or n) and (o or p))))
fn g() -> float = 1.5 + 0.25 * -3.0 / 10.0
action tag_resource(key: string, value: string) on aws.ec2.instance, aws.ec2.security_group, aws.ec2.volume, aws.ec2.snapshot, aws.ec2.image, aws.s3.bucket
test "long" {
  given aws.ec2.instance i1 { instance_id: "i-1", tags: { env: "prod", owner: "team-a@example.com", "cost-center": "1234", app: "web" }, launch_time: 2026-01-15T09:30:00Z, state: { code: 16, name: "running" }, private_ip_address: 10.0.1.23, cidrs: [10.0.0.0/8, 192.168.0.0/16], d: 3600s, e: 120m, w: 604800s }
  given aws.ec2.instance i2 {}
  now 2026-01-15T09:30:00Z
  expect p errors i2
}
group g { aws.ec2.instance where has(i.metadata_options) and i.metadata_options?.http_tokens == "required" and i.state.name in ["running", "stopped"] }
policy p {
  title "t"
  rule on x { violation when not (has(a) and has(b)) and self.id != "" and tags["x"] ?? "" == "y" and launch_time < now - 90d and now - launch_time > 2w }
  autofix notify_only() notify [tags["owner"] ?? "a@example.com", tags["team"] ?? "b@example.com", "secops@example.com"]
}
"#;

// ------------------------------------------------------------------ helpers

/// The syntax tree as JSON, without spans (every `{start, end}` object) and
/// without the side list of comments; and the comments as a sorted multiset
/// of texts (doc comments by content: the formatter writes `/// text`).
fn tree_and_comments(src: &str) -> (Value, Vec<String>) {
    fn erase(v: &mut Value) {
        match v {
            Value::Object(map) => {
                let is_span =
                    map.len() == 2 && map.contains_key("start") && map.contains_key("end");
                if is_span {
                    *v = Value::Null;
                } else {
                    map.values_mut().for_each(erase);
                }
            }
            Value::Array(items) => items.iter_mut().for_each(erase),
            _ => {}
        }
    }
    let parsed = parse_file(src);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let mut tree = serde_json::to_value(&parsed.file).unwrap();
    tree.as_object_mut().unwrap().remove("comments");
    erase(&mut tree);
    let mut comments: Vec<String> = parsed
        .file
        .comments
        .iter()
        .map(|c| match c.kind {
            CommentKind::Doc => {
                let t = c.text.trim_start_matches("///");
                format!("///{}", t.strip_prefix(' ').unwrap_or(t).trim_end())
            }
            CommentKind::Line => c.text.trim_end().to_string(),
            CommentKind::Block => c.text.clone(),
        })
        .collect();
    comments.sort();
    (tree, comments)
}

/// Formats `src` and checks the properties; returns the formatted text.
#[track_caller]
fn check(name: &str, src: &str) -> String {
    let out = format(src).unwrap_or_else(|e| panic!("{name}: format failed: {e:?}\n{src}"));
    let (tree_in, comments_in) = tree_and_comments(src);
    let (tree_out, comments_out) = tree_and_comments(&out);
    assert_eq!(tree_out, tree_in, "{name}: the tree changed:\n{out}");
    assert_eq!(
        comments_out, comments_in,
        "{name}: the comments changed:\n{out}"
    );
    let again = format(&out).unwrap_or_else(|e| panic!("{name}: output does not format: {e:?}"));
    assert_eq!(again, out, "{name}: formatting is not idempotent:\n{src}");
    out
}

/// Every `.pac` file of the repository (outside build output and hidden
/// directories).
fn repo_pac_files() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            let name = entry.file_name().to_string_lossy().into_owned();
            if path.is_dir() {
                if !name.starts_with('.') && name != "target" {
                    walk(&path, out);
                }
            } else if name.ends_with(".pac") {
                out.push(path);
            }
        }
    }
    let root = std::path::PathBuf::from(
        std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("..");
    let mut out = Vec::new();
    for dir in ["stdlib/schemas", "policies", "examples", "tests"] {
        walk(&root.join(dir), &mut out);
    }
    out.sort();
    out
}

// ------------------------------------------------------------------ snapshots

#[test]
fn messy_file_snapshot() {
    insta::assert_snapshot!(check("messy", MESSY));
}

#[test]
fn awkward_comments_snapshot() {
    insta::assert_snapshot!(check("awkward", AWKWARD));
}

#[test]
fn long_lines_snapshot() {
    let out = check("long", LONG);
    for line in out.lines() {
        assert!(line.chars().count() <= 100, "line over 100 columns: {line}");
    }
    insta::assert_snapshot!(out);
}

// ------------------------------------------------------------------ details

#[test]
fn syntax_errors_are_returned_not_formatted() {
    let errors = format("policy p {\n  title \"x\"\n  severity = high\n}\n").unwrap_err();
    assert!(!errors.is_empty());
}

#[test]
fn empty_and_comment_only_files() {
    assert_eq!(check("empty", ""), "");
    assert_eq!(check("blank", "\n\n  \n"), "");
    assert_eq!(
        check("comments", "// a\n\n\n\n/* b */   \n"),
        "// a\n\n/* b */\n"
    );
}

#[test]
fn literals_are_canonical() {
    let src = "fn f() -> bool = [86400s, 7776000s, 3600s, 5400s, 14d, 90s, 0s, 60m] == [7.50, 0.5, 10.0] \
               and 2027-03-31T00:00:00Z < 2027-03-31T12:30:00+02:00 and x == \"q\\\"u\\\\o\\te\\n\" \
               and 1_000 > 10.0.0.1 and 10.0.0.0/8 != 0.0.0.0/0\n";
    let out = check("literals", src);
    assert_eq!(
        out,
        "fn f() -> bool =\n  [1d, 90d, 1h, 90m, 2w, 90s, 0s, 1h] == [7.5, 0.5, 10.0]\n  \
         and 2027-03-31 < 2027-03-31T10:30:00Z\n  and x == \"q\\\"u\\\\o\\te\\n\"\n  \
         and 1_000 > 10.0.0.1\n  and 10.0.0.0/8 != 0.0.0.0/0\n"
    );
}

#[test]
fn message_templates_are_kept_as_written() {
    let src = "policy p {\n  rule on t {\n    violation when true\n    message \"{ a ?? \\\"x\\\" } {{b}} \\{c\\}\"\n  }\n}\n";
    assert_eq!(check("template", src), src);
}

#[test]
fn quantifiers_and_keywords_are_normalised() {
    let src =
        "fn f(xs: list<int>) -> bool = exists x in xs where x > 1 and (none y in xs: y == x)\n";
    assert_eq!(
        check("quantifiers", src),
        "fn f(xs: list<int>) -> bool = any x in xs: x > 1 and (none y in xs: y == x)\n"
    );
}

#[test]
fn a_long_violation_breaks_after_when_and_at_operators() {
    let cond = (0..8)
        .map(|i| format!("field_number_{i} == \"value {i}\""))
        .collect::<Vec<_>>();
    let src = format!(
        "policy p {{ rule on t {{ violation when {} }} }}",
        cond.join(" and ")
    );
    let out = check("long violation", &src);
    let expected: Vec<String> = std::iter::once("    violation when".to_string())
        .chain(cond.iter().enumerate().map(|(i, c)| {
            if i == 0 {
                format!("      {c}")
            } else {
                format!("      and {c}")
            }
        }))
        .collect();
    assert!(out.contains(&expected.join("\n")), "{out}");
}

#[test]
fn blank_lines_inside_blocks_are_kept_at_most_once() {
    let src = "policy p {\n\n  title \"x\"\n\n\n\n  severity low\n  category cost\n\n}\n";
    assert_eq!(
        check("blank lines", src),
        "policy p {\n  title \"x\"\n\n  severity low\n  category cost\n}\n"
    );
}

// ------------------------------------------------------------------ properties

#[test]
fn every_pac_file_in_the_repository_formats_stably() {
    let files = repo_pac_files();
    assert!(!files.is_empty(), "no .pac files found");
    let mut checked = 0;
    for path in files {
        let src = std::fs::read_to_string(&path).unwrap();
        if !parse_file(&src).errors.is_empty() {
            continue; // a deliberately broken file: never formatted
        }
        let name = path.display().to_string();
        let out = check(&name, &src);
        // Formatting the output is the identity, comments and all.
        assert_eq!(check(&name, &out), out);
        checked += 1;
    }
    assert!(checked > 0);
}

/// Inserts comments (and line breaks) between tokens of every input:
/// whatever their place, none is lost, duplicated or glued to code, the
/// tree is unchanged and a second formatting changes nothing.
#[test]
fn comments_anywhere_are_kept_and_stable() {
    let mut inputs: Vec<(String, String)> = vec![
        ("messy".into(), MESSY.into()),
        ("awkward".into(), AWKWARD.into()),
        ("long".into(), LONG.into()),
    ];
    for path in repo_pac_files() {
        let src = std::fs::read_to_string(&path).unwrap();
        if parse_file(&src).errors.is_empty() {
            inputs.push((path.display().to_string(), src));
        }
    }
    let variants = [
        " /* c */ ",
        " // c\n",
        "\n// c\n",
        "\n/* c */\n",
        "/* c\n  two lines */",
        "\n\n",
        " /* c */ /* d */ // e\n",
        " /// doc?\n",
    ];
    for (name, src) in &inputs {
        let tokens = pac_lang::lexer::lex(src, 0).0;
        // About 24 insertions per file, the variants in turn.
        let stride = (tokens.len() / 24).max(1);
        for (i, (start, _, end)) in tokens.iter().enumerate().step_by(stride) {
            let variant = variants[(i / stride) % variants.len()];
            let pos = if (i / stride).is_multiple_of(2) {
                *end
            } else {
                *start
            };
            let mut text = src.clone();
            text.insert_str(pos, variant);
            if !parse_file(&text).errors.is_empty() {
                continue;
            }
            // A `///` comment that documents nothing (say, before the `,` of
            // a field) could document the next field once the `,` is gone:
            // the formatter then refuses, leaving the file as it is.
            if variant.contains("///")
                && format(&text)
                    .is_err_and(|e| e[0].message.starts_with("internal formatter error"))
            {
                continue;
            }
            check(&format!("{name} with {variant:?} at byte {pos}"), &text);
        }
    }
}
