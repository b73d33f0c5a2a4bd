//! Secrets that are a block's values rather than a key's: the `data:` and `stringData:`
//! maps of a Kubernetes Secret written as YAML (a manifest in a log, a `kubectl get secret
//! -o yaml` pasted in an alert). Their keys are anything (`key:`, `extra:`, `tls.crt:`),
//! so no key rule sees them; what makes each value secret is the block it stands in.

use std::ops::Range;

use super::line_start;

/// The values of the map that starts after the `data:`/`stringData:` line `header` (a
/// match of its rule on `text`), when `text` says it is a Secret (`kind: Secret` within
/// the text the rule runs on): each `key: value` line more indented than the header, to
/// the first line that is not; a `key: |` or `key: >` value takes its indented lines.
pub(super) fn secret_data(text: &str, header: Range<usize>) -> Vec<Range<usize>> {
    if !says_secret(text) {
        return Vec::new();
    }
    let header_line = &text[line_start(text, header.start)..header.end];
    let header_indent = indent(header_line);
    let mut found = Vec::new();
    // Inside a `key: |` value: its lines are indented more than its key.
    let mut literal: Option<usize> = None;
    let mut at = match text[header.end..].find('\n') {
        Some(i) => header.end + i + 1,
        None => return found,
    };
    while at < text.len() {
        let end = text[at..].find('\n').map_or(text.len(), |i| at + i);
        let line = text[at..end].trim_end_matches('\r');
        let content = line.trim_start_matches([' ', '\t']);
        let next = end + 1;
        if content.is_empty() || content.starts_with('#') {
            at = next;
            continue;
        }
        let width = indent(line);
        if width <= header_indent {
            break;
        }
        if let Some(key_indent) = literal {
            if width > key_indent {
                let start = at + (line.len() - content.len());
                found.push(start..at + line.len());
                at = next;
                continue;
            }
            literal = None;
        }
        if let Some(colon) = map_value(content) {
            let value = content[colon + 1..].trim_matches([' ', '\t']);
            if matches!(value.trim_end_matches(['-', '+']), "|" | ">") {
                literal = Some(width);
            } else if let Some(range) = unquoted(value) {
                let start = at + (line.len() - content.len()) + colon + 1;
                let offset = content[colon + 1..].find(value).unwrap_or(0);
                found.push(start + offset + range.start..start + offset + range.end);
            }
        }
        at = next;
    }
    found
}

/// Whether `text` holds `kind: Secret` (YAML, any case, quoted or not).
fn says_secret(text: &str) -> bool {
    text.lines().any(|line| {
        let line = line.trim_start_matches([' ', '\t', '-']).trim_end();
        let Some(rest) = line.strip_prefix("kind:").or_else(|| line.strip_prefix("\"kind\":"))
        else {
            return false;
        };
        rest.trim_matches([' ', '\t', '"', '\'', ',']).eq_ignore_ascii_case("secret")
    })
}

/// The blanks before a line's content, tabs counting as one column like spaces.
fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches([' ', '\t']).len()
}

/// Where the `:` of a `key: value` line is, for a plain or quoted key.
fn map_value(content: &str) -> Option<usize> {
    let colon = content.find(':')?;
    let key = content[..colon].trim_matches(['"', '\'']);
    let after = content.as_bytes().get(colon + 1);
    let plain = |c: char| c.is_ascii_alphanumeric() || "._-".contains(c);
    (!key.is_empty() && key.chars().all(plain) && matches!(after, None | Some(b' ' | b'\t')))
        .then_some(colon)
}

/// The value inside its quotes, if any, as a range of `value`; `None` when empty.
fn unquoted(value: &str) -> Option<Range<usize>> {
    let value = value.split(" #").next().unwrap_or(value).trim_end();
    let range = match value.as_bytes() {
        [q @ (b'"' | b'\''), .., last] if last == q && value.len() > 1 => 1..value.len() - 1,
        _ => 0..value.len(),
    };
    (!range.is_empty()).then_some(range)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn values(text: &str) -> Vec<&str> {
        let at = crate::checks::data_header(text).expect("a data: line");
        secret_data(text, at..at + "ata:".len()).into_iter().map(|r| &text[r]).collect()
    }

    #[test]
    fn every_value_of_a_secrets_data_map_and_nothing_after_it() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: db\ndata:\n  # a comment\n  password: cGFzc3dvcmQ=\n  tls.crt: \"LS0tLS1CRUdJTg==\"\n\n  user: YWRtaW4=\ntype: Opaque\n";
        assert_eq!(values(text), ["cGFzc3dvcmQ=", "LS0tLS1CRUdJTg==", "YWRtaW4="]);
    }

    #[test]
    fn tabs_a_block_literal_and_kind_after_the_data() {
        let text = "apiVersion: v1\n data:\n \textra: YWRtaW46cGFzc3dvcmQ=\n \tconf: |\n \t  line one\n \t  line two\n kind: secret\n";
        assert_eq!(values(text), ["YWRtaW46cGFzc3dvcmQ=", "line one", "line two"]);
    }

    #[test]
    fn a_data_map_outside_a_secret_is_left_alone() {
        let text = "apiVersion: v1\nkind: ConfigMap\ndata:\n  level: debug\n";
        assert!(values(text).is_empty());
    }
}
