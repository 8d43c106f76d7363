use pac_lang::ast::*;
use pac_lang::parse_file;

const SAMPLE: &str = r#"package aws.ec2.network

/// Security groups must not allow SSH from the whole internet.
/// Second line.
policy ssh_open_to_world {
  title    "Security group allows SSH from 0.0.0.0/0"
  severity critical
  category security
  tags ["cis-5.2"]

  rule on aws.ec2.security_group {
    let world = 0.0.0.0/0
    violation when any p in ip_permissions:
      p.covers_port(22) and any r in p.ip_ranges: r.cidr_ip == world
    message "{group_id} allows SSH from anywhere"
  }

  autofix revoke_world_ingress(ports: [22]) after 24h notify tags["owner"] ?? "secops@example.com"
}

group prod_running {
  aws.ec2.instance where state.name == "running" and tags["env"] ?? "" == "prod"
  aws.ec2.volume   where has(tags["env"])
  aws.s3.bucket
}

schema demo.thing {
  /// The name.
  name: string
  group: string?
  sizes: list<int>
  labels: map<string, string>
}

fn big(x: int) -> bool = let y = x * 2; y > 10 and count(sizes) > 0

exception "CHG-1234" for ssh_open_to_world {
  resources ["sg-0a1b2c"]  expires 2027-03-31  reason "bastion"
}
sticky exception sandbox for untagged_resources, a.b {
  where tags["env"] ?? "" == "sandbox"  expires 2027-06-30  reason "sandbox accounts"
}

test "SSH from anywhere is a violation" {
  now 2026-11-01
  given aws.ec2.security_group sg { group_id: "sg-1", ip_permissions: [
    { ip_protocol: "tcp", from_port: 22, to_port: 22, ip_ranges: [{ cidr_ip: 0.0.0.0/0 }] } ] }
  given from "fixtures/x.json"
  expect ssh_open_to_world fails sg
  expect "CHG-1234" exempts sg
}
"#;

#[test]
fn parses_every_construct() {
    let parsed = parse_file(SAMPLE);
    assert_eq!(parsed.errors, vec![], "no syntax errors");
    let f = parsed.file;
    assert_eq!(f.package.unwrap().text(), "aws.ec2.network");
    assert_eq!(f.items.len(), 7);
    let Item::Policy(p) = &f.items[0] else {
        panic!("policy first")
    };
    assert_eq!(
        p.doc.as_ref().unwrap().text,
        "Security groups must not allow SSH from the whole internet.\nSecond line."
    );
    assert_eq!(p.members.len(), 6);
    let Item::Schema(s) = &f.items[2] else {
        panic!("schema third")
    };
    assert_eq!(s.fields[0].doc.as_ref().unwrap().text, "The name.");
    assert_eq!(s.fields[1].name.name, "group");
    let Item::Test(t) = &f.items[6] else {
        panic!("test last")
    };
    assert_eq!(t.stmts.len(), 5);
}

#[test]
fn quantifier_body_extends_right_and_keeps_spans() {
    let parsed = parse_file("fn f(x: int) -> bool = x > 1 and any y in xs: y == x or y == 2");
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let Item::Fn(f) = &parsed.file.items[0] else {
        panic!()
    };
    let ExprKind::Binary(BinOp::And, _, rhs) = &f.body.kind else {
        panic!("and at top: {:?}", f.body.kind)
    };
    let ExprKind::Quant { body, .. } = &rhs.kind else {
        panic!("quantifier on the right")
    };
    assert!(matches!(body.kind, ExprKind::Binary(BinOp::Or, _, _)));
    assert_eq!(
        &"fn f(x: int) -> bool = x > 1 and any y in xs: y == x or y == 2"
            [rhs.span.start..rhs.span.end],
        "any y in xs: y == x or y == 2"
    );
}

