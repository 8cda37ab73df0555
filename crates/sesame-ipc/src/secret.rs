//! A token in memory. It prints as `<redacted>` and has no `Serialize`: putting one on
//! the wire takes an explicit `#[serde(serialize_with = "Secret::serialize_exposed")]`.

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Every caller is a place where a token leaves Sesame's hands:
    /// an HTTP form to the provider, the keyring, or a `token.get` reply.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Opt-in serializer for the one field on the wire that carries a token.
    pub fn serialize_exposed<S: serde::Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(&s.0)
    }

    /// Opt-in deserializer, the counterpart of [`Secret::serialize_exposed`].
    pub fn deserialize_exposed<'de, D: serde::Deserializer<'de>>(de: D) -> Result<Secret, D::Error> {
        <String as serde::Deserialize>::deserialize(de).map(Secret)
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        // Best effort: overwrite the bytes before the allocation is freed.
        // SAFETY: zero bytes are valid UTF-8.
        unsafe { self.0.as_bytes_mut().fill(0) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_redacted() {
        let s = Secret::new("tok-123");
        assert_eq!(format!("{s}"), "<redacted>");
        assert_eq!(format!("{s:?}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(&s)), "Some(<redacted>)");
        assert_eq!(s.expose(), "tok-123");
    }
}
