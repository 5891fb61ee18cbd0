//! `lyncscope::testkit::fuzz::pipeline` under libFuzzer (README: Fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| lyncscope::testkit::fuzz::pipeline(data));
