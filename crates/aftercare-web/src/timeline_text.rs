//! A customer's timeline in the reader's language. The service desk writes its timeline
//! entries in fixed forms ("SR-2026-000001 repair: 冰箱不冷", "… resolved by 王芳 — SLA:
//! response met, resolution met"): their codes and English words are read back here and
//! said in the reader's language, for the entries written before and since. Anything else
//! (a contact's subject, an order's summary) is people's own text and shown as it is.

use crate::i18n::Tr;
use aftercare_domain::request::{RequestChannel, ServiceType};

/// The summary of a timeline entry of `kind` as the reader should see it.
pub fn summary(tr: &Tr, kind: &str, text: &str) -> String {
    said(tr, kind, text).unwrap_or_else(|| text.to_owned())
}

fn said(tr: &Tr, kind: &str, text: &str) -> Option<String> {
    if kind == "expert" && text == "customer alliance: expert" {
        return Some(tr.t("tlx.expert"));
    }
    let (number, rest) = text.split_once(' ')?;
    if !number.starts_with("SR-") {
        return None;
    }
    let t = |key: &str| tr.t(key);
    let out = match kind {
        "request" => match rest {
            "reopened" => t("tlx.reopened"),
            "cancelled" => t("tlx.cancelled"),
            _ => {
                let (ty, subject) = rest.split_once(": ")?;
                ServiceType::parse(ty).ok()?;
                format!("{}：{subject}", tr.k("stype", ty))
            }
        },
        "request_resolved" => {
            let (by, sla) = rest.strip_prefix("resolved by ")?.split_once(" — SLA: ")?;
            format!(
                "{}；{}",
                t("tlx.resolved_by").replace("{by}", by),
                sla_text(tr, sla)?
            )
        }
        "request_message" => {
            RequestChannel::parse(rest).ok()?;
            t("tlx.message").replace("{channel}", &tr.k("rchannel", rest))
        }
        "visit" => {
            if let Some(r) = rest.strip_prefix("visit booked ") {
                let (when, who) = r.rsplit_once(" with ")?;
                t("tlx.visit_booked")
                    .replace("{when}", when)
                    .replace("{who}", who)
            } else if let Some(r) = rest.strip_prefix("visit done by ") {
                let (who, r) = r.split_once(" (")?;
                let (minutes, work) = r.split_once(" min): ")?;
                t("tlx.visit_done")
                    .replace("{who}", who)
                    .replace("{m}", minutes)
                    .replace("{work}", work)
            } else if let Some(r) = rest.strip_prefix("visit cancelled") {
                let reason = r.strip_prefix(": ").unwrap_or("");
                format!(
                    "{}{}",
                    t("tlx.visit_cancelled"),
                    if reason.is_empty() {
                        String::new()
                    } else {
                        format!("：{reason}")
                    }
                )
            } else {
                return None;
            }
        }
        "rating" => {
            let r = rest.strip_prefix("rated ")?;
            let (stars, r) = r.split_once("/5 (")?;
            let (_, r) = r.split_once(')')?;
            let (comment, sla) = r.rsplit_once(" — SLA: ")?;
            let comment = comment.strip_prefix(": ").unwrap_or(comment);
            let n: usize = stars.parse().ok()?;
            let mut s = t("tlx.rated")
                .replace("{n}", stars)
                .replace("{stars}", &"★".repeat(n.min(5)));
            if !comment.is_empty() {
                s.push_str(&format!("：{comment}"));
            }
            format!("{s}；{}", sla_text(tr, sla)?)
        }
        "rma" => {
            let (k, r) = rest.split_once(' ')?;
            if !matches!(k, "return" | "exchange" | "refund") {
                return None;
            }
            let kind = tr.k("rkind", k);
            if let Some(reason) = r.strip_prefix("requested: ") {
                t("tlx.rma_requested")
                    .replace("{kind}", &kind)
                    .replace("{reason}", reason)
            } else {
                let (status, amount) = r.split_once(' ').unwrap_or((r, ""));
                if !matches!(status, "approved" | "rejected" | "received" | "completed") {
                    return None;
                }
                format!("{kind} {} {amount}", tr.k("rmastatus", status))
                    .trim_end()
                    .to_owned()
            }
        }
        _ => return None,
    };
    Some(format!("{number} {out}"))
}

/// "response met, resolution breached" in words.
fn sla_text(tr: &Tr, sla: &str) -> Option<String> {
    let (response, resolution) = sla.split_once(", ")?;
    let response = response.strip_prefix("response ")?;
    let resolution = resolution.strip_prefix("resolution ")?;
    let ok = |o: &str| matches!(o, "met" | "breached" | "pending");
    if !ok(response) || !ok(resolution) {
        return None;
    }
    Some(
        tr.t("tlx.sla")
            .replace("{response}", &tr.k("sla", response))
            .replace("{resolution}", &tr.k("sla", resolution)),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_domain::lang::Lang;

    #[test]
    fn desk_entries_are_said_in_the_readers_language() {
        let tr = Tr(Lang::ZhHans);
        assert_eq!(
            summary(
                &tr,
                "request",
                "SR-2026-000001 installation: 新空调预约安装"
            ),
            "SR-2026-000001 安装：新空调预约安装"
        );
        let s = summary(
            &tr,
            "request_resolved",
            "SR-2026-000001 resolved by 周经理 — SLA: response met, resolution met",
        );
        assert!(
            s.contains("周经理") && s.contains("达标") && !s.contains("met"),
            "{s}"
        );
        let s = summary(
            &tr,
            "rating",
            "SR-2026-000001 rated 5/5 (★★★★★): 师傅很专业 — SLA: response met, resolution breached",
        );
        assert!(
            s.contains("★★★★★") && s.contains("师傅很专业") && !s.contains("rated"),
            "{s}"
        );
        let s = summary(
            &Tr(Lang::En),
            "visit",
            "SR-2026-000002 visit done by 老陈 (45 min): 换了进水阀",
        );
        assert!(
            s.contains("45") && s.contains("老陈") && s.contains("换了进水阀"),
            "{s}"
        );
        // People's own words stay as they are.
        assert_eq!(summary(&tr, "contact", "回访：客户满意"), "回访：客户满意");
        assert_eq!(
            summary(&tr, "expert", "customer alliance: expert"),
            "成为客户联盟专家"
        );
        assert_eq!(
            summary(&tr, "request", "SR-2026-000003 nonsense: x"),
            "SR-2026-000003 nonsense: x"
        );
    }
}
