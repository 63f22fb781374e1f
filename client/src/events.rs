//! Decoding the program's events from transaction logs (`Program data: <base64>` lines).

use agentrail::events::*;
use anchor_lang::{AnchorDeserialize, Discriminator};
use base64::Engine;

macro_rules! events {
    ($($name:ident),* $(,)?) => {
        /// The name of every event [`Event`] decodes.
        pub const EVENT_NAMES: &[&str] = &[$(stringify!($name)),*];

        /// Every event the program emits.
        #[derive(Debug, Clone)]
        #[allow(clippy::large_enum_variant)]
        pub enum Event {
            $($name($name),)*
        }

        impl Event {
            /// The event's name as in the IDL.
            pub fn name(&self) -> &'static str {
                match self {
                    $(Event::$name(_) => stringify!($name),)*
                }
            }

            /// Decodes one event from its data (discriminator then Borsh body).
            pub fn decode(data: &[u8]) -> Option<Event> {
                $(
                    if let Some(mut body) = data.strip_prefix($name::DISCRIMINATOR) {
                        return $name::deserialize(&mut body).ok().filter(|_| body.is_empty()).map(Event::$name);
                    }
                )*
                None
            }
        }
    };
}

events!(
    ConfigInitialized,
    ConfigUpdated,
    AdminProposed,
    AdminAccepted,
    CertifierAdded,
    CertifierRemoved,
    AgentRegistered,
    AgentVersionPublished,
    AgentStatusChanged,
    AgentPayoutChanged,
    AgentSigningKeyChanged,
    AgentAuthorityTransferred,
    AgentMetadataUpdated,
    StageAttested,
    CertificationRevoked,
    JobCreated,
    JobFunded,
    JobAccepted,
    AwardHeld,
    HeldClaimed,
    MilestoneStarted,
    MilestoneSubmitted,
    MilestoneReleased,
    MilestoneFailed,
    MilestonesRefunded,
    MilestoneDisputed,
    DisputeDecided,
    FeesSwept,
    JobClosed,
    ReceiptLogCreated,
    CheckpointAnchored,
);

/// Every program event in `logs`, in order; lines that are not events are skipped.
pub fn from_logs<S: AsRef<str>>(logs: &[S]) -> Vec<Event> {
    logs.iter()
        .filter_map(|l| l.as_ref().strip_prefix("Program data: "))
        .filter_map(|b64| base64::engine::general_purpose::STANDARD.decode(b64.trim()).ok())
        .filter_map(|data| Event::decode(&data))
        .collect()
}

/// Compute units the program consumed at the top level of a transaction, from its logs.
pub fn program_units<S: AsRef<str>>(logs: &[S]) -> Option<u64> {
    units_of(&crate::program_id(), logs)
}

/// Compute units `program` consumed at the top level of a transaction, from its logs.
pub fn units_of<S: AsRef<str>>(program: &anchor_lang::prelude::Pubkey, logs: &[S]) -> Option<u64> {
    let prefix = format!("Program {program} consumed ");
    let mut depth = 0usize;
    for line in logs.iter().map(AsRef::as_ref) {
        if line.starts_with("Program ") && line.contains(" invoke [") {
            depth += 1;
        }
        if let Some(rest) = line.strip_prefix(&prefix)
            && depth == 1
        {
            return rest.split(' ').next()?.parse().ok();
        }
        if line.starts_with("Program ") && (line.ends_with(" success") || line.contains(" failed")) {
            depth = depth.saturating_sub(1);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use anchor_lang::Event as _;
    use anchor_lang::prelude::Pubkey;

    #[test]
    fn decodes_events_from_log_lines() {
        let ev = JobFunded { job: Pubkey::new_unique(), amount: 42 };
        let line = format!("Program data: {}", base64::engine::general_purpose::STANDARD.encode(ev.data()));
        let logs = vec!["Program log: Instruction: FundJob".to_string(), line, "Program data: !!".into()];
        let events = from_logs(&logs);
        assert_eq!(events.len(), 1);
        match &events[0] {
            Event::JobFunded(e) => assert_eq!((e.job, e.amount), (ev.job, 42)),
            other => panic!("decoded {}", other.name()),
        }
    }

    /// Every event in the committed IDL has a variant here: a new event cannot be forgotten.
    #[test]
    fn every_idl_event_is_decoded() {
        let idl: serde_json::Value = serde_json::from_str(include_str!("../../idl/agentrail.json")).unwrap();
        let names: Vec<&str> = idl["events"].as_array().unwrap().iter().map(|e| e["name"].as_str().unwrap()).collect();
        assert!(names.contains(&"FeesSwept"), "{names:?}");
        for name in names {
            assert!(EVENT_NAMES.contains(&name), "event {name} is not decoded: add it to `events!`");
        }
    }

    #[test]
    fn reads_top_level_units_only() {
        let id = crate::program_id();
        let logs = [
            format!("Program {id} invoke [1]"),
            "Program Tokenkeg invoke [2]".to_string(),
            "Program Tokenkeg consumed 100 of 200 compute units".to_string(),
            "Program Tokenkeg success".to_string(),
            format!("Program {id} consumed 5000 of 200000 compute units"),
            format!("Program {id} success"),
        ];
        assert_eq!(program_units(&logs), Some(5000));
    }
}
