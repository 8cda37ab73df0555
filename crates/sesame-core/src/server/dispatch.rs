//! Method → broker call, driven by the method table (`sesame_ipc::methods`): a name the
//! table does not have is `method_not_found`, every method's access class is checked before
//! its params are read, and each arm decodes the table's params type and must answer its
//! result type. Params are decoded strictly; a mismatch is `bad_request`.

use std::sync::Arc;

use serde_json::Value;
use sesame_ipc::consent::*;
use sesame_ipc::methods::{self as m, Access, Method, MethodId};
use sesame_ipc::protocol::*;
use sesame_ipc::{ErrorKind, RpcError};

use crate::broker::Broker;
use crate::now_unix;
use crate::policy::{Asker, Caller};

/// Answers `request` of `caller`; `asker` is what a request waiting for the user watches
/// (its connection and process), so that it stops waiting when they are gone.
pub async fn dispatch(
    broker: &Arc<Broker>,
    caller: &Caller,
    asker: Asker<'_>,
    request: Request,
) -> Response {
    let id = request.id.clone();
    let Some(method) = MethodId::from_name(&request.method) else {
        let message =
            format!("there is no method `{}`; see docs/protocol.md for the list", request.method);
        return Response::err(id, RpcError::new(ErrorKind::MethodNotFound, message));
    };
    if !may_call(caller, method.access()) {
        tracing::warn!(app = %caller.app.key, method = method.name(), "refused a management call");
        broker.refused(Some(&caller.app), format!("management call {}", method.name())).await;
        let message = format!(
            "only Sesame's own tools may call `{}`; {} is not one of them",
            method.name(),
            caller.app.name
        );
        return Response::err(id, RpcError::new(ErrorKind::Forbidden, message));
    }
    match call(broker, caller, asker, method, &request.params).await {
        Ok(result) => Response::ok(id, result),
        Err(error) => {
            tracing::debug!(method = method.name(), kind = error.kind().as_str(), "request failed");
            Response::err(id, error)
        }
    }
}

/// Whether `caller` is in the method's access class. A match, not a default: a new class
/// has to be decided here.
fn may_call(caller: &Caller, access: Access) -> bool {
    match access {
        Access::AnyProgram => true,
        Access::SesameOnly => caller.management,
    }
}

async fn call(
    broker: &Arc<Broker>,
    caller: &Caller,
    asker: Asker<'_>,
    method: MethodId,
    p: &Value,
) -> Result<Value, RpcError> {
    match method {
        MethodId::Hello => {
            params::<m::Hello>(p)?;
            reply::<m::Hello>(broker.hello())
        }
        MethodId::ProvidersList => {
            params::<m::ProvidersList>(p)?;
            reply::<m::ProvidersList>(ProvidersListResult { providers: broker.providers() })
        }
        MethodId::AccountsList => {
            params::<m::AccountsList>(p)?;
            reply::<m::AccountsList>(AccountsListResult { accounts: broker.accounts_for(caller) })
        }
        MethodId::TokenGet => {
            let p = params::<m::TokenGet>(p)?;
            reply::<m::TokenGet>(broker.token(caller, asker, &p).await?)
        }
        MethodId::GitCredential => {
            let p = params::<m::GitCredential>(p)?;
            reply::<m::GitCredential>(broker.git_credential(caller, asker, &p).await?)
        }
        MethodId::GitErase => {
            let p = params::<m::GitErase>(p)?;
            reply::<m::GitErase>(broker.git_erase(caller, &p)?)
        }
        MethodId::LoginStart => {
            let p = params::<m::LoginStart>(p)?;
            reply::<m::LoginStart>(broker.login_start(&p.provider).await?)
        }
        MethodId::LoginDeviceStart => {
            let p = params::<m::LoginDeviceStart>(p)?;
            reply::<m::LoginDeviceStart>(broker.login_device_start(&p.provider).await?)
        }
        MethodId::LoginWait => {
            let p = params::<m::LoginWait>(p)?;
            let account = broker.login_wait(&p.login_id).await?;
            reply::<m::LoginWait>(LoginWaitResult { account })
        }
        MethodId::LoginCancel => {
            let p = params::<m::LoginCancel>(p)?;
            broker.login_cancel(&p.login_id)?;
            reply::<m::LoginCancel>(Empty {})
        }
        MethodId::LoginClientCredentials => {
            let p = params::<m::LoginClientCredentials>(p)?;
            let account = broker.login_client_credentials(&p.provider).await?;
            reply::<m::LoginClientCredentials>(LoginWaitResult { account })
        }
        MethodId::AccountLogout => {
            let p = params::<m::AccountLogout>(p)?;
            reply::<m::AccountLogout>(broker.logout(&p.account).await?)
        }
        MethodId::ProviderSetSecret => {
            // The secret is never logged: not here, not in `params`' errors (a `Secret`
            // deserializes from any string, so no serde message quotes it).
            let p = params::<m::ProviderSetSecret>(p)?;
            reply::<m::ProviderSetSecret>(broker.set_client_secret(&p.provider, &p.secret).await?)
        }
        MethodId::ProviderDeleteSecret => {
            let p = params::<m::ProviderDeleteSecret>(p)?;
            reply::<m::ProviderDeleteSecret>(broker.delete_client_secret(&p.provider).await?)
        }
        MethodId::PendingList => {
            let p = params::<m::PendingList>(p)?;
            reply::<m::PendingList>(broker.pending_page(&p))
        }
        MethodId::PendingAnswer => {
            let p = params::<m::PendingAnswer>(p)?;
            broker.answer_pending(caller, &p).await?;
            reply::<m::PendingAnswer>(Empty {})
        }
        MethodId::GrantsList => {
            let p = params::<m::GrantsList>(p)?;
            reply::<m::GrantsList>(broker.grants_page(&p).await?)
        }
        MethodId::GrantsRevoke => {
            let p = params::<m::GrantsRevoke>(p)?;
            reply::<m::GrantsRevoke>(GrantsRevokeResult {
                revoked: broker.revoke_grants(&p).await?,
            })
        }
        MethodId::ActivityList => {
            let p = params::<m::ActivityList>(p)?;
            reply::<m::ActivityList>(broker.activity_page(&p).await?)
        }
        MethodId::EventsSubscribe => {
            // The connection switches to events after this reply (see `connection.rs`).
            params::<m::EventsSubscribe>(p)?;
            reply::<m::EventsSubscribe>(Empty {})
        }
        MethodId::ConfigReload => {
            params::<m::ConfigReload>(p)?;
            reply::<m::ConfigReload>(broker.reload_config().await?)
        }
        MethodId::BrokerStatus => {
            params::<m::BrokerStatus>(p)?;
            reply::<m::BrokerStatus>(broker.status(now_unix()))
        }
    }
}