#[test]
fn three_mistakes_give_three_errors() {
    let src = "policy a {\n  title \"x\"\n  severity = high\n}\npolicy b {\n  rule on t { violation when 1 + }\n}\ntest \"t\" {\n  expect a fails\n}\npolicy c { title \"ok\" }\n";
    let parsed = parse_file(src);
    assert_eq!(parsed.errors.len(), 3, "{:#?}", parsed.errors);
    // The parser recovered and still saw the last, valid policy.
    assert!(
        parsed
            .file
            .items
            .iter()
            .any(|i| matches!(i, Item::Policy(p) if p.name.name == "c"))
    );
}

#[test]
fn templates_split_into_parts_with_file_spans() {
    let src = r#"policy p { rule on t { violation when true message "{group_id} has {{braces}} {len(x)}" } }"#;
    let parsed = parse_file(src);
    assert!(parsed.errors.is_empty());
    let Item::Policy(p) = &parsed.file.items[0] else {
        panic!()
    };
    let PolicyMember::Rule(r) = &p.members[0] else {
        panic!()
    };
    let RuleStmt::Meta(m) = &r.stmts[1] else {
        panic!()
    };
    let MetaValue::Str(lit) = &m.value else {
        panic!()
    };
    let parts = pac_lang::parse_template(src, lit).unwrap();
    assert_eq!(parts.len(), 3);
    let TemplatePart::Expr(e) = &parts[0] else {
        panic!()
    };
    assert_eq!(&src[e.span.start..e.span.end], "group_id");
    assert_eq!(parts[1], TemplatePart::Text(" has {braces} ".into()));
}

#[test]
fn lexer_errors_are_recovered_from() {
    let parsed = parse_file("policy a { title $ }\npolicy b { title \"ok\" }");
    assert_eq!(parsed.errors.len(), 1);
    assert!(
        parsed.errors[0]
            .message
            .contains("unexpected character `$`")
    );
}

#[test]
fn templates_may_quote_strings() {
    let src = r#"policy p { rule on t { violation when true message "owner: {tags[\"owner\"] ?? \"none\"}!" } }"#;
    let parsed = parse_file(src);
    assert!(parsed.errors.is_empty(), "{:?}", parsed.errors);
    let Item::Policy(p) = &parsed.file.items[0] else {
        panic!()
    };
    let PolicyMember::Rule(r) = &p.members[0] else {
        panic!()
    };
    let RuleStmt::Meta(m) = &r.stmts[1] else {
        panic!()
    };
    let MetaValue::Str(lit) = &m.value else {
        panic!()
    };
    let parts = pac_lang::parse_template(src, lit).unwrap();
    let TemplatePart::Expr(e) = &parts[1] else {
        panic!("{parts:?}")
    };
    let ExprKind::Binary(BinOp::Coalesce, a, b) = &e.kind else {
        panic!()
    };
    assert_eq!(b.kind, ExprKind::Str("none".into()));
    assert!(src[a.span.start..a.span.end].starts_with("tags["));
}

#[test]
fn domain_is_a_keyword_only_where_an_item_begins() {
    let src = "fn is_vpc(domain: string) -> bool = domain == \"vpc\"\n\
               domain cloud { title \"Cloud\" categories [\"security\"] }\n\
               polcy p { title \"x\" }\n";
    let p = parse_file(src);
    let kinds: Vec<&str> = p
        .file
        .items
        .iter()
        .map(|i| match i {
            Item::Fn(_) => "fn",
            Item::Domain(_) => "domain",
            Item::Error(_) => "error",
            _ => "other",
        })
        .collect();
    assert_eq!(kinds, vec!["fn", "domain", "error"]);
    assert_eq!(p.errors.len(), 1, "{:?}", p.errors);
    assert!(
        p.errors[0]
            .message
            .contains("`polcy` does not begin an item")
    );
    // The chunks cut before the domain, not at the parameter or body.
    let starts = pac_lang::chunks::item_starts(src);
    assert_eq!(starts, vec![0, src.find("domain cloud").unwrap()]);
}
