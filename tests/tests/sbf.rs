//! Every scenario again, against the program's SBF `.so` in litesvm (agave 4.2.2 runtime).

//! Test names carry the `sbf::` prefix, so a run without the `.so` can skip exactly this pass
//! (`-- --skip sbf::`) and say so, instead of pretending it ran.

mod sbf {
    use agentrail_tests::sbf::Sbf;

    agentrail_tests::scenario_tests!(Box::new(Sbf::start()));

    mod randomized {
        use agentrail_tests::fuzz;
        use agentrail_tests::sbf::Sbf;
        use agentrail_tests::scenarios::conservation::conservation_under_random_sequences;

        /// The escrow conservation property, on the deployed code: its entrypoint, its raw
        /// cross-program calls and its memory syscalls.
        #[test]
        fn escrow_conserves_funds_under_random_sequences() {
            conservation_under_random_sequences(|| Box::new(Sbf::start()), 40);
        }

        /// A short fuzz run (the documented command runs a million cases): every refusal is the
        /// program's own and nothing is created or lost; the run reaches both outcomes and
        /// many of the program's refusals, so it is not refusing everything at the door.
        #[test]
        fn fuzzed_instructions_are_refused_cleanly_and_conserve_funds() {
            let report =
                fuzz::run(&|| Box::new(Sbf::start()), 31, 3_000, &mut |_| {}).unwrap_or_else(|f| panic!("{f}"));
            assert_eq!(report.cases, 3_000);
            assert!(report.accepted >= 100, "{report:?}");
            assert!(report.refused >= 1_000, "{report:?}");
            assert!(report.codes.len() >= 20, "{report:?}");
        }
    }

    mod budgets {
        use agentrail_tests::compute::{budgets, measure};
        use agentrail_tests::sbf::Sbf;

        /// Every instruction stays within its committed compute budget, and every instruction has one.
        #[test]
        fn every_instruction_within_its_compute_budget() {
            let measured = measure(|| Box::new(Sbf::start()));
            let budgets = budgets();
            let mut over = Vec::new();
            for m in &measured {
                println!("{:<44} {:>8}", m.instruction, m.units);
                match budgets.iter().find(|(n, _)| n == m.instruction) {
                    Some((_, budget)) if m.units > *budget => {
                        over.push(format!("{} used {} > {budget}", m.instruction, m.units))
                    }
                    Some(_) => {}
                    None => over.push(format!("{} ({} CU) has no budget line", m.instruction, m.units)),
                }
            }
            for (name, _) in &budgets {
                assert!(measured.iter().any(|m| m.instruction == name), "budget line {name:?} measures nothing");
            }
            assert!(over.is_empty(), "compute budgets exceeded:\n{}", over.join("\n"));
        }
    }

    mod events {
        use agentrail::state::{JobStatus, fee_for};
        use agentrail_client::events::{Event, from_logs, program_units};
        use agentrail_tests::env::FEE_BPS;
        use agentrail_tests::sbf::Sbf;
        use agentrail_tests::scenarios::escrow::{Fixture, SPECS};
        use solana_sdk::signer::Signer;

        /// The logs of a release carry the instruction name and the events, decodable by clients.
        #[test]
        fn release_logs_and_events_decode() {
            let mut f = Fixture::funded(Box::new(Sbf::start()));
            let sent = f.submit(0).unwrap();
            assert!(sent.logs.iter().any(|l| l == "Program log: Instruction: SubmitMilestone"), "{:?}", sent.logs);
            assert!(program_units(&sent.logs).is_some_and(|u| u > 0));
            let events = from_logs(&sent.logs);
            let names: Vec<_> = events.iter().map(Event::name).collect();
            assert_eq!(names, ["MilestoneSubmitted", "MilestoneReleased"]);
            match &events[1] {
                Event::MilestoneReleased(e) => {
                    assert_eq!((e.job, e.index, e.amount), (f.keys.job, 0, SPECS[0].0));
                    assert_eq!(
                        (e.fee, e.payee, e.status),
                        (fee_for(SPECS[0].0, FEE_BPS), f.keys.payee_token, JobStatus::Funded)
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
            match &events[0] {
                Event::MilestoneSubmitted(e) => {
                    assert_eq!((e.index, e.result_hash, e.requires_approval), (0, [1; 32], false))
                }
                other => panic!("unexpected {other:?}"),
            }
        }

        /// A keeper's failed step is visible to indexers: who gave up, why, and what went back.
        #[test]
        fn failed_step_events_decode() {
            let mut f = Fixture::funded(Box::new(Sbf::start()));
            f.start_and_time_out(0);
            let sent = f.fail(0, false).unwrap();
            assert!(sent.logs.iter().any(|l| l == "Program log: Instruction: FailMilestone"), "{:?}", sent.logs);
            let events = from_logs(&sent.logs);
            let names: Vec<_> = events.iter().map(Event::name).collect();
            assert_eq!(names, ["MilestonesRefunded", "MilestoneFailed"]);
            match (&events[0], &events[1]) {
                (Event::MilestonesRefunded(r), Event::MilestoneFailed(e)) => {
                    assert_eq!(
                        (r.job, r.amount, r.status),
                        (f.keys.job, SPECS[0].0 + fee_for(SPECS[0].0, FEE_BPS), JobStatus::Funded)
                    );
                    assert_eq!(
                        (e.job, e.index, e.keeper, e.reason_hash, e.cancelled),
                        (f.keys.job, 0, f.keeper.pubkey(), [9; 32], false)
                    );
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    }
}
