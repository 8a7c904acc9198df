//! iCalendar (RFC 5545) feeds of technicians' visits, for any calendar application.

use crate::desk_model::Visit;
use aftercare_domain::request::VisitStatus;
use jiff::Timestamp;

/// Escapes a text value (RFC 5545 §3.3.11).
fn escape(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => o.push_str("\\\\"),
            ';' => o.push_str("\\;"),
            ',' => o.push_str("\\,"),
            '\n' => o.push_str("\\n"),
            '\r' => {}
            c => o.push(c),
        }
    }
    o
}

/// Folds a content line at 75 octets without splitting a UTF-8 character (§3.1).
fn fold(line: &str, out: &mut String) {
    let mut width = 0;
    for c in line.chars() {
        let n = c.len_utf8();
        if width + n > 75 {
            out.push_str("\r\n ");
            width = 1;
        }
        out.push(c);
        width += n;
    }
    out.push_str("\r\n");
}

/// `20261126T020000Z`.
fn utc(t: Timestamp) -> String {
    t.strftime("%Y%m%dT%H%M%SZ").to_string()
}

pub fn calendar(visits: &[Visit], now: Timestamp) -> String {
    let mut out = String::new();
    for l in [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//Aftercare//Visits//EN",
        "CALSCALE:GREGORIAN",
    ] {
        fold(l, &mut out);
    }
    let stamp_now = utc(now);
    for v in visits.iter().filter(|v| v.status != VisitStatus::Cancelled) {
        fold("BEGIN:VEVENT", &mut out);
        fold(&format!("UID:visit-{}@aftercare", v.id), &mut out);
        fold(&format!("DTSTAMP:{stamp_now}"), &mut out);
        fold(&format!("DTSTART:{}", utc(v.starts_at)), &mut out);
        fold(&format!("DTEND:{}", utc(v.ends_at)), &mut out);
        fold(
            &format!(
                "SUMMARY:{}",
                escape(&format!(
                    "{} {} — {}",
                    v.request_number, v.customer_name, v.subject
                ))
            ),
            &mut out,
        );
        if let Some(a) = &v.address {
            fold(&format!("LOCATION:{}", escape(a)), &mut out);
        }
        // What the technician needs on the way: whom to call, and what is wrong.
        let mut about: Vec<String> = Vec::new();
        if let Some(phone) = &v.customer_phone {
            about.push(format!("☎ {phone}"));
        }
        about.push(v.subject.clone());
        let fault: String = v.fault.trim().chars().take(1000).collect();
        if !fault.is_empty() && fault != v.subject.trim() {
            about.push(fault);
        }
        fold(
            &format!("DESCRIPTION:{}", escape(&about.join("\n"))),
            &mut out,
        );
        let status = if v.status == VisitStatus::Done {
            "CONFIRMED"
        } else {
            "TENTATIVE"
        };
        fold(&format!("STATUS:{status}"), &mut out);
        fold("END:VEVENT", &mut out);
    }
    fold("END:VCALENDAR", &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_visit_becomes_an_event_with_escaped_folded_text() {
        let v = Visit {
            id: aftercare_domain::VisitId(7),
            request_id: aftercare_domain::RequestId(1),
            request_number: "SR-2026-000001".into(),
            subject: "空调不制冷, 噪音大; 需要上门检查维修".repeat(3),
            fault: "外机一直响，制冷很差".into(),
            customer_name: "张三".into(),
            customer_phone: Some("+8613800138000".into()),
            technician_id: aftercare_domain::UserId(2),
            technician_name: "王师傅".into(),
            starts_at: "2026-11-26T02:00:00.000000Z".parse().unwrap(),
            ends_at: "2026-11-26T04:00:00.000000Z".parse().unwrap(),
            status: VisitStatus::Booked,
            address: Some("上海市浦东新区".into()),
            work_done: None,
            parts: None,
            minutes_spent: None,
            confirmed_by: None,
            reported_at: None,
            service_type: aftercare_domain::request::ServiceType::Repair,
            checklist: vec![],
            arrived_at: None,
            on_time: None,
        };
        let ics = calendar(&[v], "2026-11-25T00:00:00Z".parse().unwrap());
        assert!(ics.contains("UID:visit-7@aftercare\r\n"));
        assert!(ics.contains("DTSTART:20261126T020000Z\r\n"));
        assert!(ics.contains("\\, 噪音大\\; "));
        assert!(ics.lines().all(|l| l.len() <= 75), "{ics}");
        let unfolded = ics.replace("\r\n ", "");
        assert!(unfolded.contains("SUMMARY:SR-2026-000001 张三 — 空调不制冷"));
        assert!(
            unfolded.contains("DESCRIPTION:☎ +8613800138000\\n"),
            "{unfolded}"
        );
        assert!(
            unfolded.contains("外机一直响\\，制冷很差")
                || unfolded.contains("外机一直响，制冷很差")
        );
    }
}
