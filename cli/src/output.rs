//! Output for people (aligned tables, key/value blocks) and machines (`--json`).

use serde::Serialize;

/// A table with a header row, rendered with aligned columns.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Table {
    pub headers: Vec<String>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these column headers.
    pub fn new(headers: &[&str]) -> Self {
        Table { headers: headers.iter().map(|h| h.to_string()).collect(), rows: Vec::new() }
    }

    /// Adds a row.
    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Renders with two spaces between columns and no trailing spaces.
    pub fn render(&self) -> String {
        let cols = self.headers.len();
        let mut widths: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(cols) {
                widths[i] = widths[i].max(printable(cell).chars().count());
            }
        }
        let line = |cells: &[String]| {
            let parts: Vec<String> =
                cells.iter().enumerate().map(|(i, c)| format!("{:<w$}", printable(c), w = widths[i])).collect();
            parts.join("  ").trim_end().to_string()
        };
        let mut out = vec![line(&self.headers)];
        out.extend(self.rows.iter().map(|r| line(r)));
        out.join("\n")
    }
}

/// Renders `key: value` pairs with the values aligned.
pub fn fields(pairs: &[(&str, String)]) -> String {
    let width = pairs.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    pairs.iter().map(|(k, v)| format!("{k:<width$}  {}", printable(v))).collect::<Vec<_>>().join("\n")
}

/// `text` with its control characters (escape sequences that could rewrite the terminal or
/// set its clipboard) shown as escapes: names, titles and addresses come from other people.
pub fn printable(text: &str) -> String {
    if !text.chars().any(|c| c.is_control() && c != '\n') {
        return text.to_string();
    }
    text.chars()
        .map(|c| if c.is_control() && c != '\n' { c.escape_default().to_string() } else { c.to_string() })
        .collect()
}

/// Prints a value as pretty JSON.
pub fn print_json<T: Serialize>(value: &T) {
    println!("{}", serde_json::to_string_pretty(value).expect("serialisable output"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn other_peoples_text_cannot_drive_the_terminal() {
        let name = "solver\u{1b}]52;c;ZXZpbA==\u{7}\u{1b}[2K";
        let shown = fields(&[("name", name.into())]);
        assert!(!shown.contains('\u{1b}') && !shown.contains('\u{7}'), "{shown:?}");
        assert!(shown.contains("solver\\u{1b}]52"), "shown, escaped: {shown}");
        let mut t = Table::new(&["name"]);
        t.row(vec![name.into()]);
        assert!(!t.render().contains('\u{1b}'));
        assert_eq!(printable("plain"), "plain");
    }

    #[test]
    fn tables_align() {
        let mut t = Table::new(&["id", "name", "status"]);
        t.row(vec!["0".into(), "solver".into(), "active".into()]);
        t.row(vec!["12".into(), "a".into(), "".into()]);
        assert_eq!(t.render(), "id  name    status\n0   solver  active\n12  a");
    }

    #[test]
    fn fields_align() {
        assert_eq!(fields(&[("a", "1".into()), ("long", "2".into())]), "a     1\nlong  2");
    }
}
