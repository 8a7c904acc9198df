//! The product catalogue's rules: warranty (三包) policies and after-sales strategies.

use serde::{Deserialize, Serialize};

crate::customer::code_enum!(
    /// Something about an item or its use that takes away the three guarantees: damage
    /// by misuse, a fall, liquid or improper installation by the customer; opened or
    /// repaired by someone the maker did not authorise; no invoice or warranty card; the
    /// serial number altered or removed; fire, flood, lightning and other force majeure;
    /// commercial use of a product sold for household use.
    VoidCondition, "void_condition_unknown", {
        Misuse => "misuse",
        UnauthorizedRepair => "unauthorized_repair",
        NoProofOfPurchase => "no_proof_of_purchase",
        SerialTampered => "serial_tampered",
        ForceMajeure => "force_majeure",
        CommercialUse => "commercial_use",
    }
);

/// The three guarantees a product category carries. Windows are counted as Chinese law
/// counts periods: the start day itself is not counted, so a 7-day return window on an
/// item received on 1 November runs to 8 November inclusive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WarrantyPolicy {
    /// Days after receipt in which a faulty item may be returned for a refund (0: never).
    pub return_days: u32,
    /// Days after receipt in which a faulty item may be exchanged (0: never).
    pub exchange_days: u32,
    /// Months after receipt of free repair (0: none).
    pub repair_months: u32,
    /// Repairs after which a further fault in the repair period is met by an exchange
    /// instead of another repair (0: no limit).
    pub repair_limit: u32,
    /// Conditions that, once recorded against an item, void all three guarantees.
    pub void_conditions: Vec<VoidCondition>,
}

impl WarrantyPolicy {
    /// The policy China's regulations set for most household appliances: 7 / 15 days,
    /// one year of repair, exchange after two failed repairs.
    pub fn statutory() -> Self {
        Self {
            return_days: 7,
            exchange_days: 15,
            repair_months: 12,
            repair_limit: 2,
            void_conditions: VoidCondition::ALL.to_vec(),
        }
    }

    /// Checks a policy's numbers make sense together.
    pub fn validate(&self) -> Result<(), crate::Invalid> {
        let mut inv = crate::Invalid::default();
        if self.return_days > 3650 {
            inv.push("return_days", "out_of_range");
        }
        if self.exchange_days > 3650 {
            inv.push("exchange_days", "out_of_range");
        }
        if self.repair_months > 240 {
            inv.push("repair_months", "out_of_range");
        }
        if self.repair_limit > 100 {
            inv.push("repair_limit", "out_of_range");
        }
        if self.exchange_days != 0 && self.exchange_days < self.return_days {
            inv.push("exchange_days", "exchange_shorter_than_return");
        }
        inv.into_result()
    }
}

crate::customer::code_enum!(
    /// How far the after-sales promise for a product line goes (seed 004).
    AfterSalesStrategy, "strategy_unknown", {
        Comprehensive => "comprehensive",
        Special => "special",
        Partial => "partial",
    }
);

/// A product's code: letters, digits, `-`, `_`, `.`, 1–64 characters.
pub fn parse_sku(s: &str) -> Result<String, &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("required");
    }
    if t.len() > 64
        || !t
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c))
    {
        return Err("sku_invalid");
    }
    Ok(t.to_uppercase())
}

/// A serial number: letters, digits and `-`, 4–64 characters, kept upper-case.
pub fn parse_serial(s: &str) -> Result<String, &'static str> {
    let t = s.trim();
    if t.is_empty() {
        return Err("required");
    }
    if !(4..=64).contains(&t.len()) || !t.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err("serial_invalid");
    }
    Ok(t.to_uppercase())
}

/// A price or amount in minor units (fen for CNY). Negative amounts are refused.
pub fn parse_money(s: &str) -> Result<i64, &'static str> {
    let t = s.trim().trim_start_matches(['¥', '￥']);
    if t.is_empty() {
        return Err("required");
    }
    // Commas only group thousands (`3,299.00`): `3,2,9` is a typing mistake, not 329.
    let whole_part = t.split('.').next().unwrap_or("");
    if whole_part.contains(',') {
        let mut groups = whole_part.split(',');
        let first = groups.next().unwrap_or("");
        if first.is_empty() || first.len() > 3 || groups.any(|g| g.len() != 3) {
            return Err("amount_invalid");
        }
    }
    let t = t.replace(',', "");
    let (whole, frac) = t.split_once('.').unwrap_or((t.as_str(), ""));
    if whole.is_empty()
        || !whole.bytes().all(|b| b.is_ascii_digit())
        || frac.len() > 2
        || !frac.bytes().all(|b| b.is_ascii_digit())
    {
        return Err("amount_invalid");
    }
    let whole: i64 = whole.parse().map_err(|_| "amount_invalid")?;
    let frac: i64 = format!("{frac:0<2}")
        .parse()
        .map_err(|_| "amount_invalid")?;
    whole
        .checked_mul(100)
        .and_then(|w| w.checked_add(frac))
        .filter(|v| *v <= 1_000_000_000_000)
        .ok_or("amount_invalid")
}

/// Formats minor units as `1,299.00`.
pub fn format_money(minor: i64) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let m = minor.unsigned_abs();
    let whole = (m / 100).to_string();
    let mut grouped = String::new();
    for (i, c) in whole.chars().enumerate() {
        if i > 0 && (whole.len() - i).is_multiple_of(3) {
            grouped.push(',');
        }
        grouped.push(c);
    }
    format!("{sign}{grouped}.{:02}", m % 100)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_parses_yuan_and_fen() {
        assert_eq!(parse_money("1299"), Ok(129_900));
        assert_eq!(parse_money("¥1,299.5"), Ok(129_950));
        assert_eq!(parse_money("0.05"), Ok(5));
        assert_eq!(parse_money("-1"), Err("amount_invalid"));
        assert_eq!(parse_money("1.234"), Err("amount_invalid"));
        // Commas group thousands and nothing else.
        assert_eq!(parse_money("3,2,9"), Err("amount_invalid"));
        assert_eq!(parse_money(",329"), Err("amount_invalid"));
        assert_eq!(parse_money("1,2345"), Err("amount_invalid"));
        assert_eq!(parse_money("12,345,678.90"), Ok(1_234_567_890));
        assert_eq!(format_money(129_950), "1,299.50");
        assert_eq!(format_money(5), "0.05");
    }

    #[test]
    fn serials_and_skus_are_normalised() {
        assert_eq!(parse_serial(" sn-2026-0001 "), Ok("SN-2026-0001".into()));
        assert_eq!(parse_serial("a b"), Err("serial_invalid"));
        assert_eq!(parse_sku("kfr-35gw"), Ok("KFR-35GW".into()));
    }

    #[test]
    fn exchange_window_shorter_than_return_is_refused() {
        let mut p = WarrantyPolicy::statutory();
        p.exchange_days = 3;
        assert!(p.validate().is_err());
        assert!(WarrantyPolicy::statutory().validate().is_ok());
    }
}
