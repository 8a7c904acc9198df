//! Purchase summaries: every customer's days with a purchase (orders, total and discount
//! of the day; cancelled orders left out), kept in blocks of [`BLOCK`] customers and
//! rewritten from the customer's orders in the transaction of every write that changes
//! them (a new order, an import, a merge). Scoring reads about 31,000 blocks for a million
//! customers instead of aggregating every order (decision 0010).
//!
//! A block is one `purchase_blocks` row: `block` = customer id / [`BLOCK`], `data` =
//! for each customer with a purchase, in id order: the id, the number of days, then per
//! day the day as YYYYMMDD (the first whole, the next ones as the difference to the one
//! before), the orders, the total and the discount, all as LEB128 varints (amounts
//! zigzag-encoded).

use crate::db::*;
use aftercare_app::StoreError;
use aftercare_insight::value::{CustomerFacts, ValueSettings};
use jiff::civil::Date;
use sqlx::AnyConnection;

/// Customers per block: a block of customers with ten purchase days each is about 2.5 KB,
/// under one page, so an order rewrites a page or two.
pub const BLOCK: i64 = 32;

/// The migration that brings the summaries in; it fills them from the orders.
pub(crate) const MIGRATION: &str = "m20261128_000008_create_purchase_blocks";

/// One day with a purchase.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PurchaseDay {
    /// YYYYMMDD: compares as the day does.
    pub day: u32,
    pub orders: u32,
    /// Sum of the day's order totals, in cents.
    pub total: i64,
    pub discount: i64,
}

/// YYYYMMDD of a day.
pub fn day_number(d: Date) -> u32 {
    d.year() as u32 * 10_000 + d.month() as u32 * 100 + d.day() as u32
}

/// YYYYMMDD of a `YYYY-MM-DD…` text.
fn parse_day(s: &str) -> Option<u32> {
    let b = s.as_bytes();
    if b.len() < 10 || b[4] != b'-' || b[7] != b'-' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u32> {
        b[r].iter().try_fold(0u32, |n, c| {
            c.is_ascii_digit().then(|| n * 10 + u32::from(c - b'0'))
        })
    };
    Some(num(0..4)? * 10_000 + num(5..7)? * 100 + num(8..10)?)
}

fn date_of(n: u32) -> Option<Date> {
    Date::new((n / 10_000) as i16, (n / 100 % 100) as i8, (n % 100) as i8).ok()
}

fn put(buf: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        buf.push(v as u8 | 0x80);
        v >>= 7;
    }
    buf.push(v as u8);
}

fn put_signed(buf: &mut Vec<u8>, v: i64) {
    put(buf, ((v << 1) ^ (v >> 63)) as u64);
}

/// Reads LEB128 varints from a block.
struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Reader<'_> {
    fn next(&mut self) -> Result<u64, StoreError> {
        let mut v = 0u64;
        for shift in (0..64).step_by(7) {
            let Some(&b) = self.data.get(self.pos) else {
                return Err(corrupt());
            };
            self.pos += 1;
            v |= u64::from(b & 0x7f) << shift;
            if b < 0x80 {
                return Ok(v);
            }
        }
        Err(corrupt())
    }

    fn signed(&mut self) -> Result<i64, StoreError> {
        let v = self.next()?;
        Ok((v >> 1) as i64 ^ -((v & 1) as i64))
    }

    fn done(&self) -> bool {
        self.pos >= self.data.len()
    }
}

fn corrupt() -> StoreError {
    StoreError::Backend("a purchase summary block cannot be read".into())
}

/// A block's bytes from its customers, in id order.
pub fn encode(customers: &[(i64, Vec<PurchaseDay>)]) -> Vec<u8> {
    let mut buf = Vec::with_capacity(customers.len() * 64);
    for (id, days) in customers {
        put(&mut buf, *id as u64);
        put(&mut buf, days.len() as u64);
        let mut prev = 0u32;
        for d in days {
            put(&mut buf, u64::from(d.day - prev));
            put(&mut buf, u64::from(d.orders));
            put_signed(&mut buf, d.total);
            put_signed(&mut buf, d.discount);
            prev = d.day;
        }
    }
    buf
}

/// Calls `f` with each customer of a block and their days; `days` is reused.
pub fn each(
    data: &[u8],
    days: &mut Vec<PurchaseDay>,
    mut f: impl FnMut(i64, &[PurchaseDay]),
) -> Result<(), StoreError> {
    let mut r = Reader { data, pos: 0 };
    while !r.done() {
        let id = r.next()? as i64;
        let n = r.next()? as usize;
        days.clear();
        let mut day = 0u32;
        for _ in 0..n {
            day = day
                .checked_add(u32::try_from(r.next()?).map_err(|_| corrupt())?)
                .ok_or_else(corrupt)?;
            days.push(PurchaseDay {
                day,
                orders: u32::try_from(r.next()?).map_err(|_| corrupt())?,
                total: r.signed()?,
                discount: r.signed()?,
            });
        }
        f(id, days);
    }
    Ok(())
}

