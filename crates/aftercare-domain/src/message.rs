//! Texts with fields: `{customer_name}` and the like, filled in for one customer.

/// The fields a library text may use.
pub const FIELDS: &[&str] = &[
    "customer_name",
    "request_number",
    "visit_time",
    "agent_name",
    "product_name",
    "warranty_end",
    "maintenance_due",
    "voucher_code",
    "voucher_value",
    "voucher_until",
    "campaign_link",
    "improvement",
];

/// Checks a text's fields: each `{…}` must name one of [`FIELDS`] and braces pair up.
pub fn check_fields(text: &str) -> Result<(), &'static str> {
    let mut rest = text;
    while let Some(open) = rest.find(['{', '}']) {
        if rest[open..].starts_with('}') {
            return Err("text_field_unknown");
        }
        let after = &rest[open + 1..];
        let close = after.find('}').ok_or("text_field_unknown")?;
        if !FIELDS.contains(&&after[..close]) {
            return Err("text_field_unknown");
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// The text with its fields filled in; a field without a value becomes empty.
pub fn fill(text: &str, values: &[(&str, &str)]) -> String {
    let mut out = text.to_string();
    for f in FIELDS {
        let v = values
            .iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| *v)
            .unwrap_or("");
        out = out.replace(&format!("{{{f}}}"), v);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_checked_and_filled() {
        let t = "{customer_name}您好，工单 {request_number} 已安排在 {visit_time} 上门。";
        assert_eq!(check_fields(t), Ok(()));
        assert_eq!(
            fill(
                t,
                &[
                    ("customer_name", "张伟"),
                    ("request_number", "SR-2026-000001")
                ]
            ),
            "张伟您好，工单 SR-2026-000001 已安排在  上门。"
        );
        assert_eq!(check_fields("{name}您好"), Err("text_field_unknown"));
        assert_eq!(
            check_fields("您好 {customer_name"),
            Err("text_field_unknown")
        );
        assert_eq!(check_fields("您好 }"), Err("text_field_unknown"));
        assert_eq!(check_fields("没有字段"), Ok(()));
    }
}
