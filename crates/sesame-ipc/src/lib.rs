//! Sesame's wire protocol. This crate is the only place that knows the bytes on the socket:
//! JSON-RPC 2.0, one object per line, lines capped at [`MAX_FRAME`].
//!
//! - [`protocol`]: method names, params and results, error kinds.
//! - [`consent`]: the types of per-app consent (pending requests, grants, activity).
//! - [`events`]: what the broker tells subscribers (pending requests, re-auth needed, ...).
//! - [`codec`]: the bounded line codec both sides use.
//! - [`client`]: the async client the CLI (and anyone in Rust) uses.
//! - [`secret`]: the `Secret` newtype for tokens.
//! - [`ScopeSet`]: a set of OAuth scopes; [`Remedy`]: what to do about an error, as data.

pub mod client;
pub mod codec;
pub mod consent;
pub mod events;
pub mod protocol;
mod remedy;
mod scope;
pub mod secret;

pub use client::{Client, ClientError};
pub use protocol::{ErrorKind, RpcError, PROTOCOL_VERSION};
pub use remedy::Remedy;
pub use scope::{space_joined, ScopeSet};
pub use secret::Secret;

/// Largest frame (one JSON line, without the newline) either side accepts: 64 KiB.
pub const MAX_FRAME: usize = 64 * 1024;
