//! Import and export: CSV and Excel (.xlsx) for customers, products, orders and reviews,
//! and a customer as a vCard. Imports read the whole file, report every error with its row
//! and column, and write all rows or none. The web pages, the API and the CLI all go
//! through here.

use crate::input::*;
use crate::model::*;
use crate::service::{ImportReport, Principal};
use crate::{App, AppError};
use aftercare_domain::Invalid;
use aftercare_domain::account::Permission;
use aftercare_domain::catalog::format_money;
use aftercare_domain::ids::*;
use std::collections::HashMap;

/// What kind of records a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Customers,
    Products,
    Orders,
    /// Reviews from e-commerce platforms, taken in as feedback.
    Reviews,
    /// Service outlets with their coverage.
    Outlets,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        match s {
            "customers" => Some(Kind::Customers),
            "products" => Some(Kind::Products),
            "orders" => Some(Kind::Orders),
            "reviews" => Some(Kind::Reviews),
            "outlets" => Some(Kind::Outlets),
            _ => None,
        }
    }
}

/// A file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Csv,
    Xlsx,
}

impl Format {
    pub fn from_name(name: &str) -> Option<Format> {
        let n = name.to_ascii_lowercase();
        if n.ends_with(".csv") {
            Some(Format::Csv)
        } else if n.ends_with(".xlsx") {
            Some(Format::Xlsx)
        } else {
            None
        }
    }
}

/// A table read from a file: the header and the data rows, each with its row number.
pub struct Table {
    pub header: Vec<String>,
    pub rows: Vec<(usize, HashMap<String, String>)>,
}

/// Why a file could not be read at all: a code people read in their language (with `n`,
/// a limit or a column number, where the code has one), and the detail in English for the
/// command line and the log.
#[derive(Debug)]
pub struct FileError {
    pub row: usize,
    /// `file_unreadable`, `file_not_utf8`, `file_encoding_unknown`, `file_no_header`, `file_too_many_rows`,
    /// `file_too_many_columns`, `file_too_many_cells`, `file_too_large`, `file_too_many_parts`.
    pub code: &'static str,
    pub n: Option<u64>,
    pub message: String,
}

/// What an import file may hold. A file is refused as soon as it passes one of them, before
/// anything is allocated for what lies beyond: a hostile file cannot make the server
/// allocate or unpack without bound.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Data rows (the header is not counted).
    pub rows: usize,
    pub columns: usize,
    /// Cells, counting the empty ones between filled ones in a row.
    pub cells: usize,
    /// What an .xlsx file unpacks to, all its parts together.
    pub unpacked: u64,
    /// Parts in an .xlsx file.
    pub parts: usize,
}

/// The limits of every import.
pub const LIMITS: Limits = Limits {
    rows: 100_000,
    columns: 64,
    cells: 2_000_000,
    unpacked: 128 * 1024 * 1024,
    parts: 10_000,
};

pub fn read_table(bytes: &[u8], format: Format) -> Result<Table, FileError> {
    read_table_within(bytes, format, &LIMITS)
}

/// The row (1 is the header) where a quoted field starts that the file never closes. The
/// CSV reader would take the rest of the file as that one field: a mangled record.
fn unterminated_quote(bytes: &[u8]) -> Option<usize> {
    let (mut row, mut opened_on) = (1, None);
    let mut field_start = true;
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if opened_on.is_some() {
            if b == b'"' {
                if bytes.get(i + 1) == Some(&b'"') {
                    i += 1; // an escaped quote inside the field
                } else {
                    opened_on = None;
                }
            }
        } else {
            match b {
                b'"' if field_start => opened_on = Some(row),
                b',' => {
                    field_start = true;
                    i += 1;
                    continue;
                }
                b'\n' => {
                    row += 1;
                    field_start = true;
                    i += 1;
                    continue;
                }
                _ => {}
            }
        }
        field_start = false;
        i += 1;
    }
    opened_on
}

fn unreadable(message: String) -> FileError {
    FileError {
        row: 0,
        code: "file_unreadable",
        n: None,
        message,
    }
}

fn over(row: usize, code: &'static str, limit: usize, what: &str) -> FileError {
    FileError {
        row,
        code,
        n: Some(limit as u64),
        message: format!("more than {limit} {what}"),
    }
}

/// Checks what an .xlsx file (a zip) really unpacks to: its declared sizes may lie, so each
/// part is inflated, without keeping it, up to what is left of the limit.
fn xlsx_unpacks_within(bytes: &[u8], limits: &Limits) -> Result<(), FileError> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes))
        .map_err(|e| unreadable(format!("not a readable .xlsx file: {e}")))?;
    if zip.len() > limits.parts {
        return Err(over(0, "file_too_many_parts", limits.parts, "parts"));
    }
    let mut left = limits.unpacked;
    for i in 0..zip.len() {
        let mut part = zip
            .by_index(i)
            .map_err(|e| unreadable(format!("not a readable .xlsx file: {e}")))?;
        let n = std::io::copy(&mut (&mut part).take(left + 1), &mut std::io::sink())
            .map_err(|e| unreadable(format!("not a readable .xlsx file: {e}")))?;
        if n > left {
            let mb = limits.unpacked / (1024 * 1024);
            return Err(FileError {
                row: 0,
                code: "file_too_large",
                n: Some(mb),
                message: format!("the file unpacks to more than {mb} MB"),
            });
        }
        left -= n;
    }
    Ok(())
}

/// Where a cell lies beyond the limits, if it does.
fn beyond(row: usize, col: usize, limits: &Limits) -> Option<FileError> {
    if row > limits.rows {
        Some(over(row + 1, "file_too_many_rows", limits.rows, "rows"))
    } else if col >= limits.columns {
        Some(over(
            row + 1,
            "file_too_many_columns",
            limits.columns,
            "columns",
        ))
    } else {
        None
    }
}

