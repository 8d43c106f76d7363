//! What a principal may see and act on: the asset groups where it holds a
//! role. The rule of a route ([`super::rules`]) says *whether* a caller may
//! call it at all; the scope says *which* resources, issues, figures, jobs
//! and exceptions the answer may contain. Handlers take it from here, never
//! from the request.
//!
//! Outside its scope a caller is told what it would be told about
//! something that does not exist (404 with the same message), so it cannot
//! learn that a resource of another group exists.

use super::{ALL_GROUPS, Principal, Role};

/// The asset groups a principal holds at least some role on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// Every group, and resources in none (a grant on `*`).
    All,
    /// These groups only (sorted, no repeats; may be empty).
    Groups(Vec<String>),
}

impl Scope {
    /// Where `p` holds `role` or more.
    pub fn of(p: &Principal, role: Role) -> Scope {
        if p.has_global(role) {
            return Scope::All;
        }
        let mut gs: Vec<String> = p
            .grants
            .iter()
            .filter(|(r, g)| *r >= role && g != ALL_GROUPS)
            .map(|(_, g)| g.clone())
            .collect();
        gs.sort();
        gs.dedup();
        Scope::Groups(gs)
    }

    pub fn is_all(&self) -> bool {
        matches!(self, Scope::All)
    }

    /// Whether the scope covers `group`.
    pub fn covers(&self, group: &str) -> bool {
        match self {
            Scope::All => true,
            Scope::Groups(gs) => gs.binary_search_by(|g| g.as_str().cmp(group)).is_ok(),
        }
    }

    /// Whether a resource that is a member of `member_of` is inside.
    pub fn covers_any<S: AsRef<str>>(&self, member_of: &[S]) -> bool {
        match self {
            Scope::All => true,
            Scope::Groups(_) => member_of.iter().any(|g| self.covers(g.as_ref())),
        }
    }

    /// The groups, or `None` for all.
    pub fn groups(&self) -> Option<&[String]> {
        match self {
            Scope::All => None,
            Scope::Groups(gs) => Some(gs),
        }
    }

    /// A stable text for cache keys.
    pub fn key(&self) -> String {
        match self {
            Scope::All => ALL_GROUPS.to_string(),
            // Group names are identifiers (no `,`), so the join is unambiguous.
            Scope::Groups(gs) => gs.join(","),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::auth::PrincipalKind;

    fn principal(grants: &[(Role, &str)]) -> Principal {
        Principal {
            kind: PrincipalKind::Token,
            id: "token:1".into(),
            name: "t".into(),
            grants: grants.iter().map(|(r, g)| (*r, g.to_string())).collect(),
            session: None,
            claims: None,
        }
    }

    #[test]
    fn a_role_on_star_covers_everything() {
        let p = principal(&[(Role::Viewer, "*"), (Role::Approver, "prod")]);
        assert_eq!(Scope::of(&p, Role::Viewer), Scope::All);
        assert!(Scope::of(&p, Role::Viewer).covers("anything"));
        assert_eq!(
            Scope::of(&p, Role::Approver),
            Scope::Groups(vec!["prod".into()])
        );
    }

    #[test]
    fn higher_roles_count_and_lower_ones_do_not() {
        let p = principal(&[
            (Role::Admin, "b"),
            (Role::Viewer, "a"),
            (Role::Approver, "b"),
        ]);
        let view = Scope::of(&p, Role::Viewer);
        assert_eq!(view, Scope::Groups(vec!["a".into(), "b".into()]));
        let approve = Scope::of(&p, Role::Approver);
        assert_eq!(approve, Scope::Groups(vec!["b".into()]));
        assert!(!approve.covers("a"));
        assert!(approve.covers_any(&["a", "b"]));
        assert!(!approve.covers_any(&["a"]));
        assert!(!approve.covers_any::<&str>(&[]));
        assert_eq!(view.key(), "a,b");
    }

    #[test]
    fn no_grant_covers_nothing() {
        let p = principal(&[]);
        let s = Scope::of(&p, Role::Viewer);
        assert_eq!(s, Scope::Groups(vec![]));
        assert!(!s.covers("a"));
        assert!(!s.covers("*"));
    }
}
