//! A customer's timeline in the reader's language. The desk's entries are stored with their
//! parameters (`TimelineEntry::params`, see `aftercare_app::timeline_model`): the number,
//! the service type, who, the SLA outcomes… Their words are said here in the reader's
//! language. Anything else (a contact's subject, an order's summary) is people's own text
//! and shown as it is.

use crate::i18n::Tr;
use serde_json::Value;

/// The summary of a timeline entry of `kind` as the reader should see it.
pub fn summary(tr: &Tr, kind: &str, text: &str, params: Option<&Value>) -> String {
    params
        .and_then(|p| said(tr, kind, p))
        .unwrap_or_else(|| text.to_owned())
}

fn said(tr: &Tr, kind: &str, p: &Value) -> Option<String> {
    let s = |k: &str| p.get(k).and_then(Value::as_str);
    let t = |key: &str| tr.t(key);
    if kind == "expert" {
        return (s("event")? == "expert").then(|| t("tlx.expert"));
    }
    if kind == "tier" || kind == "stage" {
        return Some(format!(
            "{} → {}",
            tr.k(kind, s("from")?),
            tr.k(kind, s("to")?)
        ));
    }
    if kind == "offer" {
        return Some(format!(
            "{}：{}",
            s("offer")?,
            tr.k("offer_response", s("response")?)
        ));
    }
    let number = s("number")?;
    let out = match kind {
        "request" => match s("event")? {
            "reopened" => t("tlx.reopened"),
            "cancelled" => t("tlx.cancelled"),
            "opened" => format!("{}：{}", tr.k("stype", s("type")?), s("subject")?),
            _ => return None,
        },
        "request_resolved" => format!(
            "{}；{}",
            t("tlx.resolved_by").replace("{by}", s("by")?),
            sla_text(tr, s("response")?, s("resolution")?)
        ),
        "request_message" => {
            t("tlx.message").replace("{channel}", &tr.k("rchannel", s("channel")?))
        }
        "visit" => match s("event")? {
            "booked" => t("tlx.visit_booked")
                .replace("{when}", s("when")?)
                .replace("{who}", s("who")?),
            "done" => t("tlx.visit_done")
                .replace("{who}", s("who")?)
                .replace("{m}", &p.get("minutes")?.as_i64()?.to_string())
                .replace("{work}", s("work")?),
            "cancelled" => match s("reason").unwrap_or("") {
                "" => t("tlx.visit_cancelled"),
                reason => format!("{}：{reason}", t("tlx.visit_cancelled")),
            },
            _ => return None,
        },
        "rating" => {
            let n = p.get("stars")?.as_i64()?;
            let mut out = t("tlx.rated")
                .replace("{n}", &n.to_string())
                .replace("{stars}", &"★".repeat(n.clamp(0, 5) as usize));
            if let Some(c) = s("comment").filter(|c| !c.is_empty()) {
                out.push_str(&format!("：{c}"));
            }
            format!("{out}；{}", sla_text(tr, s("response")?, s("resolution")?))
        }
        "rma" => {
            let kind = tr.k("rkind", s("rma")?);
            match s("event")? {
                "requested" => t("tlx.rma_requested")
                    .replace("{kind}", &kind)
                    .replace("{reason}", s("reason")?),
                status => format!(
                    "{kind} {} {}",
                    tr.k("rmastatus", status),
                    s("amount").unwrap_or("")
                )
                .trim_end()
                .to_owned(),
            }
        }
        _ => return None,
    };
    Some(format!("{number} {out}"))
}

/// "response met, resolution breached" in words.
fn sla_text(tr: &Tr, response: &str, resolution: &str) -> String {
    tr.t("tlx.sla")
        .replace("{response}", &tr.k("sla", response))
        .replace("{resolution}", &tr.k("sla", resolution))
}

#[cfg(test)]
mod tests {
    use super::*;
    use aftercare_app::timeline_model::params_of;
    use aftercare_domain::lang::Lang;

    fn say(tr: &Tr, kind: &str, text: &str) -> String {
        summary(tr, kind, text, params_of(kind, text).as_ref())
    }

    #[test]
    fn desk_entries_are_said_in_the_readers_language() {
        let tr = Tr(Lang::ZhHans);
        assert_eq!(
            say(
                &tr,
                "request",
                "SR-2026-000001 installation: 新空调预约安装"
            ),
            "SR-2026-000001 安装：新空调预约安装"
        );
        let s = say(
            &tr,
            "request_resolved",
            "SR-2026-000001 resolved by 周经理 — SLA: response met, resolution met",
        );
        assert!(
            s.contains("周经理") && s.contains("达标") && !s.contains("met"),
            "{s}"
        );
        let s = say(
            &tr,
            "rating",
            "SR-2026-000001 rated 5/5 (★★★★★): 师傅很专业 — SLA: response met, resolution breached",
        );
        assert!(
            s.contains("★★★★★") && s.contains("师傅很专业") && !s.contains("rated"),
            "{s}"
        );
        let s = say(
            &Tr(Lang::En),
            "visit",
            "SR-2026-000002 visit done by 老陈 (45 min): 换了进水阀",
        );
        assert!(
            s.contains("45") && s.contains("老陈") && s.contains("换了进水阀"),
            "{s}"
        );
        // People's own words stay as they are.
        assert_eq!(say(&tr, "contact", "回访：客户满意"), "回访：客户满意");
        assert_eq!(
            say(&tr, "expert", "customer alliance: expert"),
            "成为客户联盟专家"
        );
        assert_eq!(
            say(&tr, "request", "SR-2026-000003 nonsense: x"),
            "SR-2026-000003 nonsense: x"
        );
    }
}