fn too_many_cells(row: usize, limits: &Limits) -> FileError {
    over(row + 1, "file_too_many_cells", limits.cells, "cells")
}

/// The text of a CSV file in whatever encoding a spreadsheet saved it: UTF-8 with or
/// without a byte-order mark, UTF-16 with one, or, without a mark and not valid UTF-8,
/// the encoding detected (GBK/GB18030 from Chinese Excel, Big5 from Taiwan and Hong
/// Kong). Bytes that no encoding reads cleanly are refused, not guessed at.
pub fn decode_csv(bytes: &[u8]) -> Result<std::borrow::Cow<'_, str>, FileError> {
    use std::borrow::Cow;
    if let Some((enc, bom)) = encoding_rs::Encoding::for_bom(bytes) {
        return enc
            .decode_without_bom_handling_and_without_replacement(&bytes[bom..])
            .ok_or_else(not_text);
    }
    if let Ok(text) = std::str::from_utf8(bytes) {
        return Ok(Cow::Borrowed(text));
    }
    let mut detector = chardetng::EncodingDetector::new();
    detector.feed(bytes, true);
    let guess = detector.guess(None, true);
    // A single-byte (Western) encoding reads any bytes at all, so it is never taken:
    // such a file is refused with the advice to save it as CSV UTF-8.
    let candidates = [guess, encoding_rs::GB18030, encoding_rs::BIG5];
    candidates
        .iter()
        .filter(|enc| !enc.is_single_byte())
        .find_map(|enc| enc.decode_without_bom_handling_and_without_replacement(bytes))
        .map(|t| Cow::Owned(t.into_owned()))
        .ok_or_else(not_text)
}

fn not_text() -> FileError {
    FileError {
        row: 0,
        code: "file_encoding_unknown",
        n: None,
        message: "not text in UTF-8, GBK/GB18030 or Big5".into(),
    }
}

/// Reads a table within `limits`.
pub fn read_table_within(
    bytes: &[u8],
    format: Format,
    limits: &Limits,
) -> Result<Table, FileError> {
    let raw: Vec<Vec<String>> = match format {
        Format::Csv => {
            let text = decode_csv(bytes)?;
            let bytes = text.as_bytes();
            if let Some(row) = unterminated_quote(bytes) {
                return Err(FileError {
                    row,
                    code: "file_unterminated_quote",
                    n: Some(row as u64),
                    message: format!("row {row}: a quote is opened and never closed"),
                });
            }
            let mut rdr = csv::ReaderBuilder::new()
                .has_headers(false)
                .flexible(true)
                .from_reader(bytes);
            let mut out = Vec::new();
            let mut cells = 0;
            for (i, rec) in rdr.byte_records().enumerate() {
                let rec = rec.map_err(|e| FileError {
                    row: i + 1,
                    ..unreadable(e.to_string())
                })?;
                if let Some(e) = beyond(i, rec.len().saturating_sub(1), limits) {
                    return Err(e);
                }
                cells += rec.len();
                if cells > limits.cells {
                    return Err(too_many_cells(i, limits));
                }
                let mut row = Vec::with_capacity(rec.len());
                for (col, field) in rec.iter().enumerate() {
                    let s = std::str::from_utf8(field).map_err(|_| FileError {
                        row: i + 1,
                        code: "file_not_utf8",
                        n: Some(col as u64 + 1),
                        message: format!(
                            "column {}: not UTF-8 text (save the file as CSV UTF-8)",
                            col + 1
                        ),
                    })?;
                    row.push(s.to_string());
                }
                out.push(row);
            }
            out
        }
        Format::Xlsx => {
            use calamine::Reader;
            xlsx_unpacks_within(bytes, limits)?;
            let mut wb = calamine::Xlsx::new(std::io::Cursor::new(bytes))
                .map_err(|e| unreadable(format!("not a readable .xlsx file: {e}")))?;
            let sheet = wb
                .sheet_names()
                .first()
                .cloned()
                .ok_or_else(|| unreadable("the workbook has no sheet".into()))?;
            let mut reader = wb
                .worksheet_cells_reader(&sheet)
                .map_err(|e| unreadable(e.to_string()))?;
            // Cells as they come, checked one by one: the sheet's declared size is not
            // trusted (a few bytes can claim A1:XFD1048576).
            let mut found: Vec<(usize, usize, String)> = Vec::new();
            while let Some(cell) = reader.next_cell().map_err(|e| unreadable(e.to_string()))? {
                let (r, c) = cell.get_position();
                let (r, c) = (r as usize, c as usize);
                if found.len() >= limits.cells {
                    return Err(too_many_cells(r, limits));
                }
                let text = match calamine::Data::from(cell.get_value().clone()) {
                    calamine::Data::Float(f) if f.fract() == 0.0 => format!("{}", f as i64),
                    calamine::Data::DateTime(d) => excel_date(d.as_f64()),
                    calamine::Data::Empty => continue,
                    other => other.to_string(),
                };
                found.push((r, c, text));
            }
            // As before: the table starts at the first row and column that hold something.
            let top = found.iter().map(|f| f.0).min().unwrap_or(0);
            let left = found.iter().map(|f| f.1).min().unwrap_or(0);
            let mut out: Vec<Vec<String>> = Vec::new();
            let mut slots = 0;
            for (r, c, text) in found {
                let (r, c) = (r - top, c - left);
                if let Some(e) = beyond(r, c, limits) {
                    return Err(e);
                }
                if out.len() <= r {
                    out.resize_with(r + 1, Vec::new);
                }
                let row = &mut out[r];
                if row.len() <= c {
                    slots += c + 1 - row.len();
                    if slots > limits.cells {
                        return Err(too_many_cells(r, limits));
                    }
                    row.resize(c + 1, String::new());
                }
                row[c] = text;
            }
            out
        }
    };
    // A NUL or another stray control character is refused with its place in the file:
    // PostgreSQL cannot store it, and no one means to import it.
    for (i, row) in raw.iter().enumerate() {
        if let Some(col) = row
            .iter()
            .position(|c| aftercare_domain::error::has_control_character(c))
        {
            return Err(FileError {
                row: i + 1,
                code: "file_control_character",
                n: Some(col as u64 + 1),
                message: format!("column {}: a control character (such as NUL)", col + 1),
            });
        }
    }
    let mut it = raw.into_iter();
    let header: Vec<String> = it
        .next()
        .unwrap_or_default()
        .into_iter()
        .map(|h| h.trim().to_lowercase())
        .collect();
    if header.iter().all(String::is_empty) {
        return Err(FileError {
            row: 1,
            code: "file_no_header",
            n: None,
            message: "the first row must name the columns".into(),
        });
    }
    let rows = it
        .enumerate()
        .filter(|(_, r)| r.iter().any(|c| !c.trim().is_empty()))
        .map(|(i, r)| {
            (
                i + 2,
                header.iter().cloned().zip(r).collect::<HashMap<_, _>>(),
            )
        })
        .collect();
    Ok(Table { header, rows })
}

