//! Service standards: per service type, the checklist a field visit is held to (arrive on
//! time, shoe covers, explain the fault, test after repair, clean up…). The visit report
//! marks every item done or not; what was not done counts against the visit.

use crate::Invalid;
use crate::error::required_text;
use serde::{Deserialize, Serialize};

/// The most items one checklist holds.
pub const MAX_ITEMS: usize = 20;
/// The longest item, in characters.
pub const MAX_ITEM_CHARS: usize = 100;

/// One item of a checklist, as the visit report marks it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
pub struct ChecklistMark {
    /// The item, as the standard words it.
    pub item: String,
    /// Whether it was done.
    pub done: bool,
}

/// Checks a standard's items: each a short text, none twice, at most [`MAX_ITEMS`].
/// Errors name `items[n]`.
pub fn check_items(items: &[String]) -> Result<Vec<String>, Invalid> {
    let mut inv = Invalid::default();
    let mut out: Vec<String> = Vec::new();
    for (n, item) in items.iter().enumerate() {
        match required_text(item, MAX_ITEM_CHARS) {
            Ok(t) if out.contains(&t) => inv.push(format!("items[{n}]"), "duplicate"),
            Ok(t) => out.push(t),
            // An empty row of a form is no item.
            Err("required") => {}
            Err(code) => inv.push(format!("items[{n}]"), code),
        }
    }
    if out.len() > MAX_ITEMS {
        inv.push("items", "too_many");
    }
    inv.into_result().map(|()| out)
}

/// Checks a visit report's marks against the standard: every item marked once, nothing
/// else. Returns them in the standard's order. Errors name `checklist`.
pub fn check_marks(
    standard: &[String],
    marks: &[ChecklistMark],
) -> Result<Vec<ChecklistMark>, Invalid> {
    // No standard has more items than this: more marks are refused before any work.
    if marks.len() > MAX_ITEMS {
        return Err(Invalid::one("checklist", "too_many"));
    }
    let mut inv = Invalid::default();
    for (n, m) in marks.iter().enumerate() {
        if !standard.contains(&m.item) {
            inv.push(format!("checklist[{n}].item"), "checklist_item_unknown");
        } else if marks[..n].iter().any(|x| x.item == m.item) {
            inv.push(format!("checklist[{n}].item"), "duplicate");
        }
    }
    if standard.iter().any(|s| !marks.iter().any(|m| m.item == *s)) {
        inv.push("checklist", "checklist_incomplete");
    }
    inv.into_result()?;
    Ok(standard
        .iter()
        .filter_map(|s| marks.iter().find(|m| m.item == *s).cloned())
        .collect())
}

/// The items not done.
pub fn missed(marks: &[ChecklistMark]) -> Vec<&str> {
    marks
        .iter()
        .filter(|m| !m.done)
        .map(|m| m.item.as_str())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(item: &str, done: bool) -> ChecklistMark {
        ChecklistMark {
            item: item.into(),
            done,
        }
    }

    #[test]
    fn items_are_trimmed_and_checked() {
        let items = vec![" 准时到达 ".into(), "".into(), "穿鞋套".into()];
        assert_eq!(check_items(&items).unwrap(), vec!["准时到达", "穿鞋套"]);
        let bad = check_items(&["穿鞋套".into(), "穿鞋套".into(), "a\u{7}".into()]).unwrap_err();
        let fields: Vec<_> = bad.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            vec![("items[1]", "duplicate"), ("items[2]", "control_character")]
        );
        let many: Vec<String> = (0..21).map(|i| format!("第{i}项")).collect();
        assert_eq!(check_items(&many).unwrap_err().0[0].code, "too_many");
    }

    #[test]
    fn every_item_is_marked_once_and_in_order() {
        let standard = vec!["准时到达".to_string(), "穿鞋套".into(), "清理现场".into()];
        let marks = [
            mark("清理现场", false),
            mark("准时到达", true),
            mark("穿鞋套", true),
        ];
        let ok = check_marks(&standard, &marks).unwrap();
        assert_eq!(ok[0], mark("准时到达", true));
        assert_eq!(missed(&ok), vec!["清理现场"]);
        let bad =
            check_marks(&standard, &[mark("准时到达", true), mark("唱歌", true)]).unwrap_err();
        let fields: Vec<_> = bad.0.iter().map(|e| (e.field.as_str(), e.code)).collect();
        assert_eq!(
            fields,
            vec![
                ("checklist[1].item", "checklist_item_unknown"),
                ("checklist", "checklist_incomplete")
            ]
        );
        // No standard: nothing to mark.
        assert!(check_marks(&[], &[]).unwrap().is_empty());
    }
}
