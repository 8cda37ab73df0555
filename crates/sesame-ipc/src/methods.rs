//! The method table: every method's name, access class, params type and result type, in
//! one place. The broker's dispatch and the client are driven by it, and access is *deny
//! unless declared*: a name missing here is `method_not_found`, and no entry can leave out
//! its access class (the macro needs one), so a new method cannot be open by accident.
//! `docs/protocol.md`'s method table lists the same methods (a test keeps them equal).

use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::admin::*;
use crate::consent::*;
use crate::git::*;
use crate::protocol::*;

/// Who may call a method. The broker decides which class a connection is in from the
/// kernel's word on the peer (never from anything the client sends).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Access {
    /// Any program of the user who runs the broker.
    AnyProgram,
    /// Only Sesame's own binaries (the `sesame` CLI, the desktop app): consent, sign-in,
    /// secrets, the log. Anything else gets `forbidden` and a `refused` row in the log.
    SesameOnly,
}

impl Access {
    /// The words `docs/protocol.md` uses in its method table.
    pub fn doc_name(self) -> &'static str {
        match self {
            Access::AnyProgram => "any program",
            Access::SesameOnly => "Sesame only",
        }
    }
}

/// One method of the table, as a type: its name, access class, params and result.
pub trait Method {
    const NAME: &'static str;
    const ACCESS: Access;
    type Params: Serialize + DeserializeOwned;
    type Result: Serialize + DeserializeOwned;
}

