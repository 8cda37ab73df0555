//! Who signed in: from the ID token's claims, or from the userinfo answer.

use base64::alphabet::URL_SAFE;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
use base64::Engine as _;
use serde_json::Value;

use super::error::OAuthError;
use super::issuer::id_token_issuer_matches;
use crate::Secret;

/// Base64url that accepts the payload with or without padding (some providers pad).
const B64URL: GeneralPurpose = GeneralPurpose::new(
    &URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub subject: String,
    pub email: Option<String>,
    pub name: Option<String>,
}

impl Identity {
    /// No e-mail or no name: worth asking userinfo (for display only).
    pub fn lacks_display(&self) -> bool {
        self.email.is_none() || self.name.is_none()
    }

    /// Fills what this identity lacks from the userinfo answer about the same subject;
    /// an answer about anyone else adds nothing.
    pub fn fill_from(&mut self, userinfo: Identity) {
        if userinfo.subject != self.subject {
            return;
        }
        self.email = self.email.take().or(userinfo.email);
        self.name = self.name.take().or(userinfo.name);
    }
}

/// Reads and checks the claims of an ID token straight from the token endpoint.
///
/// The signature is not verified, on purpose: OIDC Core §3.1.3.7 (item 6) allows a
/// client to rely on the TLS server validation of the token endpoint instead, and this
/// token came back over the connection Sesame itself opened to the configured endpoint.
/// The claim checks still matter: they bind the token to this issuer, this client and
/// this sign-in (nonce). Never use this for ID tokens from any other source.
///
/// `nonce` is `None` only for the device flow (RFC 8628), whose request has no nonce
/// parameter; the token is then bound to the sign-in by the device code it was redeemed with.
pub fn identity_from_id_token(
    raw: &Secret,
    issuer: &str,
    client_id: &str,
    nonce: Option<&str>,
    now: i64,
) -> Result<Identity, OAuthError> {
    let claims = decode_claims(raw)?;
    let bad = |what: String| Err(OAuthError::BadIdToken(what));

    // `issuer` may be Entra's `{tenantid}` template; then `tid` names the tenant (issuer.rs).
    let tid = claims.get("tid").and_then(Value::as_str);
    match claims.get("iss").and_then(Value::as_str) {
        Some(iss) if id_token_issuer_matches(issuer, iss, tid) => {}
        Some(iss) => return bad(format!("it was issued by `{}`, not by `{issuer}`", short(iss))),
        None => return bad("its `iss` claim is missing".into()),
    }

    let audiences: Vec<&str> = match claims.get("aud") {
        Some(Value::String(a)) => vec![a.as_str()],
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_str).collect(),
        _ => return bad("its `aud` claim is missing".into()),
    };
    if !audiences.contains(&client_id) {
        return bad(format!("its audience does not include this client (`{client_id}`)"));
    }
    // OIDC Core §3.1.3.7 items 4-5: with several audiences the token must name us as the
    // party it was issued to, and a present `azp` must be us in any case.
    match claims.get("azp").and_then(Value::as_str) {
        Some(azp) if azp != client_id => {
            return bad(format!("it was issued to `{}` (azp), not to `{client_id}`", short(azp)))
        }
        None if audiences.len() > 1 => {
            return bad("it has several audiences but no `azp` claim".into())
        }
        _ => {}
    }

    if let Some(nonce) = nonce {
        match claims.get("nonce").and_then(Value::as_str) {
            Some(n) if n == nonce => {}
            Some(_) => {
                return bad("its `nonce` does not belong to this sign-in (possible replay)".into())
            }
            None => return bad("its `nonce` claim is missing".into()),
        }
    }

    // No clock skew allowance: the token was minted a moment ago.
    match claims.get("exp").and_then(number_as_i64) {
        Some(exp) if exp > now => {}
        Some(_) => return bad("it has already expired (check this computer's clock)".into()),
        None => return bad("its `exp` claim is missing".into()),
    }

    let subject = match claims.get("sub").and_then(Value::as_str) {
        Some(sub) if !sub.is_empty() => sub.to_owned(),
        _ => return bad("its `sub` claim is missing or empty".into()),
    };
    Ok(identity(subject, &claims))
}

/// The identity from a userinfo answer (OIDC) or a plain-OAuth "who am I" endpoint.
/// GitHub-style answers without `sub` use the numeric `id` (stable, unlike `login`).
pub fn identity_from_userinfo(v: &Value) -> Result<Identity, OAuthError> {
    let subject =
        match (v.get("sub"), v.get("id")) {
            (Some(Value::String(s)), _) if !s.is_empty() => s.clone(),
            (None, Some(Value::Number(n))) => n.to_string(),
            (None, Some(Value::String(s))) if !s.is_empty() => s.clone(),
            _ => return Err(OAuthError::BadResponse(
                "the userinfo answer has no `sub` (or `id`), so Sesame cannot tell who signed in"
                    .into(),
            )),
        };
    Ok(identity(subject, v))
}

fn identity(subject: String, claims: &Value) -> Identity {
    let text = |key: &str| {
        claims.get(key).and_then(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned)
    };
    Identity {
        subject,
        email: text("email"),
        name: text("name").or_else(|| text("preferred_username")).or_else(|| text("login")),
    }
}

