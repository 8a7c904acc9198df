//! Warranty claims (三包索赔): a partner outlet files one for a repair, exchange or return
//! it did free under 三包; the brand approves it, approves part of it or sends it back;
//! the claims approved in a month make the partner's statement, exported for payment.
//! A partner's staff see only their own outlet's claims and statements.

use crate::claims_model::*;
use crate::error::AppError;
use crate::ports::*;
use crate::service::{App, Principal};
use aftercare_domain::account::Permission;
use aftercare_domain::calendar::china;
use aftercare_domain::catalog::parse_money;
use aftercare_domain::claims::{self, Amounts, ClaimDecision, ClaimFacts, ClaimStatus};
use aftercare_domain::error::optional_text;
use aftercare_domain::request::VisitStatus;
use aftercare_domain::{Invalid, Money, OutletId, RequestId};

/// The most claims one list shows.
const LIST_LIMIT: u32 = 500;

/// A money field that may be left empty (nothing claimed for it).
fn amount(field: &'static str, s: &str, inv: &mut Invalid) -> i64 {
    if s.trim().is_empty() {
        return 0;
    }
    inv.check(field, parse_money(s)).unwrap_or(0)
}

/// A statement month: YYYY-MM.
fn parse_month(s: &str) -> Result<String, &'static str> {
    let t = s.trim();
    let ok = t.len() == 7
        && t.as_bytes()[4] == b'-'
        && format!("{t}-01").parse::<jiff::civil::Date>().is_ok();
    if ok {
        Ok(t.to_string())
    } else {
        Err("month_invalid")
    }
}

