//! Checks that tell a real secret from a look-alike once a pattern matched: a card number
//! passes Luhn and belongs to a card network; an address parses. They keep ordinary
//! numbers (epoch milliseconds, floats, version strings) out of the redaction counts.

use std::ops::Range;

/// Whether `text[range]` is a payment card number: 13-19 digits of a known network's
/// prefix and length that pass the Luhn check, not part of a decimal number.
pub(super) fn card_number(text: &str, range: Range<usize>) -> bool {
    if part_of_decimal(text, &range) {
        return false;
    }
    let digits: Vec<u8> =
        text[range].bytes().filter(u8::is_ascii_digit).map(|b| b - b'0').collect();
    network_accepts(&digits) && luhn(&digits)
}

/// Where `text` first has 13 or more digits in a row, single spaces or dashes between
/// them allowed (the 13th digit): the least a card number needs, so lines without one
/// skip the card pattern.
///
/// Such a run spans 13 bytes or more, so it holds one of every 13th byte: only the runs
/// through those bytes are read, and text with few digits costs a probe per 13 bytes.
pub(super) fn card_length_digit_run(text: &str) -> Option<usize> {
    const DIGITS: usize = 13;
    let b = text.as_bytes();
    let digit = |i: usize| b[i].is_ascii_digit();
    // A separator inside a run: between two digits.
    let joins = |i: usize| {
        matches!(b[i], b' ' | b'-') && i > 0 && i + 1 < b.len() && digit(i - 1) && digit(i + 1)
    };
    let mut probe = DIGITS - 1;
    while probe < b.len() {
        if !digit(probe) && !joins(probe) {
            probe += DIGITS;
            continue;
        }
        let mut start = if digit(probe) { probe } else { probe - 1 };
        loop {
            while start > 0 && digit(start - 1) {
                start -= 1;
            }
            if start >= 2 && joins(start - 1) {
                start -= 2;
            } else {
                break;
            }
        }
        let (mut at, mut digits) = (start, 0);
        loop {
            while at < b.len() && digit(at) {
                digits += 1;
                if digits == DIGITS {
                    return Some(at);
                }
                at += 1;
            }
            if at < b.len() && joins(at) {
                at += 1;
            } else {
                break;
            }
        }
        // The run ends at `at`: the next probe after it.
        while probe <= at {
            probe += DIGITS;
        }
    }
    None
}

/// Where `text` first has a `.`, six token characters and another `.`: the middle of a
/// Discord bot token. A byte loop, so lines without one skip that pattern.
pub(super) fn dotted_six(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let token = |b: &u8| b.is_ascii_alphanumeric() || *b == b'_' || *b == b'-';
    text.match_indices('.').map(|(i, _)| i).find(|&i| {
        i >= 22
            && bytes.get(i + 7) == Some(&b'.')
            && bytes[i + 1..i + 7].iter().all(token)
            && bytes[i - 22..i].iter().all(token)
    })
}

/// Where `text` first has a line that is only `data:` or `stringData:` (indented or not):
/// the header of a Kubernetes Secret's map in YAML. A SIMD byte search, so texts without
/// one skip that rule.
pub(super) fn data_header(text: &str) -> Option<usize> {
    memchr::memmem::find_iter(text.as_bytes(), b"ata:").find(|&i| {
        let start = text[..i].rfind('\n').map_or(0, |n| n + 1);
        let end = text[i..].find('\n').map_or(text.len(), |n| i + n);
        let line = text[start..end].trim_matches([' ', '\t', '\r']);
        line == "data:" || line.eq_ignore_ascii_case("stringdata:")
    })
}

/// Where `text` first has what may be a legacy HashiCorp Vault token: `s.` and 16 to 24
/// letters and digits, standing alone (not the end of a word: `metrics.…`). A byte
/// search.
pub(super) fn vault_legacy(text: &str) -> Option<usize> {
    let bytes = text.as_bytes();
    let joined = |b: &u8| b.is_ascii_alphanumeric() || b"_.-/".contains(b);
    memchr::memmem::find_iter(bytes, b"s.").find(|&i| {
        let alone = !i.checked_sub(1).is_some_and(|p| joined(&bytes[p]));
        let body = bytes[i + 2..].iter().take_while(|b| b.is_ascii_alphanumeric()).count();
        let after = bytes.get(i + 2 + body);
        alone && (16..=24).contains(&body) && !after.is_some_and(joined)
    })
}

