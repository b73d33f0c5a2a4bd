//! How the values of a series read to a responder: three significant digits, with the
//! query's unit. Outside the collector on purpose: the reports format bundles with it
//! whatever kinds the build that renders them has.

/// A number as a responder reads it: three significant digits, no trailing zeros
/// (`0.0512`, `300`, `1.5e+06` for the very large).
pub fn short(value: f64) -> String {
    if value == 0.0 || !value.is_finite() {
        return format!("{value}");
    }
    let magnitude = value.abs().log10().floor() as i32;
    if !(-4..6).contains(&magnitude) {
        return format!("{value:.2e}");
    }
    let decimals = usize::try_from((2 - magnitude).max(0)).unwrap_or(0);
    let text = format!("{value:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// `value` in `unit`: `ratio` as a percentage, `seconds` in s or ms, anything else
/// after the number (`300 req/s`).
pub fn with_unit(value: f64, unit: Option<&str>) -> String {
    match unit {
        Some("ratio") => format!("{}%", short(value * 100.0)),
        Some("seconds") if value.abs() < 1.0 => format!("{} ms", short(value * 1000.0)),
        Some("seconds") => format!("{} s", short(value)),
        Some(unit) if !unit.is_empty() => format!("{} {unit}", short(value)),
        _ => short(value),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_short_with_their_unit() {
        assert_eq!(short(0.051234), "0.0512");
        assert_eq!(short(299.99999999999994), "300");
        assert_eq!(short(2.5), "2.5");
        assert_eq!(with_unit(0.0512, Some("ratio")), "5.12%");
        assert_eq!(with_unit(0.25, Some("seconds")), "250 ms");
        assert_eq!(with_unit(300.0, Some("req/s")), "300 req/s");
    }
}
