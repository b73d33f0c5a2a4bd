//! Strings that read as random: a quoted run of base64 characters long and varied enough
//! that it is a credential without a vendor prefix or a key naming it, the way
//! detect-secrets' high-entropy-string plugin finds them (`"c3VwZXIgbG9uZyBzdHJpbmc…"`).
//!
//! A hexadecimal string is judged only when it stands alone on its line (`"2b00042f…"`,
//! nothing naming it): quoted after a key or inside a message, hex is a trace or request
//! id, a commit hash or a digest far more often than a key, and a responder needs it.

use std::ops::Range;

/// The fewest characters (padding excluded) a quoted string needs to be judged.
const MIN_CHARS: usize = 32;

/// Bits of Shannon entropy per character at or above which a string reads as random:
/// detect-secrets' limit for base64. Identifiers (`getUserByIdAndOrganizationId…`) and
/// DER prefixes stay below it; random base64 of 32 characters or more is above it.
const MIN_BITS: f64 = 4.5;

/// The same limit for a hexadecimal string: detect-secrets' limit for hex. Random hex
/// holds close to 4 bits a character; `deadbeef…` repeated and counters stay below it.
const MIN_HEX_BITS: f64 = 3.0;

/// The prefixes of a Subresource Integrity digest (`integrity="sha256-q2Lr…"`): a hash
/// of a page's script or image, evidence rather than a secret.
const SRI_DIGESTS: [&str; 3] = ["sha256-", "sha384-", "sha512-"];

/// A character of base64 or base64url, padding excluded.
fn base64(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'_' | b'-')
}

/// Whether `value` (without quotes) reads as a random token: at least [`MIN_CHARS`]
/// base64 characters before at most two `=`, upper- and lowercase letters and digits
/// mixed, not only hex digits, and at least [`MIN_BITS`] per character.
pub(super) fn random(value: &str) -> bool {
    let body = value.strip_suffix("==").or_else(|| value.strip_suffix('=')).unwrap_or(value);
    let bytes = body.as_bytes();
    if bytes.len() < MIN_CHARS || !bytes.iter().all(|&b| base64(b)) {
        return false;
    }
    if path(body) || SRI_DIGESTS.iter().any(|p| body.starts_with(p)) {
        return false;
    }
    let has = |f: fn(&u8) -> bool| bytes.iter().any(f);
    let mixed =
        has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase) && has(u8::is_ascii_digit);
    mixed && !bytes.iter().all(u8::is_ascii_hexdigit) && bits_per_char(bytes) >= MIN_BITS
}

/// Whether `value` (without quotes) reads as a random hexadecimal key: at least
/// [`MIN_CHARS`] hex digits, letters and digits mixed, at least [`MIN_HEX_BITS`] a
/// character.
fn random_hex(value: &str) -> bool {
    let bytes = value.as_bytes();
    bytes.len() >= MIN_CHARS
        && bytes.iter().all(u8::is_ascii_hexdigit)
        && bytes.iter().any(u8::is_ascii_digit)
        && bytes.iter().any(u8::is_ascii_alphabetic)
        && bits_per_char(bytes) >= MIN_HEX_BITS
}

/// Whether the quoted string from the quote at `open` to the one at `close` stands alone
/// on its line of `text`: only indentation before it, and only `,`, `;`, `)` or spaces
/// after it, so nothing names it.
fn alone(text: &[u8], open: usize, close: usize) -> bool {
    let line_start = memchr::memrchr(b'\n', &text[..open]).map_or(0, |i| i + 1);
    let line_end = memchr::memchr(b'\n', &text[close..]).map_or(text.len(), |i| close + i);
    text.get(close) == text.get(open)
        && text[line_start..open].iter().all(u8::is_ascii_whitespace)
        && text[close + 1..line_end].iter().all(|b| b.is_ascii_whitespace() || b",;)".contains(b))
}

/// Whether the string quoted from `open` to `close` in `text` reads as a secret: a
/// [`random`] base64 string anywhere, a [`random_hex`] one only when it stands [`alone`].
fn quoted_secret(text: &str, open: usize, close: usize) -> bool {
    let value = &text[open + 1..close];
    random(value) || (random_hex(value) && alone(text.as_bytes(), open, close))
}

