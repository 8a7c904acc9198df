//! The mails a customer gets about their requests and surveys, each in the customer's own
//! language: the one staff or the customer set, or guessed from how they first wrote;
//! simplified Chinese while none is known.

use aftercare_domain::lang::Lang;

/// The language to write to a customer in, from their stored code.
pub fn mail_lang(code: Option<&str>) -> Lang {
    code.and_then(Lang::from_tag).unwrap_or(Lang::ZhHans)
}

/// The language a customer probably reads, from how they wrote to us: traditional
/// characters for 繁體中文, no Chinese at all for English.
pub fn guess_lang(text: &str) -> Lang {
    use aftercare_insight::text::{Script, script_of};
    match script_of(text) {
        Script::Hant => Lang::ZhHant,
        Script::Latin if text.chars().any(char::is_alphabetic) => Lang::En,
        _ => Lang::ZhHans,
    }
}

/// Whether a stored language code is one the product writes in.
pub fn is_mail_lang(code: &str) -> bool {
    Lang::ALL.iter().any(|l| l.code() == code)
}

/// The receipt of a new request. `{number}` stays for the store to fill in.
pub fn request_received(lang: Lang, name: &str) -> String {
    match lang {
        Lang::ZhHans => format!(
            "{name}，您好：\n\n我们已收到您的服务请求 {{number}}，会尽快处理。\n直接回复本邮件即可补充信息。\n"
        ),
        Lang::ZhHant => format!(
            "{name}，您好：\n\n我們已收到您的服務請求 {{number}}，會盡快處理。\n直接回覆本郵件即可補充資訊。\n"
        ),
        Lang::En => format!(
            "Dear {name},\n\nWe have received your request {{number}} and will handle it soon.\nReply to this mail to add information.\n"
        ),
    }
}

/// The notice that a request is resolved: (subject, body).
pub fn request_resolved(lang: Lang, number: &str, subject: &str) -> (String, String) {
    match lang {
        Lang::ZhHans => (
            format!("[{number}] 已解决：{subject}"),
            format!("您的服务请求 {number} 已解决，欢迎在客户门户为本次服务评分。\n"),
        ),
        Lang::ZhHant => (
            format!("[{number}] 已解決：{subject}"),
            format!("您的服務請求 {number} 已解決，歡迎在客戶入口為本次服務評分。\n"),
        ),
        Lang::En => (
            format!("[{number}] Resolved: {subject}"),
            format!(
                "Your request {number} is resolved; please rate the service in the customer portal.\n"
            ),
        ),
    }
}

/// A booked visit: (subject, body).
pub fn visit_booked(
    lang: Lang,
    number: &str,
    when: &str,
    technician: &str,
    address: &str,
) -> (String, String) {
    match lang {
        Lang::ZhHans => (
            format!("[{number}] 上门服务预约"),
            format!("上门时间：{when}\n工程师：{technician}\n{address}\n"),
        ),
        Lang::ZhHant => (
            format!("[{number}] 到府服務預約"),
            format!("到府時間：{when}\n技師：{technician}\n{address}\n"),
        ),
        Lang::En => (
            format!("[{number}] Visit booked"),
            format!("Visit: {when}\nTechnician: {technician}\n{address}\n"),
        ),
    }
}

/// A cancelled visit, with the reason when staff gave one: (subject, body).
pub fn visit_cancelled(lang: Lang, number: &str, reason: Option<&str>) -> (String, String) {
    let reason = reason.map(|x| format!("\n{x}")).unwrap_or_default();
    match lang {
        Lang::ZhHans => (
            format!("[{number}] 上门服务已取消"),
            format!("原定上门时间已取消，我们会与您另约时间。{reason}\n"),
        ),
        Lang::ZhHant => (
            format!("[{number}] 到府服務已取消"),
            format!("原定到府時間已取消，我們會與您另約時間。{reason}\n"),
        ),
        Lang::En => (
            format!("[{number}] Visit cancelled"),
            format!("The visit has been cancelled; we will agree a new time with you.{reason}\n"),
        ),
    }
}

