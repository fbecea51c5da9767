//! Any text as a configuration file: loading and validation end in a result or an
//! error, never a panic.
#![no_main]

use ferrolb_api::config::Options;
use ferrolb_api::load::LoadReport;
use ferrolb_api::{Config, Resources};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let mut r = Resources::default();
    if r.load_str("fuzz.yaml", &text, &mut LoadReport::default())
        .is_ok()
    {
        let _ = Config::from_resources(&r, &Options::default());
    }
});