fn decode_claims(raw: &Secret) -> Result<Value, OAuthError> {
    let parts: Vec<&str> = raw.expose().split('.').collect();
    let payload = match parts.len() {
        3 => parts[1],
        5 => return Err(OAuthError::BadIdToken("it is encrypted (JWE), which Sesame does not support; turn off ID token encryption for this client".into())),
        _ => return Err(OAuthError::BadIdToken("it is not a JWT (expected three dot-separated parts)".into())),
    };
    let bytes = B64URL
        .decode(payload)
        .map_err(|_| OAuthError::BadIdToken("its payload is not base64url".into()))?;
    // serde's message is not passed on: it could quote claim values.
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v @ Value::Object(_)) => Ok(v),
        _ => Err(OAuthError::BadIdToken("its payload is not a JSON object".into())),
    }
}

fn number_as_i64(v: &Value) -> Option<i64> {
    v.as_i64().or_else(|| v.as_f64().map(|f| f as i64))
}

/// Claim values quoted in errors are provider-chosen; keep them short and printable.
fn short(s: &str) -> String {
    super::error::clean_provider_text(s)
}

#[cfg(test)]
mod tests {
    use super::*;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use serde_json::json;

    const ISS: &str = "https://idp.example";
    const NOW: i64 = 1_700_000_000;

    fn jwt(claims: &Value) -> Secret {
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none"}"#);
        let payload = URL_SAFE_NO_PAD.encode(claims.to_string());
        Secret::new(format!("{header}.{payload}.sig"))
    }

    fn good() -> Value {
        json!({"iss": ISS, "aud": "cid", "sub": "u-1", "nonce": "N", "exp": NOW + 300, "iat": NOW, "email": "a@b.example", "name": "Alice"})
    }

    fn check(claims: Value) -> Result<Identity, OAuthError> {
        identity_from_id_token(&jwt(&claims), ISS, "cid", Some("N"), NOW)
    }

    fn fails_with(claims: Value, words: &str) {
        let e = check(claims).unwrap_err();
        assert!(matches!(e, OAuthError::BadIdToken(_)), "{e}");
        assert!(e.to_string().contains(words), "expected `{words}` in: {e}");
    }

    #[test]
    fn accepts_good_token() {
        let id = check(good()).unwrap();
        assert_eq!(
            id,
            Identity {
                subject: "u-1".into(),
                email: Some("a@b.example".into()),
                name: Some("Alice".into())
            }
        );
        let mut c = good();
        c["aud"] = json!(["other", "cid"]);
        c["azp"] = json!("cid");
        check(c).unwrap();
    }

    #[test]
    fn each_check() {
        let with = |k: &str, v: Value| {
            let mut c = good();
            c[k] = v;
            c
        };
        let without = |k: &str| {
            let mut c = good();
            c.as_object_mut().unwrap().remove(k);
            c
        };
        fails_with(with("iss", json!("https://evil.example")), "issued by `https://evil.example`");
        fails_with(without("iss"), "`iss`");
        fails_with(with("aud", json!("other")), "audience");
        fails_with(with("aud", json!(["other", "cid"])), "no `azp`");
        fails_with(with("azp", json!("other")), "azp");
        fails_with(with("nonce", json!("M")), "nonce");
        fails_with(without("nonce"), "nonce");
        fails_with(with("exp", json!(NOW)), "expired");
        fails_with(without("exp"), "`exp`");
        fails_with(with("sub", json!("")), "`sub`");
    }

    /// Claims as Entra puts them in a v2.0 ID token for a work account signed in through
    /// the `organizations` endpoint (abridged).
    #[test]
    fn entra_multi_tenant_token() {
        let template = "https://login.microsoftonline.com/{tenantid}/v2.0";
        let tid = "72f988bf-86f1-41af-91ab-2d7cd011db47";
        let claims = json!({
            "ver": "2.0", "iss": format!("https://login.microsoftonline.com/{tid}/v2.0"), "sub": "AAAAAAAAAAAAAAAAAAAAAIkzqFVrSaSaFHy782bbtaQ",
            "aud": "cid", "exp": NOW + 3600, "iat": NOW, "nbf": NOW, "name": "Megan Bowen", "preferred_username": "meganb@contoso.com",
            "oid": "00000000-0000-0000-66f3-3332eca7ea81", "email": "meganb@contoso.com", "tid": tid, "nonce": "N", "aio": "Df2UVXL1ix!lMCWMSOJBcFatzcGfvFGhjKv8q5g0x732dR5MB5BisvGQO7YWByjd8iQDLq!eGbIDakyp5mnOrcdqHeYSnltepQmRp6AIZ8jY"
        });
        let id = identity_from_id_token(&jwt(&claims), template, "cid", Some("N"), NOW).unwrap();
        assert_eq!(id.email.as_deref(), Some("meganb@contoso.com"));
        let mut lying = claims.clone();
        lying["tid"] = json!("9188040d-6c67-4c5b-b112-36a304b66dad");
        let e = identity_from_id_token(&jwt(&lying), template, "cid", Some("N"), NOW).unwrap_err();
        assert!(e.to_string().contains("issued by"), "{e}");
        let mut no_tid = claims;
        no_tid.as_object_mut().unwrap().remove("tid");
        assert!(identity_from_id_token(&jwt(&no_tid), template, "cid", Some("N"), NOW).is_err());
    }

