//! What callers send, and its validation into domain values. Field names in errors are the
//! input's own paths (`phones[1].number`), so forms and API clients can point at them.

use aftercare_domain::catalog::{
    AfterSalesStrategy, VoidCondition, WarrantyPolicy, parse_money, parse_serial, parse_sku,
};
use aftercare_domain::contact::{Email, PhoneNumber};
use aftercare_domain::customer::{
    Address, ConsentChannel, CustomerDraft, CustomerKind, EmailEntry, FamilyMember, ImportantDate,
    PhoneEntry, Touchpoint, parse_tag, settle_primary,
};
use aftercare_domain::error::{optional_text, parse_date, required_text};
use aftercare_domain::ids::*;
use aftercare_domain::order::{OrderLine, OrderStatus, SalesChannel, order_total};
use aftercare_domain::{CustomerId, Date, Invalid, OutletId, ProductId, UserId};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PhoneInput {
    pub number: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailInput {
    pub address: String,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddressInput {
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub province: Option<String>,
    #[serde(default)]
    pub city: Option<String>,
    #[serde(default)]
    pub district: Option<String>,
    pub street: String,
    #[serde(default)]
    pub postcode: Option<String>,
    #[serde(default)]
    pub primary: bool,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct FamilyInput {
    pub name: String,
    pub relation: String,
    #[serde(default)]
    pub birthday: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DateInput {
    pub label: String,
    pub date: String,
}

/// A customer to create or the new state of one to update.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustomerInput {
    /// person (default) or organisation.
    #[serde(default)]
    pub kind: Option<String>,
    pub name: String,
    #[serde(default)]
    pub company: Option<String>,
    #[serde(default)]
    pub title: Option<String>,
    /// YYYY-MM-DD.
    #[serde(default)]
    pub birthday: Option<String>,
    /// At most 10.
    #[serde(default)]
    pub phones: Vec<PhoneInput>,
    /// At most 10.
    #[serde(default)]
    pub emails: Vec<EmailInput>,
    /// At most 10.
    #[serde(default)]
    pub addresses: Vec<AddressInput>,
    /// At most 20.
    #[serde(default)]
    pub family: Vec<FamilyInput>,
    /// At most 20.
    #[serde(default)]
    pub important_dates: Vec<DateInput>,
    /// Channels the customer agreed to: phone, sms, email, wechat, post. At most 10 entries.
    #[serde(default)]
    pub consent: Vec<String>,
    #[serde(default)]
    pub account_manager_id: Option<UserId>,
    /// At most 30.
    #[serde(default)]
    pub tags: Vec<String>,
    #[serde(default)]
    pub habits: Option<String>,
    #[serde(default)]
    pub preferences: Option<String>,
    #[serde(default)]
    pub notes: Option<String>,
    /// The touchpoint the customer came from (point_of_sale, direct_sales, media,
    /// word_of_mouth, sponsorship, phone, email, web, chat, store_visit, field_visit).
    #[serde(default)]
    pub source: Option<String>,
    /// The customer's number in the system used before Aftercare (at most 64 characters,
    /// unique): set when the customer is created, kept, and usable by an order import to
    /// name the customer.
    #[serde(default)]
    pub external_ref: Option<String>,
    /// Only when creating: the referral code of the customer who brought this one; the
    /// referral is recorded with the new customer, and the source defaults to word of
    /// mouth.
    #[serde(default)]
    pub referred_by_code: Option<String>,
}

fn opt_date(inv: &mut Invalid, field: String, s: Option<&str>) -> Option<Date> {
    match s.map(str::trim) {
        None | Some("") => None,
        Some(d) => inv.check(field, parse_date(d)),
    }
}

/// How many entries each of a customer's lists may hold. Counted before anything else, so
/// an oversized list is refused at once rather than checked entry by entry.
pub const CUSTOMER_LIST_LIMITS: [(&str, usize); 7] = [
    ("phones", 10),
    ("emails", 10),
    ("addresses", 10),
    ("family", 20),
    ("important_dates", 20),
    ("consent", 10),
    ("tags", 30),
];

impl CustomerInput {
    pub fn validate(&self) -> Result<CustomerDraft, Invalid> {
        let counts = [
            self.phones.len(),
            self.emails.len(),
            self.addresses.len(),
            self.family.len(),
            self.important_dates.len(),
            self.consent.len(),
            // Blank entries (an empty row left in a form) do not count.
            self.tags.iter().filter(|t| !t.trim().is_empty()).count(),
        ];
        for ((field, max), n) in CUSTOMER_LIST_LIMITS.iter().zip(counts) {
            if n > *max {
                return Err(Invalid::one(*field, "too_many"));
            }
        }
        let mut inv = Invalid::default();
        let kind = match self.kind.as_deref().map(str::trim) {
            None | Some("") => Some(CustomerKind::Person),
            Some(k) => inv.check("kind", CustomerKind::parse(k)),
        };
        let name = inv.check("name", required_text(&self.name, 100));
        let company = inv
            .check("company", optional_text(self.company.as_deref(), 200))
            .flatten();
        let title = inv
            .check("title", optional_text(self.title.as_deref(), 100))
            .flatten();
        let birthday = opt_date(&mut inv, "birthday".into(), self.birthday.as_deref());

        let mut phones = Vec::new();
        for (i, p) in self.phones.iter().enumerate() {
            if p.number.trim().is_empty() && p.label.as_deref().unwrap_or("").trim().is_empty() {
                continue; // an empty row left in a form
            }
            let number = inv.check(format!("phones[{i}].number"), PhoneNumber::parse(&p.number));
            let label = inv
                .check(
                    format!("phones[{i}].label"),
                    optional_text(p.label.as_deref(), 40),
                )
                .flatten();
            if let Some(number) = number {
                if phones.iter().any(|e: &PhoneEntry| e.number == number) {
                    inv.push(format!("phones[{i}].number"), "duplicate");
                } else {
                    phones.push(PhoneEntry {
                        number,
                        label,
                        primary: p.primary,
                    });
                }
            }
        }
        settle_primary(&mut phones, |p| &mut p.primary);

        let mut emails = Vec::new();
        for (i, e) in self.emails.iter().enumerate() {
            if e.address.trim().is_empty() {
                continue;
            }
            if let Some(address) =
                inv.check(format!("emails[{i}].address"), Email::parse(&e.address))
            {
                if emails
                    .iter()
                    .any(|x: &EmailEntry| x.address.match_key() == address.match_key())
                {
                    inv.push(format!("emails[{i}].address"), "duplicate");
                } else {
                    emails.push(EmailEntry {
                        address,
                        primary: e.primary,
                    });
                }
            }
        }
        settle_primary(&mut emails, |e| &mut e.primary);

        let mut addresses = Vec::new();
        for (i, a) in self.addresses.iter().enumerate() {
            let empty = a.street.trim().is_empty()
                && [&a.province, &a.city, &a.district, &a.postcode, &a.label]
                    .iter()
                    .all(|f| f.as_deref().unwrap_or("").trim().is_empty());
            if empty {
                continue;
            }
            let f = |n: &str| format!("addresses[{i}].{n}");
            let has_region = [&a.province, &a.city, &a.district]
                .iter()
                .any(|v| !v.as_deref().unwrap_or("").trim().is_empty());
            // A region without a street (a city column in a spreadsheet, or our own
            // export read back) is still an address worth keeping.
            let street = if a.street.trim().is_empty() && has_region {
                Some(String::new())
            } else {
                inv.check(f("street"), required_text(&a.street, 200))
            };
            let label = inv
                .check(f("label"), optional_text(a.label.as_deref(), 40))
                .flatten();
            let province = inv
                .check(f("province"), optional_text(a.province.as_deref(), 40))
                .flatten();
            let city = inv
                .check(f("city"), optional_text(a.city.as_deref(), 40))
                .flatten();
            let district = inv
                .check(f("district"), optional_text(a.district.as_deref(), 40))
                .flatten();
            let postcode = inv
                .check(f("postcode"), optional_text(a.postcode.as_deref(), 6))
                .flatten();
            if let Some(pc) = &postcode
                && !(pc.len() == 6 && pc.bytes().all(|b| b.is_ascii_digit()))
            {
                inv.push(f("postcode"), "postcode_invalid");
            }
            if let Some(street) = street {
                addresses.push(Address {
                    label,
                    province,
                    city,
                    district,
                    street,
                    postcode,
                    primary: a.primary,
                });
            }
        }
        settle_primary(&mut addresses, |a| &mut a.primary);

        let mut family = Vec::new();
        for (i, m) in self.family.iter().enumerate() {
            if m.name.trim().is_empty() && m.relation.trim().is_empty() {
                continue;
            }
            let name = inv.check(format!("family[{i}].name"), required_text(&m.name, 60));
            let relation = inv.check(
                format!("family[{i}].relation"),
                required_text(&m.relation, 30),
            );
            let birthday = opt_date(
                &mut inv,
                format!("family[{i}].birthday"),
                m.birthday.as_deref(),
            );
            if let (Some(name), Some(relation)) = (name, relation) {
                family.push(FamilyMember {
                    name,
                    relation,
                    birthday,
                });
            }
        }

        let mut dates = Vec::new();
        for (i, d) in self.important_dates.iter().enumerate() {
            if d.label.trim().is_empty() && d.date.trim().is_empty() {
                continue;
            }
            let label = inv.check(
                format!("important_dates[{i}].label"),
                required_text(&d.label, 60),
            );
            let date = inv.check(format!("important_dates[{i}].date"), parse_date(&d.date));
            if let (Some(label), Some(date)) = (label, date) {
                dates.push(ImportantDate { label, date });
            }
        }

        let mut consent = Vec::new();
        for (i, c) in self.consent.iter().enumerate() {
            if let Some(c) = inv.check(format!("consent[{i}]"), ConsentChannel::parse(c))
                && !consent.contains(&c)
            {
                consent.push(c);
            }
        }
        let mut tags: Vec<String> = Vec::new();
        for (i, t) in self.tags.iter().enumerate() {
            if t.trim().is_empty() {
                continue;
            }
            if let Some(t) = inv.check(format!("tags[{i}]"), parse_tag(t))
                && !tags.contains(&t)
            {
                tags.push(t);
            }
        }
        let habits = inv
            .check("habits", optional_text(self.habits.as_deref(), 2000))
            .flatten();
        let preferences = inv
            .check(
                "preferences",
                optional_text(self.preferences.as_deref(), 2000),
            )
            .flatten();
        let notes = inv
            .check("notes", optional_text(self.notes.as_deref(), 10_000))
            .flatten();
        let source = match self.source.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(s) => inv.check("source", Touchpoint::parse(s)),
        };
        let external_ref = inv
            .check(
                "external_ref",
                optional_text(self.external_ref.as_deref(), 64),
            )
            .flatten();
        let referred_by = match self.referred_by_code.as_deref().map(str::trim) {
            None | Some("") => None,
            Some(code) => match aftercare_domain::referral::referrer_of(code) {
                Some(id) => Some(CustomerId(id)),
                None => {
                    inv.push("referred_by_code", "referral_code_invalid");
                    None
                }
            },
        };
        inv.into_result()?;
        match (kind, name) {
            (Some(kind), Some(name)) => Ok(CustomerDraft {
                kind,
                name,
                company,
                title,
                birthday,
                phones,
                emails,
                addresses,
                family,
                dates,
                consent,
                account_manager_id: self.account_manager_id,
                tags,
                habits,
                preferences,
                notes,
                source,
                external_ref,
                referred_by,
            }),
            _ => Err(Invalid::one("name", "required")),
        }
    }
}

/// A warranty policy to create.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PolicyInput {
    pub name: String,
    pub return_days: u32,
    pub exchange_days: u32,
    pub repair_months: u32,
    pub repair_limit: u32,
    /// misuse, unauthorized_repair, no_proof_of_purchase, serial_tampered, force_majeure, commercial_use.
    #[serde(default)]
    pub void_conditions: Vec<String>,
}

impl PolicyInput {
    pub fn validate(&self) -> Result<(String, WarrantyPolicy), Invalid> {
        let mut inv = Invalid::default();
        let name = inv.check("name", required_text(&self.name, 100));
        let mut voids = Vec::new();
        for (i, c) in self.void_conditions.iter().enumerate() {
            if let Some(c) = inv.check(format!("void_conditions[{i}]"), VoidCondition::parse(c))
                && !voids.contains(&c)
            {
                voids.push(c);
            }
        }
        let policy = WarrantyPolicy {
            return_days: self.return_days,
            exchange_days: self.exchange_days,
            repair_months: self.repair_months,
            repair_limit: self.repair_limit,
            void_conditions: voids,
        };
        if let Err(e) = policy.validate() {
            inv.0.extend(e.0);
        }
        inv.into_result()?;
        Ok((name.unwrap_or_default(), policy))
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryInput {
    pub name: String,
    #[serde(default)]
    pub parent_id: Option<CategoryId>,
    #[serde(default)]
    pub policy_id: Option<PolicyId>,
}

/// A product to create or update.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductInput {
    pub sku: String,
    pub name: String,
    pub category_id: CategoryId,
    /// Overrides the category's warranty policy.
    #[serde(default)]
    pub policy_id: Option<PolicyId>,
    /// In yuan, e.g. "3999.00".
    pub price: String,
    #[serde(default)]
    pub currency: Option<String>,
    #[serde(default = "yes")]
    pub serialized: bool,
    /// comprehensive (default), special, partial.
    #[serde(default)]
    pub strategy: Option<String>,
}

fn yes() -> bool {
    true
}

/// A validated product.
#[derive(Debug, Clone)]
pub struct ProductDraft {
    pub sku: String,
    pub name: String,
    pub category_id: CategoryId,
    pub policy_id: Option<PolicyId>,
    pub price: i64,
    pub currency: String,
    pub serialized: bool,
    pub strategy: AfterSalesStrategy,
}

/// The currency orders are kept in: values and reports add order totals up, so they must
/// be in one currency.
pub const ORDER_CURRENCY: &str = "CNY";

pub fn parse_currency(s: Option<&str>) -> Result<String, &'static str> {
    match s.map(str::trim) {
        None | Some("") => Ok("CNY".into()),
        Some(c) if c.len() == 3 && c.bytes().all(|b| b.is_ascii_alphabetic()) => {
            Ok(c.to_uppercase())
        }
        Some(_) => Err("currency_invalid"),
    }
}

impl ProductInput {
    pub fn validate(&self) -> Result<ProductDraft, Invalid> {
        let mut inv = Invalid::default();
        let sku = inv.check("sku", parse_sku(&self.sku));
        let name = inv.check("name", required_text(&self.name, 200));
        let price = inv.check("price", parse_money(&self.price));
        let currency = inv.check("currency", parse_currency(self.currency.as_deref()));
        let strategy = match self.strategy.as_deref().map(str::trim) {
            None | Some("") => Some(AfterSalesStrategy::Comprehensive),
            Some(s) => inv.check("strategy", AfterSalesStrategy::parse(s)),
        };
        inv.into_result()?;
        Ok(ProductDraft {
            sku: sku.unwrap_or_default(),
            name: name.unwrap_or_default(),
            category_id: self.category_id,
            policy_id: self.policy_id,
            price: price.unwrap_or_default(),
            currency: currency.unwrap_or_default(),
            serialized: self.serialized,
            strategy: strategy.unwrap_or(AfterSalesStrategy::Comprehensive),
        })
    }
}

#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderItemInput {
    pub product_id: ProductId,
    pub quantity: u32,
    /// In yuan; defaults to the catalogue price.
    #[serde(default)]
    pub unit_price: Option<String>,
    /// Line discount in yuan.
    #[serde(default)]
    pub discount: Option<String>,
    /// One serial per unit for serial-numbered products; at most 1,000.
    #[serde(default)]
    pub serials: Vec<String>,
    /// A care-plan line: the customer's item it covers (may be left out when they own
    /// only one item the plan can cover).
    #[serde(default)]
    pub asset_id: Option<i64>,
}

