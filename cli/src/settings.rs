//! Where to connect and who signs: flags, then environment, then the Solana CLI config, then
//! defaults, as the Solana tools resolve them.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};

/// Values read from a Solana CLI `config.yml`.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SolanaConfig {
    pub json_rpc_url: Option<String>,
    pub keypair_path: Option<String>,
    pub commitment: Option<String>,
}

/// Parses the flat `key: value` YAML the Solana CLI writes.
pub fn parse_solana_config(text: &str) -> SolanaConfig {
    let mut cfg = SolanaConfig::default();
    for line in text.lines() {
        let Some((key, value)) = line.split_once(':') else { continue };
        let value = value.trim().trim_matches(|c| c == '"' || c == '\'').to_string();
        if value.is_empty() {
            continue;
        }
        match key.trim() {
            "json_rpc_url" => cfg.json_rpc_url = Some(value),
            "keypair_path" => cfg.keypair_path = Some(value),
            "commitment" => cfg.commitment = Some(value),
            _ => {}
        }
    }
    cfg
}

/// The Solana CLI's default config path.
pub fn default_config_path() -> Option<PathBuf> {
    std::env::var_os("HOME").map(|h| Path::new(&h).join(".config/solana/cli/config.yml"))
}

/// Reads a Solana CLI config; a missing file is an empty config.
pub fn load_solana_config(path: Option<&Path>) -> Result<SolanaConfig> {
    let Some(path) = path.map(Path::to_path_buf).or_else(default_config_path) else {
        return Ok(SolanaConfig::default());
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(parse_solana_config(&text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(SolanaConfig::default()),
        Err(e) => Err(e).with_context(|| format!("cannot read Solana CLI config {}", path.display())),
    }
}

/// Expands a cluster moniker (`localhost`, `devnet`, `testnet`, `mainnet-beta`, or their first
/// letters) to its RPC URL; anything else must be an http(s) URL.
pub fn resolve_url(url: &str) -> Result<String> {
    Ok(match url {
        "localhost" | "l" => "http://127.0.0.1:8899".into(),
        "devnet" | "d" => "https://api.devnet.solana.com".into(),
        "testnet" | "t" => "https://api.testnet.solana.com".into(),
        "mainnet-beta" | "m" => "https://api.mainnet-beta.solana.com".into(),
        u if u.starts_with("http://") || u.starts_with("https://") => u.to_string(),
        other => bail!("unknown cluster {other:?}: use an http(s) URL or localhost, devnet, testnet, mainnet-beta"),
    })
}

/// Checks a commitment level name.
pub fn resolve_commitment(c: &str) -> Result<String> {
    match c {
        "processed" | "confirmed" | "finalized" => Ok(c.to_string()),
        other => bail!("unknown commitment {other:?}: use processed, confirmed or finalized"),
    }
}

/// Expands a leading `~/` to the home directory.
pub fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix("~/"), std::env::var_os("HOME")) {
        (Some(rest), Some(home)) => Path::new(&home).join(rest),
        _ => PathBuf::from(path),
    }
}

/// Resolved connection settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub url: String,
    pub keypair: PathBuf,
    pub commitment: String,
}

impl Settings {
    /// Resolves flags (already merged with environment variables by clap) over the config file.
    pub fn resolve(
        url: Option<&str>,
        keypair: Option<&str>,
        commitment: Option<&str>,
        cfg: &SolanaConfig,
    ) -> Result<Self> {
        let url = url.or(cfg.json_rpc_url.as_deref()).unwrap_or("localhost");
        let keypair = keypair.or(cfg.keypair_path.as_deref()).unwrap_or("~/.config/solana/id.json");
        let commitment = commitment.or(cfg.commitment.as_deref()).unwrap_or("confirmed");
        Ok(Settings {
            url: resolve_url(url)?,
            keypair: expand_home(keypair),
            commitment: resolve_commitment(commitment)?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_solana_cli_config() {
        let text = "---\njson_rpc_url: \"https://api.devnet.solana.com\"\nwebsocket_url: \"\"\nkeypair_path: /home/u/.config/solana/id.json\naddress_labels:\n  \"11111111111111111111111111111111\": System Program\ncommitment: confirmed\n";
        let cfg = parse_solana_config(text);
        assert_eq!(cfg.json_rpc_url.as_deref(), Some("https://api.devnet.solana.com"));
        assert_eq!(cfg.keypair_path.as_deref(), Some("/home/u/.config/solana/id.json"));
        assert_eq!(cfg.commitment.as_deref(), Some("confirmed"));
    }

    #[test]
    fn flags_win_over_config_and_monikers_expand() {
        let cfg = SolanaConfig {
            json_rpc_url: Some("devnet".into()),
            keypair_path: Some("/k.json".into()),
            commitment: None,
        };
        let s = Settings::resolve(Some("l"), None, Some("finalized"), &cfg).unwrap();
        assert_eq!(
            (s.url.as_str(), s.keypair.to_str().unwrap(), s.commitment.as_str()),
            ("http://127.0.0.1:8899", "/k.json", "finalized")
        );
        let s = Settings::resolve(None, None, None, &cfg).unwrap();
        assert_eq!((s.url.as_str(), s.commitment.as_str()), ("https://api.devnet.solana.com", "confirmed"));
        assert!(
            Settings::resolve(Some("mainnet"), None, None, &cfg).unwrap_err().to_string().contains("unknown cluster")
        );
        assert!(
            Settings::resolve(None, None, Some("final"), &cfg).unwrap_err().to_string().contains("unknown commitment")
        );
    }
}
