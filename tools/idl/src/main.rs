//! `cargo idl` writes `idl/agentrail.json`; `cargo idl --check` fails when it is stale.
//!
//! The IDL is built exactly as `anchor idl build` builds it: the program's `idl-build` feature
//! prints it from a test, in a target directory of its own (the build sets its own RUSTFLAGS,
//! which would otherwise invalidate the main build's cache).

use std::path::PathBuf;
use std::process::ExitCode;

use anchor_lang_idl::build::IdlBuilder;

mod pdas;

/// The nearest directory at or above the current one whose Cargo.toml declares a workspace.
fn workspace_root() -> Option<PathBuf> {
    let cwd = std::env::current_dir().ok()?;
    cwd.ancestors()
        .find(|d| std::fs::read_to_string(d.join("Cargo.toml")).is_ok_and(|t| t.contains("[workspace]")))
        .map(PathBuf::from)
}

fn main() -> ExitCode {
    let check = match std::env::args().nth(1).as_deref() {
        None => false,
        Some("--check") => true,
        Some(other) => {
            eprintln!("usage: cargo idl [--check]  (unknown argument {other:?})");
            return ExitCode::from(2);
        }
    };
    // the workspace `cargo idl` runs in; not `env!`, which a cached build for another clone
    // at another path would keep pointing at
    let Some(root) = workspace_root() else {
        eprintln!("error: run `cargo idl` inside the Agentrail workspace (no Cargo.toml with [workspace] above here)");
        return ExitCode::from(2);
    };
    let target = std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from).unwrap_or_else(|| root.join("target"));
    // SAFETY: single-threaded, before any other thread exists. RUSTUP_TOOLCHAIN is removed
    // because anchor-lang-idl 0.1.4 turns it into a literal `cargo +{toolchain}` argument.
    unsafe {
        std::env::set_var("CARGO_TARGET_DIR", target.join("idl-build"));
        std::env::remove_var("RUSTUP_TOOLCHAIN");
    }
    let mut idl = match IdlBuilder::new().program_path(root.join("programs/agentrail")).build() {
        Ok(idl) => idl,
        Err(e) => {
            eprintln!("error: building the IDL failed: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    add_derived_addresses(&mut idl);
    let undocumented = undocumented_accounts(&idl);
    if !undocumented.is_empty() {
        eprintln!("error: every instruction account needs a doc comment (clients read them); missing:");
        for slot in undocumented {
            eprintln!("  {slot}");
        }
        return ExitCode::FAILURE;
    }
    let json = serde_json::to_string_pretty(&idl).expect("IDL serialises") + "\n";
    let path = root.join("idl/agentrail.json");
    if check {
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != json {
            eprintln!("error: {} is stale; run `cargo idl` and commit the result", path.display());
            return ExitCode::FAILURE;
        }
        println!("IDL is up to date: {}", path.display());
    } else {
        std::fs::write(&path, json).expect("write idl/agentrail.json");
        println!("wrote {}", path.display());
    }
    ExitCode::SUCCESS
}

/// Gives every instruction account the program derives, and whose seeds Anchor's build did not
/// record, its seeds from [`pdas::pda_for`], where the accounts its seeds name sit beside it
/// (IDL clients resolve a seed among an account's siblings only); marks the accounts the
/// program writes outside Anchor's write-back ([`pdas::written_by_handler`]).
fn add_derived_addresses(idl: &mut anchor_lang_idl::types::Idl) {
    use anchor_lang_idl::types::{IdlInstructionAccountItem as Item, IdlSeed};
    fn walk(instruction: &str, items: &mut [Item]) {
        let siblings: Vec<String> = items
            .iter()
            .filter_map(|i| match i {
                Item::Single(a) => Some(a.name.clone()),
                Item::Composite(_) => None,
            })
            .collect();
        let beside = |seed: &IdlSeed| match seed {
            IdlSeed::Account(a) => siblings.iter().any(|s| Some(s.as_str()) == a.path.split('.').next()),
            _ => true,
        };
        for item in items {
            match item {
                Item::Single(a) => {
                    if a.pda.is_none() && a.address.is_none() {
                        a.pda = pdas::pda_for(instruction, &a.name)
                            .filter(|pda| pda.seeds.iter().chain(&pda.program).all(beside));
                    }
                    a.writable |= pdas::written_by_handler(instruction, &a.name);
                }
                Item::Composite(c) => walk(instruction, &mut c.accounts),
            }
        }
    }
    for ix in &mut idl.instructions {
        walk(&ix.name, &mut ix.accounts);
    }
}

/// `instruction.account` for every account slot of the IDL without docs (composites flattened).
fn undocumented_accounts(idl: &anchor_lang_idl::types::Idl) -> Vec<String> {
    use anchor_lang_idl::types::IdlInstructionAccountItem as Item;
    fn walk(prefix: &str, items: &[Item], out: &mut Vec<String>) {
        for item in items {
            match item {
                Item::Single(a) if a.docs.is_empty() => out.push(format!("{prefix}.{}", a.name)),
                Item::Single(_) => {}
                Item::Composite(c) => walk(&format!("{prefix}.{}", c.name), &c.accounts, out),
            }
        }
    }
    let mut out = Vec::new();
    for ix in &idl.instructions {
        walk(&ix.name, &ix.accounts, &mut out);
    }
    out
}
