//! Ids of stored things. Each aggregate's id is its own type, so a customer's id cannot be
//! passed where a request's is expected; on the wire and in the database it is a number.

macro_rules! id_type {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(
            Debug, Default, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash,
            ::serde::Serialize, ::serde::Deserialize,
        )]
        #[cfg_attr(feature = "schema", derive(::utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            pub fn get(self) -> i64 {
                self.0
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                $name(id)
            }
        }

        impl From<$name> for i64 {
            fn from(id: $name) -> i64 {
                id.0
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::num::ParseIntError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                s.parse().map($name)
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

id_type!(
    /// A customer, person or organisation.
    CustomerId
);
id_type!(
    /// A service request.
    RequestId
);
id_type!(
    /// An order.
    OrderId
);
id_type!(
    /// An item a customer owns (an asset), with its serial number.
    AssetId
);
id_type!(
    /// A product in the catalogue.
    ProductId
);
id_type!(
    /// A staff or customer account.
    UserId
);
id_type!(
    /// A service outlet, own or partner.
    OutletId
);
id_type!(
    /// A technician's visit.
    VisitId
);
id_type!(
    /// A return, exchange or refund authorisation.
    RmaId
);
id_type!(
    /// A product category.
    CategoryId
);
id_type!(
    /// A warranty (三包) policy.
    PolicyId
);
id_type!(
    /// Something a customer said: a feedback item.
    FeedbackId
);
id_type!(
    /// An entry of the improvement backlog.
    ImprovementId
);
id_type!(
    /// A satisfaction survey sent for a request or an order.
    SurveyId
);
id_type!(
    /// A knowledge-base article: a manual, an FAQ or an article.
    ArticleId
);
