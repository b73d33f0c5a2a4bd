//! Values that land in the commands witness suggests: Kubernetes names checked against
//! DNS-1123, and arguments quoted for a POSIX shell. Collectors and the rule templates
//! share these so that a label from an alert can never become shell syntax.

/// Whether `name` is a DNS-1123 label (namespaces): at most 63 lowercase letters, digits
/// and '-', starting and ending with a letter or digit.
pub fn is_dns1123_label(name: &str) -> bool {
    let bytes = name.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 63
        && bytes.iter().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
        && bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
}

/// Whether `name` is a DNS-1123 subdomain (Deployments, HPAs): at most 253 characters of
/// DNS-1123 labels joined by '.'.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && name.split('.').all(is_dns1123_label)
}

/// Quotes `arg` for a POSIX shell; plain words stay as they are.
pub fn shell_quote(arg: &str) -> String {
    let plain = !arg.is_empty()
        && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_./=:@,+".contains(&b));
    if plain { arg.to_owned() } else { format!("'{}'", arg.replace('\'', r"'\''")) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kubernetes_names_are_checked() {
        assert!(is_dns1123_label("prod-eu1"));
        assert!(!is_dns1123_label("Prod"));
        assert!(!is_dns1123_label("-prod"));
        assert!(!is_dns1123_label(&"a".repeat(64)));
        assert!(is_dns1123_subdomain("web.v2"));
        assert!(!is_dns1123_subdomain("web;rm -rf /"));
        assert!(!is_dns1123_subdomain("web..v2"));
    }

    #[test]
    fn arguments_are_quoted_only_when_they_need_it() {
        assert_eq!(shell_quote("prod"), "prod");
        assert_eq!(shell_quote("it's $(x)"), r"'it'\''s $(x)'");
        assert_eq!(shell_quote(""), "''");
    }
}
