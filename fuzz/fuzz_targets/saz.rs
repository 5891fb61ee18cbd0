//! `lyncscope::testkit::fuzz::saz` under libFuzzer (README: Fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lyncscope::testkit::fuzz::saz(data));