/// Excel stores dates as days since 1899-12-30.
fn excel_date(serial: f64) -> String {
    use jiff::ToSpan;
    jiff::civil::date(1899, 12, 30)
        .checked_add((serial.floor() as i64).days())
        .map(|d| d.to_string())
        .unwrap_or_default()
}

fn col<'a>(r: &'a HashMap<String, String>, k: &str) -> &'a str {
    r.get(k).map(String::as_str).unwrap_or("").trim()
}

fn opt(r: &HashMap<String, String>, k: &str) -> Option<String> {
    Some(col(r, k).to_string()).filter(|s| !s.is_empty())
}

fn list(r: &HashMap<String, String>, k: &str) -> Vec<String> {
    col(r, k)
        .split([';', '；', ',', '，'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

pub const CUSTOMER_COLUMNS: &[&str] = &[
    "name",
    "kind",
    "company",
    "title",
    "birthday",
    "phone",
    "phone2",
    "email",
    "email2",
    "province",
    "city",
    "district",
    "street",
    "postcode",
    "tags",
    "consent",
    "source",
    "notes",
    "customer_ref",
];
pub const PRODUCT_COLUMNS: &[&str] = &[
    "sku",
    "name",
    "category",
    "price",
    "currency",
    "serialized",
    "strategy",
];
pub const REVIEW_COLUMNS: &[&str] = &[
    "platform",
    "review_id",
    "sku",
    "customer_phone",
    "rating",
    "text",
    "date",
];
pub const OUTLET_COLUMNS: &[&str] = &[
    "name",
    "kind",
    "city",
    "address",
    "contact_name",
    "contact_phone",
    "contact_email",
    "regions",
    "categories",
    "capacity",
    "response_minutes",
    "resolution_minutes",
];
pub const ORDER_COLUMNS: &[&str] = &[
    "order_ref",
    "customer_ref",
    "customer_phone",
    "customer_id",
    "channel",
    "ordered_on",
    "delivered_on",
    "status",
    "sku",
    "quantity",
    "unit_price",
    "serials",
    "payment_terms",
    "special_needs",
    "currency",
];

/// A file to fill in for an import: the columns and one example row (codes for coded
/// values; the page shows them by name). Every column is optional except those the kind
/// requires (a customer's name and a phone or email; an order's sku and dates…).
pub fn template(kind: Kind) -> (&'static [&'static str], Vec<&'static str>) {
    match kind {
        Kind::Customers => (
            CUSTOMER_COLUMNS,
            vec![
                "张伟",
                "person",
                "",
                "",
                "1985-06-01",
                "138 0013 8000",
                "",
                "zhang.wei@example.cn",
                "",
                "广东省",
                "深圳市",
                "南山区",
                "科技园路 1 号",
                "518000",
                "老客户",
                "sms,email",
                "point_of_sale",
                "",
                "C-0001",
            ],
        ),
        Kind::Products => (
            PRODUCT_COLUMNS,
            vec![
                "AC-1001",
                "变频空调 1.5 匹",
                "空调",
                "3299.00",
                "CNY",
                "yes",
                "comprehensive",
            ],
        ),
        Kind::Orders => (
            ORDER_COLUMNS,
            vec![
                "O-0001",
                "C-0001",
                "138 0013 8000",
                "",
                "store",
                "2026-11-20",
                "2026-11-22",
                "completed",
                "AC-1001",
                "1",
                "3299.00",
                "SN20261120001",
                "",
                "",
                "CNY",
            ],
        ),
        Kind::Outlets => (
            OUTLET_COLUMNS,
            vec![
                "苏州工业园区特约服务站",
                "partner",
                "苏州",
                "星湖街 328 号",
                "李站长",
                "0512 6666 8888",
                "service@example.cn",
                "苏州、昆山",
                "空调、热水器",
                "80",
                "120",
                "1440",
            ],
        ),
        Kind::Reviews => (
            REVIEW_COLUMNS,
            vec![
                "jd",
                "R-1001",
                "AC-1001",
                "138 0013 8000",
                "5",
                "安装师傅很专业，空调很安静",
                "2026-11-25",
            ],
        ),
    }
}

pub fn customer_from_row(r: &HashMap<String, String>) -> CustomerInput {
    let phones = ["phone", "phone2"]
        .iter()
        .filter_map(|k| opt(r, k))
        .map(|n| PhoneInput {
            number: n,
            label: None,
            primary: false,
        })
        .collect();
    let emails = ["email", "email2"]
        .iter()
        .filter_map(|k| opt(r, k))
        .map(|a| EmailInput {
            address: a,
            primary: false,
        })
        .collect();
    let has_address = ["province", "city", "district", "street", "postcode"]
        .iter()
        .any(|k| opt(r, k).is_some());
    CustomerInput {
        kind: opt(r, "kind"),
        name: col(r, "name").to_string(),
        company: opt(r, "company"),
        title: opt(r, "title"),
        birthday: opt(r, "birthday"),
        phones,
        emails,
        addresses: if has_address {
            vec![AddressInput {
                label: None,
                province: opt(r, "province"),
                city: opt(r, "city"),
                district: opt(r, "district"),
                street: col(r, "street").to_string(),
                postcode: opt(r, "postcode"),
                primary: true,
            }]
        } else {
            vec![]
        },
        consent: list(r, "consent"),
        tags: list(r, "tags"),
        notes: opt(r, "notes"),
        source: opt(r, "source"),
        external_ref: opt(r, "customer_ref"),
        ..Default::default()
    }
}

/// An outlet from a row: its product lines by name (or id), its numbers checked here.
fn outlet_from_row(
    r: &HashMap<String, String>,
    cats: &[Category],
) -> Result<crate::network_model::OutletInput, Invalid> {
    let mut inv = Invalid::default();
    let places = |k: &str| -> Vec<String> {
        col(r, k)
            .split([';', '；', ',', '，', '、'])
            .map(str::trim)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    };
    let mut categories = Vec::new();
    for name in places("categories") {
        match cats
            .iter()
            .find(|c| c.name == name || c.id.to_string() == name)
        {
            Some(c) => categories.push(c.id),
            None => inv.push("categories", "not_found"),
        }
    }
    let mut number = |k: &'static str| -> Option<i64> {
        let v = col(r, k).trim();
        if v.is_empty() {
            return None;
        }
        v.parse().map_err(|_| inv.push(k, "not_a_number")).ok()
    };
    let capacity = number("capacity");
    let response_minutes = number("response_minutes");
    let resolution_minutes = number("resolution_minutes");
    inv.into_result()?;
    Ok(crate::network_model::OutletInput {
        name: col(r, "name").into(),
        kind: opt(r, "kind").unwrap_or_else(|| "partner".into()),
        city: opt(r, "city"),
        address: opt(r, "address"),
        contact_name: opt(r, "contact_name"),
        contact_phone: opt(r, "contact_phone"),
        contact_email: opt(r, "contact_email"),
        regions: places("regions"),
        categories,
        calendar_id: None,
        capacity,
        response_minutes,
        resolution_minutes,
        version: None,
    })
}

/// Which column an input field came from, for error reports.
pub fn column_of(kind: Kind, field: &str) -> String {
    let f = field.split(" ").last().unwrap_or(field);
    match kind {
        Kind::Customers => match f {
            "phones[0].number" => "phone".into(),
            "phones[1].number" => "phone2".into(),
            "emails[0].address" => "email".into(),
            "emails[1].address" => "email2".into(),
            f if f.starts_with("addresses[0].") => f.trim_start_matches("addresses[0].").into(),
            f if f.starts_with("tags[") => "tags".into(),
            f if f.starts_with("consent[") => "consent".into(),
            "external_ref" => "customer_ref".into(),
            f => f.into(),
        },
        Kind::Products => match f {
            "category_id" => "category".into(),
            f => f.into(),
        },
        Kind::Outlets => f.split('[').next().unwrap_or(f).into(),
        Kind::Reviews => match f {
            "body" => "text".into(),
            "product_id" => "sku".into(),
            "origin" => "review_id".into(),
            "received_at" => "date".into(),
            f => f.into(),
        },
        Kind::Orders => {
            if f.contains("serials") {
                "serials".into()
            } else if let Some(rest) = f.strip_prefix("items[").and_then(|r| r.split_once("].")) {
                match rest.1 {
                    "product_id" => "sku".into(),
                    other => other.into(),
                }
            } else if f == "customer_id" {
                "customer_phone".into()
            } else if f == "external_ref" {
                "order_ref".into()
            } else {
                f.into()
            }
        }
    }
}

/// Reads a table into inputs and runs the import (or its dry run).
pub async fn import(
    app: &App,
    p: &Principal,
    kind: Kind,
    table: &Table,
    dry_run: bool,
) -> Result<ImportReport, AppError> {
    let rows: Vec<usize> = table.rows.iter().map(|(n, _)| *n).collect();
    match kind {
        Kind::Outlets => {
            let cats = app.categories(p).await?;
            let inputs: Vec<Result<crate::network_model::OutletInput, Invalid>> = table
                .rows
                .iter()
                .map(|(_, r)| outlet_from_row(r, &cats))
                .collect();
            app.import_outlets(p, &inputs, &rows, dry_run).await
        }
        Kind::Customers => {
            let inputs: Vec<CustomerInput> = table
                .rows
                .iter()
                .map(|(_, r)| customer_from_row(r))
                .collect();
            app.import_customers(p, &inputs, &rows, dry_run).await
        }
        Kind::Products => {
            let cats = app.categories(p).await?;
            let inputs: Vec<Result<ProductInput, Invalid>> = table
                .rows
                .iter()
                .map(|(_, r)| {
                    let cat = col(r, "category");
                    let category_id = cats
                        .iter()
                        .find(|c| c.name == cat || c.id.to_string() == cat)
                        .map(|c| c.id)
                        .ok_or_else(|| {
                            Invalid::one(
                                "category_id",
                                if cat.is_empty() {
                                    "required"
                                } else {
                                    "not_found"
                                },
                            )
                        })?;
                    let serialized = match col(r, "serialized").to_lowercase().as_str() {
                        "" | "yes" | "true" | "1" | "是" => true,
                        "no" | "false" | "0" | "否" => false,
                        _ => return Err(Invalid::one("serialized", "out_of_range")),
                    };
                    Ok(ProductInput {
                        sku: col(r, "sku").into(),
                        name: col(r, "name").into(),
                        category_id,
                        policy_id: None,
                        price: col(r, "price").into(),
                        currency: opt(r, "currency"),
                        serialized,
                        strategy: opt(r, "strategy"),
                    })
                })
                .collect();
            app.import_products(p, &inputs, &rows, dry_run).await
        }
        Kind::Reviews => {
            let products = app.all_products(p).await?;
            let mut inputs = Vec::with_capacity(table.rows.len());
            for (_, r) in &table.rows {
                let mut inv = Invalid::default();
                let platform = col(r, "platform").trim().to_lowercase();
                let review_id = col(r, "review_id").trim().to_owned();
                if platform.is_empty() || platform.contains(':') {
                    inv.push("platform", "required");
                }
                if review_id.is_empty() {
                    inv.push("review_id", "required");
                }
                let sku = col(r, "sku").trim().to_uppercase();
                let product_id = if sku.is_empty() {
                    None
                } else {
                    match products.iter().find(|x| x.sku == sku) {
                        Some(x) => Some(x.id),
                        None => {
                            inv.push("sku", "not_found");
                            None
                        }
                    }
                };
                // A reviewer is linked when their phone is a customer's; many are not.
                let customer_id = match opt(r, "customer_phone") {
                    Some(phone) => app
                        .customers(
                            p,
                            &CustomerQuery {
                                q: Some(phone),
                                limit: Some(1),
                                ..Default::default()
                            },
                        )
                        .await?
                        .items
                        .first()
                        .map(|c| c.id),
                    None => None,
                };
                let rating = match opt(r, "rating") {
                    None => None,
                    Some(v) => match v.parse::<i64>() {
                        Ok(n) => Some(n),
                        Err(_) => {
                            inv.push("rating", "rating_range");
                            None
                        }
                    },
                };
                let input = crate::feedback::FeedbackInput {
                    source: "review".into(),
                    body: col(r, "text").into(),
                    customer_id,
                    product_id,
                    rating,
                    origin: Some(format!("review:{platform}:{review_id}")),
                    received_at: opt(r, "date"),
                    ..Default::default()
                };
                if inv.is_empty() {
                    inputs.push(Ok(input));
                } else {
                    // Every error of the row at once: the lookups' and the fields' own.
                    if let Err(more) = input.said(app.clock.now()) {
                        inv.0.extend(more.0);
                    }
                    inputs.push(Err(inv));
                }
            }
            let rows: Vec<usize> = table.rows.iter().map(|(n, _)| *n).collect();
            app.import_reviews(p, &inputs, &rows, dry_run).await
        }
        Kind::Orders => {
            // Rows with the same order_ref are lines of one order; a row without one is an order.
            let products = app.all_products(p).await?;
            let mut groups: Vec<(Option<String>, Vec<usize>)> = Vec::new();
            let mut group_of: HashMap<String, usize> = HashMap::new();
            for (i, (_, r)) in table.rows.iter().enumerate() {
                match opt(r, "order_ref") {
                    Some(key) => match group_of.get(&key) {
                        Some(g) => groups[*g].1.push(i),
                        None => {
                            group_of.insert(key.clone(), groups.len());
                            groups.push((Some(key), vec![i]));
                        }
                    },
                    None => groups.push((None, vec![i])),
                }
            }
            // Customers named by their number in the old system: looked up once for all.
            let mut refs: Vec<String> = table
                .rows
                .iter()
                .filter_map(|(_, r)| opt(r, "customer_ref"))
                .collect();
            refs.sort_unstable();
            refs.dedup();
            let by_ref: HashMap<String, CustomerId> =
                app.customers_by_ref(p, &refs).await?.into_iter().collect();
            let mut inputs = Vec::new();
            let mut first_rows = Vec::new();
            for (order_ref, idx) in &groups {
                let (n, head) = &table.rows[idx[0]];
                first_rows.push(*n);
                let customer_id = match (
                    opt(head, "customer_id"),
                    opt(head, "customer_ref"),
                    opt(head, "customer_phone"),
                ) {
                    (Some(id), _, _) => id
                        .parse::<CustomerId>()
                        .map_err(|_| Invalid::one("customer_id", "not_found")),
                    (None, Some(r), _) => by_ref
                        .get(&r)
                        .copied()
                        .ok_or_else(|| Invalid::one("customer_ref", "not_found")),
                    (None, None, Some(phone)) => {
                        let page = app
                            .customers(
                                p,
                                &CustomerQuery {
                                    q: Some(phone),
                                    limit: Some(2),
                                    ..Default::default()
                                },
                            )
                            .await?;
                        page.items
                            .first()
                            .map(|c| c.id)
                            .ok_or_else(|| Invalid::one("customer_id", "not_found"))
                    }
                    (None, None, None) => Err(Invalid::one("customer_id", "required")),
                };
                let mut items = Vec::new();
                let mut item_err = Invalid::default();
                for (j, i) in idx.iter().enumerate() {
                    let r = &table.rows[*i].1;
                    let sku = col(r, "sku").to_uppercase();
                    let Some(prod) = products.iter().find(|x| x.sku == sku) else {
                        item_err.push(
                            format!("items[{j}].product_id"),
                            if sku.is_empty() {
                                "required"
                            } else {
                                "not_found"
                            },
                        );
                        continue;
                    };
                    let quantity = col(r, "quantity");
                    let quantity = if quantity.is_empty() {
                        1
                    } else {
                        quantity.parse::<u32>().unwrap_or(0)
                    };
                    items.push(OrderItemInput {
                        product_id: prod.id,
                        quantity,
                        unit_price: opt(r, "unit_price"),
                        discount: None,
                        serials: list(r, "serials"),
                        asset_id: None,
                    });
                }
                let input = match customer_id {
                    Err(inv) => Err(inv),
                    Ok(_) if !item_err.is_empty() => Err(item_err),
                    Ok(customer_id) => Ok(OrderInput {
                        customer_id,
                        channel: col(head, "channel").into(),
                        outlet_id: None,
                        ordered_on: opt(head, "ordered_on"),
                        delivered_on: opt(head, "delivered_on"),
                        installed_on: None,
                        location: None,
                        status: opt(head, "status"),
                        currency: opt(head, "currency"),
                        external_ref: order_ref.clone(),
                        discount: None,
                        payment_terms: opt(head, "payment_terms"),
                        special_needs: opt(head, "special_needs"),
                        items,
                        voucher_code: None,
                    }),
                };
                inputs.push(input);
            }
            let mut report = app.import_orders(p, &inputs, &first_rows, dry_run).await?;
            report.rows = table.rows.len();
            Ok(report)
        }
    }
}

/// Reads a file and imports it (or dry-runs it) once the caller may import this kind: a
/// file is not even read for someone who may not. The outer error is the use case's (not
/// allowed, storage); the inner one says why the file could not be read at all.
pub async fn import_file(
    app: &App,
    p: &Principal,
    kind: Kind,
    format: Format,
    bytes: &[u8],
    dry_run: bool,
    aliases: &Aliases,
) -> Result<Result<ImportReport, FileError>, AppError> {
    let needs: &[Permission] = match kind {
        Kind::Products => &[Permission::WriteCatalog],
        Kind::Outlets => &[Permission::ManageDesk],
        Kind::Customers | Kind::Orders | Kind::Reviews => {
            &[Permission::Bulk, Permission::WriteCustomers]
        }
    };
    for n in needs {
        p.require(*n)?;
    }
    match read_table(bytes, format) {
        Ok(mut table) => {
            table.use_codes(aliases);
            import(app, p, kind, &table, dry_run).await.map(Ok)
        }
        Err(e) => Ok(Err(e)),
    }
}

/// Other names of coded values, per column: what people type in a spreadsheet (the value's
/// name in any of the product's languages, "网站" or "Website") for the code (`web`).
/// Names are matched ignoring case and surrounding space.
pub type Aliases = HashMap<&'static str, HashMap<String, &'static str>>;

/// Columns that hold a list of values (a code for each).
const LIST_COLUMNS: &[&str] = &["consent"];

impl Table {
    /// Replaces the names of coded values with their codes; what is not a known name
    /// stays as it is (and is reported if it is no code either).
    pub fn use_codes(&mut self, aliases: &Aliases) {
        let code = |names: &HashMap<String, &'static str>, v: &str| {
            names
                .get(&v.trim().to_lowercase())
                .map_or_else(|| v.trim().to_string(), |c| (*c).to_string())
        };
        for (_, row) in &mut self.rows {
            for (column, names) in aliases {
                let Some(cell) = row.get_mut(*column) else {
                    continue;
                };
                *cell = if LIST_COLUMNS.contains(column) {
                    cell.split([';', '；', ',', '，', '、'])
                        .filter(|s| !s.trim().is_empty())
                        .map(|v| code(names, v))
                        .collect::<Vec<_>>()
                        .join(",")
                } else {
                    code(names, cell)
                };
            }
        }
    }
}

