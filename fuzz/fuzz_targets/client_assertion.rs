#![no_main]
libfuzzer_sys::fuzz_target!(|data: &[u8]| varco_fuzzing::client_assertion(data));