/// An order to record.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct OrderInput {
    pub customer_id: CustomerId,
    /// store, ecommerce, agent or direct.
    pub channel: String,
    #[serde(default)]
    pub outlet_id: Option<OutletId>,
    /// YYYY-MM-DD; defaults to today.
    #[serde(default)]
    pub ordered_on: Option<String>,
    /// YYYY-MM-DD: when the goods reached the customer, if known.
    #[serde(default)]
    pub delivered_on: Option<String>,
    /// YYYY-MM-DD: when they were installed, if they were.
    #[serde(default)]
    pub installed_on: Option<String>,
    /// Where the items are used (address or room).
    #[serde(default)]
    pub location: Option<String>,
    /// placed (default), paid, delivered, completed, cancelled.
    #[serde(default)]
    pub status: Option<String>,
    /// CNY, the only currency orders are kept in (value and reports add them up); another
    /// is refused (`currency_unsupported`) rather than recorded as if it were yuan.
    #[serde(default)]
    pub currency: Option<String>,
    /// The order's number in the system used before Aftercare (unique): an import that
    /// meets it again refuses the row instead of recording the order twice.
    #[serde(default)]
    pub external_ref: Option<String>,
    /// Order-level discount in yuan.
    #[serde(default)]
    pub discount: Option<String>,
    #[serde(default)]
    pub payment_terms: Option<String>,
    #[serde(default)]
    pub special_needs: Option<String>,
    /// At most 500 lines.
    pub items: Vec<OrderItemInput>,
    /// A voucher of the customer's to take off the order (used once).
    #[serde(default)]
    pub voucher_code: Option<String>,
}