/// The method's params, from the table's type. Absent params count as `{}`.
fn params<M: Method>(value: &Value) -> Result<M::Params, RpcError> {
    let value = if value.is_null() { Value::Object(Default::default()) } else { value.clone() };
    serde_json::from_value(value)
        .map_err(|e| RpcError::new(ErrorKind::BadRequest, format!("invalid params: {e}")))
}

/// Decodes `p` as `method`'s params exactly as [`call`] does and encodes what it read again,
/// for the fuzz target (feature `fuzzing`), which checks that the encoding decodes too.
#[cfg(feature = "fuzzing")]
pub(crate) fn decode_params(method: MethodId, p: &Value) -> Result<Value, RpcError> {
    fn again<M: Method>(p: &Value) -> Result<Value, RpcError> {
        let decoded = params::<M>(p)?;
        serde_json::to_value(decoded).map_err(|e| {
            RpcError::new(ErrorKind::Internal, format!("cannot encode the params: {e}"))
        })
    }
    match method {
        MethodId::Hello => again::<m::Hello>(p),
        MethodId::ProvidersList => again::<m::ProvidersList>(p),
        MethodId::AccountsList => again::<m::AccountsList>(p),
        MethodId::TokenGet => again::<m::TokenGet>(p),
        MethodId::GitCredential => again::<m::GitCredential>(p),
        MethodId::GitErase => again::<m::GitErase>(p),
        MethodId::LoginStart => again::<m::LoginStart>(p),
        MethodId::LoginDeviceStart => again::<m::LoginDeviceStart>(p),
        MethodId::LoginWait => again::<m::LoginWait>(p),
        MethodId::LoginCancel => again::<m::LoginCancel>(p),
        MethodId::LoginClientCredentials => again::<m::LoginClientCredentials>(p),
        MethodId::AccountLogout => again::<m::AccountLogout>(p),
        MethodId::ProviderSetSecret => again::<m::ProviderSetSecret>(p),
        MethodId::ProviderDeleteSecret => again::<m::ProviderDeleteSecret>(p),
        MethodId::PendingList => again::<m::PendingList>(p),
        MethodId::PendingAnswer => again::<m::PendingAnswer>(p),
        MethodId::GrantsList => again::<m::GrantsList>(p),
        MethodId::GrantsRevoke => again::<m::GrantsRevoke>(p),
        MethodId::ActivityList => again::<m::ActivityList>(p),
        MethodId::EventsSubscribe => again::<m::EventsSubscribe>(p),
        MethodId::ConfigReload => again::<m::ConfigReload>(p),
        MethodId::BrokerStatus => again::<m::BrokerStatus>(p),
    }
}

/// The method's result, of the table's type.
fn reply<M: Method>(result: M::Result) -> Result<Value, RpcError> {
    serde_json::to_value(result)
        .map_err(|e| RpcError::new(ErrorKind::Internal, format!("cannot encode the reply: {e}")))
}
