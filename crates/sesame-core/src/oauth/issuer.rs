//! Issuer comparisons. Plain equality, plus the two provider quirks it cannot express:
//!
//! - Microsoft Entra's multi-tenant endpoints (`common`, `organizations`, `consumers`)
//!   publish a discovery document whose `issuer` is the template
//!   `https://login.microsoftonline.com/{tenantid}/v2.0`; each ID token then carries the
//!   signed-in user's own tenant in `iss`, with the same GUID in its `tid` claim. A tenant
//!   configured by domain name (`contoso.onmicrosoft.com`), and `consumers`, get a
//!   document naming the tenant's GUID instead.
//! - Google writes `iss` as `https://accounts.google.com` or as `accounts.google.com`.

use url::Url;

const TENANT_PLACEHOLDER: &str = "{tenantid}";
/// Entra's sign-in hosts (public cloud, US government, China). The tenant rules apply
/// only there: elsewhere a `{tenantid}` issuer is just a mismatch.
const ENTRA_HOSTS: [&str; 3] =
    ["login.microsoftonline.com", "login.microsoftonline.us", "login.partner.microsoftonline.cn"];
const ENTRA_ALIASES: [&str; 3] = ["common", "organizations", "consumers"];
const GOOGLE: &str = "https://accounts.google.com";

/// Is the discovery document (whose `issuer` is `doc`) about the configured issuer?
/// A mismatch is a possible mix-up (RFC 8414 §3.3), so only the Entra tenant rules relax it.
pub(crate) fn discovery_issuer_matches(configured: &Url, doc: &str) -> bool {
    if same_issuer(doc, configured.as_str()) {
        return true;
    }
    let Some((prefix, tenant, suffix)) = entra_parts(configured.as_str()) else { return false };
    let Some(doc_tenant) = doc.strip_prefix(prefix).and_then(|rest| rest.strip_suffix(suffix))
    else {
        return false;
    };
    let alias = ENTRA_ALIASES.iter().any(|a| a.eq_ignore_ascii_case(tenant));
    // The template only stands for an alias; a GUID may replace an alias or a domain name,
    // never another GUID (that would be a different directory).
    (doc_tenant == TENANT_PLACEHOLDER && alias) || (is_guid(doc_tenant) && !is_guid(tenant))
}

/// Does an ID token's `iss` match the metadata issuer? `tid` is the token's `tid` claim,
/// which names the tenant when the issuer is Entra's `{tenantid}` template.
pub(crate) fn id_token_issuer_matches(expected: &str, iss: &str, tid: Option<&str>) -> bool {
    if iss == expected || (expected == GOOGLE && iss == "accounts.google.com") {
        return true;
    }
    match tid {
        Some(tid) if is_guid(tid) && expected.contains(TENANT_PLACEHOLDER) => {
            iss == expected.replacen(TENANT_PLACEHOLDER, tid, 1)
        }
        _ => false,
    }
}

/// RFC 9207 `iss` on the redirect. Against an Entra template no claim names the tenant,
/// so any GUID in its place is accepted (the ID token's `iss`/`tid` pair is checked later).
pub(crate) fn response_issuer_matches(expected: &str, iss: &str) -> bool {
    if iss == expected {
        return true;
    }
    match expected.split_once(TENANT_PLACEHOLDER) {
        Some((prefix, suffix)) => {
            iss.strip_prefix(prefix).and_then(|r| r.strip_suffix(suffix)).is_some_and(is_guid)
        }
        None => false,
    }
}

/// Equal, or equal but for one trailing slash (`Url` adds one to bare hosts).
fn same_issuer(a: &str, b: &str) -> bool {
    a == b || a.strip_suffix('/') == Some(b) || b.strip_suffix('/') == Some(a)
}

/// `https://login.microsoftonline.com/<tenant>/v2.0` → (`https://<host>/`, tenant, `/v2.0`).
fn entra_parts(issuer: &str) -> Option<(&str, &str, &str)> {
    let rest = issuer.strip_prefix("https://")?;
    let (host, path) = rest.split_once('/')?;
    if !ENTRA_HOSTS.contains(&host) {
        return None;
    }
    let (tenant, suffix) = path.split_once('/')?;
    let prefix = &issuer[..issuer.len() - path.len()];
    Some((prefix, tenant, &issuer[issuer.len() - suffix.len() - 1..]))
}