/// A validated order; prices still to be completed from the catalogue by the use case.
/// Kept as JSON in the plan of an import that is written in steps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OrderDraft {
    pub customer_id: CustomerId,
    pub channel: SalesChannel,
    pub outlet_id: Option<OutletId>,
    pub ordered_on: Date,
    pub delivered_on: Option<Date>,
    pub installed_on: Option<Date>,
    pub location: Option<String>,
    pub status: OrderStatus,
    pub currency: String,
    pub external_ref: Option<String>,
    pub discount: i64,
    pub payment_terms: Option<String>,
    pub special_needs: Option<String>,
    pub lines: Vec<OrderLine>,
    /// Lines whose unit price was not given: filled from the catalogue.
    pub price_from_catalog: Vec<bool>,
    /// The service contracts its care-plan lines make.
    #[serde(default)]
    pub contracts: Vec<crate::care_model::ContractDraft>,
    /// The voucher it uses; its discount is part of `discount`.
    #[serde(default)]
    pub voucher: Option<crate::care_model::VoucherUse>,
}

impl OrderDraft {
    pub fn total(&self) -> i64 {
        order_total(&self.lines, self.discount)
    }
}

impl OrderInput {
    pub fn validate(&self, today: Date) -> Result<OrderDraft, Invalid> {
        if self.items.len() > 500 {
            return Err(Invalid::one("items", "too_many"));
        }
        if let Some(i) = self.items.iter().position(|x| x.serials.len() > 1000) {
            return Err(Invalid::one(format!("items[{i}].serials"), "too_many"));
        }
        let mut inv = Invalid::default();
        let channel = inv.check("channel", SalesChannel::parse(&self.channel));
        // Business dates lie between 1990 and the end of next year: a year-0 or year-9999
        // order is a typing or export mistake, and one such order would move every
        // customer's value model.
        let business = |d: &str| {
            parse_date(d).and_then(|d| {
                let last = jiff::civil::date(today.year().saturating_add(1), 12, 31);
                if d < jiff::civil::date(1990, 1, 1) || d > last {
                    Err("date_out_of_range")
                } else {
                    Ok(d)
                }
            })
        };
        let ordered_on = match self.ordered_on.as_deref().map(str::trim) {
            None | Some("") => Some(today),
            Some(d) => inv.check("ordered_on", business(d)),
        };
        let mut later = |field: &'static str, v: Option<&str>| match v.map(str::trim) {
            None | Some("") => None,
            Some(d) => inv.check(field, business(d)),
        };
        let delivered_on = later("delivered_on", self.delivered_on.as_deref());
        let installed_on = later("installed_on", self.installed_on.as_deref());
        if let (Some(o), Some(d)) = (ordered_on, delivered_on)
            && d < o
        {
            inv.push("delivered_on", "before_order_date");
        }
        if let (Some(o), Some(d)) = (ordered_on, installed_on)
            && d < o
        {
            inv.push("installed_on", "before_order_date");
        }
        let status = match self.status.as_deref().map(str::trim) {
            None | Some("") => Some(OrderStatus::Placed),
            Some(s) => inv.check("status", OrderStatus::parse(s)),
        };
        let currency = inv
            .check("currency", parse_currency(self.currency.as_deref()))
            .and_then(|c| {
                if c == ORDER_CURRENCY {
                    Some(c)
                } else {
                    inv.push("currency", "currency_unsupported");
                    None
                }
            });
        let external_ref = inv
            .check(
                "external_ref",
                optional_text(self.external_ref.as_deref(), 64),
            )
            .flatten();
        let discount = match self.discount.as_deref().map(str::trim) {
            None | Some("") => Some(0),
            Some(d) => inv.check("discount", parse_money(d)),
        };
        let location = inv
            .check("location", optional_text(self.location.as_deref(), 200))
            .flatten();
        let payment_terms = inv
            .check(
                "payment_terms",
                optional_text(self.payment_terms.as_deref(), 200),
            )
            .flatten();
        let special_needs = inv
            .check(
                "special_needs",
                optional_text(self.special_needs.as_deref(), 2000),
            )
            .flatten();
        if self.items.is_empty() {
            inv.push("items", "required");
        }
        let mut lines = Vec::new();
        let mut from_catalog = Vec::new();
        let mut seen_serials: Vec<String> = Vec::new();
        for (i, it) in self.items.iter().enumerate() {
            let f = |n: &str| format!("items[{i}].{n}");
            if it.quantity == 0 || it.quantity > 10_000 {
                inv.push(f("quantity"), "out_of_range");
            }
            let unit_price = match it.unit_price.as_deref().map(str::trim) {
                None | Some("") => Some(None),
                Some(p) => inv.check(f("unit_price"), parse_money(p)).map(Some),
            };
            let discount = match it.discount.as_deref().map(str::trim) {
                None | Some("") => Some(0),
                Some(d) => inv.check(f("discount"), parse_money(d)),
            };
            let mut serials = Vec::new();
            for (j, s) in it.serials.iter().enumerate() {
                if s.trim().is_empty() {
                    continue;
                }
                if let Some(s) = inv.check(format!("items[{i}].serials[{j}]"), parse_serial(s)) {
                    if seen_serials.contains(&s) {
                        inv.push(format!("items[{i}].serials[{j}]"), "duplicate");
                    }
                    seen_serials.push(s.clone());
                    serials.push(s);
                }
            }
            if !serials.is_empty() && serials.len() != it.quantity as usize {
                inv.push(f("serials"), "serial_count_mismatch");
            }
            if let (Some(unit_price), Some(discount)) = (unit_price, discount) {
                from_catalog.push(unit_price.is_none());
                lines.push(OrderLine {
                    product_id: it.product_id,
                    quantity: it.quantity,
                    unit_price: unit_price.unwrap_or(0),
                    discount,
                    serials,
                });
            }
        }
        inv.into_result()?;
        Ok(OrderDraft {
            customer_id: self.customer_id,
            channel: channel.unwrap_or(SalesChannel::Store),
            outlet_id: self.outlet_id,
            ordered_on: ordered_on.unwrap_or(today),
            delivered_on,
            installed_on,
            location,
            status: status.unwrap_or(OrderStatus::Placed),
            currency: currency.unwrap_or_default(),
            external_ref,
            discount: discount.unwrap_or(0),
            payment_terms,
            special_needs,
            lines,
            price_from_catalog: from_catalog,
            contracts: vec![],
            voucher: None,
        })
    }
}

