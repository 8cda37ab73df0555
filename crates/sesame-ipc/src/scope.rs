//! [`ScopeSet`]: the one type for a set of OAuth scopes, on the wire and in the broker.
//!
//! OAuth speaks of scopes as a space-separated string (RFC 6749 §3.3) whose order carries no
//! meaning; Sesame keys its cache and grants on the set. Keeping it sorted and deduplicated
//! at construction makes equality, hashing and `Display` agree everywhere, so nobody joins
//! or splits strings by hand.

use std::collections::BTreeSet;
use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Sorted, without duplicates or empty words. Serializes as a JSON list; `Display` (and
/// [`ScopeSet::parse`]) is the space-joined form a provider sends and expects.
#[cfg_attr(feature = "ts", derive(ts_rs::TS), ts(type = "string[]"))]
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ScopeSet(Vec<String>);

impl ScopeSet {
    /// From the space-separated form (`"openid email"`); extra spaces are ignored.
    pub fn parse(words: &str) -> ScopeSet {
        words.split(' ').collect()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn contains(&self, scope: &str) -> bool {
        self.0.binary_search_by(|s| s.as_str().cmp(scope)).is_ok()
    }

    /// Every scope of `self` is in `other`.
    pub fn is_subset(&self, other: &ScopeSet) -> bool {
        self.0.iter().all(|s| other.contains(s))
    }

    /// The scopes of `self` that `other` lacks.
    pub fn missing_from(&self, other: &ScopeSet) -> ScopeSet {
        ScopeSet(self.0.iter().filter(|s| !other.contains(s)).cloned().collect())
    }

    pub fn iter(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(String::as_str)
    }
}

impl<S: AsRef<str>> FromIterator<S> for ScopeSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> ScopeSet {
        let set: BTreeSet<String> = iter
            .into_iter()
            .map(|s| s.as_ref().trim().to_owned())
            .filter(|s| !s.is_empty())
            .collect();
        ScopeSet(set.into_iter().collect())
    }
}

impl<S: AsRef<str>> From<&[S]> for ScopeSet {
    fn from(scopes: &[S]) -> ScopeSet {
        scopes.iter().collect()
    }
}

impl<S: AsRef<str>, const N: usize> From<[S; N]> for ScopeSet {
    fn from(scopes: [S; N]) -> ScopeSet {
        scopes.iter().collect()
    }
}

impl From<Vec<String>> for ScopeSet {
    fn from(scopes: Vec<String>) -> ScopeSet {
        scopes.iter().collect()
    }
}

impl fmt::Display for ScopeSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.join(" "))
    }
}

impl<'a> IntoIterator for &'a ScopeSet {
    type Item = &'a String;
    type IntoIter = std::slice::Iter<'a, String>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl Serialize for ScopeSet {
    fn serialize<Z: Serializer>(&self, s: Z) -> Result<Z::Ok, Z::Error> {
        self.0.serialize(s)
    }
}

impl<'de> Deserialize<'de> for ScopeSet {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<ScopeSet, D::Error> {
        Ok(Vec::<String>::deserialize(d)?.into())
    }
}

/// `#[serde(with = "space_joined")]`: a [`ScopeSet`] field that is one string on the wire,
/// as OAuth's `scope` is (the token reply's `scope`).
pub mod space_joined {
    use super::ScopeSet;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<Z: Serializer>(set: &ScopeSet, s: Z) -> Result<Z::Ok, Z::Error> {
        s.collect_str(set)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<ScopeSet, D::Error> {
        Ok(ScopeSet::parse(&String::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_without_duplicates_or_blanks() {
        let set = ScopeSet::parse("profile  openid profile ");
        assert_eq!(set.to_string(), "openid profile");
        assert_eq!(set, ScopeSet::from(["openid", "profile"]));
        assert!(set.contains("openid") && !set.contains("email"));
    }

    #[test]
    fn a_list_on_the_wire_and_a_set_when_read() {
        let set: ScopeSet = serde_json::from_str(r#"["b","a","b",""]"#).unwrap();
        assert_eq!(serde_json::to_string(&set).unwrap(), r#"["a","b"]"#);
    }

    #[test]
    fn subsets_and_what_is_missing() {
        let all = ScopeSet::from(["a", "b", "c"]);
        let some = ScopeSet::from(["c", "a"]);
        assert!(some.is_subset(&all) && !all.is_subset(&some));
        assert_eq!(all.missing_from(&some), ScopeSet::from(["b"]));
    }
}
