//! Sesame's wire protocol. This crate is the only place that knows the bytes on the socket:
//! JSON-RPC 2.0, one object per line; requests capped at [`MAX_FRAME`], replies at
//! [`MAX_REPLY`].
//!
//! - [`methods`]: the method table (name, access class, params and result of each method).
//! - [`protocol`]: envelopes, params and results, error kinds.
//! - [`consent`]: the types of per-app consent (pending requests, grants, activity, and the
//!   content a grant is bound to).
//! - [`admin`]: the broker's own state (`config.reload`, `broker.status`).
//! - [`events`]: what the broker tells subscribers (pending requests, re-auth needed, ...).
//! - [`git`]: the git credential methods' params and results.
//! - [`codec`]: the bounded line codecs (requests for the broker, replies for clients).
//! - [`client`]: the async client the CLI (and anyone in Rust) uses.
//! - [`secret`]: the `Secret` newtype for tokens.
//! - [`ScopeSet`]: a set of OAuth scopes; [`Remedy`]: what to do about an error, as data.

pub mod admin;
pub mod client;
pub mod codec;
pub mod consent;
mod content;
pub mod events;
pub mod git;
pub mod methods;
pub mod protocol;
mod remedy;
mod scope;
pub mod secret;
mod token;

pub use client::{Client, ClientError};
pub use protocol::{ErrorKind, RpcError, PROTOCOL_VERSION};
pub use remedy::Remedy;
pub use scope::{space_joined, ScopeSet};
pub use secret::Secret;

/// Largest request (one JSON line, without the newline) the broker accepts: 64 KiB.
pub const MAX_FRAME: usize = 64 * 1024;

/// Largest reply line a client accepts: 64 MiB. Only a sanity bound against a broken peer:
/// list methods page, so the broker's biggest reply (a page of 100 requests or grants whose
/// programs carry 256 KiB icons, or 1 000 log rows) stays far below it.
pub const MAX_REPLY: usize = 64 * 1024 * 1024;