/// A contact with a customer on any touchpoint.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct InteractionInput {
    pub touchpoint: String,
    /// inbound (default) or outbound.
    #[serde(default)]
    pub direction: Option<String>,
    pub subject: String,
    #[serde(default)]
    pub body: Option<String>,
}

#[derive(Debug, Clone)]
pub struct InteractionDraft {
    pub touchpoint: Touchpoint,
    pub direction: &'static str,
    pub subject: String,
    pub body: Option<String>,
}

impl InteractionInput {
    pub fn validate(&self) -> Result<InteractionDraft, Invalid> {
        let mut inv = Invalid::default();
        let touchpoint = inv.check("touchpoint", Touchpoint::parse(&self.touchpoint));
        let direction = match self.direction.as_deref().map(str::trim) {
            None | Some("") | Some("inbound") => Some("inbound"),
            Some("outbound") => Some("outbound"),
            Some(_) => inv.check("direction", Err("direction_unknown")),
        };
        let subject = inv.check("subject", required_text(&self.subject, 200));
        let body = inv
            .check("body", optional_text(self.body.as_deref(), 20_000))
            .flatten();
        inv.into_result()?;
        Ok(InteractionDraft {
            touchpoint: touchpoint.unwrap_or(Touchpoint::Phone),
            direction: direction.unwrap_or("inbound"),
            subject: subject.unwrap_or_default(),
            body,
        })
    }
}

