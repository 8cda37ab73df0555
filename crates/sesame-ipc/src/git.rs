//! The git credential methods (`git.credential`, `git.erase`): what `sesame git-credential`
//! sends for git's `get` and `erase` (gitcredentials(7)), and what it gets back.

use serde::{Deserialize, Serialize};

use crate::protocol::TokenResult;

/// `git.credential`: a token for the account that signs in to `host`, after consent.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitCredentialParams {
    /// As git sends it: `github.com`, `127.0.0.1:8123`.
    pub host: String,
    /// git's `username=` (from the URL or `credential.<url>.username`): picks the account
    /// whose e-mail, name, subject or id it is; the provider's `git_username` picks none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// The repository git names (`path`, else the URL), shown in the consent question only.
    /// Told by the program, not vouched for by the kernel: it never changes what is granted
    /// (grants stay per program).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub repository: Option<String>,
}

/// `credential` is `None` when no provider serves the host (git then tries its next helper).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GitCredentialResult {
    #[serde(default)]
    pub credential: Option<GitCredential>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GitCredential {
    /// The provider's `git_username` (GitHub `x-access-token`, GitLab `oauth2`).
    pub username: String,
    /// The token, as `token.get` answers it; `expires_at` becomes `password_expiry_utc`.
    pub token: TokenResult,
}

/// `git.erase`: the host rejected the token; drop the cached tokens of the host's accounts
/// this program holds a grant for, so its next `git.credential` refreshes.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitEraseParams {
    pub host: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GitEraseResult {
    /// The accounts whose cached tokens were dropped (none: nothing this program may erase).
    pub accounts: Vec<String>,
}
