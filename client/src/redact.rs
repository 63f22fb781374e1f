//! Keeping secrets out of logs and output: RPC providers put API keys in URLs (their path or
//! query), databases put passwords in them.

/// `url` with its password, path and query hidden: `postgres://user:***@host/***`,
/// `https://rpc.example/***?***`. What stays (scheme, user, host, port) is enough to say which
/// endpoint failed.
pub fn redact_url(url: &str) -> String {
    // a SQLite URL is a local path: nothing secret, and the path is what an operator needs
    if url.starts_with("sqlite:") {
        return url.to_string();
    }
    let Some((scheme, rest)) = url.split_once("://") else { return "***".into() };
    let (before_query, query) = rest.split_once('?').map_or((rest, None), |(a, q)| (a, Some(q)));
    let (authority, path) = match before_query.split_once('/') {
        None => (before_query, ""),
        Some((a, "")) => (a, "/"),
        Some((a, _)) => (a, "/***"),
    };
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => {
            let user = userinfo.split(':').next().unwrap_or_default();
            if userinfo.contains(':') { format!("{user}:***@{host}") } else { format!("{user}@{host}") }
        }
        None => authority.to_string(),
    };
    let query = if query.is_some() { "?***" } else { "" };
    format!("{scheme}://{authority}{path}{query}")
}

/// `text` with every occurrence of each of `urls` replaced by its [`redact_url`] form, both as
/// written and as HTTP clients print it once parsed (host lowercased, `/` added to an empty
/// path, a default port dropped).
pub fn redact_in(text: &str, urls: &[&str]) -> String {
    let mut forms: Vec<String> = Vec::new();
    for u in urls.iter().filter(|u| !u.is_empty()) {
        forms.push(u.to_string());
        if let Ok(parsed) = url::Url::parse(u) {
            forms.push(parsed.to_string());
        }
    }
    // longest first: a form that contains another is replaced whole
    forms.sort_by_key(|f| std::cmp::Reverse(f.len()));
    forms.dedup();
    forms.iter().fold(text.to_string(), |t, u| t.replace(u.as_str(), &redact_url(u)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hides_passwords_keys_and_queries() {
        assert_eq!(
            redact_url("postgres://keeper:s3cret@db.internal:5432/agentrail"),
            "postgres://keeper:***@db.internal:5432/***"
        );
        assert_eq!(redact_url("https://mainnet.example.com/?api-key=abc123"), "https://mainnet.example.com/?***");
        assert_eq!(redact_url("https://sol.example.com/v2/KEY123"), "https://sol.example.com/***");
        assert_eq!(redact_url("http://127.0.0.1:8899"), "http://127.0.0.1:8899");
        assert_eq!(redact_url("sqlite:///var/lib/keeper.sqlite"), "sqlite:///var/lib/keeper.sqlite");
        assert_eq!(redact_url("not a url"), "***");
        let text = "error sending request for url (https://sol.example.com/v2/KEY123): timed out";
        let clean = redact_in(text, &["https://sol.example.com/v2/KEY123"]);
        assert!(!clean.contains("KEY123") && clean.contains("sol.example.com"), "{clean}");
        // configured one way, printed another (review L9): still hidden
        let printed = "error sending request for url (https://sol.example.com/?api-key=KEY123)";
        let clean = redact_in(printed, &["https://SOL.example.com:443?api-key=KEY123"]);
        assert!(!clean.contains("KEY123"), "{clean}");
    }
}
