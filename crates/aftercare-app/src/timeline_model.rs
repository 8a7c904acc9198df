//! The parameters of a customer's timeline entries, stored beside their summary
//! (`timeline.params`, JSON) so that pages say them in the reader's language without
//! reading the summary back. The service desk writes its entries in fixed forms
//! ("SR-2026-000001 repair: 冰箱不冷", "… resolved by 王芳 — SLA: response met, resolution
//! met"); [`params_of`] takes such a summary apart. It runs when an entry is written and,
//! once, over the entries written before (migration 000025). Entries of people's own
//! words (a contact's subject, an order's summary) have none.

use aftercare_domain::request::{RequestChannel, ServiceType};
use serde_json::{Value, json};

/// The parameters of a timeline entry of `kind` with this summary, if it is one of the
/// desk's fixed forms.
pub fn params_of(kind: &str, summary: &str) -> Option<Value> {
    if kind == "expert" && summary == "customer alliance: expert" {
        return Some(json!({"event": "expert"}));
    }
    // A customer's value tier or loyalty stage moving: "tier low → medium" ("-": none).
    if kind == "tier" || kind == "stage" {
        let (from, to) = summary
            .strip_prefix(kind)?
            .strip_prefix(' ')?
            .split_once(" → ")?;
        let known = |c: &str| {
            (c == "-" && kind == "tier")
                || match kind {
                    "tier" => aftercare_domain::customer::ValueTier::parse(c).is_ok(),
                    _ => aftercare_domain::value::LoyaltyStage::parse(c).is_ok(),
                }
        };
        return (known(from) && known(to)).then(|| json!({"from": from, "to": to}));
    }
    if kind == "offer" {
        let (offer, response) = summary.rsplit_once(": ")?;
        aftercare_domain::offer::OfferResponse::parse(response).ok()?;
        return Some(json!({"offer": offer, "response": response}));
    }
    let (number, rest) = summary.split_once(' ')?;
    if !number.starts_with("SR-") {
        return None;
    }
    let mut p = match kind {
        "request" => match rest {
            "reopened" | "cancelled" => json!({"event": rest}),
            _ => {
                let (ty, subject) = rest.split_once(": ")?;
                ServiceType::parse(ty).ok()?;
                json!({"event": "opened", "type": ty, "subject": subject})
            }
        },
        "request_resolved" => {
            let (by, sla) = rest.strip_prefix("resolved by ")?.split_once(" — SLA: ")?;
            let (response, resolution) = sla_of(sla)?;
            json!({"by": by, "response": response, "resolution": resolution})
        }
        "request_message" => {
            RequestChannel::parse(rest).ok()?;
            json!({"channel": rest})
        }
        "visit" => {
            if let Some(r) = rest.strip_prefix("visit booked ") {
                let (when, who) = r.rsplit_once(" with ")?;
                json!({"event": "booked", "when": when, "who": who})
            } else if let Some(r) = rest.strip_prefix("visit done by ") {
                let (who, r) = r.split_once(" (")?;
                let (minutes, work) = r.split_once(" min): ")?;
                let minutes: i64 = minutes.parse().ok()?;
                json!({"event": "done", "who": who, "minutes": minutes, "work": work})
            } else if let Some(r) = rest.strip_prefix("visit cancelled") {
                let reason = r.strip_prefix(": ").unwrap_or("");
                json!({"event": "cancelled", "reason": reason})
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
            let stars: i64 = stars.parse().ok()?;
            let (response, resolution) = sla_of(sla)?;
            json!({"stars": stars, "comment": comment, "response": response, "resolution": resolution})
        }
        "rma" => {
            let (k, r) = rest.split_once(' ')?;
            if !matches!(k, "return" | "exchange" | "refund") {
                return None;
            }
            if let Some(reason) = r.strip_prefix("requested: ") {
                json!({"rma": k, "event": "requested", "reason": reason})
            } else {
                let (status, amount) = r.split_once(' ').unwrap_or((r, ""));
                if !matches!(status, "approved" | "rejected" | "received" | "completed") {
                    return None;
                }
                json!({"rma": k, "event": status, "amount": amount})
            }
        }
        _ => return None,
    };
    p["number"] = json!(number);
    Some(p)
}

/// "response met, resolution breached" as its two outcomes.
fn sla_of(sla: &str) -> Option<(&str, &str)> {
    let (response, resolution) = sla.split_once(", ")?;
    let response = response.strip_prefix("response ")?;
    let resolution = resolution.strip_prefix("resolution ")?;
    let ok = |o: &str| matches!(o, "met" | "breached" | "pending");
    (ok(response) && ok(resolution)).then_some((response, resolution))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn value_moves_and_offer_answers_are_taken_apart() {
        assert_eq!(
            params_of("tier", "tier - → high"),
            Some(json!({"from": "-", "to": "high"}))
        );
        assert_eq!(
            params_of("stage", "stage aware → trusting"),
            Some(json!({"from": "aware", "to": "trusting"}))
        );
        assert_eq!(params_of("stage", "stage - → aware"), None);
        assert_eq!(params_of("tier", "tier low → golden"), None);
        assert_eq!(
            params_of("offer", "空调延保: 以旧换新: accepted"),
            Some(json!({"offer": "空调延保: 以旧换新", "response": "accepted"}))
        );
        assert_eq!(params_of("offer", "空调延保: maybe"), None);
    }

    #[test]
    fn the_desks_forms_are_taken_apart_and_peoples_words_are_not() {
        assert_eq!(
            params_of("request", "SR-2026-000001 installation: 新空调预约安装"),
            Some(
                json!({"event": "opened", "type": "installation", "subject": "新空调预约安装", "number": "SR-2026-000001"})
            )
        );
        assert_eq!(
            params_of(
                "rating",
                "SR-2026-000001 rated 5/5 (★★★★★): 师傅很专业 — SLA: response met, resolution breached"
            ),
            Some(
                json!({"stars": 5, "comment": "师傅很专业", "response": "met", "resolution": "breached", "number": "SR-2026-000001"})
            )
        );
        assert_eq!(
            params_of(
                "visit",
                "SR-2026-000002 visit done by 老陈 (45 min): 换了进水阀"
            )
            .unwrap()["minutes"],
            45
        );
        assert_eq!(params_of("contact", "回访：客户满意"), None);
        assert_eq!(params_of("request", "SR-2026-000003 nonsense: x"), None);
        assert_eq!(
            params_of("expert", "customer alliance: expert"),
            Some(json!({"event": "expert"}))
        );
    }
}
