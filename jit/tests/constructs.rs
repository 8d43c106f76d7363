//! Every IR construct, compiled and compared with the interpreter on small
//! inventories: outcomes, messages and coverage agree, and evaluation
//! errors (overflow, division by zero, bad patterns) are `error` in both.

mod common;

use common::*;

fn volumes() -> Vec<String> {
    vec![
        volume(
            "vol-1",
            10,
            r#","iops":3000,"tags":{"env":"prod","Owner":"ann"}"#,
        ),
        volume("vol-2", 500, r#","iops":0,"tags":{"env":"dev"}"#),
        volume("vol-3", 0, r#","throughput":125,"snapshot_id":"snap-1""#),
        volume(
            "vol-4",
            9_223_372_036_854_775_807,
            r#","kms_key_id":"k","attachments":[{"volume_id":"vol-4","instance_id":"i-1","state":"attached","attach_time":"2026-02-01T00:00:00Z","delete_on_termination":true},{"volume_id":"vol-4","state":"detached","attach_time":"2026-03-01T00:00:00Z","delete_on_termination":false,"device":"/dev/sdb"}]"#,
        ),
        volume("vol-5", -9_223_372_036_854_775_808, r#","iops":-1"#),
        volume(
            "vol-6",
            7,
            r#","tags":{"env":"prod","a":"1","b":"2"},"attachments":[{"volume_id":"vol-6","state":"busy","attach_time":"2026-02-01T00:00:00Z","delete_on_termination":true}]"#,
        ),
    ]
}

#[test]
fn integer_arithmetic_overflow_and_division() {
    let rules = [
        ("mul_overflow", "size * 1073741824 * 1073741824 > 0"),
        ("add_overflow", "size + 1 > 0"),
        ("sub_overflow", "size - 1 < 0"),
        ("div_zero", "size / (iops ?? 1) > 1"),
        ("rem_zero", "size % (iops ?? 1) == 0"),
        ("div_min", "size / (iops ?? 1) == 1"),
        ("rem_min", "size % -1 == 0 and -7 % 2 == -1"),
        ("neg_min", "-size > 0"),
        ("plain", "size * 2 + 1 - 3 >= 17 and size / 3 * 3 != size"),
        ("let_overflow", "let big = size * 4; big > 0 or size > 0"),
    ];
    let src: String = rules
        .iter()
        .map(|(n, c)| policy(n, "fixture.volume", c))
        .collect();
    let r = agree(&src, &volumes());
    assert!(is_error(outcome_of(&r, "mul_overflow", "vol-1")));
    assert!(is_error(outcome_of(&r, "add_overflow", "vol-4")));
    assert!(is_error(outcome_of(&r, "sub_overflow", "vol-5")));
    assert!(is_error(outcome_of(&r, "div_zero", "vol-2")));
    assert!(is_error(outcome_of(&r, "rem_zero", "vol-2")));
    assert!(is_error(outcome_of(&r, "div_min", "vol-5")));
    assert_eq!(
        *outcome_of(&r, "rem_min", "vol-5"),
        pac_runtime::Outcome::Fail
    );
    assert!(is_error(outcome_of(&r, "neg_min", "vol-5")));
}

#[test]
fn floats_and_ints_mix_as_in_the_interpreter() {
    let docs = vec![
        finding("f-1", "vol-1", 7.5, ""),
        finding(
            "f-2",
            "vol-2",
            3.0,
            r#","last_seen":"2026-05-01T00:00:00Z""#,
        ),
        finding("f-3", "vol-3", 0.0, ""),
        finding("f-4", "vol-1", -2.5, r#","package_name":"openssl""#),
    ];
    let rules = [
        ("fdiv", "cvss / 2 > 3"),
        ("fadd", "cvss + 1 == 8.5"),
        // A float-typed node holding an int divides as integers.
        ("int_in_float", "(if cvss > 5.0 then 7 else 2.5) / 2 == 3"),
        (
            "int_in_float2",
            "(if cvss > 5.0 then 7 else 2.5) / 2 == 3.5",
        ),
        (
            "int_div_zero",
            "(if cvss > 5.0 then 7 else 2.5) / (if cvss > 5.0 then 0 else 1.0) > 0",
        ),
        ("fmod", "cvss % 2.0 == 1.5"),
        (
            "nan",
            "(cvss * 0.0) / 0.0 < 1.0 or (cvss * 0.0) / 0.0 >= 1.0",
        ),
        ("nan_ne", "(cvss - cvss) / 0.0 != (cvss - cvss) / 0.0"),
        ("inf", "cvss / 0.0 > 1000000.0"),
        (
            "neg",
            "-cvss < -3.0 and -(if cvss > 5.0 then 7 else 2.5) < 0",
        ),
        ("mixed_cmp", "cvss >= 3 and 7 < cvss"),
        ("mixed_eq", "cvss == 3 or 0 == cvss"),
        (
            "big_ints",
            "(if cvss > 5.0 then 9007199254740993 else 0.5) == 9007199254740992",
        ),
        ("float_list", "cvss in [3, 7.5] or 2.5 in [1, 2.5]"),
        (
            "float_coalesce",
            "(if has(last_seen) then 4 else 1.5) * 2 == 8",
        ),
        ("to_float", "to_float(3) / 2 == 1.5 and floor(cvss) >= 3"),
        ("round", "round(cvss) == 8 or abs(cvss) > 2.0"),
    ];
    let src: String = rules
        .iter()
        .map(|(n, c)| policy(n, "vuln.finding", c))
        .collect();
    let r = agree(&src, &docs);
    use pac_runtime::Outcome::*;
    assert_eq!(*outcome_of(&r, "int_in_float", "f-1"), Fail);
    assert_eq!(*outcome_of(&r, "int_in_float2", "f-1"), Pass);
    assert!(is_error(outcome_of(&r, "int_div_zero", "f-1")));
    assert_eq!(*outcome_of(&r, "nan", "f-1"), Pass);
    assert_eq!(*outcome_of(&r, "nan_ne", "f-1"), Fail);
    assert_eq!(*outcome_of(&r, "big_ints", "f-1"), Pass);
}

#[test]
fn strings_maps_and_optionals() {
    let rules = [
        ("eq", r#"volume_type == "gp3" and volume_id != "vol-2""#),
        ("order", r#"volume_id < "vol-3" or volume_id >= "vol-5""#),
        ("concat", r#"volume_id + "-x" == "vol-1-x""#),
        ("absent_const", r#"volume_id == "no-such-string-anywhere""#),
        ("tag", r#"(tags["env"] ?? "") == "prod""#),
        ("has_tag", r#"has(tags["env"]) and tags["env"] == "dev""#),
        ("key_in", r#""Owner" in tags or "b" in tags"#),
        ("str_in", r#"volume_id in ["vol-1", "vol-3", "x"]"#),
        (
            "computed_in",
            r#"(tags["env"] ?? "none") in [volume_type, "dev"]"#,
        ),
        (
            "opt_field",
            r#"(attachments[1]?.device ?? "none") == "/dev/sdb""#,
        ),
        ("index_oob", "has(attachments[5]) or has(attachments[-1])"),
        ("opt_int", "(iops ?? (throughput ?? 0)) > 100"),
        ("not_has", "not has(kms_key_id) and not has(snapshot_id)"),
        (
            "if_then",
            r#"if has(iops) then iops > 1000 else (throughput ?? 0) > 100"#,
        ),
        ("len_str", "len(volume_id) == 5 and len(tags) >= 2"),
        (
            "starts",
            r#"starts_with(volume_id, "vol-") and ends_with(volume_id, "1")"#,
        ),
        (
            "contains",
            r#"contains(volume_id, "-4") or contains(tags["Owner"] ?? "", "n")"#,
        ),
        ("lower", r#"lower(tags["Owner"] ?? "X") == "ann""#),
        ("map_eq", r#"tags == tags and attachments != []"#),
        ("list_eq", "[size] == [size] and [1, 2] != [2, 1]"),
        ("self_id", r#"self.id == volume_id and self.region == "r""#),
    ];
    let src: String = rules
        .iter()
        .map(|(n, c)| policy(n, "fixture.volume", c))
        .collect();
    let r = agree(&src, &volumes());
    use pac_runtime::Outcome::*;
    assert_eq!(*outcome_of(&r, "concat", "vol-1"), Fail);
    assert_eq!(*outcome_of(&r, "absent_const", "vol-1"), Pass);
    assert_eq!(*outcome_of(&r, "opt_field", "vol-4"), Fail);
    assert_eq!(*outcome_of(&r, "lower", "vol-1"), Fail);
}

#[test]
fn list_quantifiers_and_their_errors() {
    let rules = [
        ("any", r#"any a in attachments: a.state == "detached""#),
        (
            "all",
            r#"all a in attachments: a.delete_on_termination ?? false"#,
        ),
        ("none", r#"none a in attachments: has(a.instance_id)"#),
        (
            "count",
            r#"(count a in attachments: a.attach_time > 2026-01-15) >= 2"#,
        ),
        // The element after the witness is not evaluated.
        (
            "any_stops",
            r#"any a in attachments: a.state == "attached" or 1 / (len(a.state) - 8) > 0"#,
        ),
        (
            "any_errs",
            r#"any a in attachments: 1 / (len(a.state) - 4) > 5"#,
        ),
        (
            "count_errs",
            r#"(count a in attachments: 10 / (len(a.state) - 8) > 0) > 0"#,
        ),
        (
            "nested",
            r#"any a in attachments: any b in attachments: a.state != b.state"#,
        ),
        ("over_literal", "any x in [size, 3, iops ?? 0]: x > 100"),
        ("over_keys", r#"any k in keys(tags): starts_with(k, "O")"#),
        ("empty", "all x in []: x > 1"),
    ];
    let src: String = rules
        .iter()
        .map(|(n, c)| policy(n, "fixture.volume", c))
        .collect();
    let r = agree(&src, &volumes());
    use pac_runtime::Outcome::*;
    assert_eq!(*outcome_of(&r, "any_stops", "vol-4"), Fail);
    assert!(is_error(outcome_of(&r, "count_errs", "vol-4")));
}

#[test]
fn cross_resource_probes_and_scans() {
    let mut docs = volumes();
    docs.extend([
        finding("f-1", "vol-1", 7.5, ""),
        finding("f-2", "vol-1", 9.8, ""),
        finding("f-3", "vol-2", 3.0, ""),
        finding("f-4", "vol-4", 0.0, r#","package_name":"p""#),
        finding("f-5", "nowhere", 10.0, ""),
    ]);
    let rules = [
        (
            "exists",
            "exists f in vuln.finding where f.resource_id == volume_id and f.cvss > 7.0",
        ),
        (
            "count",
            "(count f in vuln.finding: f.resource_id == volume_id) >= 2",
        ),
        ("all", "all f in vuln.finding: f.resource_id == volume_id"),
        ("none", "none f in vuln.finding: f.resource_id == volume_id"),
        ("scan", "any f in vuln.finding: f.cvss > to_float(size)"),
        // The body errors on some candidates: the probe decides which.
        (
            "err_body",
            "exists f in vuln.finding where f.resource_id == volume_id and 10 / floor(f.cvss) > 1",
        ),
        // A key that errors: the interpreter scans instead.
        (
            "err_key",
            "exists f in vuln.finding where f.resource_id == (if size > 100 then volume_id else \"vol-\" + to_string(10 / size)) and f.cvss > 1.0",
        ),
        // An optional field narrowed by `has`: findings without it are
        // no candidates of the probe (the same answers as the scan below).
        (
            "opt_probe",
            "exists f in vuln.finding where has(f.package_name) and f.package_name == (snapshot_id ?? \"p\")",
        ),
        (
            "opt_scan",
            "exists f in vuln.finding where has(f.package_name) and (f.package_name ?? \"\") == (snapshot_id ?? \"p\")",
        ),
        (
            "opt_key",
            r#"exists f in vuln.finding where (f.package_name ?? "") == (snapshot_id ?? "p")"#,
        ),
    ];
    let mut src = String::new();
    for (n, c) in rules {
        src.push_str(&policy(n, "fixture.volume", c));
    }
    src.push_str(&policy(
        "back",
        "vuln.finding",
        "exists v in fixture.volume where v.volume_id == resource_id and v.size > 100",
    ));
    let out = agree(&src, &docs);
    let of = |rule: &str| -> Vec<(String, pac_runtime::Outcome)> {
        out.iter()
            .filter(|(r, _, _)| r.contains(rule))
            .map(|(_, res, o)| (res.clone(), o.clone()))
            .collect()
    };
    let probed = of("opt_probe");
    assert!(!probed.is_empty());
    assert!(
        probed.iter().any(|(_, o)| *o == pac_runtime::Outcome::Fail),
        "{probed:?}"
    );
    assert_eq!(probed, of("opt_scan"));
}

#[test]
fn builtins_through_the_generic_helper() {
    let rules = [
        (
            "split",
            r#"len(split(volume_id, "-")) == 2 and (split(volume_id, "-")[1] ?? "") == "1""#,
        ),
        (
            "split_err",
            r#"len(split(volume_id, tags["sep"] ?? "")) > 0"#,
        ),
        ("join", r#"join(keys(tags), ",") == "Owner,env""#),
        ("replace", r#"replace(volume_id, "vol", "v") == "v-1""#),
        ("matches", r#"matches(volume_id, "^vol-[0-9]$")"#),
        ("matches_data", r#"matches(volume_id, tags["re"] ?? "x")"#),
        ("glob", r#"glob(volume_id, "vol-?")"#),
        (
            "missing_keys",
            r#"len(missing_keys(tags, ["env", "Owner"])) > 0"#,
        ),
        ("values", r#""prod" in values(tags)"#),
        (
            "min_max",
            "(min([size, 5]) ?? 0) < 6 and (max([]) ?? 3) == 3",
        ),
        ("sum_overflow", "sum([size, size]) > 0"),
        (
            "older",
            "older_than(create_time, 90d) and age(create_time) > 30d",
        ),
        (
            "days",
            "in_days(now - create_time) > 200 and in_hours(-90m) == -2",
        ),
        (
            "time_math",
            "create_time + 1d < now and now - create_time > days(size)",
        ),
        ("time_overflow", "create_time + days(size) > now"),
        (
            "format",
            r#"format_date(create_time) == "2026-01-01" and year(now) == 2026"#,
        ),
        ("parse", r#"(parse_int(tags["a"] ?? "x") ?? 0) + 1 == 2"#),
        ("distinct", "len(distinct([size, size, 1])) == 2"),
        (
            "contains_list",
            "contains([1, 2, size], 7) or contains_any([size], [10, 0])",
        ),
        ("to_string", r#"to_string(size) + "GiB" == "10GiB""#),
    ];
    let mut docs = volumes();
    docs.push(volume("vol-7", 1, r#","tags":{"re":"([","sep":","}"#));
    let src: String = rules
        .iter()
        .map(|(n, c)| policy(n, "fixture.volume", c))
        .collect();
    let r = agree(&src, &docs);
    assert!(is_error(outcome_of(&r, "split_err", "vol-1")));
    assert!(is_error(outcome_of(&r, "matches_data", "vol-7")));
    assert!(is_error(outcome_of(&r, "sum_overflow", "vol-4")));
    assert!(is_error(outcome_of(&r, "time_overflow", "vol-4")));
}

#[test]
fn networks_and_security_groups() {
    let docs = vec![
        sg(
            "sg-1",
            r#"[{"ip_protocol":"tcp","from_port":22,"to_port":22,"ip_ranges":[{"cidr_ip":"0.0.0.0/0"}]}]"#,
            r#","tags":{"env":"prod"}"#,
        ),
        sg(
            "sg-2",
            r#"[{"ip_protocol":"-1","ip_ranges":[{"cidr_ip":"10.0.0.0/8"}],"ipv6_ranges":[{"cidr_ipv6":"::/0"}]}]"#,
            "",
        ),
        sg("sg-3", "[]", ""),
    ];
    let rules = [
        (
            "world",
            "any p in ip_permissions: any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip == 0.0.0.0/0",
        ),
        (
            "world_fn",
            "any p in ip_permissions: open_to_world(p) and covers_port(p, 22)",
        ),
        (
            "v6",
            r#"any p in ip_permissions: any r in p.ipv6_ranges: has(r.cidr_ipv6) and r.cidr_ipv6 == cidr("::/0")"#,
        ),
        (
            "contains",
            "any p in ip_permissions: any r in p.ip_ranges: has(r.cidr_ip) and cidr_contains(r.cidr_ip, 10.1.2.3)",
        ),
        (
            "private",
            "any p in ip_permissions: any r in p.ip_ranges: has(r.cidr_ip) and (is_private(r.cidr_ip) or prefix_len(r.cidr_ip) == 0)",
        ),
        (
            "ports",
            "any p in ip_permissions: port_in_range(22, p.from_port ?? 0, p.to_port ?? 65535)",
        ),
        (
            "cidr_in",
            "any p in ip_permissions: any r in p.ip_ranges: has(r.cidr_ip) and r.cidr_ip in [10.0.0.0/8, 192.168.0.0/16]",
        ),
    ];
    let src: String = rules
        .iter()
        .map(|(n, c)| policy(n, "aws.ec2.security_group", c))
        .collect();
    let r = agree(&src, &docs);
    assert_eq!(*outcome_of(&r, "world", "sg-1"), pac_runtime::Outcome::Fail);
    assert_eq!(*outcome_of(&r, "world", "sg-2"), pac_runtime::Outcome::Pass);
}

#[test]
fn groups_exceptions_and_messages() {
    let src = r#"
group prod {
  fixture.volume where (tags["env"] ?? "") == "prod"
}
group busy {
  fixture.volume where size / (iops ?? 1) > 0 and any a in attachments: a.state != "attached"
  vuln.finding
}
policy busy_big {
  title "busy"
  severity low
  category cost
  rule on fixture.volume in busy {
    violation when size > 5
  }
}
policy big {
  title "big"
  severity low
  category cost
  rule on fixture.volume in prod {
    let gib = size * 2
    violation when gib > 10
    message "{volume_id} has {gib} GiB ({tags[\"env\"] ?? \"none\"})"
  }
}
sticky exception small for big {
  where size < 8
  expires 2030-01-01
  reason "r"
}
exception "X" for big {
  resources ["vol-1"]
  expires 2030-01-01
  reason "r"
}
"#;
    agree(src, &volumes());
}

/// 700 volumes (more than two batches of rows) whose `class` tag cycles
/// through five values: "gp2.a" on vol-0, vol-5, …
fn classed_volumes() -> Vec<String> {
    let kinds = ["gp2.a", "gp3.b", "io1", "", "st1.x.y"];
    (0..700)
        .map(|i| {
            volume(
                &format!("vol-{i}"),
                i,
                &format!(
                    r#","tags":{{"class":"{}"}}"#,
                    kinds[i as usize % kinds.len()]
                ),
            )
        })
        .collect()
}

#[test]
fn memoised_builtin_results_survive_batches_and_errors() {
    // 700 volumes (more than two batches of rows) over a handful of
    // distinct strings: built-in calls on them are memoised per run, list
    // results included, and a memoised error stays an error.
    let docs = classed_volumes();
    let rules = [
        (
            "nth",
            r#"(split(tags["class"] ?? "", ".")[0] ?? "none") == "gp2""#,
        ),
        (
            "whole",
            r#"len(split(tags["class"] ?? "", ".")) > 1 and upper(tags["class"] ?? "") != """#,
        ),
        ("bad_sep", r#"len(split(tags["class"] ?? "", "")) > 1"#),
        (
            "mixed",
            r#"let p = split(tags["class"] ?? "", "."); (p[1] ?? "") == "b" or size > 650"#,
        ),
    ];
    let src: String = rules
        .iter()
        .map(|(n, c)| policy(n, "fixture.volume", c))
        .collect();
    let r = agree(&src, &docs);
    assert_eq!(
        *outcome_of(&r, "nth", "vol-600"),
        pac_runtime::Outcome::Fail
    );
    assert_eq!(
        *outcome_of(&r, "nth", "vol-601"),
        pac_runtime::Outcome::Pass
    );
    assert!(is_error(outcome_of(&r, "bad_sep", "vol-699")));
    assert_eq!(
        *outcome_of(&r, "mixed", "vol-651"),
        pac_runtime::Outcome::Fail
    );
    assert_eq!(
        *outcome_of(&r, "mixed", "vol-600"),
        pac_runtime::Outcome::Pass
    );
}

#[test]
fn lets_computed_at_first_use_agree_with_eager_ones() {
    // Infallible `let`s are computed where first read (in a branch, in a
    // quantifier's body, through another `let`), fallible ones where bound.
    let rules = [
        (
            "branch",
            r#"let cls = lower(tags["class"] ?? "none"); size > 300 and starts_with(cls, "gp")"#,
        ),
        (
            "both_sides",
            r#"let p = split(tags["class"] ?? "", "."); (size > 650 and (p[0] ?? "") == "gp2") or len(p) > 2"#,
        ),
        (
            "chained",
            r#"let a = upper(tags["class"] ?? ""); let b = a + "!"; let c = replace(a, ".", "-"); size % 7 == 0 and (ends_with(c, "-A") or b == "IO1!")"#,
        ),
        (
            "in_loop",
            r#"let k = lower(tags["class"] ?? ""); any x in [1, 2, 3]: x == size % 4 and k != "io1""#,
        ),
        (
            // `fam`'s second parameter is bound to the slot the quantifier's
            // `x` reuses: forcing `f` inside the loop must not clobber `x`.
            "inlined_in_loop",
            r#"let f = fam(tags["class"] ?? "", "none"); any x in [0, 1, 2, 3]: f == "gp2" and x == size % 7"#,
        ),
        (
            "fallible_stays_eager",
            r#"let q = split(tags["class"] ?? "", ""); size > 10000 and len(q) > 0"#,
        ),
    ];
    let docs = classed_volumes();
    let mut src: String = rules
        .iter()
        .map(|(n, c)| policy(n, "fixture.volume", c))
        .collect();
    src.push_str(
        "fn fam(t: string, d: string) -> string = if starts_with(d, \"n\") then split(t, \".\")[0] ?? t else t\n",
    );
    let r = agree(&src, &docs);
    // "gp2.a" is every fifth volume: vol-15 (15 % 7 = 1) fails, vol-5
    // (5 % 7 = 5) passes.
    assert_eq!(
        *outcome_of(&r, "inlined_in_loop", "vol-15"),
        pac_runtime::Outcome::Fail
    );
    assert_eq!(
        *outcome_of(&r, "inlined_in_loop", "vol-5"),
        pac_runtime::Outcome::Pass
    );
    assert_eq!(
        *outcome_of(&r, "branch", "vol-600"),
        pac_runtime::Outcome::Fail
    );
    assert_eq!(
        *outcome_of(&r, "branch", "vol-602"),
        pac_runtime::Outcome::Pass
    );
    assert_eq!(
        *outcome_of(&r, "both_sides", "vol-4"),
        pac_runtime::Outcome::Fail
    );
    assert_eq!(
        *outcome_of(&r, "chained", "vol-0"),
        pac_runtime::Outcome::Fail
    );
    assert!(is_error(outcome_of(&r, "fallible_stays_eager", "vol-1")));
}
