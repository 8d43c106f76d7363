//! Snapshot tests that pin the wording of the main diagnostics, as the CLI
//! renders them (ariadne, no colour). Review changes with `cargo insta review`.

use pac_compiler::{compile_sources, render};

fn rendered(src: &str) -> String {
    let c = compile_sources(vec![("policy.pac".into(), src.into())]);
    let stdlib = pac_compiler::stdlib_file_count() as u32;
    let mut out = Vec::new();
    for d in c.diagnostics.iter() {
        assert!(d.file >= stdlib, "the stdlib must check cleanly: {d:?}");
        render::render(d, &c.program.files, false, &mut out).unwrap();
    }
    String::from_utf8(out).unwrap()
}

fn codes(src: &str) -> Vec<&'static str> {
    let c = compile_sources(vec![("policy.pac".into(), src.into())]);
    c.diagnostics.iter().map(|d| d.code).collect()
}

const HEAD: &str = "title \"t\"\n  severity high\n  category security\n";

fn rule(cond: &str) -> String {
    format!(
        "policy p {{\n  {HEAD}  rule on aws.ec2.security_group {{\n    violation when {cond}\n  }}\n}}\n"
    )
}

#[test]
fn unknown_field_suggests_the_closest() {
    insta::assert_snapshot!(rendered(&rule("any p in ip_permisions: p.from_port == 22")));
}

#[test]
fn optional_in_comparison_is_rejected_with_a_guard() {
    insta::assert_snapshot!(rendered(&rule(
        "any p in ip_permissions: p.from_port == 22"
    )));
}

#[test]
fn optional_map_lookup_needs_a_default() {
    insta::assert_snapshot!(rendered(&rule("tags[\"env\"] == \"prod\"")));
}

#[test]
fn has_narrows_the_right_side_of_and() {
    assert_eq!(
        codes(&rule(
            "any p in ip_permissions: has(p.from_port) and p.from_port == 22"
        )),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(&rule("has(tags[\"env\"]) and tags[\"env\"] == \"prod\"")),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(&rule("not has(description) or description == \"x\"")),
        Vec::<&str>::new()
    );
    assert_eq!(
        codes(&rule(
            "if has(description) then description == \"x\" else false"
        )),
        Vec::<&str>::new()
    );
    // A guarded parent lets `has` look inside it.
    let nested = "policy p {\n  title \"t\"\n  severity high\n  category security\n  rule on aws.ec2.instance {\n    violation when has(metadata_options) and has(metadata_options.http_protocol_ipv6)\n  }\n}\n";
    assert_eq!(codes(nested), Vec::<&str>::new());
    // Narrowing does not leak to the other side of `or`.
    assert_eq!(
        codes(&rule("has(description) or description == \"x\"")),
        vec!["E0302"]
    );
}

#[test]
fn cidr_compared_with_a_string() {
    insta::assert_snapshot!(rendered(&rule(
        "any p in ip_permissions: any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip == \"0.0.0.0/0\""
    )));
}

#[test]
fn wrong_arity_and_unknown_function() {
    insta::assert_snapshot!(rendered(&rule(
        "starts_with(group_id) or startswith(group_id, \"sg\")"
    )));
}

#[test]
fn condition_must_be_bool() {
    insta::assert_snapshot!(rendered(&rule("len(ip_permissions)")));
}

#[test]
fn unknown_references_in_exceptions_and_tests() {
    let src = format!(
        "{}exception \"CHG-1\" for q {{\n  resources [\"sg-1\"]\n  expires 2030-01-01\n  reason \"r\"\n}}\n\
         test \"t\" {{\n  given aws.ec2.security_group sg {{ group_id: \"sg-1\", group_name: \"g\", owner_id: \"1\" }}\n  expect p fail sg\n  expect p fails sgg\n  expect nogroup contains sg\n}}\n",
        rule("false")
    );
    insta::assert_snapshot!(rendered(&src));
}

#[test]
fn an_exception_confined_to_an_unknown_group() {
    let src = format!(
        "{}group prod {{\n  aws.ec2.security_group\n}}\n\
         sticky exception w for p in prdo {{\n  where true\n  expires 2030-01-01\n  reason \"r\"\n}}\n",
        rule("false")
    );
    insta::assert_snapshot!(rendered(&src));
}

#[test]
fn duplicates_and_missing_metadata() {
    let src = "policy p {\n  title \"a\"\n  severity hihg\n  rule on aws.ec2.volume { violation when not (encrypted ?? false) }\n}\n\
               policy p {\n  title \"b\"\n  severity low\n  category cost\n  rule on aws.ec2.volume { violation when true }\n}\n";
    insta::assert_snapshot!(rendered(src));
}

#[test]
fn test_data_is_checked_against_the_schema() {
    let src = format!(
        "{}test \"t\" {{\n  given aws.iam.user u {{ user_name: \"u\", user_id: 8, password_enabled: false, user_nme: \"x\" }}\n  expect p passes u\n}}\n",
        "policy p {\n  title \"t\"\n  severity low\n  category security\n  rule on aws.iam.user { violation when password_enabled ?? false }\n}\n"
    );
    insta::assert_snapshot!(rendered(&src));
}

#[test]
fn recursion_is_rejected() {
    let src = "fn f(x: int) -> bool = g(x)\nfn g(x: int) -> bool = f(x + 1)\n";
    assert!(codes(src).contains(&"E0311"));
}

#[test]
fn syntax_errors_are_all_reported() {
    let src = "policy a {\n  title \"x\"\n  severity = high\n}\npolicy b {\n  rule on t { violation when 1 + }\n}\ntest \"t\" {\n  expect a fails\n}\n";
    let c = codes(src);
    assert_eq!(c.iter().filter(|c| **c == "E0001").count(), 3, "{c:?}");
}

