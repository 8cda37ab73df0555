//! Per-app consent: who is asking ([`caller`]), what the user allowed ([`grants`], bound to
//! the program's content by the rule in [`content`]), what may not be allowed forever
//! ([`generic`]), what waits for an answer ([`pending`]) and whether its asker is still
//! there ([`asker`]), and what happened ([`recorder`]).
//!
//! The broker consults these on every `token.get`; everything here is in memory on the
//! request path. SQLite is written behind it by the recorder's task.

pub mod asker;
pub mod caller;
pub mod content;
pub mod generic;
pub mod grants;
pub mod pending;
pub mod recorder;

pub use asker::Asker;
pub use caller::{Caller, ProcessRef};
