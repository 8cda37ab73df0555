//! Method name → broker call. Params are decoded strictly; a mismatch is `bad_request`.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;
use sesame_ipc::consent::*;
use sesame_ipc::protocol::*;
use sesame_ipc::{ErrorKind, RpcError};

use crate::broker::Broker;
use crate::policy::Caller;

/// Methods only Sesame's own binaries (the CLI, the app) may call: answering, listing and
/// revoking consent, signing accounts in and out, and storing client secrets.
const MANAGEMENT: &[&str] = &[
    method::PENDING_LIST,
    method::PENDING_ANSWER,
    method::GRANTS_LIST,
    method::GRANTS_REVOKE,
    method::ACTIVITY_LIST,
    method::LOGIN_START,
    method::LOGIN_DEVICE_START,
    method::LOGIN_WAIT,
    method::LOGIN_CANCEL,
    method::ACCOUNT_LOGOUT,
    method::LOGIN_CLIENT_CREDENTIALS,
    method::PROVIDER_SET_SECRET,
    method::PROVIDER_DELETE_SECRET,
    method::EVENTS_SUBSCRIBE,
];

pub async fn dispatch(broker: &Arc<Broker>, caller: &Caller, request: Request) -> Response {
    let id = request.id.clone();
    if MANAGEMENT.contains(&request.method.as_str()) && !caller.management {
        tracing::warn!(app = %caller.app.key, method = %request.method, "refused a management call");
        broker.refused(Some(&caller.app), format!("management call {}", request.method)).await;
        let message = format!(
            "only Sesame's own tools may call `{}`; {} is not one of them",
            request.method, caller.app.name
        );
        return Response::err(id, RpcError::new(ErrorKind::Forbidden, message));
    }
    match call(broker, caller, &request).await {
        Ok(result) => Response::ok(id, result),
        Err(error) => {
            tracing::debug!(method = %request.method, kind = error.kind().as_str(), "request failed");
            Response::err(id, error)
        }
    }
}

async fn call(broker: &Arc<Broker>, caller: &Caller, request: &Request) -> Result<Value, RpcError> {
    let p = &request.params;
    match request.method.as_str() {
        method::HELLO => {
            let _: HelloParams = params(p)?;
            reply(broker.hello())
        }
        method::PROVIDERS_LIST => {
            let _: Empty = params(p)?;
            reply(ProvidersListResult { providers: broker.providers() })
        }
        method::ACCOUNTS_LIST => {
            let _: Empty = params(p)?;
            reply(AccountsListResult { accounts: broker.accounts() })
        }
        method::TOKEN_GET => {
            let p: TokenGetParams = params(p)?;
            reply(broker.token(caller, &p).await?)
        }
        method::LOGIN_START => {
            let p: LoginStartParams = params(p)?;
            reply(broker.login_start(&p.provider).await?)
        }
        method::LOGIN_DEVICE_START => {
            let p: LoginStartParams = params(p)?;
            reply(broker.login_device_start(&p.provider).await?)
        }
        method::LOGIN_WAIT => {
            let p: LoginIdParams = params(p)?;
            reply(LoginWaitResult { account: broker.login_wait(&p.login_id).await? })
        }
        method::LOGIN_CANCEL => {
            let p: LoginIdParams = params(p)?;
            broker.login_cancel(&p.login_id)?;
            reply(Empty {})
        }
        method::ACCOUNT_LOGOUT => {
            let p: AccountParams = params(p)?;
            reply(broker.logout(&p.account).await?)
        }
        method::LOGIN_CLIENT_CREDENTIALS => {
            let p: ProviderParams = params(p)?;
            reply(LoginWaitResult { account: broker.login_client_credentials(&p.provider).await? })
        }
        method::PROVIDER_SET_SECRET => {
            // The secret is never logged: not here, not in `params`' errors (a `Secret`
            // deserializes from any string, so no serde message quotes it).
            let p: SetSecretParams = params(p)?;
            reply(broker.set_client_secret(&p.provider, &p.secret).await?)
        }
        method::PROVIDER_DELETE_SECRET => {
            let p: ProviderParams = params(p)?;
            reply(broker.delete_client_secret(&p.provider).await?)
        }
        method::PENDING_LIST => {
            let _: Empty = params(p)?;
            reply(PendingListResult { pending: broker.pending_list() })
        }
        method::PENDING_ANSWER => {
            let p: PendingAnswerParams = params(p)?;
            broker.answer_pending(caller, p.id, p.decision).await?;
            reply(Empty {})
        }
        method::GRANTS_LIST => {
            let _: Empty = params(p)?;
            reply(GrantsListResult { grants: broker.grants_list().await? })
        }
        method::GRANTS_REVOKE => {
            let p: GrantsRevokeParams = params(p)?;
            reply(GrantsRevokeResult { revoked: broker.revoke_grants(&p).await? })
        }
        method::ACTIVITY_LIST => {
            let p: ActivityListParams = params(p)?;
            reply(ActivityListResult { activity: broker.activity_list(&p).await? })
        }
        method::EVENTS_SUBSCRIBE => {
            // The connection switches to events after this reply (see `connection.rs`).
            let _: Empty = params(p)?;
            reply(Empty {})
        }
        other => Err(RpcError::new(
            ErrorKind::MethodNotFound,
            format!("there is no method `{other}`; see docs/protocol.md for the list"),
        )),
    }
}

/// Absent params count as `{}`.
fn params<T: DeserializeOwned>(value: &Value) -> Result<T, RpcError> {
    let value = if value.is_null() { Value::Object(Default::default()) } else { value.clone() };
    serde_json::from_value(value)
        .map_err(|e| RpcError::new(ErrorKind::BadRequest, format!("invalid params: {e}")))
}

fn reply<T: Serialize>(result: T) -> Result<Value, RpcError> {
    serde_json::to_value(result)
        .map_err(|e| RpcError::new(ErrorKind::Internal, format!("cannot encode the reply: {e}")))
}