/// Every customer of a block with their days.
pub fn decode(data: &[u8]) -> Result<Vec<(i64, Vec<PurchaseDay>)>, StoreError> {
    let mut out = Vec::new();
    each(data, &mut Vec::new(), |id, d| out.push((id, d.to_vec())))?;
    Ok(out)
}

/// The day limits of a scoring run, as YYYYMMDD.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Days after this one are not counted (orders dated in the future).
    pub as_of: u32,
    /// The RFM window: days after this one.
    pub window_after: u32,
    /// The current-value window: days after this one.
    pub recent_after: u32,
}

impl Limits {
    pub fn new(as_of: Date, s: &ValueSettings) -> Self {
        let back = |n: u32| {
            day_number(
                as_of
                    .checked_sub(jiff::Span::new().days(i64::from(n)))
                    .unwrap_or(as_of),
            )
        };
        Limits {
            as_of: day_number(as_of),
            window_after: back(s.rfm_window_days),
            recent_after: back(s.current_value_days),
        }
    }
}

/// The purchase facts of one customer from their days. Returns false when no day counts.
pub fn fold(days: &[PurchaseDay], l: &Limits, f: &mut CustomerFacts) -> bool {
    let (mut first, mut last) = (0u32, 0u32);
    for d in days.iter().take_while(|d| d.day <= l.as_of) {
        if first == 0 {
            first = d.day;
            f.first_revenue = d.total as f64;
        }
        last = d.day;
        f.purchases += 1;
        f.revenue += d.total as f64;
        f.discounts += d.discount as f64;
        if d.day > l.window_after {
            f.window_purchases += 1;
            f.window_revenue += d.total as f64;
        }
        if d.day > l.recent_after {
            f.recent_revenue += d.total as f64;
        }
    }
    if first == 0 {
        return false;
    }
    f.first_purchase = date_of(first);
    f.last_purchase = date_of(last);
    true
}

/// Rewrites the summaries of these customers from their orders, in the caller's
/// transaction. Blocks are locked in ascending order (PostgreSQL), so writers touching
/// several blocks cannot deadlock on them.
pub(crate) async fn refresh(
    conn: &mut AnyConnection,
    backend: Backend,
    ids: &[i64],
) -> Result<(), StoreError> {
    let mut ids = ids.to_vec();
    ids.sort_unstable();
    ids.dedup();
    for group in ids.chunk_by(|a, b| a / BLOCK == b / BLOCK) {
        let block = group[0] / BLOCK;
        if backend == Backend::Postgres {
            exec(
                &mut *conn,
                "INSERT INTO purchase_blocks (block, data) VALUES ($1, $2) ON CONFLICT (block) DO NOTHING",
                &[V::I(block), V::B(Vec::new())],
            )
            .await?;
        }
        let lock = match backend {
            Backend::Postgres => " FOR UPDATE",
            Backend::Sqlite => "",
        };
        let data: Option<(Vec<u8>,)> = fetch_opt(
            &mut *conn,
            &format!("SELECT data FROM purchase_blocks WHERE block = $1{lock}"),
            &[V::I(block)],
        )
        .await?;
        let mut customers = match data {
            Some((d,)) => decode(&d)?,
            None => Vec::new(),
        };
        customers.retain(|(id, _)| group.binary_search(id).is_err());
        customers
            .extend(days_from_orders(&mut *conn, |sql| in_list(sql, "customer_id", group)).await?);
        customers.sort_unstable_by_key(|c| c.0);
        if customers.is_empty() {
            exec(
                &mut *conn,
                "DELETE FROM purchase_blocks WHERE block = $1",
                &[V::I(block)],
            )
            .await?;
        } else {
            exec(
                &mut *conn,
                "INSERT INTO purchase_blocks (block, data) VALUES ($1, $2) \
                 ON CONFLICT (block) DO UPDATE SET data = excluded.data",
                &[V::I(block), V::B(encode(&customers))],
            )
            .await?;
        }
    }
    Ok(())
}

