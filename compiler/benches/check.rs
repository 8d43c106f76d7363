//! How long checking takes: the shipped policy library, and a generated
//! workspace of 5,000 rules (one file), from scratch and after a one-line
//! edit (salsa re-parses only the edited file).

use criterion::{Criterion, criterion_group, criterion_main};
use pac_compiler::{Database, compile_sources, db, workspace};

/// 5,000 rules over several resource types, in 1,000 policies.
pub fn generated_rules(n: usize) -> String {
    let mut s = String::from("package bench\n\n");
    let bodies = [
        (
            "aws.ec2.security_group",
            "any p in ip_permissions: covers_port(p, {port}) and any r in p.ip_ranges: r.cidr_ip == 0.0.0.0/0",
        ),
        (
            "aws.ec2.volume",
            "not encrypted and size > {port} and (tags[\"env\"] ?? \"\") == \"prod\"",
        ),
        (
            "aws.ec2.instance",
            "state.name == \"running\" and not has(tags[\"owner\"]) and instance_type in [\"m1.small\", \"t1.micro\"]",
        ),
        (
            "aws.s3.bucket",
            "not has(public_access_block) or not public_access_block.block_public_acls",
        ),
        (
            "aws.iam.access_key",
            "status == \"Active\" and age(create_date) > {port}d",
        ),
    ];
    for p in 0..n / 5 {
        s.push_str(&format!(
            "policy gen_{p} {{\n  title \"generated {p}\"\n  severity high\n  category security\n"
        ));
        for (r, (ty, body)) in bodies.iter().enumerate() {
            let body = body.replace("{port}", &(p % 1000 + r).to_string());
            s.push_str(&format!("  rule r{r} on {ty} {{\n    violation when {body}\n    message \"{{id}} fails {p}.{r}\"\n  }}\n"));
        }
        s.push_str("}\n\n");
    }
    s
}

fn policies() -> Vec<(String, String)> {
    let dir = std::path::Path::new(
        &std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    )
    .join("../policies");
    let mut out = Vec::new();
    let mut stack = vec![dir];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "pac") {
                out.push((
                    p.display().to_string(),
                    std::fs::read_to_string(&p).unwrap_or_default(),
                ));
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let lib = policies();
    c.bench_function("check policies/", |b| {
        b.iter(|| compile_sources(lib.clone()))
    });

    let big = generated_rules(5_000);
    let files = vec![("gen.pac".to_string(), big.clone())];
    let check = compile_sources(files.clone());
    assert_eq!(check.program.rules.len(), 5_000);
    assert!(
        check.diagnostics.iter().all(|d| !d.is_error()),
        "{:?}",
        check.diagnostics.first()
    );
    c.bench_function("check 5,000 rules", |b| {
        b.iter(|| compile_sources(files.clone()))
    });

    // Incremental: the stdlib and an unchanged file stay parsed; one edit.
    let mut db = Database::default();
    let ws = workspace(
        &db,
        vec![
            ("gen.pac".into(), big.clone()),
            ("lib.pac".into(), big.replace("gen_", "lib_")),
        ],
    );
    let _ = db::compile(&db, ws);
    let target = *ws.files(&db).last().expect("files");
    let mut flip = false;
    c.bench_function("recheck 10,000 rules after a one-line edit", |b| {
        b.iter(|| {
            flip = !flip;
            let text = if flip {
                big.replace("gen_", "lib_")
                    .replacen("generated 0", "generated 0!", 1)
            } else {
                big.replace("gen_", "lib_")
            };
            db::set_text(&mut db, target, text);
            db::compile(&db, ws).diagnostics.len()
        })
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
