//! "Did you mean …?": the closest candidates by edit distance, never a dump
//! of every valid name.

/// The best candidate for `name`, if one is close enough to be a plausible
/// typo (distance at most a third of the name's length, at least 1).
pub fn did_you_mean<'a>(
    name: &str,
    candidates: impl IntoIterator<Item = &'a str>,
) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    let lower = name.to_lowercase();
    candidates
        .into_iter()
        .filter(|c| *c != name)
        .map(|c| {
            let d = strsim::damerau_levenshtein(&lower, &c.to_lowercase());
            // A candidate that contains the name (or the reverse) is a good
            // guess even when longer: `ip_perm` → `ip_permissions`.
            let contains = c.contains(name) || name.contains(c);
            (if contains && d > limit { limit } else { d }, c)
        })
        .filter(|(d, _)| *d <= limit)
        // Ties go to the first name in order: candidates often come from a
        // hash map, and the answer must not depend on its iteration order.
        .min_by_key(|(d, c)| (*d, c.len(), *c))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suggests_the_closest_field() {
        let fields = [
            "ip_permissions",
            "ip_permissions_egress",
            "group_id",
            "group_name",
        ];
        assert_eq!(
            did_you_mean("ip_permisions", fields),
            Some("ip_permissions")
        );
        assert_eq!(did_you_mean("groupid", fields), Some("group_id"));
        assert_eq!(did_you_mean("zzz", fields), None);
    }

    #[test]
    fn a_tie_does_not_depend_on_the_order_of_the_candidates() {
        let a = ["elb_deletion_protection_off", "rds_deletion_protection_off"];
        let b = ["rds_deletion_protection_off", "elb_deletion_protection_off"];
        let name = "dynamodb_deletion_protection_off";
        assert_eq!(did_you_mean(name, a), Some("elb_deletion_protection_off"));
        assert_eq!(did_you_mean(name, b), Some("elb_deletion_protection_off"));
    }
}