/// The days with a purchase of the customers `filter` picks (` AND …` conditions on
/// `orders`), aggregated from their orders, in customer and day order.
async fn days_from_orders(
    conn: &mut AnyConnection,
    filter: impl FnOnce(&mut Sql),
) -> Result<Vec<(i64, Vec<PurchaseDay>)>, StoreError> {
    let mut sql = Sql::new(
        "SELECT customer_id, ordered_on, COUNT(*), CAST(SUM(total) AS BIGINT), \
         CAST(SUM(discount) AS BIGINT) FROM orders WHERE status <> 'cancelled'",
    );
    filter(&mut sql);
    sql.push(" GROUP BY customer_id, ordered_on ORDER BY customer_id, ordered_on");
    let rows: Vec<(i64, String, i64, i64, i64)> =
        fetch_all(&mut *conn, &sql.text, &sql.args).await?;
    let mut out: Vec<(i64, Vec<PurchaseDay>)> = Vec::new();
    for (id, day, orders, total, discount) in rows {
        let day = parse_day(&day)
            .ok_or_else(|| StoreError::Backend(format!("order day {day:?} is not a date")))?;
        let d = PurchaseDay {
            day,
            orders: orders as u32,
            total,
            discount,
        };
        match out.last_mut() {
            Some((last, days)) if *last == id => days.push(d),
            _ => out.push((id, vec![d])),
        }
    }
    Ok(out)
}

/// A `SELECT MAX(…)`, none over no rows.
async fn max_of<'e, E>(e: E, sql: &str) -> Result<Option<i64>, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let row: Option<(Option<i64>,)> = fetch_opt(e, sql, &[]).await?;
    Ok(row.and_then(|r| r.0))
}

/// Customers per statement when every summary is built again.
const REBUILD_CUSTOMERS: i64 = BLOCK * 4_000;

/// Builds every summary again from the orders (the migration that brings them in, and
/// data loaded around the use cases, as the benchmarks do).
pub async fn rebuild(conn: &mut AnyConnection, backend: Backend) -> Result<u64, StoreError> {
    exec(&mut *conn, "DELETE FROM purchase_blocks", &[]).await?;
    let Some(max) = max_of(&mut *conn, "SELECT MAX(customer_id) FROM orders").await? else {
        return Ok(0);
    };
    let mut blocks = 0u64;
    let mut from = 0i64;
    while from <= max {
        let to = from + REBUILD_CUSTOMERS;
        let customers = days_from_orders(&mut *conn, |sql| {
            sql.push(" AND customer_id >= ")
                .bind(V::I(from))
                .push(" AND customer_id < ")
                .bind(V::I(to));
        })
        .await?;
        let rows: Vec<Vec<V>> = customers
            .chunk_by(|a, b| a.0 / BLOCK == b.0 / BLOCK)
            .map(|group| vec![V::I(group[0].0 / BLOCK), V::B(encode(group))])
            .collect();
        blocks += rows.len() as u64;
        bulk_insert(
            &mut *conn,
            backend,
            "purchase_blocks",
            &["block", "data"],
            &rows,
        )
        .await?;
        from = to;
    }
    Ok(blocks)
}

impl crate::SqlStore {
    /// Builds every purchase summary again from the orders, in one transaction; returns
    /// the blocks written (`aftercare value rebuild-purchases`).
    pub async fn rebuild_purchases(&self) -> Result<u64, StoreError> {
        let mut tx = self.db.write.begin().await.map_err(backend_err)?;
        let blocks = rebuild(&mut tx, self.db.backend).await?;
        tx.commit().await.map_err(backend_err)?;
        Ok(blocks)
    }
}

/// Appends the purchase facts of the wanted customers of these blocks (those with a
/// purchase up to the limits' day).
fn facts_in(
    blocks: &[(Vec<u8>,)],
    l: &Limits,
    wanted: impl Fn(i64) -> bool,
    out: &mut Vec<CustomerFacts>,
) -> Result<(), StoreError> {
    let mut days = Vec::new();
    for (data,) in blocks {
        each(data, &mut days, |id, d| {
            if !wanted(id) {
                return;
            }
            let mut f = CustomerFacts {
                customer_id: id,
                ..Default::default()
            };
            if fold(d, l, &mut f) {
                out.push(f);
            }
        })?;
    }
    Ok(())
}

/// The purchase facts of every customer with a purchase up to `as_of`, in id order: the
/// blocks read in two halves side by side.
pub async fn facts_all(
    db: &Db,
    as_of: Date,
    s: &ValueSettings,
) -> Result<Vec<CustomerFacts>, StoreError> {
    let limits = Limits::new(as_of, s);
    let max = max_of(&db.read, "SELECT MAX(block) FROM purchase_blocks")
        .await?
        .unwrap_or(-1);
    let mid = (max + 1) / 2;
    let half = |from: i64, to: i64| {
        let pool = db.read.clone();
        tokio::spawn(async move {
            let rows: Vec<(Vec<u8>,)> = fetch_all(
                &pool,
                "SELECT data FROM purchase_blocks WHERE block >= $1 AND block < $2 ORDER BY block",
                &[V::I(from), V::I(to)],
            )
            .await?;
            let mut out = Vec::with_capacity(rows.len() * BLOCK as usize);
            facts_in(&rows, &limits, |_| true, &mut out)?;
            Ok::<_, StoreError>(out)
        })
    };
    let (a, b) = (half(0, mid), half(mid, max + 1));
    let join = |e: tokio::task::JoinError| StoreError::Backend(e.to_string());
    let mut out = a.await.map_err(join)??;
    out.extend(b.await.map_err(join)??);
    Ok(out)
}