    /// Google documents `iss` as either `https://accounts.google.com` or `accounts.google.com`.
    #[test]
    fn google_token_without_scheme_in_iss() {
        let claims = json!({
            "iss": "accounts.google.com", "azp": "1234-abc.apps.googleusercontent.com", "aud": "1234-abc.apps.googleusercontent.com",
            "sub": "110169484474386276334", "email": "alice@gmail.com", "email_verified": true, "at_hash": "HK6E_P6Dh8Y93mRNtsDB1Q",
            "nonce": "N", "name": "Alice", "iat": NOW, "exp": NOW + 3600
        });
        let id = identity_from_id_token(
            &jwt(&claims),
            "https://accounts.google.com",
            "1234-abc.apps.googleusercontent.com",
            Some("N"),
            NOW,
        )
        .unwrap();
        assert_eq!(id.subject, "110169484474386276334");
    }

    /// The device flow has no nonce: a token without one passes, every other check still runs.
    #[test]
    fn device_flow_skips_only_the_nonce() {
        let mut c = good();
        c.as_object_mut().unwrap().remove("nonce");
        let without_nonce =
            |claims: &Value| identity_from_id_token(&jwt(claims), ISS, "cid", None, NOW);
        assert_eq!(without_nonce(&c).unwrap().subject, "u-1");
        assert!(
            check(c.clone()).unwrap_err().to_string().contains("nonce"),
            "the code flow still needs it"
        );
        c["aud"] = json!("other");
        assert!(without_nonce(&c).unwrap_err().to_string().contains("audience"));
        c["aud"] = json!("cid");
        c["iss"] = json!("https://evil.example");
        assert!(without_nonce(&c).unwrap_err().to_string().contains("issued by"));
        c["iss"] = json!(ISS);
        c["exp"] = json!(NOW);
        assert!(without_nonce(&c).unwrap_err().to_string().contains("expired"));
    }

    #[test]
    fn malformed_tokens() {
        assert!(identity_from_id_token(&Secret::new("abc"), ISS, "cid", Some("N"), NOW).is_err());
        assert!(identity_from_id_token(&Secret::new("a.b.c.d.e"), ISS, "cid", Some("N"), NOW)
            .unwrap_err()
            .to_string()
            .contains("JWE"));
        let e = identity_from_id_token(&Secret::new("a.!!!.c"), ISS, "cid", Some("N"), NOW)
            .unwrap_err();
        assert!(!e.to_string().contains("!!!"));
    }

    #[test]
    fn userinfo() {
        let id = identity_from_userinfo(
            &json!({"sub": "s", "email": "e@x", "preferred_username": "bob"}),
        )
        .unwrap();
        assert_eq!((id.subject.as_str(), id.name.as_deref()), ("s", Some("bob")));
        let gh =
            identity_from_userinfo(&json!({"id": 42, "login": "octo", "email": null})).unwrap();
        assert_eq!((gh.subject.as_str(), gh.email, gh.name.as_deref()), ("42", None, Some("octo")));
        assert!(identity_from_userinfo(&json!({"email": "x"})).is_err());
    }

    /// django-oauth-toolkit's default ID token (recorded shape): `sub` (the database id)
    /// and the protocol claims, nothing to show; its userinfo, in a deployment that adds
    /// claims there, has the e-mail and name.
    #[test]
    fn dot_identity_comes_from_userinfo() {
        let claims = json!({"aud": "cid", "iat": NOW, "at_hash": "x", "sub": "1", "iss": ISS, "exp": NOW + 300, "auth_time": NOW, "jti": "j", "nonce": "N"});
        let mut who = check(claims).unwrap();
        assert!(who.lacks_display() && who.email.is_none() && who.name.is_none());
        let userinfo = json!({"sub": "1", "email": "alice@example.test", "email_verified": true, "name": "Alice"});
        who.fill_from(identity_from_userinfo(&userinfo).unwrap());
        assert_eq!(
            (who.email.as_deref(), who.name.as_deref()),
            (Some("alice@example.test"), Some("Alice"))
        );
        assert!(!who.lacks_display());
        // The ID token's own claims win; another subject's answer adds nothing.
        let mut who = check(good()).unwrap();
        who.name = Some("From token".into());
        who.email = None;
        who.fill_from(
            identity_from_userinfo(&json!({"sub": "u-1", "name": "Other", "email": "e@x"}))
                .unwrap(),
        );
        assert_eq!((who.email.as_deref(), who.name.as_deref()), (Some("e@x"), Some("From token")));
        let mut who = check(good()).unwrap();
        who.email = None;
        who.fill_from(
            identity_from_userinfo(&json!({"sub": "someone-else", "email": "e@x"})).unwrap(),
        );
        assert_eq!(who.email, None);
    }
}
