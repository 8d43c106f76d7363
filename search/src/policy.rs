//! Documents of a compiled policy set: one per policy (title, description,
//! remediation, tags and framework ids) and one per rule.

use pac_compiler::ir::Program;

use crate::doc::{Kind, SearchDoc, VISIBLE_TO_ALL};

/// Every policy and rule of `p`. Policies are visible to every scope.
pub fn documents(p: &Program) -> Vec<SearchDoc> {
    let mut out = Vec::new();
    for pol in &p.policies {
        let mut d = SearchDoc::new(Kind::Policy, format!("policy:{}", pol.name), &pol.name);
        d.title = pol.title.clone();
        d.link = format!("/policies/{}", pol.name);
        d.severity = Some(pol.severity.name().to_string());
        d.groups = vec![VISIBLE_TO_ALL.to_string()];
        d.policies = vec![pol.name.clone()];
        d.text.push(pol.title.clone());
        d.text.push(format!("category {}", pol.category));
        d.text.extend(pol.description.iter().cloned());
        d.text
            .extend(pol.remediation.iter().map(|r| format!("remediation: {r}")));
        d.text.extend(pol.doc.iter().cloned());
        // Tags carry framework ids (`cis-aws:2.1.1`): searchable as words
        // and as `tag:` terms.
        for t in &pol.tags {
            d.text.push(format!("tag {t}"));
            let (k, v) = t.split_once(':').unwrap_or((t.as_str(), ""));
            d.tags.push((k.to_string(), v.to_string()));
        }
        let mut types: Vec<&str> = Vec::new();
        for &ri in &pol.rules {
            let r = &p.rules[ri];
            if !types.contains(&r.resource_type.as_str()) {
                types.push(&r.resource_type);
            }
            let mut rd = SearchDoc::new(Kind::Rule, format!("rule:{}", r.id), &r.id);
            rd.title = format!("{} ({})", r.id, pol.title);
            rd.link = d.link.clone();
            rd.rtype = Some(r.resource_type.clone());
            rd.severity = d.severity.clone();
            rd.groups = d.groups.clone();
            rd.policies = vec![pol.name.clone(), r.id.clone()];
            rd.text.push(pol.title.clone());
            if let Some(a) = &r.autofix {
                rd.text.push(format!("autofix {}", a.action));
            }
            if let Some(g) = r.scope {
                rd.text.push(format!("group {}", p.groups[g].name));
            }
            out.push(rd);
        }
        // A policy of one resource type has that type (a facet value).
        if let [t] = types.as_slice() {
            d.rtype = Some(t.to_string());
        }
        d.text.extend(types.iter().map(|t| format!("resource {t}")));
        out.push(d);
    }
    out
}