// ---- exports ---------------------------------------------------------------------------

/// Rows for an export, with their header.
pub async fn export_rows(
    app: &App,
    p: &Principal,
    kind: Kind,
) -> Result<(Vec<&'static str>, Vec<Vec<String>>), AppError> {
    Ok(match kind {
        Kind::Customers => (
            vec![
                "id",
                "name",
                "kind",
                "company",
                "phone",
                "email",
                "city",
                "tags",
                "created_at",
            ],
            app.all_customers(p)
                .await?
                .into_iter()
                .map(|c| {
                    vec![
                        c.id.to_string(),
                        c.name,
                        c.kind.code().into(),
                        c.company.unwrap_or_default(),
                        c.primary_phone.unwrap_or_default(),
                        c.primary_email.unwrap_or_default(),
                        c.city.unwrap_or_default(),
                        c.tags.join(";"),
                        crate::ports::stamp(c.created_at),
                    ]
                })
                .collect(),
        ),
        Kind::Products => {
            let cats = app.categories(p).await?;
            (
                vec![
                    "id",
                    "sku",
                    "name",
                    "category",
                    "price",
                    "currency",
                    "serialized",
                    "strategy",
                ],
                app.all_products(p)
                    .await?
                    .into_iter()
                    .map(|x| {
                        vec![
                            x.id.to_string(),
                            x.sku,
                            x.name,
                            cats.iter()
                                .find(|c| c.id == x.category_id)
                                .map(|c| c.name.clone())
                                .unwrap_or_default(),
                            format_money(x.price.fen()).replace(',', ""),
                            x.currency,
                            if x.serialized { "yes" } else { "no" }.into(),
                            x.strategy.code().into(),
                        ]
                    })
                    .collect(),
            )
        }
        Kind::Outlets => {
            let cats = app.categories(p).await?;
            let num = |v: Option<i64>| v.map(|n| n.to_string()).unwrap_or_default();
            let mut header = OUTLET_COLUMNS.to_vec();
            header.insert(0, "id");
            header.push("active");
            (
                header,
                app.outlets(p)
                    .await?
                    .into_iter()
                    .map(|o| {
                        let lines = o
                            .categories
                            .iter()
                            .map(|id| {
                                cats.iter()
                                    .find(|c| c.id == *id)
                                    .map_or_else(|| id.to_string(), |c| c.name.clone())
                            })
                            .collect::<Vec<_>>()
                            .join(";");
                        vec![
                            o.id.to_string(),
                            o.name,
                            o.kind,
                            o.city.unwrap_or_default(),
                            o.address.unwrap_or_default(),
                            o.contact_name.unwrap_or_default(),
                            o.contact_phone.unwrap_or_default(),
                            o.contact_email.unwrap_or_default(),
                            o.regions.join(";"),
                            lines,
                            num(o.capacity),
                            num(o.response_minutes),
                            num(o.resolution_minutes),
                            if o.active { "yes" } else { "no" }.into(),
                        ]
                    })
                    .collect(),
            )
        }
        Kind::Reviews => {
            let mut rows = Vec::new();
            let mut cursor = None;
            loop {
                let q = crate::feedback::FeedbackQuery {
                    source: Some("review".into()),
                    cursor,
                    limit: Some(200),
                    ..Default::default()
                };
                let page = app.feedback(p, &q).await?;
                for f in page.items {
                    let mut origin = f
                        .origin
                        .as_deref()
                        .unwrap_or_default()
                        .splitn(3, ':')
                        .skip(1);
                    rows.push(vec![
                        f.id.to_string(),
                        origin.next().unwrap_or_default().to_owned(),
                        origin.next().unwrap_or_default().to_owned(),
                        f.product_name.unwrap_or_default(),
                        f.customer_name.unwrap_or_default(),
                        f.rating.map(|r| r.to_string()).unwrap_or_default(),
                        f.sentiment.map(|s| s.code().to_owned()).unwrap_or_default(),
                        f.ladder.map(|l| l.code().to_owned()).unwrap_or_default(),
                        f.need.map(|n| n.code().to_owned()).unwrap_or_default(),
                        f.topic.unwrap_or_default(),
                        f.body,
                        f.received_at.to_string(),
                    ]);
                }
                match page.next_cursor {
                    Some(c) => cursor = Some(c),
                    None => break,
                }
            }
            (
                vec![
                    "id",
                    "platform",
                    "review_id",
                    "product",
                    "customer",
                    "rating",
                    "sentiment",
                    "ladder",
                    "need",
                    "topic",
                    "text",
                    "received_at",
                ],
                rows,
            )
        }
        Kind::Orders => (
            vec![
                "id",
                "number",
                "customer_id",
                "customer_name",
                "channel",
                "ordered_on",
                "status",
                "currency",
                "total",
            ],
            app.all_orders(p)
                .await?
                .into_iter()
                .map(|o| {
                    vec![
                        o.id.to_string(),
                        o.number,
                        o.customer_id.to_string(),
                        o.customer_name,
                        o.channel.code().into(),
                        o.ordered_on.to_string(),
                        o.status.code().into(),
                        o.currency,
                        format_money(o.total.fen()).replace(',', ""),
                    ]
                })
                .collect(),
        ),
    })
}

