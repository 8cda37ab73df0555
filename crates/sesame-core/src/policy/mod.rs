//! Per-app consent: who is asking ([`caller`]), what the user allowed ([`grants`], bound to
//! the program's content by the rule in [`content`]), what may not be allowed forever
//! ([`generic`]), what waits for an answer ([`pending`]) and what happened ([`recorder`]).

pub mod caller;
pub mod content;
pub mod generic;
pub mod grants;
pub mod pending;
pub mod recorder;

pub use caller::{Caller, ProcessRef};
