//! Amounts of money in minor units (fen for CNY), never floats.

use crate::catalog::format_money;
use serde::{Deserialize, Serialize};

/// An amount in minor units. On the wire and in the database it is the number of fen.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[cfg_attr(feature = "schema", derive(utoipa::ToSchema))]
#[serde(transparent)]
pub struct Money(pub i64);

impl Money {
    pub const ZERO: Money = Money(0);

    pub fn fen(self) -> i64 {
        self.0
    }

    /// The sum, or `None` when it would overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.0.checked_add(other.0).map(Money)
    }
}

impl std::ops::Add for Money {
    type Output = Money;

    fn add(self, other: Money) -> Money {
        Money(self.0.saturating_add(other.0))
    }
}

impl std::iter::Sum for Money {
    fn sum<I: Iterator<Item = Money>>(iter: I) -> Money {
        iter.fold(Money::ZERO, |a, b| a + b)
    }
}

/// `1,299.00`: grouped yuan with two decimals, without a currency sign.
impl std::fmt::Display for Money {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&format_money(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn money_is_a_number_of_fen_on_the_wire() {
        assert_eq!(serde_json::to_string(&Money(129_900)).unwrap(), "129900");
        assert_eq!(Money(129_900).to_string(), "1,299.00");
        assert_eq!([Money(1), Money(2)].into_iter().sum::<Money>(), Money(3));
    }
}