/// The statement that reads the purchase blocks holding these customers (at most
/// [`IN_CHUNK`] of them), with the customers' ids sorted for [`facts_from`].
pub(crate) fn blocks_of(ids: &[aftercare_domain::CustomerId]) -> (Sql, Vec<i64>) {
    let mut ids: Vec<i64> = ids.iter().map(|id| id.get()).collect();
    ids.sort_unstable();
    ids.dedup();
    let mut blocks: Vec<i64> = ids.iter().map(|id| id / BLOCK).collect();
    blocks.dedup();
    let mut sql = Sql::new("SELECT data FROM purchase_blocks WHERE 1 = 1");
    in_list(&mut sql, "block", &blocks);
    (sql, ids)
}

/// The purchase facts of the customers `ids` (sorted; those with a purchase up to
/// `as_of`), in id order, from the blocks [`blocks_of`] read.
pub(crate) fn facts_from(
    blocks: &[(Vec<u8>,)],
    as_of: Date,
    s: &ValueSettings,
    ids: &[i64],
) -> Result<Vec<CustomerFacts>, StoreError> {
    let mut out = Vec::new();
    facts_in(
        blocks,
        &Limits::new(as_of, s),
        |id| ids.binary_search(&id).is_ok(),
        &mut out,
    )?;
    out.sort_unstable_by_key(|f| f.customer_id);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(n: u32, orders: u32, total: i64) -> PurchaseDay {
        PurchaseDay {
            day: n,
            orders,
            total,
            discount: total / 10,
        }
    }

    #[test]
    fn blocks_read_back_what_was_written() {
        let customers = vec![
            (
                32,
                vec![day(20_191_231, 1, 0), day(20_200_101, 3, 12_345_678_901)],
            ),
            (33, vec![day(20_261_101, 1, -500)]),
            (63, vec![]),
            (
                i64::from(u32::MAX) * 4,
                vec![day(99_991_231, u32::MAX, i64::MIN / 2)],
            ),
        ];
        let data = encode(&customers);
        assert_eq!(decode(&data).unwrap(), customers);
        assert!(decode(&[]).unwrap().is_empty());
    }

    #[test]
    fn a_damaged_block_is_an_error_not_a_panic() {
        let data = encode(&[(7, vec![day(20_260_101, 2, 300)])]);
        for cut in 1..data.len() {
            assert!(decode(&data[..cut]).is_err(), "cut at {cut}");
        }
        assert!(decode(&[0xff; 11]).is_err());
    }

    #[test]
    fn days_are_numbers_that_compare_as_days() {
        assert_eq!(parse_day("2026-11-01"), Some(20_261_101));
        assert_eq!(parse_day("2026-11-01T10:00:00Z"), Some(20_261_101));
        assert_eq!(parse_day("2026/11/01"), None);
        assert_eq!(parse_day("2026-1x-01"), None);
        assert_eq!(day_number(jiff::civil::date(2024, 2, 29)), 20_240_229);
        assert_eq!(date_of(20_240_229), Some(jiff::civil::date(2024, 2, 29)));
        assert!(parse_day("2025-12-31") < parse_day("2026-01-01"));
    }

    #[test]
    fn facts_count_days_windows_and_leave_out_the_future() {
        let s = ValueSettings {
            rfm_window_days: 365,
            current_value_days: 30,
            ..Default::default()
        };
        let l = Limits::new(jiff::civil::date(2026, 11, 1), &s);
        assert_eq!((l.window_after, l.recent_after), (20_251_101, 20_261_002));
        let days = [
            day(20_240_505, 1, 1_000),
            // The window's first day is the day after the limit.
            day(20_251_101, 1, 2_000),
            day(20_251_102, 2, 4_000),
            day(20_261_002, 1, 8_000),
            day(20_261_101, 1, 16_000),
            day(20_261_102, 1, 32_000),
        ];
        let mut f = CustomerFacts::default();
        assert!(fold(&days, &l, &mut f));
        assert_eq!(f.purchases, 5);
        assert_eq!(f.revenue, 31_000.0);
        assert_eq!(f.discounts, 3_100.0);
        assert_eq!((f.window_purchases, f.window_revenue), (3, 28_000.0));
        assert_eq!(f.recent_revenue, 16_000.0);
        assert_eq!(f.first_purchase, Some(jiff::civil::date(2024, 5, 5)));
        assert_eq!(f.last_purchase, Some(jiff::civil::date(2026, 11, 1)));
        let mut f = CustomerFacts::default();
        assert!(!fold(&days[5..], &l, &mut f));
        assert_eq!(f, CustomerFacts::default());
    }
}
