//! Client secrets: stored in the keyring by `provider.set_secret` (the `sesame secret set`
//! command), read from there whenever a token request needs one.
//!
//! Which providers take a secret, and how it is sent, is [`ProviderConfig::secret_placement`]:
//! machine accounts (`grant = "client_credentials"`), GitHub and Google. Only Google's may
//! also be in the config file (Google documents desktop-app secrets as not confidential);
//! the keyring's wins when both exist. A secret never goes to SQLite, a log line, an error
//! message or a reply.

use sesame_ipc::protocol::SecretResult;

use super::Broker;
use crate::config::{is_provider_id, ProviderConfig};
use crate::error::BrokerError;
use crate::keyring::client_secret_key;
use crate::oauth::{OAuthClient, OAuthError};
use crate::Secret;

/// Longer than any provider's secret; a guard against pasting a file by mistake.
const MAX_SECRET_LEN: usize = 4096;

impl Broker {
    /// `provider.set_secret`: stores (or replaces) the provider's client secret in the keyring.
    pub async fn set_client_secret(
        &self,
        provider_id: &str,
        secret: &Secret,
    ) -> Result<SecretResult, BrokerError> {
        let provider = self.provider(provider_id)?;
        if provider.secret_placement().is_none() {
            return Err(BrokerError::BadRequest(format!(
                "provider `{provider_id}` signs in as a public client (PKCE) and uses no client secret, so none was stored; only machine accounts (grant = \"client_credentials\") and the google and github presets use one"
            )));
        }
        let secret = Secret::new(secret.expose().trim());
        check_secret(&secret)?;
        let key = client_secret_key(provider_id);
        let existed = self.keyring.get(&key).await?.is_some();
        self.keyring.set(&key, &secret).await?;
        tracing::info!(
            provider = provider_id,
            replaced = existed,
            "client secret stored in the keyring"
        );
        Ok(SecretResult { provider: provider_id.to_owned(), existed })
    }

    /// `provider.delete_secret`: removes the provider's client secret from the keyring. The
    /// provider need not be in the config any more (a leftover secret can be removed), and
    /// a machine account's cached tokens go with it: it cannot renew them now.
    pub async fn delete_client_secret(
        &self,
        provider_id: &str,
    ) -> Result<SecretResult, BrokerError> {
        if !is_provider_id(provider_id) {
            return Err(BrokerError::BadRequest(format!("`{provider_id}` is not a provider id (a-z, 0-9, `_` and `-`); `sesame providers` lists them")));
        }
        let existed = self.keyring.delete(&client_secret_key(provider_id)).await?;
        if self.config().provider(provider_id).is_some_and(ProviderConfig::is_machine) {
            for account in self.accounts().iter().filter(|a| a.provider == provider_id) {
                self.forget_cached(&account.id);
            }
        }
        tracing::info!(provider = provider_id, existed, "client secret deleted from the keyring");
        Ok(SecretResult { provider: provider_id.to_owned(), existed })
    }

    /// Who Sesame is at `provider`'s token and revocation endpoints: a public client, or the
    /// client with its secret from the keyring (Google: else the config's).
    pub(crate) async fn oauth_client(
        &self,
        provider: &ProviderConfig,
    ) -> Result<OAuthClient, BrokerError> {
        let Some(placement) = provider.secret_placement() else {
            return Ok(OAuthClient::public(&provider.client_id));
        };
        let secret = match self.keyring.get(&client_secret_key(&provider.id)).await? {
            Some(secret) => secret,
            None => {
                provider.client_secret.clone().ok_or_else(|| BrokerError::ClientSecretMissing {
                    provider: provider.id.clone(),
                    hint: provider.client_secret_source().to_owned(),
                })?
            }
        };
        Ok(OAuthClient::with_secret(&provider.client_id, secret, placement))
    }
}

/// The provider's `invalid_client` for a client that sent a secret means the secret (or the
/// client id) is wrong: say how to fix it. Other errors pass unchanged.
pub(crate) fn client_error(
    provider: &ProviderConfig,
    client: &OAuthClient,
    e: OAuthError,
) -> BrokerError {
    match e {
        OAuthError::Provider { error, description }
            if client.has_secret() && error == "invalid_client" =>
        {
            let detail = match description {
                Some(d) => format!("invalid_client: {d}"),
                None => "invalid_client".into(),
            };
            BrokerError::ClientRejected { provider: provider.id.clone(), detail }
        }
        other => other.into(),
    }
}

