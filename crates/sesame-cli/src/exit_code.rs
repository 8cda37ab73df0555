//! `sesame token`'s exit codes, so a script or cron job can branch on why it got no token.
//! README's "Commands" and `sesame token --help` list them; keep the three in step.

use std::process::ExitCode;

use sesame_ipc::{ClientError, ErrorKind};

/// No grant covers the program and nobody said yes: allow it where you can answer.
pub const CONSENT_NEEDED: u8 = 3;
/// The account must sign in again (`sesame login <provider>`).
pub const REAUTH_NEEDED: u8 = 4;
/// The provider could not be reached and no cached token was left.
pub const PROVIDER_UNREACHABLE: u8 = 5;

/// 1 for every error but the three a script can act on. (2 is clap's: bad usage.)
pub fn of_token_error(e: &anyhow::Error) -> ExitCode {
    let kind = e.downcast_ref::<ClientError>().and_then(ClientError::kind);
    ExitCode::from(kind.map_or(1, code_of))
}

fn code_of(kind: ErrorKind) -> u8 {
    match kind {
        ErrorKind::ConsentRequired | ErrorKind::ConsentDenied | ErrorKind::ConsentTimeout => {
            CONSENT_NEEDED
        }
        ErrorKind::ReauthRequired => REAUTH_NEEDED,
        ErrorKind::ProviderUnreachable => PROVIDER_UNREACHABLE,
        _ => 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sesame_ipc::RpcError;

    #[test]
    fn distinct_codes_for_what_a_script_can_act_on() {
        let rpc = |kind| anyhow::Error::from(ClientError::from(RpcError::new(kind, "x")));
        for (kind, code) in [
            (ErrorKind::ConsentRequired, 3),
            (ErrorKind::ConsentTimeout, 3),
            (ErrorKind::ReauthRequired, 4),
            (ErrorKind::ProviderUnreachable, 5),
            (ErrorKind::NoSuchAccount, 1),
        ] {
            assert_eq!(of_token_error(&rpc(kind)), ExitCode::from(code), "{kind:?}");
        }
        assert_eq!(of_token_error(&anyhow::anyhow!("no broker")), ExitCode::from(1));
    }
}