/// A cell as a spreadsheet will not run it: text that starts like a formula (`=`, `+`,
/// `-`, `@`, a tab or a carriage return) gets a leading apostrophe, as OWASP advises for
/// CSV exports; numbers and phone numbers (`-12.50`, `+86 138 0013 8000`) stay as they are.
pub fn inert_cell(cell: &str) -> std::borrow::Cow<'_, str> {
    let risky = cell.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let number = |s: &str| {
        let digits = s.trim_start_matches(['+', '-']);
        !digits.is_empty()
            && digits.starts_with(|c: char| c.is_ascii_digit())
            && digits
                .chars()
                .all(|c| c.is_ascii_digit() || matches!(c, ' ' | '.' | ','))
    };
    if risky && !number(cell) {
        std::borrow::Cow::Owned(format!("'{cell}"))
    } else {
        std::borrow::Cow::Borrowed(cell)
    }
}

pub fn to_csv(header: &[&str], rows: &[Vec<String>]) -> Vec<u8> {
    // A BOM so Excel opens the UTF-8 file with its Chinese text intact.
    let mut out = "\u{feff}".as_bytes().to_vec();
    let mut w = csv::Writer::from_writer(Vec::new());
    let _ = w.write_record(header);
    for r in rows {
        let _ = w.write_record(r.iter().map(|c| inert_cell(c).into_owned()));
    }
    out.extend(w.into_inner().unwrap_or_default());
    out
}

