//! HTML building blocks: escaping (every value from the chain, the store, an agent or a URL
//! goes through [`esc`]), the page layout, links and small formatters.

use std::fmt::Write;

/// `s` escaped for HTML text and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-encodes `s` for a URL's query.
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// What every page shares: where the browser reads the chain, and the keeper it is served by.
pub struct Frame<'a> {
    pub rpc: &'a str,
    pub explorer: &'a str,
    pub keeper: String,
}

impl Frame<'_> {
    /// A link to the explorer for `path` (`tx/<sig>` or `address/<key>`).
    pub fn explorer(&self, path: &str, text: &str) -> String {
        let href = self.explorer.replace("{path}", path).replace("{rpc}", &url_encode(self.rpc));
        format!(r#"<a href="{}" rel="noopener noreferrer" target="_blank">{}</a>"#, esc(&href), esc(text))
    }

    /// The Wallet Standard chain of the console's cluster: `solana:mainnet`, `solana:devnet`,
    /// `solana:testnet`, else `solana:localnet`.
    pub fn chain(&self) -> &'static str {
        let rpc = self.rpc.to_ascii_lowercase();
        if rpc.contains("devnet") {
            "solana:devnet"
        } else if rpc.contains("testnet") {
            "solana:testnet"
        } else if rpc.contains("mainnet") {
            "solana:mainnet"
        } else {
            "solana:localnet"
        }
    }

    /// A whole page: `main` holds `body`, with `attrs` on it (`data-page`, `data-job`).
    pub fn page(&self, title: &str, attrs: &str, body: &str) -> String {
        format!(
            r##"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title} · Agentrail</title>
<meta name="agentrail-rpc" content="{rpc}">
<meta name="agentrail-chain" content="{chain}">
<meta name="agentrail-program" content="{program}">
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/console/assets/console.css">
<script type="module" src="/console/assets/console.js"></script>
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header>
<nav aria-label="Console">
<a href="/console" class="brand">Agentrail</a>
<a href="/console/inbox">Inbox</a>
<a href="/console/verify">Verify a receipt</a>
</nav>
<button id="connect" type="button" disabled>Connect wallet</button>
</header>
<div id="status" role="status" aria-live="polite"></div>
<main id="main" {attrs}>
{body}
</main>
<dialog id="confirm" aria-labelledby="confirm-title" aria-describedby="confirm-intro">
<h2 id="confirm-title"></h2>
<p id="confirm-intro">Simulated on the cluster; this is what would move, and where:</p>
<ul id="confirm-summary"></ul>
<p id="confirm-error" class="bad" role="alert" hidden></p>
<div class="buttons"><button id="confirm-sign" type="button">Sign and send</button> <button id="confirm-cancel" type="button" class="secondary">Cancel</button></div>
</dialog>
<footer>Served by keeper <code>{keeper}</code>. Receipts are checked in this browser, against the chain.</footer>
</body>
</html>
"##,
            title = esc(title),
            rpc = esc(self.rpc),
            chain = self.chain(),
            program = agentrail_client::program_id(),
            keeper = esc(&self.keeper),
            attrs = attrs,
            body = body,
        )
    }
}

/// A `<time>` for unix seconds `t` (UTC), with a live countdown when `countdown`.
pub fn time(t: i64, countdown: bool) -> String {
    let text = agentrail_client::escrow::format_time(t);
    if countdown {
        format!(r#"<time datetime="{text}">{text}</time> (<span data-until="{t}">…</span>)"#)
    } else {
        format!(r#"<time datetime="{text}">{text}</time>"#)
    }
}

/// A table: a caption, headers and rows of already-escaped cells.
pub fn table(caption: &str, headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("<div class=\"scroll\"><table><caption>{}</caption><thead><tr>", esc(caption));
    for h in headers {
        let _ = write!(out, "<th scope=\"col\">{}</th>", esc(h));
    }
    out.push_str("</tr></thead><tbody>");
    for row in rows {
        out.push_str("<tr>");
        // each cell names its column: on a phone the rows stack as cards (console.css)
        for (cell, h) in row.iter().zip(headers.iter().chain(std::iter::repeat(&""))) {
            let _ = write!(out, "<td data-label=\"{}\">{cell}</td>", esc(h));
        }
        out.push_str("</tr>");
    }
    out.push_str("</tbody></table></div>");
    out
}

/// A description list of (term, already-escaped value).
pub fn fields(items: &[(&str, String)]) -> String {
    let mut out = String::from("<dl>");
    for (term, value) in items {
        let _ = write!(out, "<dt>{}</dt><dd>{value}</dd>", esc(term));
    }
    out.push_str("</dl>");
    out
}

/// A key in `<code>`, full (wraps on a phone).
pub fn key(k: &impl std::fmt::Display) -> String {
    format!("<code>{}</code>", esc(&k.to_string()))
}

/// A pass / fail badge with words, not only colour.
pub fn badge(ok: bool, yes: &str, no: &str) -> String {
    if ok {
        format!(r#"<span class="good">✓ {}</span>"#, esc(yes))
    } else {
        format!(r#"<span class="bad">✗ {}</span>"#, esc(no))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_encodes_urls() {
        assert_eq!(
            esc(r#"<script>"a" & 'b'</script>"#),
            "&lt;script&gt;&quot;a&quot; &amp; &#39;b&#39;&lt;/script&gt;"
        );
        assert_eq!(url_encode("http://127.0.0.1:8899/?a=b c"), "http%3A%2F%2F127.0.0.1%3A8899%2F%3Fa%3Db%20c");
    }

    #[test]
    fn the_chain_follows_the_rpc() {
        let frame = |rpc| Frame { rpc, explorer: "", keeper: String::new() };
        assert_eq!(frame("https://api.devnet.solana.com").chain(), "solana:devnet");
        assert_eq!(frame("https://api.mainnet-beta.solana.com").chain(), "solana:mainnet");
        assert_eq!(frame("http://127.0.0.1:8899").chain(), "solana:localnet");
    }
}
