//! Human descriptions of the program's error codes, read from the committed IDL.

use std::sync::OnceLock;

const IDL: &str = include_str!("../../idl/agentrail.json");

fn table() -> &'static Vec<(u32, String, String)> {
    static TABLE: OnceLock<Vec<(u32, String, String)>> = OnceLock::new();
    TABLE.get_or_init(|| {
        let idl: serde_json::Value = serde_json::from_str(IDL).expect("committed IDL is JSON");
        idl["errors"]
            .as_array()
            .map(|errors| {
                errors
                    .iter()
                    .filter_map(|e| {
                        Some((
                            e["code"].as_u64()? as u32,
                            e["name"].as_str()?.to_string(),
                            e["msg"].as_str()?.to_string(),
                        ))
                    })
                    .collect()
            })
            .unwrap_or_default()
    })
}

/// `(name, message)` of an Agentrail error code, if it is one.
pub fn describe(code: u32) -> Option<(&'static str, &'static str)> {
    table().iter().find(|(c, _, _)| *c == code).map(|(_, n, m)| (n.as_str(), m.as_str()))
}

/// One line explaining a custom program error code, Agentrail's or Anchor's.
pub fn explain(code: u32) -> String {
    match describe(code) {
        Some((name, msg)) => format!("{name} ({code}): {msg}"),
        None if (2000..5000).contains(&code) => format!("Anchor constraint or account error {code}"),
        None => format!("custom program error {code}"),
    }
}

/// Whose verdict a failed transaction carries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum TxFailure {
    /// A program refused it (for Agentrail, its error named by [`explain`]).
    Refused(String),
    /// Not a program's verdict: the fee payer, the blockhash, a locked account, the node.
    Operational(String),
}

/// Classifies a transaction error by type (never by searching its text).
pub fn classify(err: &solana_transaction_error::TransactionError) -> TxFailure {
    use solana_instruction_error::InstructionError;
    use solana_transaction_error::TransactionError;
    match err {
        TransactionError::InstructionError(_, InstructionError::Custom(code)) => TxFailure::Refused(explain(*code)),
        TransactionError::InstructionError(i, e) => TxFailure::Refused(format!("instruction {i}: {e}")),
        other => TxFailure::Operational(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use agentrail::errors::AgentrailError;

    #[test]
    fn codes_match_the_program() {
        let code: u32 = AgentrailError::DeadlineNotReached.into();
        assert_eq!(describe(code).map(|d| d.0), Some("DeadlineNotReached"));
        assert!(explain(code).contains("deadline has not passed"));
        assert_eq!(explain(3012), "Anchor constraint or account error 3012");
    }
}
