//! Bad input never panics: arbitrary text, and the seed configurations cut and
//! corrupted at random, go through the loader and validation to a result or an error.

use std::path::PathBuf;

use ferrolb_api::config::Options;
use ferrolb_api::load::LoadReport;
use ferrolb_api::{Config, Resources};
use proptest::prelude::*;

fn load_and_validate(text: &str) {
    let mut r = Resources::default();
    if r.load_str("fuzz.yaml", text, &mut LoadReport::default())
        .is_ok()
    {
        let _ = Config::from_resources(&r, &Options::default());
    }
}

fn seeds() -> Vec<String> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/seeds");
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("seed directory beside the repository")
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap())
        .collect();
    v.sort();
    v
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_yaml_like_text(text in "[a-zA-Z0-9:./ \\-\\[\\]{}\"'#\n,]{0,400}") {
        load_and_validate(&text);
    }

    #[test]
    fn corrupted_seed_configurations(seed in 0usize..64, cut in 0.0f64..1.0, flips in proptest::collection::vec((0.0f64..1.0, any::<u8>()), 0..6)) {
        let all = seeds();
        let mut bytes = all[seed % all.len()].clone().into_bytes();
        let keep = (bytes.len() as f64 * cut) as usize;
        bytes.truncate(keep.max(1));
        for (at, b) in flips {
            let i = ((bytes.len() - 1) as f64 * at) as usize;
            bytes[i] = b;
        }
        load_and_validate(&String::from_utf8_lossy(&bytes));
    }

    #[test]
    fn numbers_and_addresses_anywhere(n in any::<i64>(), addr in "[0-9a-f:.]{0,40}/?[0-9]{0,3}") {
        let text = format!(
            "apiVersion: metallb.io/v1beta2\nkind: BGPPeer\nmetadata:\n  name: p\nspec:\n  myASN: {n}\n  peerASN: {n}\n  peerAddress: \"{addr}\"\n  holdTime: \"{n}s\"\n---\napiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: a\nspec:\n  addresses: [\"{addr}\", \"{addr}-{addr}\"]\n---\napiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata:\n  name: b\nspec:\n  aggregationLength: {n}\n  aggregationLengthV6: {n}\n  communities: [\"{n}:{n}\", \"large:{n}:{n}:{n}\"]\n"
        );
        load_and_validate(&text);
    }
}
