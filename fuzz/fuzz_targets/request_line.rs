#![no_main]
//! See `sesame_core::fuzz::request_line` for the input and what is checked.

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| sesame_core::fuzz::request_line(data));
