//! How text is escaped where witness writes it: in HTML (the report escapes evidence with
//! [`html`], and redaction looks for secret literals in the same escaped form, so both
//! must use that one function), in a markdown table cell ([`markdown_cell`]), and on a
//! terminal ([`terminal`]: an alert title, a log line or an archive's file name must not
//! move the cursor, set the window title or hide a line).

pub use witness_redact::escape_html as html;

/// Escapes text for a markdown table cell: pipes, line breaks, and characters that would
/// start markup or HTML.
pub fn markdown_cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '|' => out.push_str("\\|"),
            '\n' | '\r' => out.push(' '),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '`' | '*' | '_' | '[' | ']' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// How [`terminal`] treats the layout characters witness itself writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Nothing: one field on one line.
    Nothing,
    /// Newlines and tabs, for multi-line output.
    Lines,
    /// Newlines, tabs and colour (`ESC [ … m`, the only escape sequence kept), for the
    /// coloured report on a terminal.
    LinesAndColour,
}

/// `text` with every control character shown as an escape (`\n`, `\r`, `\x1b`,
/// `\u{9b}`) except what `keep` keeps, so that nothing read from evidence can act on the
/// terminal.
pub fn terminal(text: &str, keep: Keep) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if !c.is_control() || (keep != Keep::Nothing && matches!(c, '\n' | '\t')) {
            out.push(c);
            continue;
        }
        if keep == Keep::LinesAndColour
            && c == '\u{1b}'
            && let Some(len) = sgr_len(&text[at..])
        {
            out.push_str(&text[at..at + len]);
            for _ in 1..len {
                chars.next();
            }
            continue;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x100 => out.push_str(&format!("\\x{:02x}", c as u32)),
            c => out.push_str(&format!("\\u{{{:x}}}", c as u32)),
        }
    }
    out
}

/// The length of a colour sequence (`ESC [ digits and ; m`) at the start of `text`.
fn sgr_len(text: &str) -> Option<usize> {
    let rest = text.strip_prefix("\u{1b}[")?;
    let params = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b';').count();
    (rest.as_bytes().get(params) == Some(&b'm')).then_some(2 + params + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_cannot_reach_the_terminal() {
        let title = "Disk full\u{1b}]0;pwned\u{7}\r\u{1b}[2Jgone\nnext\u{9b}";
        assert_eq!(
            terminal(title, Keep::Nothing),
            "Disk full\\x1b]0;pwned\\x07\\r\\x1b[2Jgone\\nnext\\x9b"
        );
        assert_eq!(terminal("a\nb\tc\u{1b}[1m", Keep::Lines), "a\nb\tc\\x1b[1m");
        assert_eq!(
            terminal("\u{1b}[1;31mred\u{1b}[0m\u{1b}[2J", Keep::LinesAndColour),
            "\u{1b}[1;31mred\u{1b}[0m\\x1b[2J"
        );
    }
}
