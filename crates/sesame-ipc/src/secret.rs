//! A token (or client secret) in memory. It prints as `<redacted>` and has no `Serialize`:
//! putting one on the wire takes an explicit `#[serde(serialize_with =
//! "Secret::serialize_exposed")]` (today `TokenResult::access_token` and
//! `SetSecretParams::secret`).

use std::fmt;

#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }

    /// The secret itself. Every caller is a place where a token leaves Sesame's hands:
    /// an HTTP form (or Basic header) to the provider, the keyring, a `token.get` reply, or
    /// the CLI's `provider.set_secret` request.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Opt-in serializer for the fields on the wire that carry a secret.
    pub fn serialize_exposed<S: serde::Serializer>(s: &Secret, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_str(&s.0)
    }

    /// Opt-in deserializer, the counterpart of [`Secret::serialize_exposed`].
    pub fn deserialize_exposed<'de, D: serde::Deserializer<'de>>(
        de: D,
    ) -> Result<Secret, D::Error> {
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
