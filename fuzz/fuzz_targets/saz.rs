//! `lyncscope::fuzzing::saz` under libFuzzer (README: Fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lyncscope::fuzzing::saz(data));
