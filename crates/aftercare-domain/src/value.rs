//! The vocabulary of customer value (C5): value classes, loyalty stages and risks. The
//! scores themselves are computed in `aftercare-insight`.

use crate::customer::code_enum;

code_enum!(
    /// Where a customer stands by value: most valuable (current value among the top),
    /// most growable (predicted value far above current), below zero (service cost and
    /// discounts exceed the margin), or regular.
    ValueClass, "class_unknown", { Mvc => "mvc", Mgc => "mgc", Bz => "bz", Regular => "regular" }
);

code_enum!(
    /// The road from awareness to dependence (seed essays: 知晓 → 熟悉 → 信任 → 接受 → 依赖).
    LoyaltyStage, "stage_unknown", {
        Aware => "aware",
        Familiar => "familiar",
        Trusting => "trusting",
        Accepting => "accepting",
        Dependent => "dependent",
    }
);

impl LoyaltyStage {
    /// 0 (aware) to 4 (dependent).
    pub fn rank(self) -> usize {
        Self::ALL.iter().position(|s| *s == self).unwrap_or(0)
    }
}

code_enum!(
    /// A customer worth a reactivation campaign: no purchase for long (dormant), or
    /// likely slipping away (at risk).
    Risk, "risk_unknown", { Dormant => "dormant", AtRisk => "at_risk" }
);
