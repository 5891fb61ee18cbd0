//! `lyncscope::testkit::fuzz::filter` under libFuzzer (README: Fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lyncscope::testkit::fuzz::filter(data));
