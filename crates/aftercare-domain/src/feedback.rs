//! The vocabulary of the voice of the customer (C6): what a piece of feedback says about
//! the customer's attitude and needs, where it came from, and what became of it. The text
//! analysis itself is in `aftercare-insight::text`.

use crate::customer::code_enum;

code_enum!(
    /// The customer's attitude in a text as a whole.
    Sentiment, "sentiment_unknown", { Positive => "positive", Neutral => "neutral", Negative => "negative" }
);

code_enum!(
    /// The service ladder (seed 000): what level of the customer's needs a text is about,
    /// from the product doing its basic job up to the bond beyond the transaction.
    Ladder, "ladder_unknown", {
        Function => "function",
        Quality => "quality",
        Image => "image",
        Personality => "personality",
        Spirit => "spirit",
    }
);

code_enum!(
    /// Needs by how they show (seed 002): stated now, implied but not asked for, or
    /// interest an offer could turn into a purchase.
    Need, "need_unknown", { Current => "current", Latent => "latent", Inducible => "inducible" }
);

code_enum!(
    /// Where a feedback item came from.
    FeedbackSource, "source_unknown", {
        Survey => "survey",
        Complaint => "complaint",
        Consultation => "consultation",
        Request => "request",
        RequestReply => "request_reply",
        Call => "call",
        Visit => "visit",
        Review => "review",
        Other => "other",
    }
);

code_enum!(
    /// The life of an improvement in a product's backlog.
    ImprovementStatus, "status_unknown", {
        New => "new",
        Accepted => "accepted",
        Planned => "planned",
        Shipped => "shipped",
        Declined => "declined",
    }
);

/// Whether a resolved service request was a good or a bad experience for word of mouth
/// (seed essays: a pleased customer tells about 8 people, a displeased one about 25): bad
/// when it was a complaint, its resolution target was breached, or the customer rated it
/// 2 or less; good otherwise.
pub fn good_experience(rating: Option<i64>, resolution_breached: bool, complaint: bool) -> bool {
    !(complaint || resolution_breached || rating.is_some_and(|r| r <= 2))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn experiences_are_bad_for_complaints_breaches_and_low_ratings() {
        assert!(good_experience(None, false, false));
        assert!(good_experience(Some(3), false, false));
        assert!(good_experience(Some(5), false, false));
        assert!(!good_experience(Some(2), false, false));
        assert!(!good_experience(Some(5), true, false));
        assert!(!good_experience(Some(5), false, true));
    }

    #[test]
    fn codes_round_trip() {
        for l in Ladder::ALL {
            assert_eq!(Ladder::parse(l.code()), Ok(*l));
        }
        assert_eq!(Need::parse("inducible"), Ok(Need::Inducible));
        assert_eq!(Sentiment::parse("happy"), Err("sentiment_unknown"));
        assert_eq!(ImprovementStatus::ALL.len(), 5);
    }
}
