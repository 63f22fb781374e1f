//! Decoding arbitrary or mutated bytes never panics, and whatever decodes re-encodes exactly.

use agentrail_client::receipt::*;
use anchor_lang::prelude::Pubkey;
use ed25519_dalek::SigningKey;
use proptest::prelude::*;

fn valid() -> Vec<u8> {
    let keeper = SigningKey::from_bytes(&[3; 32]);
    Receipt {
        job: Pubkey::new_from_array([1; 32]),
        milestone: 0,
        agent: Pubkey::new_from_array([2; 32]),
        agent_version_seq: 1,
        keeper: Pubkey::from(keeper.verifying_key().to_bytes()),
        inputs_hash: [4; 32],
        output_hash: [5; 32],
        cost: 10,
        guards: vec![GuardCheck { name: "deadline".into(), passed: true, detail: String::new() }],
        tx_signatures: vec![],
        started_at: 1,
        finished_at: 2,
        terms_hash: Some([6; 32]),
    }
    .sign(&keeper)
    .unwrap()
    .encode()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..400)) {
        let mut v1 = b"ARCP\x01".to_vec();
        v1.extend_from_slice(&bytes);
        let mut v2 = b"ARCP\x02".to_vec();
        v2.extend_from_slice(&bytes);
        for input in [&bytes, &v1, &v2] {
            if let Ok(r) = SignedReceipt::decode(input) {
                prop_assert_eq!(&r.encode(), input);
            }
        }
    }

    #[test]
    fn mutations_are_caught(at in 5usize..200, byte: u8) {
        let bytes = valid();
        let at = at % bytes.len();
        let mut m = bytes.clone();
        m[at] = byte;
        if let Ok(r) = SignedReceipt::decode(&m) {
            prop_assert_eq!(r.encode(), m.clone());
            prop_assert!(m == bytes || r.verify().is_err(), "a changed receipt must not verify");
        }
    }
}