/// Whether `value` reads as a path (`/api/v1/orders/9c14…/items`): it starts with `/`, or
/// two of its `/`-separated parts are lowercase words, which random base64 almost never
/// holds.
fn path(value: &str) -> bool {
    let word = |part: &&str| {
        (2..=12).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_lowercase())
    };
    value.starts_with('/') || value.split('/').filter(word).count() >= 2
}

/// Shannon entropy of `bytes`, in bits per character.
fn bits_per_char(bytes: &[u8]) -> f64 {
    let mut counts = [0u32; 256];
    for &b in bytes {
        counts[usize::from(b)] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = f64::from(c) / n;
            -p * p.log2()
        })
        .sum()
}

/// Where `text` first has a quote (`"`, `'` or `` ` ``), a [`random`] string and a closing
/// quote (or the backslash of an escaped one). A SIMD search for quotes, so texts without
/// such a string skip the rule.
pub(super) fn quoted_random(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    memchr::memchr3_iter(b'"', b'\'', b'`', bytes).find(|&open| {
        let start = open + 1;
        let body = bytes[start..].iter().take_while(|&&b| base64(b)).count();
        let pad = bytes[start + body..].iter().take(2).take_while(|&&b| b == b'=').count();
        let end = start + body + pad;
        body >= MIN_CHARS
            && matches!(bytes.get(end), Some(b'"' | b'\'' | b'`' | b'\\'))
            && quoted_secret(text, open, end)
    })
}

/// The check of the quoted-string rule: whether the string quoted by `text[range]` (its
/// quotes included, the closing one possibly escaped) is a [`quoted_secret`].
pub(super) fn quoted_value_is_random(text: &str, range: Range<usize>) -> bool {
    quoted_secret(text, range.start, range.end - 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_base64_is_found_and_words_ids_hashes_are_not() {
        for secret in [
            "c3VwZXIgbG9uZyBzdHJpbmcgc2hvdWxkIGNhdXNlIGVub3VnaCBlbnRyb3B5",
            "I6FwzQZFL9l-44nviI1F04OTmorMaVQf9GS4Oe07qxL_vNkW6CRas4Lo42vqJMT0M6riJfma_f-pTAuoX2U=",
            "q8Zr2Lw0XkP4vN7mYt1Hs9Jd3Fb6Gc5Ae==",
        ] {
            assert!(random(secret), "{secret}");
        }
        for evidence in [
            "4bf92f3577b34da6a3ce929d0e0e4736",              // a trace id
            "ffac537e6cbbf934b08745a378932722df287a53",      // a commit
            "getUserByIdAndOrganizationIdFromCache2",        // an identifier
            "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEA",  // a DER public key prefix
            "checkout-api-7f9c4d-2025-11-19-canary-rollout", // a name
            "dGhpcyBpcyBhIHRlc3Q=",                          // too short
            "api/v1/orders/9c14koUc3f04PrzlpCcUx/items/caa3224b5ddb8392", // a path
            "sha256-q2Lr5d8H0f1uXx3Wc9N7pYb6Tz4Ve0Kj1Ma8Rs2Gh5I=", // a page's integrity digest
        ] {
            assert!(!random(evidence), "{evidence}");
        }
    }

    #[test]
    fn the_gate_needs_both_quotes_around_the_whole_string() {
        let token = "I6FwzQZFL9l-44nviI1F04OTmorMaVQf9GS4Oe07qxL_vNkW6CRas4Lo42vqJMT0M6riJfma";
        assert!(quoted_random(&format!("cursor=\"{token}\"")).is_some());
        assert!(quoted_random(&format!(r#"{{"msg":"next \"{token}\""}}"#)).is_some());
        assert!(quoted_random(&format!("path '{token}/index.html'")).is_none());
        assert!(quoted_random(&format!("unquoted {token} here")).is_none());
    }

    #[test]
    fn hex_counts_only_when_nothing_names_it() {
        let key = "2b00042f7481c7b056c4b410d28f33cf";
        for text in
            [format!("\"{key}\""), format!("    '{key}',"), format!("setup\n\t\"{key}\");\nnext")]
        {
            assert!(quoted_random(&text).is_some(), "{text}");
        }
        for text in [
            format!(r#"{{"trace_id":"{key}"}}"#),
            format!("commit \"{key}\" deployed"),
            format!("\"{key}'"),
            "\"0000000000000000000000000000000000000000\"".to_owned(),
            "\"deadbeefdeadbeefdeadbeefdeadbeef1\"".to_owned(),
        ] {
            assert!(quoted_random(&text).is_none(), "{text}");
        }
    }
}