impl<S> App<S>
where
    S: ?Sized + Send + Sync + DeskPorts + ClaimStore,
{
    /// Who may read claims: the brand's desk managers (any outlet), or a partner's staff
    /// (their outlet only, whatever is asked).
    async fn claims_scope(
        &self,
        p: &Principal,
        asked: Option<OutletId>,
    ) -> Result<Option<OutletId>, AppError> {
        p.require(Permission::Read)?;
        if let Some(own) = self.partner_outlet(p).await? {
            return Ok(Some(own));
        }
        p.require(Permission::ManageDesk)?;
        Ok(asked)
    }

    /// What a claim on this request is checked against.
    async fn claim_facts(
        &self,
        r: &crate::desk_model::ServiceRequest,
    ) -> Result<ClaimFacts, AppError> {
        let partner = match r.outlet_id {
            Some(o) => self
                .store
                .outlets()
                .await?
                .iter()
                .any(|x| x.id == o && x.kind == "partner"),
            None => false,
        };
        let detail = self.detail_of(r.clone()).await?;
        let done: Vec<_> = detail
            .visits
            .iter()
            .filter(|v| v.status == VisitStatus::Done)
            .collect();
        Ok(ClaimFacts {
            service_type: r.service_type,
            partner,
            charge: r.charge,
            charge_reason: r.charge_reason.clone(),
            reported_visit: !done.is_empty(),
            parts_reported: done
                .iter()
                .any(|v| v.parts.as_deref().is_some_and(|p| !p.trim().is_empty())),
        })
    }

    /// Files a claim for a request of the caller's partner outlet (or, for a manager, of
    /// any partner outlet).
    pub async fn file_claim(
        &self,
        p: &Principal,
        request_id: RequestId,
        i: &ClaimInput,
    ) -> Result<i64, AppError> {
        p.require(Permission::WorkRequests)?;
        let partner = self.partner_outlet(p).await?;
        if partner.is_none() {
            p.require(Permission::ManageDesk)?;
        }
        let r = self.visible_request(p, request_id).await?;
        let mut inv = Invalid::default();
        let parts = amount("parts_amount", &i.parts_amount, &mut inv);
        let labour = amount("labour_amount", &i.labour_amount, &mut inv);
        let note = inv
            .check("note", optional_text(i.note.as_deref(), 2000))
            .flatten();
        inv.into_result()?;
        let facts = self.claim_facts(&r).await?;
        claims::check_claim(&facts, &Amounts { parts, labour })?;
        let Some(outlet_id) = r.outlet_id else {
            return Err(Invalid::one("request_id", "claim_outlet_not_partner").into());
        };
        let c = NewClaim {
            outlet_id,
            request_id,
            warranty_charge: r.charge.map(|c| c.code().to_string()).unwrap_or_default(),
            warranty_reason: r.charge_reason.clone().unwrap_or_default(),
            parts_amount: parts,
            labour_amount: labour,
            note,
            filed_by: p.user.id,
        };
        self.store
            .file_claim(&p.actor(), &c, self.now())
            .await
            .map_err(AppError::from_store("claim"))
    }

    /// Corrects a claim that was sent back and submits it again.
    pub async fn refile_claim(
        &self,
        p: &Principal,
        id: i64,
        i: &ClaimInput,
    ) -> Result<(), AppError> {
        p.require(Permission::WorkRequests)?;
        let c = self.claim(p, id).await?;
        let mut inv = Invalid::default();
        let Some(version) = i.version else {
            return Err(Invalid::one("version", "required").into());
        };
        if c.status != ClaimStatus::Returned {
            return Err(Invalid::one("status", "claim_not_returned").into());
        }
        let parts = amount("parts_amount", &i.parts_amount, &mut inv);
        let labour = amount("labour_amount", &i.labour_amount, &mut inv);
        let note = inv
            .check("note", optional_text(i.note.as_deref(), 2000))
            .flatten();
        inv.into_result()?;
        let r = self.visible_request(p, c.request_id).await?;
        let facts = self.claim_facts(&r).await?;
        claims::check_claim(&facts, &Amounts { parts, labour })?;
        self.store
            .refile_claim(
                &p.actor(),
                id,
                version,
                parts,
                labour,
                note.as_deref(),
                self.now(),
            )
            .await
            .map_err(AppError::from_store("claim"))
    }

    /// The brand's decision on a submitted claim.
    pub async fn decide_claim(
        &self,
        p: &Principal,
        id: i64,
        i: &ClaimDecisionInput,
    ) -> Result<(), AppError> {
        p.require(Permission::ManageDesk)?;
        // A partner cannot approve its own claims, whatever its role.
        if self.partner_outlet(p).await?.is_some() {
            return Err(AppError::Forbidden);
        }
        let c = self
            .store
            .claim(id)
            .await?
            .ok_or(AppError::NotFound("claim"))?;
        let mut inv = Invalid::default();
        let decision = inv.check("decision", ClaimDecision::parse(i.decision.trim()));
        let approved = match i.approved_amount.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => inv.check("approved_amount", parse_money(s)),
            _ => None,
        };
        let note = inv
            .check("note", optional_text(i.note.as_deref(), 2000))
            .flatten();
        inv.into_result()?;
        let Some(decision) = decision else {
            return Err(AppError::Internal("validated input missing".into()));
        };
        let (status, approved) = claims::decide(
            c.status,
            c.claimed().fen(),
            decision,
            approved,
            note.is_some(),
        )?;
        let now = self.now();
        // Paid in the statement of the month it was approved (China time).
        let month = matches!(status, ClaimStatus::Approved | ClaimStatus::PartlyApproved)
            .then(|| now.to_zoned(china()).strftime("%Y-%m").to_string());
        self.store
            .decide_claim(
                &p.actor(),
                id,
                i.version,
                status,
                approved,
                note.as_deref(),
                p.user.id,
                month.as_deref(),
                now,
            )
            .await
            .map_err(AppError::from_store("claim"))
    }

    pub async fn claim(&self, p: &Principal, id: i64) -> Result<Claim, AppError> {
        let scope = self.claims_scope(p, None).await?;
        match self.store.claim(id).await? {
            Some(c) if scope.is_none_or(|o| o == c.outlet_id) => Ok(c),
            // Another outlet's claim is as good as missing to a partner's staff.
            _ => Err(AppError::NotFound("claim")),
        }
    }

    /// The claim filed on a request, if the caller may see it.
    pub async fn claim_of_request(
        &self,
        p: &Principal,
        request_id: RequestId,
    ) -> Result<Option<Claim>, AppError> {
        let Ok(scope) = self.claims_scope(p, None).await else {
            return Ok(None);
        };
        Ok(self
            .store
            .claim_of_request(request_id)
            .await?
            .filter(|c| scope.is_none_or(|o| o == c.outlet_id)))
    }

    pub async fn claims(&self, p: &Principal, q: &ClaimQuery) -> Result<Vec<Claim>, AppError> {
        let outlet = self.claims_scope(p, q.outlet_id).await?;
        let mut inv = Invalid::default();
        let status = match q.status.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => inv.check("status", ClaimStatus::parse(s)),
            _ => None,
        };
        let month = match q.month.as_deref().map(str::trim) {
            Some(s) if !s.is_empty() => inv.check("month", parse_month(s)),
            _ => None,
        };
        inv.into_result()?;
        Ok(self
            .store
            .claims(status, outlet, month.as_deref(), LIST_LIMIT)
            .await?)
    }

    /// A partner's statement for a month: the claims approved that month, with totals.
    pub async fn statement(
        &self,
        p: &Principal,
        outlet: OutletId,
        month: &str,
    ) -> Result<Statement, AppError> {
        let scope = self.claims_scope(p, Some(outlet)).await?;
        if scope != Some(outlet) {
            return Err(AppError::NotFound("outlet"));
        }
        let month = parse_month(month).map_err(|c| Invalid::one("month", c))?;
        let o = self
            .store
            .outlets()
            .await?
            .into_iter()
            .find(|o| o.id == outlet)
            .ok_or(AppError::NotFound("outlet"))?;
        let claims = self
            .store
            .claims(None, Some(outlet), Some(&month), u32::MAX)
            .await?;
        let sum = |f: &dyn Fn(&Claim) -> i64| Money(claims.iter().map(f).sum());
        Ok(Statement {
            outlet_id: outlet,
            outlet_name: o.name,
            month,
            claimed_total: sum(&|c| c.claimed().fen()),
            approved_total: sum(&|c| c.approved_amount.map_or(0, Money::fen)),
            approved_count: claims
                .iter()
                .filter(|c| c.status == ClaimStatus::Approved)
                .count() as i64,
            partly_count: claims
                .iter()
                .filter(|c| c.status == ClaimStatus::PartlyApproved)
                .count() as i64,
            claims,
        })
    }
}