/// Whether the legacy Vault token in `text[range]` (with the characters around it the
/// pattern took) reads as one: 24 characters mixing digits, upper- and lowercase letters,
/// as a random token does and a word or a name does not; or, with Vault named within the
/// lines around it (`text`: the lines the rule runs on), 16 or more with digits and
/// letters.
pub(super) fn vault_token(text: &str, range: Range<usize>) -> bool {
    let whole = &text[range];
    let body = whole.split_once("s.").map_or(whole, |(_, b)| b);
    let body: String = body.chars().take_while(char::is_ascii_alphanumeric).collect();
    let has = |f: fn(&u8) -> bool| body.as_bytes().iter().any(f);
    let mixed =
        has(u8::is_ascii_digit) && has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase);
    let near_vault = text.to_ascii_lowercase().contains("vault");
    (body.len() == 24 && mixed)
        || (near_vault && has(u8::is_ascii_digit) && has(u8::is_ascii_alphabetic))
}

/// Whether the key a key=value match starts with (`text[range]`) is a key, not the last
/// part of a path (`/etc/passwd": no such file`, `GET /api/token: 404`).
pub(super) fn key_not_in_path(text: &str, range: Range<usize>) -> bool {
    !text[..range.start].ends_with('/')
}

/// Whether the value that ends a vendor-name match (`text[range]`, `jira Z7Vo…`) reads
/// as a credential: 16 or more characters with letters and digits mixed in one run of 8
/// or more, not a lowercase hex hash or id (a commit, a digest), not a host name.
pub(super) fn vendor_value(text: &str, range: Range<usize>) -> bool {
    let whole = &text[range];
    let start = whole
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || "_+/=.-".contains(c)))
        .map_or(0, |i| i + 1);
    let value = whole[start..].trim_end_matches(['.', '-']);
    let bytes = value.as_bytes();
    let letters = bytes.iter().filter(|b| b.is_ascii_alphabetic()).count();
    let digits = bytes.iter().filter(|b| b.is_ascii_digit()).count();
    let lower_hex = bytes.iter().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(b));
    let dotted_words = value.split('.').count() > 1
        && value
            .split('.')
            .all(|part| part.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        && value.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_alphabetic()));
    // Words and numbers joined (`runner-20251119-ab`) are a name; a credential mixes
    // letters and digits inside one run.
    let mixed_run = value.split(['-', '_', '.', '/', '+', '=']).any(|run| {
        run.len() >= 8
            && run.bytes().any(|b| b.is_ascii_alphabetic())
            && run.bytes().any(|b| b.is_ascii_digit())
    });
    value.len() >= 16 && letters > 0 && digits > 0 && mixed_run && !lower_hex && !dotted_words
}

/// Whether the pair `name = ('id', 'secret')` in `text[range]` begins with an id that
/// reads as a credential ([`vendor_value`]): then its second item is the secret that goes
/// with it, whatever it looks like.
pub(super) fn vendor_pair(text: &str, range: Range<usize>) -> bool {
    let whole = &text[range.clone()];
    let Some(comma) = whole.find(',') else {
        return false;
    };
    let first = whole[..comma].trim_end_matches([' ', '\t', '"', '\'', '`']);
    vendor_value(text, range.start..range.start + first.len())
}