/// 8-4-4-4-12 hex digits, the form of every Entra tenant id.
fn is_guid(s: &str) -> bool {
    let groups: Vec<&str> = s.split('-').collect();
    groups.len() == 5
        && groups
            .iter()
            .zip([8, 4, 4, 4, 12])
            .all(|(g, n)| g.len() == n && g.bytes().all(|b| b.is_ascii_hexdigit()))
}

#[cfg(test)]
mod tests {
    use super::*;

    const TID: &str = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    const TEMPLATE: &str = "https://login.microsoftonline.com/{tenantid}/v2.0";

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn entra_discovery_for_aliases_domains_and_guids() {
        for alias in ["common", "organizations"] {
            let configured = url(&format!("https://login.microsoftonline.com/{alias}/v2.0"));
            assert!(discovery_issuer_matches(&configured, TEMPLATE), "{alias}");
        }
        // `consumers` documents name the personal-accounts tenant itself.
        let consumers = url("https://login.microsoftonline.com/consumers/v2.0");
        assert!(discovery_issuer_matches(
            &consumers,
            "https://login.microsoftonline.com/9188040d-6c67-4c5b-b112-36a304b66dad/v2.0"
        ));
        let domain = url("https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0");
        assert!(discovery_issuer_matches(
            &domain,
            &format!("https://login.microsoftonline.com/{TID}/v2.0")
        ));
        assert!(!discovery_issuer_matches(&domain, TEMPLATE), "a template for a single directory");
        let guid = url(&format!("https://login.microsoftonline.com/{TID}/v2.0"));
        assert!(discovery_issuer_matches(
            &guid,
            &format!("https://login.microsoftonline.com/{TID}/v2.0")
        ));
        assert!(!discovery_issuer_matches(
            &guid,
            "https://login.microsoftonline.com/00000000-0000-0000-0000-000000000001/v2.0"
        ));
        assert!(!discovery_issuer_matches(&guid, TEMPLATE));
    }

    #[test]
    fn entra_rules_stay_on_entra() {
        let common = url("https://login.microsoftonline.com/common/v2.0");
        assert!(!discovery_issuer_matches(&common, "https://evil.example/{tenantid}/v2.0"));
        assert!(!discovery_issuer_matches(
            &common,
            "https://login.microsoftonline.com/{tenantid}/v1.0"
        ));
        let elsewhere = url("https://idp.example/common/v2.0");
        assert!(!discovery_issuer_matches(&elsewhere, "https://idp.example/{tenantid}/v2.0"));
        assert!(discovery_issuer_matches(&url("https://idp.example"), "https://idp.example/"));
    }

    #[test]
    fn id_token_iss_from_tid() {
        let iss = format!("https://login.microsoftonline.com/{TID}/v2.0");
        assert!(id_token_issuer_matches(TEMPLATE, &iss, Some(TID)));
        // The tenant in `iss` must be the one in `tid`, and `tid` must be a tenant id.
        assert!(!id_token_issuer_matches(
            TEMPLATE,
            &iss,
            Some("9188040d-6c67-4c5b-b112-36a304b66dad")
        ));
        assert!(!id_token_issuer_matches(TEMPLATE, &iss, None));
        assert!(!id_token_issuer_matches(TEMPLATE, "https://evil.example/x/v2.0", Some("x")));
        assert!(!id_token_issuer_matches(
            TEMPLATE,
            TEMPLATE.replace("{tenantid}", "a/b").as_str(),
            Some("a/b")
        ));
        // Without a template, `tid` changes nothing.
        assert!(!id_token_issuer_matches(
            &iss,
            "https://login.microsoftonline.com/other/v2.0",
            Some(TID)
        ));
    }

    #[test]
    fn google_iss_without_scheme() {
        assert!(id_token_issuer_matches(GOOGLE, "accounts.google.com", None));
        assert!(id_token_issuer_matches(GOOGLE, GOOGLE, None));
        assert!(!id_token_issuer_matches("https://idp.example", "idp.example", None));
    }

    #[test]
    fn redirect_iss_against_template() {
        assert!(response_issuer_matches(
            TEMPLATE,
            &format!("https://login.microsoftonline.com/{TID}/v2.0")
        ));
        assert!(!response_issuer_matches(TEMPLATE, "https://login.microsoftonline.com/evil/v2.0"));
        assert!(!response_issuer_matches("https://idp.example", "https://other.example"));
    }
}