/// An entry for an item's usage archive.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AssetEventInput {
    /// installed, service, repair, note or void.
    pub kind: String,
    /// YYYY-MM-DD; defaults to today.
    #[serde(default)]
    pub day: Option<String>,
    /// Required when kind is void.
    #[serde(default)]
    pub void_condition: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone)]
pub struct AssetEventDraft {
    pub kind: &'static str,
    pub day: Date,
    pub void_condition: Option<VoidCondition>,
    pub note: Option<String>,
}

impl AssetEventInput {
    pub fn validate(&self, today: Date) -> Result<AssetEventDraft, Invalid> {
        let mut inv = Invalid::default();
        let kind = match self.kind.trim() {
            "installed" => Some("installed"),
            "service" => Some("service"),
            "repair" => Some("repair"),
            "note" => Some("note"),
            "void" => Some("void"),
            _ => inv.check("kind", Err("kind_unknown")),
        };
        let day = match self.day.as_deref().map(str::trim) {
            None | Some("") => Some(today),
            Some(d) => inv.check("day", parse_date(d)),
        };
        let void_condition = match (kind, self.void_condition.as_deref().map(str::trim)) {
            (Some("void"), None | Some("")) => inv.check("void_condition", Err("required")),
            (_, None | Some("")) => None,
            (_, Some(c)) => inv.check("void_condition", VoidCondition::parse(c)),
        };
        let note = inv
            .check("note", optional_text(self.note.as_deref(), 2000))
            .flatten();
        inv.into_result()?;
        Ok(AssetEventDraft {
            kind: kind.unwrap_or("note"),
            day: day.unwrap_or(today),
            void_condition,
            note,
        })
    }
}