/// Plausibility only: a secret is one line of printable text. The message never quotes it.
fn check_secret(secret: &Secret) -> Result<(), BrokerError> {
    let s = secret.expose();
    if s.is_empty() {
        return Err(BrokerError::BadRequest(
            "the client secret is empty; paste the secret from the provider's app registration"
                .into(),
        ));
    }
    if s.len() > MAX_SECRET_LEN {
        return Err(BrokerError::BadRequest(format!("the client secret is longer than {MAX_SECRET_LEN} bytes, which no provider issues; paste just the secret")));
    }
    if s.chars().any(char::is_control) {
        return Err(BrokerError::BadRequest(
            "the client secret contains control characters or line breaks; paste it as one line"
                .into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::Path;
    use std::sync::Arc;
    use std::time::Duration;

    use sesame_ipc::ErrorKind;

    use super::*;
    use crate::config::Config;
    use crate::db::Db;
    use crate::keyring::{Keyring, MemoryStore, SecretStore};
    use crate::oauth::SecretPlacement;

    const CONFIG: &str = "[[provider]]\nid = \"machine\"\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"machine-client\"\ngrant = \"client_credentials\"\nscopes = [\"api:read\"]\n\n\
        [[provider]]\nid = \"g\"\npreset = \"google\"\nclient_id = \"cid\"\n\n\
        [[provider]]\nid = \"g2\"\npreset = \"google\"\nclient_id = \"cid\"\nclient_secret = \"GOCSPX-config\"\n\n\
        [[provider]]\nid = \"gh\"\npreset = \"github\"\nclient_id = \"cid\"\n\n\
        [[provider]]\nid = \"local\"\nissuer = \"http://127.0.0.1:1\"\nclient_id = \"c\"\nscopes = [\"openid\"]\n";

    fn broker() -> (Arc<Broker>, Arc<MemoryStore>) {
        let store = Arc::new(MemoryStore::default());
        let keyring = Keyring::new(store.clone(), Duration::from_secs(1));
        let config = Config::parse(CONFIG, Path::new("test.toml")).unwrap();
        (Broker::new(config, Db::open_in_memory().unwrap(), keyring).unwrap(), store)
    }

    fn secret_of(client: &OAuthClient) -> String {
        // The only way to see it is the request: the form for google and github.
        client
            .form_fields()
            .into_iter()
            .find(|(k, _)| *k == "client_secret")
            .map(|(_, v)| v.to_owned())
            .unwrap_or_default()
    }

    #[tokio::test]
    async fn set_stores_in_the_keyring_under_its_own_key() {
        let (b, store) = broker();
        let r = b.set_client_secret("machine", &Secret::new("  machine-secret\n")).await.unwrap();
        assert_eq!((r.provider.as_str(), r.existed), ("machine", false));
        assert_eq!(
            store.get("client-secret:machine").unwrap().unwrap().expose(),
            "machine-secret",
            "trimmed"
        );
        let r = b.set_client_secret("machine", &Secret::new("rotated")).await.unwrap();
        assert!(r.existed, "a second set replaces");
        assert_eq!(store.get("client-secret:machine").unwrap().unwrap().expose(), "rotated");
        let client = b.oauth_client(&b.provider("machine").unwrap()).await.unwrap();
        assert!(
            client.has_secret() && client.form_fields().is_empty(),
            "machine clients use HTTP Basic"
        );

        let r = b.delete_client_secret("machine").await.unwrap();
        assert!(r.existed && store.get("client-secret:machine").unwrap().is_none());
        assert!(!b.delete_client_secret("machine").await.unwrap().existed);
        // A leftover of a provider no longer configured can go too; nonsense ids cannot.
        assert!(!b.delete_client_secret("gone").await.unwrap().existed);
        assert_eq!(b.delete_client_secret("a:b").await.unwrap_err().kind(), ErrorKind::BadRequest);
    }

    #[tokio::test]
    async fn refusals_never_quote_the_secret() {
        let (b, store) = broker();
        let e = b.set_client_secret("local", &Secret::new("s3cr3t")).await.unwrap_err();
        assert!(
            e.kind() == ErrorKind::BadRequest && wire(&e).contains("public client"),
            "{}",
            wire(&e)
        );
        assert_eq!(
            b.set_client_secret("nope", &Secret::new("s3cr3t")).await.unwrap_err().kind(),
            ErrorKind::NoSuchProvider
        );
        for bad in ["   ", "two\nlines-s3cr3t", &"x".repeat(5000)] {
            let e = b.set_client_secret("machine", &Secret::new(bad)).await.unwrap_err();
            assert!(
                e.kind() == ErrorKind::BadRequest && !wire(&e).contains("s3cr3t"),
                "{}",
                wire(&e)
            );
        }
        assert!(
            store.get("client-secret:machine").unwrap().is_none()
                && store.get("client-secret:local").unwrap().is_none()
        );
        store.unavailable.store(true, std::sync::atomic::Ordering::SeqCst);
        let e = b.set_client_secret("machine", &Secret::new("s3cr3t")).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::KeyringUnavailable);
    }

    /// Without a stored secret, the error says where to find one and how to store it (for
    /// Google: what the config check used to say, now at sign-in time).
    #[tokio::test]
    async fn a_missing_secret_says_what_to_do() {
        let (b, _) = broker();
        let e = b.oauth_client(&b.provider("g").unwrap()).await.unwrap_err();
        let msg = wire(&e);
        assert_eq!(e.kind(), ErrorKind::ClientSecretMissing);
        assert!(
            msg.contains("provider `g` needs a client secret")
                && msg.contains("Desktop app")
                && msg.contains("`sesame secret set g`"),
            "{msg}"
        );
        let e = b.oauth_client(&b.provider("gh").unwrap()).await.unwrap_err();
        assert!(
            wire(&e).contains("settings page") && wire(&e).contains("`sesame secret set gh`"),
            "{}",
            wire(&e)
        );
        let e = b.oauth_client(&b.provider("machine").unwrap()).await.unwrap_err();
        assert!(wire(&e).contains("`sesame secret set machine`"), "{}", wire(&e));
        // Public clients need nothing.
        assert!(!b.oauth_client(&b.provider("local").unwrap()).await.unwrap().has_secret());
    }

    #[tokio::test]
    async fn google_prefers_the_keyring_over_the_config() {
        let (b, _) = broker();
        assert_eq!(
            secret_of(&b.oauth_client(&b.provider("g2").unwrap()).await.unwrap()),
            "GOCSPX-config"
        );
        b.set_client_secret("g2", &Secret::new("GOCSPX-keyring")).await.unwrap();
        assert_eq!(
            secret_of(&b.oauth_client(&b.provider("g2").unwrap()).await.unwrap()),
            "GOCSPX-keyring"
        );
        b.set_client_secret("gh", &Secret::new("gh-secret")).await.unwrap();
        assert_eq!(
            secret_of(&b.oauth_client(&b.provider("gh").unwrap()).await.unwrap()),
            "gh-secret"
        );
    }

    #[test]
    fn invalid_client_with_a_secret_points_to_secret_set() {
        let config = Config::parse(CONFIG, Path::new("test.toml")).unwrap();
        let p = config.provider("machine").unwrap();
        let with =
            OAuthClient::with_secret("machine-client", Secret::new("x"), SecretPlacement::Basic);
        let e = client_error(
            p,
            &with,
            OAuthError::from_oauth_error("invalid_client", Some("client authentication failed")),
        );
        assert_eq!(e.kind(), ErrorKind::ProviderError);
        assert!(
            wire(&e).contains("invalid_client: client authentication failed")
                && wire(&e).contains("`sesame secret set machine`"),
            "{}",
            wire(&e)
        );
        let public = OAuthClient::public("c");
        let e = client_error(p, &public, OAuthError::from_oauth_error("invalid_client", None));
        assert!(matches!(e, BrokerError::OAuth(_)), "{}", wire(&e));
    }

    /// What the socket (and so the CLI) says: the message with its remedy.
    fn wire(e: &BrokerError) -> String {
        sesame_ipc::RpcError::from(e).message
    }
}
