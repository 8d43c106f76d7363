//! Built-in signatures are written in Pac's type syntax
//! (`"(xs: list<T>, x: T) -> bool"`); this parses them into [`Ty`]s.

use crate::types::Ty;

#[derive(Clone, Debug)]
pub struct Sig {
    pub params: Vec<(String, Ty)>,
    pub ret: Ty,
}

pub fn parse_sig(sig: &str) -> Option<Sig> {
    let sig = sig.trim();
    let close = sig.rfind(')')?;
    let params_text = sig.get(1..close)?;
    let ret = parse_ty(sig.get(close + 1..)?.trim().strip_prefix("->")?.trim())?;
    let mut params = Vec::new();
    for p in split_top(params_text) {
        let p = p.trim();
        if p.is_empty() {
            continue;
        }
        let (name, ty) = p.split_once(':')?;
        params.push((name.trim().to_string(), parse_ty(ty.trim())?));
    }
    Some(Sig { params, ret })
}

fn split_top(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0);
    for (i, c) in s.char_indices() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            ',' if depth == 0 => {
                out.push(&s[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(&s[start..]);
    out
}

pub fn parse_ty(s: &str) -> Option<Ty> {
    let s = s.trim();
    if let Some(inner) = s.strip_suffix('?') {
        return Some(parse_ty(inner)?.opt());
    }
    if let Some(rest) = s.strip_prefix("list<") {
        return Some(parse_ty(rest.strip_suffix('>')?)?.list());
    }
    if let Some(rest) = s.strip_prefix("map<") {
        let inner = rest.strip_suffix('>')?;
        let inner = split_top(inner).last().copied()?;
        return Some(Ty::Map(Box::new(parse_ty(inner)?)));
    }
    Some(match s {
        "bool" => Ty::Bool,
        "int" => Ty::Int,
        "float" => Ty::Float,
        "string" => Ty::Str,
        "timestamp" => Ty::Time,
        "duration" => Ty::Dur,
        "ip" => Ty::Ip,
        "cidr" => Ty::Cidr,
        "regex" => Ty::Regex,
        "glob" => Ty::Glob,
        "T" => Ty::Var,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_signature_parses() {
        for b in pac_stdlib::BUILTINS {
            for s in b.sigs {
                assert!(parse_sig(s).is_some(), "{}: {s}", b.name);
            }
        }
    }
}