/// Reads an optional number from a query string where an empty value (a form's "all")
/// means none.
pub(crate) fn empty_as_none<'de, D, T>(d: D) -> Result<Option<T>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: std::str::FromStr,
    T::Err: std::fmt::Display,
{
    let s: Option<String> = Option::deserialize(d)?;
    match s.as_deref().map(str::trim) {
        None | Some("") => Ok(None),
        Some(v) => v.parse().map(Some).map_err(serde::de::Error::custom),
    }
}

/// Filters, sorting and the cursor of a customer list.
#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct CustomerQuery {
    /// Name prefix (also pinyin), phone, email or serial number.
    pub q: Option<String>,
    pub kind: Option<String>,
    pub tag: Option<String>,
    pub city: Option<String>,
    /// name (default, by pinyin), -name, created, -created.
    pub sort: Option<String>,
    pub cursor: Option<String>,
    /// 1–200, default 50.
    #[serde(deserialize_with = "empty_as_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct ProductQuery {
    /// Name prefix (also pinyin) or SKU prefix.
    pub q: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub category_id: Option<CategoryId>,
    /// name (default), -name, price, -price.
    pub sort: Option<String>,
    pub cursor: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub limit: Option<u32>,
}

#[derive(Debug, Clone, Default, Deserialize, ToSchema, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(default)]
pub struct OrderQuery {
    /// Order number prefix, or a serial number.
    pub q: Option<String>,
    pub channel: Option<String>,
    pub status: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub customer_id: Option<CustomerId>,
    /// -ordered (default, newest first), ordered, -total, total.
    pub sort: Option<String>,
    pub cursor: Option<String>,
    #[serde(deserialize_with = "empty_as_none")]
    pub limit: Option<u32>,
}

/// A staff account to create.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserInput {
    pub email: String,
    pub name: String,
    /// At least 8 characters.
    pub password: String,
    /// admin, manager, agent, technician, marketer or analyst.
    pub role: String,
}

/// An API token to create for a user.
#[derive(Debug, Clone, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct TokenInput {
    /// The user the token acts as.
    pub email: String,
    pub name: String,
    /// read, write, admin.
    pub scopes: Vec<String>,
}

/// A change to a staff account: only the fields given change.
#[derive(Debug, Clone, Default, Deserialize, Serialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UserPatch {
    /// false deactivates the account and ends its sessions.
    #[serde(default)]
    pub active: Option<bool>,
    #[serde(default)]
    pub role: Option<String>,
    /// A new password (at least 8 characters); ends the account's sessions.
    #[serde(default)]
    pub password: Option<String>,
}
