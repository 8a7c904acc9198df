//! The voice of the customer's benchmarks: text analysis throughput on one core; search
//! latency over a 5M-document index; the time from a change to being searchable, through
//! the change log, against that index; the index's size.

use crate::{CITIES, GIVEN, SURNAMES};
use aftercare_app::feedback::FeedbackInput;
use aftercare_app::search::{SearchDoc, SearchIndex, SearchQuery, Visibility};
use aftercare_app::service::Principal;
use aftercare_app::{Actor, App};
use aftercare_insight::text::{Analyzer, LABELLED_TSV, parse_labelled};
use aftercare_search::TantivyIndex;
use anyhow::Context;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

fn pct(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    sorted[((sorted.len() as f64 * p).ceil() as usize).clamp(1, sorted.len()) - 1]
}

/// Items analysed per second on one core (segmentation, keywords, three classifiers).
pub fn analysis() -> anyhow::Result<()> {
    let texts: Vec<String> = parse_labelled(LABELLED_TSV)?
        .into_iter()
        .map(|l| l.example.text)
        .collect();
    let started = Instant::now();
    let analyzer = Analyzer::builtin();
    let build = started.elapsed().as_secs_f64();
    let mut n = 0u64;
    let mut chars = 0u64;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(10) {
        for t in &texts {
            analyzer.analyze(t).map_err(|e| anyhow::anyhow!("{e}"))?;
            n += 1;
            chars += t.chars().count() as u64;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!("### Text analysis, one core\n");
    println!("| what | value |\n|---|---|");
    println!("| analyser built (dictionaries, training on 305 texts) | {build:.2} s |");
    println!("| items analysed | {n} in {secs:.1} s |");
    println!(
        "| throughput | **{:.0} items/s** ({:.0} characters/s, {:.0} chars/item) |",
        n as f64 / secs,
        chars as f64 / secs,
        chars as f64 / n as f64
    );
    println!();
    Ok(())
}

const SUBJECTS: &[&str] = &[
    "空调不制冷",
    "洗衣机漏水",
    "新空调预约安装",
    "热水器年度保养",
    "想了解以旧换新政策",
    "上门师傅迟到",
    "App 无法连接设备",
    "冰箱噪音大",
    "油烟机吸力不足",
    "净水器换滤芯",
];

/// A synthetic but realistic document: the labelled texts, names, numbers and places
/// mixed so that the term dictionary grows as a real one would.
fn synthetic(i: i64, texts: &[String], rng: &mut StdRng) -> SearchDoc {
    let name = format!(
        "{}{}",
        SURNAMES[rng.random_range(0..SURNAMES.len())],
        GIVEN[rng.random_range(0..GIVEN.len())]
    );
    let text = &texts[rng.random_range(0..texts.len())];
    let city = CITIES[rng.random_range(0..CITIES.len())];
    let at = "2026-06-01T00:00:00Z".to_owned();
    match i % 10 {
        0..=1 => SearchDoc {
            kind: "customer",
            id: i,
            title: name,
            body: format!("{city} 偏好周末上门"),
            extra: format!(
                "1{:010} user{i}@example.com {city}",
                rng.random_range(3_000_000_000u64..9_999_999_999)
            ),
            outlet_id: None,
            published: true,
            at,
        },
        2..=5 => SearchDoc {
            kind: "request",
            id: i,
            title: format!(
                "SR-2026-{:06} {}",
                i % 1_000_000,
                SUBJECTS[rng.random_range(0..SUBJECTS.len())]
            ),
            body: text.clone(),
            extra: name,
            outlet_id: Some(rng.random_range(1..50).into()),
            published: true,
            at,
        },
        6..=8 => SearchDoc {
            kind: "feedback",
            id: i,
            title: name,
            body: text.clone(),
            extra: String::new(),
            outlet_id: Some(rng.random_range(1..50).into()),
            published: true,
            at,
        },
        _ => SearchDoc {
            kind: if i % 1000 == 9 { "article" } else { "feedback" },
            id: i,
            title: SUBJECTS[rng.random_range(0..SUBJECTS.len())].to_owned(),
            body: format!("{text} {city}"),
            extra: String::new(),
            outlet_id: None,
            published: true,
            at,
        },
    }
}

/// Builds (once) an index of `docs` synthetic documents in `dir`.
fn build(dir: &Path, docs: u64) -> anyhow::Result<TantivyIndex> {
    let index = TantivyIndex::open(dir).map_err(|e| anyhow::anyhow!("{e}"))?;
    let (have, _) = index.stats().map_err(|e| anyhow::anyhow!("{e}"))?;
    if have >= docs {
        return Ok(index);
    }
    let texts: Vec<String> = parse_labelled(LABELLED_TSV)?
        .into_iter()
        .map(|l| l.example.text)
        .collect();
    let mut rng = StdRng::seed_from_u64(7);
    let started = Instant::now();
    let batch = 200_000;
    let mut i = have as i64;
    while (i as u64) < docs {
        let end = (i + batch).min(docs as i64);
        let chunk: Vec<SearchDoc> = (i..end)
            .map(|k| synthetic(k + 1, &texts, &mut rng))
            .collect();
        index
            .apply(&chunk, &[], 0)
            .map_err(|e| anyhow::anyhow!("{e}"))?;
        i = end;
        eprintln!(
            "indexed {i} of {docs} ({:.0} s)",
            started.elapsed().as_secs_f64()
        );
    }
    println!(
        "| index built | {docs} documents in {:.0} s |",
        started.elapsed().as_secs_f64()
    );
    Ok(index)
}

/// Search latency over `docs` documents, and the time from a change to being searchable.
pub async fn search(
    data_dir: &Path,
    docs: u64,
    app: &App,
    admin: &Principal,
) -> anyhow::Result<()> {
    println!("### Search over {docs} documents\n");
    println!("| what | value |\n|---|---|");
    let dir = data_dir.join("index");
    let index = Arc::new(
        tokio::task::spawn_blocking({
            let dir = dir.clone();
            move || build(&dir, docs)
        })
        .await??,
    );
    let (count, bytes) = index.stats().map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("| documents | {count} |");
    println!(
        "| index size | {:.0} MB ({:.0} bytes/document) |",
        bytes as f64 / 1e6,
        bytes as f64 / count.max(1) as f64
    );

    // Queries: one or two words people type (parts, faults, names, places, a number).
    let words = [
        "空调",
        "不制冷",
        "漏水",
        "密封条",
        "师傅",
        "迟到",
        "噪音",
        "以旧换新",
        "退货",
        "安装",
        "热水器",
        "滤芯",
        "王芳",
        "李伟",
        "上海",
        "台北",
        "客服",
        "态度",
        "保修",
        "遥控器",
        "冰箱 异味",
        "洗衣机 脱水",
        "SR-2026-004211",
        "謝謝",
    ];
    let all = Visibility {
        outlet: None,
        drafts: true,
    };
    let partner = Visibility {
        outlet: Some(7),
        drafts: false,
    };
    let mut rng = StdRng::seed_from_u64(11);
    for (label, v, kind) in [
        ("all kinds, everything visible", all, None),
        (
            "requests only, a partner outlet's view",
            partner,
            Some("request"),
        ),
    ] {
        let mut times = Vec::new();
        let mut per_word: std::collections::BTreeMap<&str, Vec<f64>> = Default::default();
        for round in 0..2200 {
            let q = words[rng.random_range(0..words.len())];
            let started = Instant::now();
            let r = index
                .search(q, kind, v, 20)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let ms = started.elapsed().as_secs_f64() * 1000.0;
            if round >= 200 {
                times.push(ms); // the first 200 warm the caches
                per_word.entry(q).or_default().push(ms);
            }
            std::hint::black_box(r);
        }
        let mut slow: Vec<(f64, &str)> = per_word
            .iter_mut()
            .map(|(w, t)| {
                t.sort_by(f64::total_cmp);
                (pct(t, 0.5), *w)
            })
            .collect();
        slow.sort_by(|a, b| b.0.total_cmp(&a.0));
        let slowest: Vec<String> = slow
            .iter()
            .take(5)
            .map(|(ms, w)| format!("{w} {ms:.1} ms"))
            .collect();
        println!(
            "| slowest words, median ({label}) | {} |",
            slowest.join(", ")
        );
        times.sort_by(f64::total_cmp);
        println!(
            "| search p50 / p95 / p99 ({label}, top 20 with snippets and counts per kind) | {:.1} / **{:.1}** / {:.1} ms |",
            pct(&times, 0.50),
            pct(&times, 0.95),
            pct(&times, 0.99)
        );
    }

    // Freshness: a feedback item written through the app is searchable after the refresh
    // round (every 300 ms in a server) applies it to this 5M-document index.
    let app = app.clone().with_search(index.clone());
    let latest = app.store.latest_event_id().await?;
    {
        let index = index.clone();
        tokio::task::spawn_blocking(move || index.apply(&[], &[], latest))
            .await?
            .map_err(|e| anyhow::anyhow!("{e}"))?;
    }
    let indexing = aftercare_app::jobs::SearchIndexing::new(app.clone());
    let every = aftercare_app::jobs::Job::every(&indexing);
    let worker = aftercare_app::jobs::Runner::new(app.store.clone(), app.clock.clone())
        .with(indexing)
        .start();
    let mut fresh = Vec::new();
    for k in 0..20 {
        // A word no other document has (words are alternatives: a shared one would match
        // the previous rounds' items).
        let word = format!("fresh{k}x{}", rng.random_range(100_000_000u64..999_999_999));
        let started = Instant::now();
        app.add_feedback(
            admin,
            &FeedbackInput {
                source: "call".into(),
                body: format!("客户来电说{word}冰箱很安静"),
                ..Default::default()
            },
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        loop {
            let r = app
                .search(
                    admin,
                    &SearchQuery {
                        q: word.clone(),
                        kind: Some("feedback".into()),
                        limit: Some(1),
                    },
                )
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if r.total > 0 {
                break;
            }
            if started.elapsed() > Duration::from_secs(30) {
                anyhow::bail!("a change was not searchable within 30 s");
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        fresh.push(started.elapsed().as_secs_f64() * 1000.0);
    }
    worker.shutdown().await;
    fresh.sort_by(f64::total_cmp);
    println!(
        "| change → searchable p50 / p95 / max (20 feedback items, refresh every {} ms) | {:.0} / **{:.0}** / {:.0} ms |",
        every.as_millis(),
        pct(&fresh, 0.5),
        pct(&fresh, 0.95),
        pct(&fresh, 1.0)
    );
    println!();
    let _ = Actor::system("bench");
    Ok(())
}

/// Runs the voice-of-the-customer benchmarks: analysis, then search on an app over a fresh
/// SQLite database in `data_dir` and the index beside it.
pub async fn run(data_dir: &Path, docs: u64) -> anyhow::Result<()> {
    analysis()?;
    std::fs::create_dir_all(data_dir)?;
    let db_path = data_dir.join("voc.db");
    let _ = std::fs::remove_file(&db_path);
    let db = aftercare_store::connect(&format!("sqlite://{}", db_path.display()))
        .await
        .context("database")?;
    aftercare_store::migrate(&db).await.context("migrations")?;
    let store = Arc::new(aftercare_store::SqlStore::new(db));
    let app = App::new(store, Arc::new(aftercare_app::SystemClock));
    let user = app
        .add_user(
            &Actor::system("bench"),
            "bench@example.cn",
            "bench",
            "correct horse battery",
            "admin",
        )
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let admin = Principal {
        user,
        role: aftercare_domain::account::Role::Admin,
        scopes: None,
    };
    search(data_dir, docs, &app, &admin).await
}
