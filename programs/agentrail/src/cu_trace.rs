//! Compute-unit trace points for measurement builds only (`--features cu-trace`, read by
//! `cu-report --breakdown`): each logs its label and the units left. Without the feature they
//! compile to nothing, so the deployed program and the budgets never pay for them.

/// Logs `label` and the compute units left (feature `cu-trace`); nothing otherwise.
#[macro_export]
macro_rules! cu_trace {
    ($label:literal) => {
        #[cfg(feature = "cu-trace")]
        {
            ::anchor_lang::solana_program::log::sol_log($label);
            $crate::cu_trace::log_units();
        }
    };
}

/// Runs a handler between two trace points: what comes before the first is Anchor's dispatch
/// and account checks, after the second its write-back of the accounts.
#[macro_export]
macro_rules! traced {
    ($handler:expr) => {{
        $crate::cu_trace!("cu: handler");
        // twice: the difference is one trace point's own cost, subtracted from the others
        $crate::cu_trace!("cu: handler");
        let result = $handler;
        $crate::cu_trace!("cu: handler end");
        result
    }};
}

/// Logs the compute units left (the runtime's `sol_log_compute_units_` syscall).
#[cfg(feature = "cu-trace")]
pub fn log_units() {
    #[cfg(target_os = "solana")]
    // SAFETY: the syscall takes no arguments and only writes to the program's log
    unsafe {
        solana_define_syscall::definitions::sol_log_compute_units_();
    }
}