macro_rules! method_table {
    ($( $(#[$doc:meta])* $ty:ident, $konst:ident = $name:literal, $access:ident,
        $params:ty => $result:ty; )*) => {
        /// Method names as constants (the same names as [`MethodId::name`]).
        pub mod method {
            $( pub const $konst: &str = $name; )*
        }

        $(
            $(#[$doc])*
            #[derive(Debug, Clone, Copy)]
            pub struct $ty;
            impl Method for $ty {
                const NAME: &'static str = $name;
                const ACCESS: Access = Access::$access;
                type Params = $params;
                type Result = $result;
            }
        )*

        /// Every method of the table, as a value (for dispatch and for tests that loop
        /// over all methods). Each variant is named like its [`Method`] type.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum MethodId { $( $ty, )* }

        impl MethodId {
            pub const ALL: &'static [MethodId] = &[ $( MethodId::$ty, )* ];

            pub fn name(self) -> &'static str {
                match self { $( MethodId::$ty => $name, )* }
            }

            pub fn access(self) -> Access {
                match self { $( MethodId::$ty => Access::$access, )* }
            }

            /// `None` for a name that is not in the table: the broker answers
            /// `method_not_found`, whoever asks.
            pub fn from_name(name: &str) -> Option<MethodId> {
                match name {
                    $( $name => Some(MethodId::$ty), )*
                    _ => None,
                }
            }
        }
    };
}

method_table! {
    /// Optional handshake: the protocol version.
    Hello, HELLO = "hello", AnyProgram, HelloParams => HelloResult;
    ProvidersList, PROVIDERS_LIST = "providers.list", AnyProgram, Empty => ProvidersListResult;
    AccountsList, ACCOUNTS_LIST = "accounts.list", AnyProgram, Empty => AccountsListResult;
    /// An access token, after consent.
    TokenGet, TOKEN_GET = "token.get", AnyProgram, TokenGetParams => TokenResult;
    /// `sesame git-credential get`: the token of the account serving a git host.
    GitCredential, GIT_CREDENTIAL = "git.credential", AnyProgram,
        GitCredentialParams => GitCredentialResult;
    /// `sesame git-credential erase`: only what this program could get is dropped.
    GitErase, GIT_ERASE = "git.erase", AnyProgram, GitEraseParams => GitEraseResult;
    LoginStart, LOGIN_START = "login.start", SesameOnly, LoginStartParams => LoginStartResult;
    LoginDeviceStart, LOGIN_DEVICE_START = "login.device_start", SesameOnly,
        LoginStartParams => LoginDeviceStartResult;
    LoginWait, LOGIN_WAIT = "login.wait", SesameOnly, LoginIdParams => LoginWaitResult;
    LoginCancel, LOGIN_CANCEL = "login.cancel", SesameOnly, LoginIdParams => Empty;
    /// Signs in a machine account (`grant = "client_credentials"`): no browser.
    LoginClientCredentials, LOGIN_CLIENT_CREDENTIALS = "login.client_credentials", SesameOnly,
        ProviderParams => LoginWaitResult;
    AccountLogout, ACCOUNT_LOGOUT = "account.logout", SesameOnly, AccountParams => LogoutResult;
    /// Stores a provider's client secret in the keyring.
    ProviderSetSecret, PROVIDER_SET_SECRET = "provider.set_secret", SesameOnly,
        SetSecretParams => SecretResult;
    ProviderDeleteSecret, PROVIDER_DELETE_SECRET = "provider.delete_secret", SesameOnly,
        ProviderParams => SecretResult;
    PendingList, PENDING_LIST = "pending.list", SesameOnly,
        PendingListParams => PendingListResult;
    PendingAnswer, PENDING_ANSWER = "pending.answer", SesameOnly, PendingAnswerParams => Empty;
    GrantsList, GRANTS_LIST = "grants.list", SesameOnly, GrantsListParams => GrantsListResult;
    GrantsRevoke, GRANTS_REVOKE = "grants.revoke", SesameOnly,
        GrantsRevokeParams => GrantsRevokeResult;
    ActivityList, ACTIVITY_LIST = "activity.list", SesameOnly,
        ActivityPageParams => ActivityListResult;
    /// After its reply, the connection carries only event notifications (see `events`).
    EventsSubscribe, EVENTS_SUBSCRIBE = "events.subscribe", SesameOnly, Empty => Empty;
    /// Reads the config file again and puts it in force if it parses (as SIGHUP does).
    ConfigReload, CONFIG_RELOAD = "config.reload", SesameOnly, Empty => ReloadResult;
    /// Accounts, cached tokens' expiry, waiting questions, lapsing grants: "is it working?".
    BrokerStatus, BROKER_STATUS = "broker.status", SesameOnly, Empty => StatusResult;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_round_trip() {
        let mut seen = std::collections::HashSet::new();
        for &m in MethodId::ALL {
            assert!(seen.insert(m.name()), "{} twice", m.name());
            assert_eq!(MethodId::from_name(m.name()), Some(m));
        }
        assert_eq!(MethodId::from_name("pending.List"), None, "names are exact");
        assert_eq!(MethodId::from_name(""), None);
    }

    #[test]
    fn types_and_values_agree() {
        assert_eq!(TokenGet::NAME, MethodId::TokenGet.name());
        assert_eq!(TokenGet::ACCESS, Access::AnyProgram);
        assert_eq!(EventsSubscribe::NAME, method::EVENTS_SUBSCRIBE);
        assert_eq!(ActivityList::ACCESS, MethodId::ActivityList.access());
    }

    /// The table in `docs/protocol.md` ("Method table") names the same methods with the same
    /// access classes, in the same order.
    #[test]
    fn the_protocol_doc_lists_the_same_methods() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/protocol.md");
        let doc = std::fs::read_to_string(path).expect("docs/protocol.md");
        let section = doc
            .split("\n## Method table\n")
            .nth(1)
            .expect("docs/protocol.md has a `## Method table` section");
        let section = section.split("\n## ").next().unwrap_or_default();
        let documented: Vec<(String, String)> = section
            .lines()
            .filter(|l| l.starts_with("| `"))
            .map(|l| {
                let cells: Vec<&str> = l.split('|').map(str::trim).collect();
                (cells[1].trim_matches('`').to_owned(), cells[2].to_owned())
            })
            .collect();
        let table: Vec<(String, String)> = MethodId::ALL
            .iter()
            .map(|m| (m.name().to_owned(), m.access().doc_name().to_owned()))
            .collect();
        assert_eq!(documented, table, "docs/protocol.md's method table and methods.rs differ");
    }
}
