//! [`Remedy`]: what the user can do about an error, as data.
//!
//! The broker's error messages say what went wrong in words that fit any front end; the
//! remedy says what to do next, and each front end renders it in its own words: the socket
//! (read by programs in a terminal, and by the `sesame` CLI) with [`Remedy::cli_words`], the
//! desktop app with its pages and buttons. An error reply carries it in `error.data.remedy`.

use serde::{Deserialize, Serialize};

#[cfg_attr(feature = "ts", derive(ts_rs::TS))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "do", rename_all = "snake_case")]
pub enum Remedy {
    /// Add an account (of `provider` when known).
    SignIn {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        provider: Option<String>,
    },
    /// The account's refresh token is gone or refused: sign in to `provider` again.
    SignInAgain { provider: String },
    /// Sign in in the browser: the device flow is not offered.
    SignInInBrowser { provider: String },
    /// The name matched several accounts: name one of these ids.
    NameAccount { ids: Vec<String> },
    /// Answer question `pending` again, choosing one of the accounts it offers (`ids`).
    ChooseAccount { pending: u64, ids: Vec<String> },
    /// Look at the account list (the name matched none).
    ListAccounts,
    /// Answer the waiting question while it waits.
    AnswerPending,
    /// Look at the waiting questions (this one is gone).
    ListPending,
    /// Look at what is allowed.
    ListGrants,
    /// The program asked without waiting and no grant covers it: run it once where the
    /// user can answer, and allow it for a time or always.
    AllowProgram,
    /// Store (or replace) the provider's client secret.
    StoreSecret { provider: String },
}

impl Remedy {
    /// The remedy as a terminal user does it: with the `sesame` CLI.
    pub fn cli_words(&self) -> String {
        match self {
            Remedy::SignIn { provider: Some(p) } => format!("run `sesame login {p}`"),
            Remedy::SignIn { provider: None } => "start one with `sesame login <provider>`".into(),
            Remedy::SignInAgain { provider } => format!("run `sesame login {provider}`"),
            Remedy::SignInInBrowser { provider } => {
                format!("sign in in the browser instead with `sesame login {provider}`")
            }
            Remedy::NameAccount { .. } => "name one of them by its account id".into(),
            Remedy::ChooseAccount { pending, ids } => format!(
                "choose one with `sesame approve {pending} --account <id>` ({})",
                ids.join(", ")
            ),
            Remedy::ListAccounts => {
                "`sesame accounts` lists them, `sesame login <provider>` adds one".into()
            }
            Remedy::AnswerPending => {
                "answer with `sesame pending` and `sesame approve <id>` while the request waits"
                    .into()
            }
            Remedy::ListPending => "`sesame pending` lists them".into(),
            Remedy::ListGrants => "`sesame grants` shows what is allowed".into(),
            Remedy::AllowProgram => "to allow it, run it once where you can answer (without `--no-wait`) and approve it for a time or always, in the Sesame app or with `sesame pending` and `sesame approve <id> --for 8h` (or `--remember`)".into(),
            Remedy::StoreSecret { provider } => {
                format!("`sesame secret set {provider}` stores it (paste it when asked)")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tagged_on_the_wire() {
        let r = Remedy::SignInAgain { provider: "work".into() };
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json, serde_json::json!({"do": "sign_in_again", "provider": "work"}));
        assert_eq!(serde_json::from_value::<Remedy>(json).unwrap(), r);
        assert_eq!(r.cli_words(), "run `sesame login work`");
    }
}