/// Whether the key holding a keyword that ends at `from` is followed by an assignment:
/// the rest of the key, closing quotes, brackets, escapes or an HTML entity (`"]`,
/// `[25]`, `\"`, `&quot;`), blanks, at most one word (a type: `xToken string =`), then
/// an operator or an opening quote. A keyword in prose (`password authentication
/// failed`, `invalid token in expression`) is not.
pub(super) fn assignment_follows(text: &str, from: usize) -> bool {
    let b = text.as_bytes();
    let mut i = from;
    let key = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b'-');
    while i < b.len() && key(b[i]) {
        i += 1;
    }
    let mut skipped = 0;
    while i < b.len() && skipped < 16 {
        match b[i] {
            b'"' | b'\'' | b'`' | b']' | b'[' | b'\\' | b'&' | b'#' | b';' => {}
            c if c.is_ascii_alphanumeric() && skipped > 0 => {}
            _ => break,
        }
        i += 1;
        skipped += 1;
    }
    for word in 0..2 {
        while i < b.len() && matches!(b[i], b' ' | b'\t') {
            i += 1;
        }
        match b.get(i) {
            Some(
                b'=' | b':' | b',' | b'>' | b'-' | b'!' | b'?' | b'.' | b'+' | b'"' | b'\'' | b'`'
                | b'&' | b'\\' | b'@',
            ) => return true,
            Some(c) if word == 0 && (c.is_ascii_alphabetic() || *c == b'[') => {
                while i < b.len() && (key(b[i]) || matches!(b[i], b'[' | b']' | b'&' | b'*')) {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
    false
}

/// A match with a `.` and a digit on either side is a piece of `0.4111...` or `1.2.3.4.5`.
fn part_of_decimal(text: &str, range: &Range<usize>) -> bool {
    let bytes = text.as_bytes();
    let before = range.start.checked_sub(1).map(|i| bytes[i]);
    let after = bytes.get(range.end).copied();
    let after_next = bytes.get(range.end + 1).copied();
    before == Some(b'.') || (after == Some(b'.') && after_next.is_some_and(|b| b.is_ascii_digit()))
}

fn luhn(digits: &[u8]) -> bool {
    let sum: u32 = digits
        .iter()
        .rev()
        .enumerate()
        .map(|(i, &d)| {
            let d = u32::from(d);
            if i % 2 == 1 {
                let doubled = d * 2;
                if doubled > 9 { doubled - 9 } else { doubled }
            } else {
                d
            }
        })
        .sum();
    sum.is_multiple_of(10)
}

/// Whether the prefix and length belong to Visa, Mastercard, American Express, Discover,
/// Diners Club, JCB or UnionPay.
fn network_accepts(digits: &[u8]) -> bool {
    let len = digits.len();
    let prefix = |n: usize| digits.iter().take(n).fold(0u32, |acc, d| acc * 10 + u32::from(*d));
    let (p1, p2, p3, p4) = (prefix(1), prefix(2), prefix(3), prefix(4));
    match len {
        13 => p1 == 4,
        14 => p2 == 36 || p2 == 38 || (300..=305).contains(&p3),
        15 => p2 == 34 || p2 == 37,
        16 => {
            p1 == 4
                || (51..=55).contains(&p2)
                || (2221..=2720).contains(&p4)
                || p4 == 6011
                || p2 == 65
                || (644..=649).contains(&p3)
                || (3528..=3589).contains(&p4)
                || p2 == 62
                || p2 == 36
                || p2 == 38
        }
        17 | 18 => (3528..=3589).contains(&p4) || p2 == 62 || p4 == 6011 || p2 == 65,
        19 => {
            p1 == 4
                || (3528..=3589).contains(&p4)
                || p2 == 62
                || p4 == 6011
                || p2 == 65
                || (644..=649).contains(&p3)
        }
        _ => false,
    }
}

/// Whether `text[range]` is an IPv4 address on its own, not part of a dotted version
/// (`1.2.3.4.5`).
pub(super) fn ipv4(text: &str, range: Range<usize>) -> bool {
    !part_of_decimal(text, &range)
}

/// Whether `text[range]` parses as an IPv6 address (with an optional zone) and does not
/// start in the middle of a word (`cafe80::1`, `std::io`) or right after a `]` (which
/// ends a redaction token, so a second pass would find what the first did not: found by
/// the fuzzer); `::` alone is not an address.
pub(super) fn ipv6(text: &str, range: Range<usize>) -> bool {
    let glued = range
        .start
        .checked_sub(1)
        .and_then(|i| text.as_bytes().get(i))
        .is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b']'));
    let candidate = &text[range];
    let address = candidate.split('%').next().unwrap_or(candidate);
    !glued
        && address != "::"
        && address.parse::<std::net::Ipv6Addr>().is_ok()
        && address.bytes().filter(|b| *b == b':').count() >= 2
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(s: &str) -> bool {
        card_number(s, 0..s.len())
    }

    #[test]
    fn card_numbers_of_each_network_pass_and_look_alikes_fail() {
        for good in [
            "4111111111111111",
            "4111 1111 1111 1111",
            "5500-0000-0000-0004",
            "340000000000009",
            "6011000000000004",
            "3530111333300000",
            "2223003122003222",
            "4222222222222",
        ] {
            assert!(card(good), "{good}");
        }
        for bad in [
            "4111111111111112",  // Luhn fails
            "1732053600123",     // epoch milliseconds
            "1732053600123456",  // epoch microseconds
            "9999999999999995",  // no network
            "20251119210000123", // a compact timestamp
        ] {
            assert!(!card(bad), "{bad}");
        }
        let float = "ratio 0.4111111111111111";
        assert!(!card_number(float, 8..float.len()));
    }

    #[test]
    fn the_digit_run_gate_opens_for_every_printed_card_form() {
        for text in ["x 4111111111111111 y", "4111 1111 1111 1111", "3400-000000-00009"] {
            assert!(card_length_digit_run(text).is_some(), "{text}");
        }
        for text in ["2025-11-19T21:00:00.123Z pid=4242", "12  345678901234", "123456789012"] {
            assert_eq!(card_length_digit_run(text), None, "{text}");
        }
    }

    /// The gate reads only the runs through every 13th byte: it must find the same 13th
    /// digit as reading every byte does.
    #[test]
    fn the_digit_run_gate_finds_the_first_run_wherever_it_lies() {
        fn every_byte(text: &str) -> Option<usize> {
            let (mut run, mut after_separator) = (0, false);
            for (i, b) in text.bytes().enumerate() {
                if b.is_ascii_digit() {
                    run += 1;
                    if run >= 13 {
                        return Some(i);
                    }
                    after_separator = false;
                } else if (b == b' ' || b == b'-') && run > 0 && !after_separator {
                    after_separator = true;
                } else {
                    (run, after_separator) = (0, false);
                }
            }
            None
        }
        let mut seed: u64 = 7;
        for _ in 0..20_000 {
            let len = (seed % 60) as usize;
            let text: String = (0..len)
                .map(|_| {
                    seed = seed
                        .wrapping_mul(6_364_136_223_846_793_005)
                        .wrapping_add(1_442_695_040_888_963_407);
                    match (seed >> 33) % 16 {
                        0 => ' ',
                        1 => '-',
                        2 => 'x',
                        3 => '\n',
                        d => char::from(b'0' + (d % 10) as u8),
                    }
                })
                .collect();
            assert_eq!(card_length_digit_run(&text), every_byte(&text), "{text:?}");
        }
    }

    #[test]
    fn a_value_after_a_vendor_name_must_read_as_a_credential() {
        let ok = |s: &str| vendor_value(s, 0..s.len());
        assert!(ok("sourcegraph: 6d2FabeB6ADd229Bc199FabA28fD3efb57dF0bD3"));
        assert!(ok("jira Z7VoIYJ0K4rFWLBfkhOsLAWX"));
        for benign in [
            "github 3f2a9c1d0e8b7a6f5e4d3c2b1a0f9e8d7c6b5a49",
            "gitlab runner-20251119-ab",
            "sentry ingest.eu-west-1.sentry.io",
            "github releases-v2.31.4-rc.1-final",
            "datadog dashboard_latency_overview",
            "twilio 202511192100000000",
        ] {
            assert!(!ok(benign), "{benign}");
        }
    }

    #[test]
    fn ipv6_candidates_must_parse_and_stand_alone() {
        let ok = |s: &str| ipv6(s, 0..s.len());
        assert!(ok("2001:db8::8a2e:370:7334") && ok("fe80::1%eth0") && ok("::1"));
        assert!(!ok("21:00:00") && !ok("::") && !ok("dead:beef"));
        let glued = "cafe80::1";
        assert!(!ipv6(glued, 2..glued.len()));
    }
}