pub fn to_xlsx(sheet: &str, header: &[&str], rows: &[Vec<String>]) -> Result<Vec<u8>, String> {
    let mut wb = rust_xlsxwriter::Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name(sheet).map_err(|e| e.to_string())?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(|e| e.to_string())?;
    }
    for (r, row) in rows.iter().enumerate() {
        for (c, v) in row.iter().enumerate() {
            ws.write_string(r as u32 + 1, c as u16, v)
                .map_err(|e| e.to_string())?;
        }
    }
    wb.save_to_buffer().map_err(|e| e.to_string())
}

fn vcard_escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace(',', "\\,")
        .replace(';', "\\;")
        .replace('\n', "\\n")
}

/// A customer as a vCard 4.0.
pub fn vcard(c: &Customer) -> String {
    let mut v = vec![
        "BEGIN:VCARD".to_string(),
        "VERSION:4.0".into(),
        format!("FN:{}", vcard_escape(&c.name)),
    ];
    if c.kind == aftercare_domain::customer::CustomerKind::Organisation {
        v.push("KIND:org".into());
    }
    if let Some(co) = &c.company {
        v.push(format!("ORG:{}", vcard_escape(co)));
    }
    if let Some(t) = &c.title {
        v.push(format!("TITLE:{}", vcard_escape(t)));
    }
    for p in &c.phones {
        v.push(format!(
            "TEL;VALUE=uri{}:tel:{}",
            if p.primary { ";PREF=1" } else { "" },
            p.number
        ));
    }
    for e in &c.emails {
        v.push(format!(
            "EMAIL{}:{}",
            if e.primary { ";PREF=1" } else { "" },
            e.address
        ));
    }
    for a in &c.addresses {
        let f = |o: &Option<String>| vcard_escape(o.as_deref().unwrap_or(""));
        v.push(format!(
            "ADR:;;{};{}{};{};{};CN",
            vcard_escape(&a.street),
            f(&a.city),
            f(&a.district),
            f(&a.province),
            f(&a.postcode)
        ));
    }
    if let Some(b) = &c.birthday {
        v.push(format!("BDAY:{}", b.strftime("%Y%m%d")));
    }
    if !c.tags.is_empty() {
        v.push(format!(
            "CATEGORIES:{}",
            c.tags
                .iter()
                .map(|t| vcard_escape(t))
                .collect::<Vec<_>>()
                .join(",")
        ));
    }
    if let Some(n) = &c.notes {
        v.push(format!("NOTE:{}", vcard_escape(n)));
    }
    v.push("END:VCARD".into());
    v.join("\r\n") + "\r\n"
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_xlsxwriter::Workbook;

    fn xlsx(fill: impl FnOnce(&mut rust_xlsxwriter::Worksheet)) -> Vec<u8> {
        let mut wb = Workbook::new();
        fill(wb.add_worksheet());
        wb.save_to_buffer().unwrap()
    }

    #[test]
    fn an_unterminated_quote_is_refused_with_its_row() {
        let ok = "name,note\n王芳,\"说 \"\"好\"\"\"\n\"张伟\",\"两行\n备注\"\n";
        assert!(read_table(ok.as_bytes(), Format::Csv).is_ok());
        let bad = "name,note\n王芳,好\n\"张伟,备注\n李四,x\n";
        let e = read_table(bad.as_bytes(), Format::Csv)
            .err()
            .expect("refused");
        assert_eq!((e.row, e.code), (3, "file_unterminated_quote"));
    }

    #[test]
    fn a_control_character_in_a_file_is_refused_with_its_place() {
        let e = read_table(
            "name,phone\n王芳,13800138000\n张\u{0}伟,13900139000\n".as_bytes(),
            Format::Csv,
        )
        .err()
        .expect("refused");
        assert_eq!((e.row, e.code, e.n), (3, "file_control_character", Some(1)));
    }

    #[test]
    fn exported_cells_never_start_a_formula() {
        let csv = to_csv(
            &["name", "phone", "note"],
            &[vec![
                "=HYPERLINK(\"http://x\",\"点我\")".into(),
                "+86 138 0013 8000".into(),
                "@SUM(A1:A9)".into(),
            ]],
        );
        let text = String::from_utf8(csv).unwrap();
        assert!(
            text.contains("\"'=HYPERLINK(\"\"http://x\"\",\"\"点我\"\")\""),
            "{text}"
        );
        assert!(text.contains(",+86 138 0013 8000,"), "{text}");
        assert!(text.contains(",'@SUM(A1:A9)"), "{text}");
        assert_eq!(inert_cell("-12.50"), "-12.50");
        assert_eq!(inert_cell("-1+cmd|' /C calc'!A0"), "'-1+cmd|' /C calc'!A0");
        assert_eq!(inert_cell("\t=1"), "'\t=1");
        assert_eq!(inert_cell("张伟"), "张伟");
    }

    fn refused(bytes: &[u8], format: Format, limits: &Limits) -> String {
        match read_table_within(bytes, format, limits) {
            Err(e) => e.message,
            Ok(t) => panic!("read {} rows", t.rows.len()),
        }
    }

    #[test]
    fn a_sheet_with_a_cell_in_its_last_column_and_row_is_refused_without_allocating_the_grid() {
        // Two cells, a few kilobytes: read as a grid, 17 billion cells.
        let bytes = xlsx(|s| {
            s.write_string(0, 0, "name").unwrap();
            s.write_string(1_048_575, 16_383, "x").unwrap();
        });
        assert!(bytes.len() < 10_000, "{}", bytes.len());
        let m = refused(&bytes, Format::Xlsx, &LIMITS);
        assert!(m.contains("rows") || m.contains("columns"), "{m}");
        // The same far cell alone (the table would start there) is one cell, and fine.
        let alone = xlsx(|s| {
            s.write_string(1_048_574, 16_382, "name").unwrap();
            s.write_string(1_048_575, 16_382, "张伟").unwrap();
        });
        let t = read_table(&alone, Format::Xlsx).unwrap();
        assert_eq!(t.header, vec!["name"]);
        assert_eq!(t.rows[0].1["name"], "张伟");
    }

    #[test]
    fn an_xlsx_that_unpacks_beyond_the_limit_is_refused_before_it_is_read() {
        let long = "售后".repeat(10_000);
        let bytes = xlsx(|s| {
            s.write_string(0, 0, "name").unwrap();
            for r in 1..=40 {
                s.write_string(r, 0, format!("{r}{long}")).unwrap();
            }
        });
        let tight = Limits {
            unpacked: 256 * 1024,
            ..LIMITS
        };
        assert!(refused(&bytes, Format::Xlsx, &tight).contains("unpacks to more than"));
        assert_eq!(
            read_table(&bytes, Format::Xlsx).unwrap().rows.len(),
            40,
            "within the real limits it reads"
        );
    }

    #[test]
    fn csv_rows_columns_and_cells_have_limits_too() {
        let small = Limits {
            rows: 3,
            columns: 4,
            cells: 12,
            ..LIMITS
        };
        let ok = "a,b\n1,2\n3,4\n5,6\n";
        assert_eq!(
            read_table_within(ok.as_bytes(), Format::Csv, &small)
                .unwrap()
                .rows
                .len(),
            3
        );
        assert!(
            refused(b"a,b\n1,2\n3,4\n5,6\n7,8\n", Format::Csv, &small).contains("more than 3 rows")
        );
        assert!(refused(b"a,b,c,d,e\n", Format::Csv, &small).contains("more than 4 columns"));
        assert!(
            refused(b"a,b,c,d\n1,2,3,4\n5,6,7,8\n9,0,1,2\n", Format::Csv, &small)
                .contains("more than 12 cells")
        );
    }
}