#[test]
fn cross_resource_lookups_are_planned_as_probes() {
    use pac_compiler::ir::ExprKind;
    let src = "policy v {\n  title \"t\"\n  severity high\n  category security\n  rule on aws.ec2.instance {\n    violation when any f in vuln.finding: f.resource_id == id and f.cvss > 7.0\n  }\n}\n";
    let c = compile_sources(vec![("p.pac".into(), src.into())]);
    assert!(c.diagnostics.is_empty(), "{:?}", c.diagnostics);
    let rule = &c.program.rules[0];
    let ExprKind::QuantType { probe, .. } = &rule.cond.kind else {
        panic!("{:?}", rule.cond.kind)
    };
    assert!(probe.is_some(), "an equality join becomes an index probe");
    // Without a join key it still works, with a warning.
    let scan = src.replace("f.resource_id == id and ", "");
    assert_eq!(codes(&scan), vec!["W0505"]);
}

#[test]
fn always_true_conditions_warn() {
    assert_eq!(codes(&rule("true")), vec!["W0501"]);
    let c = codes(&rule("false and group_id == \"x\""));
    assert!(c.contains(&"W0502"), "{c:?}");
}

#[test]
fn every_code_is_documented_and_every_used_code_is_listed() {
    let doc = include_str!("../../docs/diagnostics.md");
    for (code, _) in pac_compiler::diag::CODES {
        assert!(
            doc.contains(&format!("| {code} |")),
            "{code} is missing from docs/diagnostics.md"
        );
    }
    let sources = [
        include_str!("../src/check.rs"),
        include_str!("../src/items.rs"),
        include_str!("../src/resolve.rs"),
        include_str!("../src/db.rs"),
        include_str!("../src/lib.rs"),
    ];
    for src in sources {
        for (i, _) in src.match_indices("\"E0").chain(src.match_indices("\"W0")) {
            let code = &src[i + 1..i + 6];
            assert!(
                pac_compiler::diag::CODES.iter().any(|(c, _)| *c == code),
                "{code} is used but not in CODES"
            );
        }
    }
}

#[test]
fn domains_check_their_categories_policies_and_keys() {
    let src = format!(
        "{}domain sec {{\n  title \"Security\"\n  categories [\"securty\"]\n  policies [\"q\"]\n  owner \"x\"\n}}\n\
         domain sec {{\n  title \"again\"\n}}\n",
        rule("false")
    );
    insta::assert_snapshot!(rendered(&src));
}

#[test]
fn domains_select_policies_by_category_tag_and_name() {
    let src = "policy a {\n  title \"a\"\n  severity low\n  category cost\n  rule on aws.ec2.volume { violation when true }\n}\n\
               policy b {\n  title \"b\"\n  severity low\n  category security\n  tags [\"cis-aws-1.5:2.2.1\"]\n  rule on aws.ec2.volume { violation when true }\n}\n\
               policy c {\n  title \"c\"\n  severity low\n  category security\n  rule on aws.ec2.volume { violation when true }\n}\n\
               domain cost_only {\n  categories [\"cost\"]\n}\n\
               domain cis {\n  title \"CIS\"\n  tags [\"cis-aws-1.5:*\"]\n}\n\
               domain picked {\n  policies [\"a\", \"c\"]\n}\n\
               /// A field named `domain` is still a field.\n\
               fn is_vpc(domain: string) -> bool = domain == \"vpc\"\n";
    let c = compile_sources(vec![("policy.pac".into(), src.into())]);
    let errors: Vec<_> = c
        .diagnostics
        .iter()
        .filter(|d| d.code.starts_with('E'))
        .collect();
    assert!(errors.is_empty(), "{errors:?}");
    let p = &c.program;
    let names = |d: &str| -> Vec<&str> {
        p.domain_policies(p.domain(d).unwrap())
            .into_iter()
            .map(|i| p.policies[i].name.as_str())
            .collect()
    };
    assert_eq!(names("cost_only"), vec!["a"]);
    assert_eq!(names("cis"), vec!["b"]);
    assert_eq!(names("picked"), vec!["a", "c"]);
    assert_eq!(p.domain("cis").unwrap().title.as_deref(), Some("CIS"));
}

fn with_fix(fix: &str) -> String {
    format!(
        "policy p {{\n  {HEAD}  rule on aws.ec2.security_group {{\n    violation when len(ip_permissions) > 0\n  }}\n  autofix {fix}\n}}\n"
    )
}

#[test]
fn a_fix_argument_may_be_computed_from_the_failing_resource() {
    for fix in [
        "tag_resource(key: \"team\", value: tags[\"owner\"] ?? \"unowned\")",
        "tag_resource(key: \"group\", value: id)",
        "revoke_world_ingress(ports: [22], protocol: \"tcp\")",
        "revoke_world_ingress(ports: if (group_name ?? \"\") == \"web\" then [22] else [22, 3389])",
    ] {
        let errors: Vec<&str> = codes(&with_fix(fix))
            .into_iter()
            .filter(|c| c.starts_with('E'))
            .collect();
        assert_eq!(errors, Vec::<&str>::new(), "{fix}");
    }
}

#[test]
fn a_computed_fix_argument_of_the_wrong_type_says_what_it_is() {
    insta::assert_snapshot!(rendered(&with_fix(
        "tag_resource(key: \"team\", value: len(ip_permissions))"
    )));
}

#[test]
fn a_computed_fix_argument_that_may_be_missing_needs_a_fallback() {
    insta::assert_snapshot!(rendered(&with_fix(
        "tag_resource(key: \"team\", value: tags[\"owner\"])"
    )));
}