/// A return, exchange or refund approved, rejected or completed, with staff's note:
/// (subject, body), with the kind and status named, never coded.
pub fn rma_update(
    lang: Lang,
    number: &str,
    kind: aftercare_domain::rma::RmaKind,
    status: aftercare_domain::rma::RmaStatus,
    serial: &str,
    note: Option<&str>,
) -> (String, String) {
    use aftercare_domain::rma::{RmaKind as K, RmaStatus as S};
    let note = note.map(|n| format!("\n{n}")).unwrap_or_default();
    let (k, s) = match lang {
        Lang::ZhHans => (
            match kind {
                K::Return => "退货",
                K::Exchange => "换货",
                K::Refund => "退款",
            },
            match status {
                S::Approved => "已批准",
                S::Rejected => "未获批准",
                S::Completed => "已完成",
                S::Requested => "已受理",
                S::Received => "已收到退回的产品",
            },
        ),
        Lang::ZhHant => (
            match kind {
                K::Return => "退貨",
                K::Exchange => "換貨",
                K::Refund => "退款",
            },
            match status {
                S::Approved => "已核准",
                S::Rejected => "未獲核准",
                S::Completed => "已完成",
                S::Requested => "已受理",
                S::Received => "已收到退回的產品",
            },
        ),
        Lang::En => (
            match kind {
                K::Return => "return",
                K::Exchange => "exchange",
                K::Refund => "refund",
            },
            match status {
                S::Approved => "approved",
                S::Rejected => "not approved",
                S::Completed => "completed",
                S::Requested => "received",
                S::Received => "received back",
            },
        ),
    };
    match lang {
        Lang::ZhHans | Lang::ZhHant => (
            format!("[{number}] {k}{s}"),
            format!("您的{k}申请（{serial}）：{s}。{note}\n"),
        ),
        Lang::En => (
            format!("[{number}] Your {k}: {s}"),
            format!("Your {k} for {serial} is {s}.{note}\n"),
        ),
    }
}

/// A survey invitation or its reminder: (subject, body).
pub fn survey(
    lang: Lang,
    name: &str,
    link: &str,
    expires_days: u32,
    reminder: bool,
) -> (String, String) {
    let d = expires_days;
    match lang {
        Lang::ZhHans => (
            format!(
                "{}请花一分钟评价我们的服务",
                if reminder { "提醒：" } else { "" }
            ),
            format!(
                "{name}，您好：\n\n感谢您选择我们。请花一分钟告诉我们这次的体验，您的意见会直接用来改进产品和服务：\n{link}\n\n链接 {d} 天内有效，无需登录。\n"
            ),
        ),
        Lang::ZhHant => (
            format!(
                "{}請花一分鐘評價我們的服務",
                if reminder { "提醒：" } else { "" }
            ),
            format!(
                "{name}，您好：\n\n感謝您選擇我們。請花一分鐘告訴我們這次的體驗，您的意見會直接用來改進產品和服務：\n{link}\n\n連結 {d} 天內有效，無需登入。\n"
            ),
        ),
        Lang::En => (
            format!(
                "{}One minute to rate our service",
                if reminder { "Reminder: " } else { "" }
            ),
            format!(
                "Hello {name},\n\nThank you for choosing us. Please take a minute to tell us how it went; what you say goes straight into improving our products and service:\n{link}\n\nThe link works for {d} days, without signing in.\n"
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_mail_is_in_one_language() {
        let (s, b) = survey(Lang::ZhHant, "陳小姐", "https://x/s/1", 14, true);
        assert!(
            s.starts_with("提醒：請") && b.contains("連結 14 天內有效"),
            "{s} {b}"
        );
        assert!(!b.contains("Thank you"));
        let (s, b) = request_resolved(Lang::En, "SR-2026-000001", "Fridge");
        assert_eq!(s, "[SR-2026-000001] Resolved: Fridge");
        assert!(!b.contains('解'));
        assert!(request_received(Lang::ZhHans, "王芳").contains("{number}"));
        assert_eq!(mail_lang(None), Lang::ZhHans);
        assert_eq!(mail_lang(Some("zh-Hant")), Lang::ZhHant);
        assert!(is_mail_lang("en") && !is_mail_lang("fr"));
    }
}
