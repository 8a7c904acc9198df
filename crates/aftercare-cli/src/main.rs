//! `aftercare`: serve the application and run its administrative jobs.

mod config;
mod demo;

use aftercare_app::jobs::Runner;
use aftercare_app::service::Principal;
use aftercare_app::transfer::{self, Format, Kind};
use aftercare_app::{Actor, App, SystemClock};
use aftercare_domain::account::Role;
use aftercare_store::{SqlStore, connect, migrate};
use anyhow::{Context, bail};
use clap::{Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::sync::Arc;

/// mimalloc serves every allocation of the process: Rust's through this, and with its
/// `override` feature the C library's `malloc` and `free` too, which SQLite calls for each
/// value it copies out and each page it caches (decision 0025).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "aftercare",
    version,
    about = "Aftercare: after-sales service and customer loyalty"
)]
struct Cli {
    /// Where the SQLite database and aftercare.toml live [default: ./data].
    #[arg(long, global = true, env = "AFTERCARE_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// sqlite://path or postgres://user@host/db; defaults to SQLite in the data directory.
    #[arg(
        long,
        global = true,
        env = "AFTERCARE_DATABASE_URL",
        hide_env_values = true
    )]
    database_url: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the web interface and the API.
    Serve {
        /// Address to listen on, e.g. 0.0.0.0:80 (port 0 picks a free port) [default: `listen`
        /// in aftercare.toml, else 127.0.0.1:8080].
        #[arg(long, env = "AFTERCARE_LISTEN")]
        listen: Option<String>,
        /// Where customers reach this server, for links in mails (survey links), e.g.
        /// https://service.example.cn; by default http:// and the listen address.
        #[arg(long, env = "AFTERCARE_PUBLIC_URL")]
        public_url: Option<String>,
        /// Fill an empty database with demo data first.
        #[arg(long)]
        demo: bool,
        /// A reverse proxy (address or network, e.g. 10.0.0.5 or 10.0.0.0/8) whose
        /// X-Forwarded-For is believed when throttling sign-ins; repeat or separate with
        /// commas. Without one every client behind a proxy shares the proxy's address.
        #[arg(
            long = "trusted-proxy",
            env = "AFTERCARE_TRUSTED_PROXIES",
            value_delimiter = ','
        )]
        trusted_proxies: Vec<String>,
    },
    /// Apply database migrations.
    Migrate,
    /// Write a consistent copy of the SQLite database to FILE, while the server runs
    /// (PostgreSQL: use pg_dump, see docs/operations.md).
    Backup { file: PathBuf },
    /// Put a backup made by `aftercare backup` in place of the SQLite database, with the
    /// server stopped. The backup is checked first; the database it replaces is kept as
    /// aftercare.db.before-restore-<time>.
    Restore { file: PathBuf },
    /// Rebuild the full-text search index from the database (with the server stopped:
    /// the index has one writer).
    Reindex,
    /// Print the OpenAPI document of the REST API (no database needed).
    Openapi,
    /// Fill the database with deterministic demo data.
    Demo {
        #[arg(long, default_value_t = 200)]
        customers: u64,
        #[arg(long, default_value_t = 42)]
        seed: u64,
    },
    /// Import customers, products, orders or reviews from CSV or .xlsx (all or nothing).
    Import {
        /// customers, products, orders or reviews.
        kind: String,
        file: PathBuf,
        /// Report what would happen without writing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Export customers, products, orders or reviews to CSV or .xlsx (by the file's extension).
    Export { kind: String, file: PathBuf },
    /// Take in one mail (RFC 822) from standard input, as a mail server's delivery
    /// command: it becomes a reply to the request its subject names, or a new request.
    MailIn,
    /// Deliver the mail waiting in the outbox now (the server does it every 5 s when
    /// `[smtp]` is configured).
    MailOut,
    /// Show the mail waiting in the outbox (at most 50, oldest first), for example a portal
    /// sign-up link when no `[smtp]` is configured.
    Outbox {
        /// Only mail to this address.
        #[arg(long)]
        to: Option<String>,
    },
    /// Take in the unread mail of the `[imap]` mailbox now (the server polls it every
    /// `every_seconds` when `[imap]` is configured).
    MailPoll,
    /// Run the SLA sweep once: warnings, breaches, escalations.
    SlaSweep,
    /// Load a year's public holidays and make-up working days (调休) into a business
    /// calendar, from a CSV (`date,kind`: holiday/workday or 休/班) or an iCalendar file.
    CalendarDays {
        file: PathBuf,
        /// The calendar's id (`GET /api/v1/calendars`); the first one when left out.
        #[arg(long)]
        calendar: Option<i64>,
    },
    /// Customer value: recompute every score, show the fitted model.
    Value {
        #[command(subcommand)]
        command: ValueCommand,
    },
    /// Manage staff accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Manage API tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum ValueCommand {
    /// Recompute RFM, the BG/NBD and Gamma-Gamma fit, CLV, classes, tiers, stages and
    /// risks of every customer, with a progress bar; then print the model.
    Recompute {
        /// Print the model as JSON (parameters, log-likelihoods, calibration window, unit).
        #[arg(long)]
        json: bool,
        /// Score as of this day (YYYY-MM-DD, 1990 to today) instead of today, for an
        /// analysis of history such as an imported order log.
        #[arg(long, value_name = "DATE")]
        as_of: Option<String>,
    },
    /// Print the model of the last recompute.
    Model {
        #[arg(long)]
        json: bool,
    },
    /// Check the purchase model on a holdout period: fit BG/NBD on the purchases up to
    /// the calibration end, then print the repeat purchases it expects of that cohort up
    /// to the end beside those made, in total, over time and by repeat purchases in
    /// calibration. Stores nothing.
    Holdout {
        /// The last day of the calibration period (YYYY-MM-DD).
        #[arg(long, value_name = "DATE")]
        calibration_end: String,
        /// The last day of the holdout period; today when absent.
        #[arg(long, value_name = "DATE")]
        end: Option<String>,
        #[arg(long)]
        json: bool,
    },
    /// Score again the customers changed since the last round (the server does it four
    /// times a second).
    Refresh,
    /// Build every customer's purchase summary again from the orders. Only needed after
    /// orders were written into the database around Aftercare (with SQL).
    RebuildPurchases,
}

#[derive(Subcommand)]
enum UserCommand {
    /// List staff accounts.
    List,
    /// Set a new password, read from standard input; ends the user's sessions.
    Passwd { email: String },
    /// Deactivate an account: it can no longer sign in or use its tokens.
    Deactivate { email: String },
    /// Reactivate an account.
    Activate { email: String },
    /// Add a staff account; the password is read from standard input.
    Add {
        email: String,
        #[arg(long)]
        role: String,
        #[arg(long)]
        name: Option<String>,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Revoke a token by its id (printed by `token create` and in the audit log).
    Revoke { id: i64 },
    /// Create an API token for a user and print it (it is shown only once).
    Create {
        email: String,
        #[arg(long, default_value = "cli")]
        name: String,
        /// read, write, admin (comma separated).
        #[arg(long, default_value = "read,write")]
        scopes: String,
    },
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AFTERCARE_LOG")
                .unwrap_or_else(|_| "info,sqlx=warn,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    if let Command::Openapi = cli.command {
        println!("{}", aftercare_web::api::openapi_json());
        return Ok(());
    }
    let cfg = config::Config::load(cli.data_dir.clone(), cli.database_url.clone())?;
    if let Command::Restore { file } = &cli.command {
        return restore(&cfg, file).await;
    }
    tracing::info!(database = %aftercare_store::Db::redacted(&cfg.database_url), "opening database");
    let db = connect(&cfg.database_url).await.with_context(|| {
        format!(
            "cannot open {}",
            aftercare_store::Db::redacted(&cfg.database_url)
        )
    })?;
    let applied = migrate(&db).await.context("migration failed")?;
    for m in &applied {
        tracing::info!(migration = %m, "applied");
    }
    let store = Arc::new(SqlStore::new(db));
    let app = App::new(store.clone(), Arc::new(SystemClock))
        .with_mail_parser(Arc::new(aftercare_mail::RfcMailParser));
    let system = Actor::system("cli");
    match cli.command {
        Command::Openapi => {}
        Command::Migrate => {
            println!(
                "database is up to date ({} migration(s) applied now)",
                applied.len()
            );
        }
        Command::Restore { .. } => {}
        Command::Backup { file } => {
            let started = std::time::Instant::now();
            store
                .backup_into(&file)
                .await
                .map_err(|e| anyhow::anyhow!("backup failed: {e}"))?;
            let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            println!(
                "backup written to {} ({:.1} MB in {:.1} s)",
                file.display(),
                size as f64 / 1e6,
                started.elapsed().as_secs_f64()
            );
        }
        Command::Serve {
            listen,
            public_url,
            demo,
            trusted_proxies,
        } => {
            let trusted_proxies = config::trusted_proxies(if trusted_proxies.is_empty() {
                &cfg.trusted_proxies
            } else {
                &trusted_proxies
            })?;
            if demo {
                if app.store.users().await?.is_empty() {
                    let creds = demo::fill(
                        &app,
                        demo::Options {
                            customers: 200,
                            seed: 42,
                            progress: false,
                        },
                    )
                    .await?;
                    print_credentials(&creds);
                } else {
                    println!(
                        "demo: the database already has data; sign in with its accounts \
                         (a forgotten password: `aftercare user passwd EMAIL` sets a new one, \
                         read from standard input; `aftercare user list` lists the accounts)"
                    );
                }
            }
            let listen = listen
                .or(cfg.listen.clone())
                .unwrap_or_else(|| "127.0.0.1:8080".into());
            let listener = tokio::net::TcpListener::bind(&listen)
                .await
                .with_context(|| format!("cannot listen on {listen}"))?;
            let addr = listener.local_addr()?;
            println!("listening on http://{addr}");
            let public_url = public_url
                .or(cfg.public_url.clone())
                .unwrap_or_else(|| format!("http://{addr}"));
            let index = aftercare_search::TantivyIndex::open(&cfg.index_dir)
                .map_err(|e| anyhow::anyhow!("search index: {e}"))?;
            let app = app
                .with_public_url(&public_url)
                .with_search(Arc::new(index));
            let mailer: Option<Arc<dyn aftercare_app::ports::Mailer>> = match &cfg.smtp {
                Some(smtp) => Some(Arc::new(
                    aftercare_mail::SmtpMailer::new(smtp.clone())
                        .map_err(|e| anyhow::anyhow!("[smtp] in aftercare.toml: {e}"))?,
                )),
                None => {
                    println!("no [smtp] configured: notifications wait in the outbox");
                    None
                }
            };
            let stop = shutdown_signal()?;
            let mut runner = Runner::new(app.store.clone(), app.clock.clone())
                .with_all(aftercare_app::jobs::app_jobs(&app, mailer))
                .woken_by(app.store.commits());
            if let Some(imap) = &cfg.imap {
                println!(
                    "polling {} at {}:{} every {} s",
                    imap.mailbox, imap.host, imap.port, imap.every_seconds
                );
                runner = runner.with(aftercare_mail::ImapPolling::new(app.clone(), imap.clone()));
            }
            let jobs = runner.start();
            let router = aftercare_web::router(
                aftercare_web::AppState::new(app).with_trusted_proxies(trusted_proxies),
            );
            // On SIGTERM or Ctrl-C: no new connections, the requests and the background
            // rounds in progress finish, then the process exits.
            aftercare_web::serve(listener, router, stop).await?;
            jobs.shutdown().await;
            println!("stopped");
        }
        Command::MailIn => {
            let mut raw = Vec::new();
            std::io::Read::read_to_end(&mut std::io::stdin(), &mut raw)
                .context("cannot read the mail from standard input")?;
            let mail = aftercare_mail::parse(&raw).map_err(|e| anyhow::anyhow!("{e}"))?;
            let o = app
                .receive_mail(&mail)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            if o.duplicate {
                println!("already taken in as {}", o.number);
                return Ok(());
            }
            println!(
                "{} {}{}",
                if o.threaded { "replied to" } else { "opened" },
                o.number,
                if o.new_customer {
                    " (new customer)"
                } else {
                    ""
                }
            );
        }
        Command::MailOut => {
            let smtp = cfg
                .smtp
                .clone()
                .context("no [smtp] table in aftercare.toml: nowhere to send")?;
            let mailer =
                aftercare_mail::SmtpMailer::new(smtp).map_err(|e| anyhow::anyhow!("{e}"))?;
            let d = app
                .deliver_outbox(&mailer)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("sent {}, failed {} (retried later)", d.sent, d.failed);
        }
        Command::Outbox { to } => {
            let waiting = app
                .store
                .outbox_due(app.now(), 50)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let wanted = |m: &&aftercare_app::ports::OutboxMail| {
                to.as_deref()
                    .is_none_or(|t| m.to.eq_ignore_ascii_case(t.trim()))
            };
            for m in waiting.iter().filter(wanted) {
                println!("To: {}\nSubject: {}\n\n{}\n----", m.to, m.subject, m.body);
            }
        }
        Command::Reindex => {
            let index = aftercare_search::TantivyIndex::open(&cfg.index_dir)
                .map_err(|e| anyhow::anyhow!("search index: {e}"))?;
            let app = app.with_search(Arc::new(index));
            let bar = indicatif::ProgressBar::new_spinner();
            bar.set_message("indexing");
            let shown = bar.clone();
            let started = std::time::Instant::now();
            let n = app
                .reindex(&move |done| shown.set_message(format!("{done} documents")))
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            bar.finish_and_clear();
            let (docs, bytes) = app
                .search_stats()
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "indexed {n} documents in {:.1} s; the index holds {docs} documents, {:.1} MB in {}",
                started.elapsed().as_secs_f64(),
                bytes as f64 / 1e6,
                cfg.index_dir.display()
            );
        }
        Command::MailPoll => {
            let imap = cfg
                .imap
                .clone()
                .context("no [imap] table in aftercare.toml: no mailbox to poll")?;
            let r = aftercare_mail::poll_imap(&app, &imap)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "unread {}, taken in {}, already taken in {}, rejected {}",
                r.fetched, r.received, r.duplicates, r.rejected
            );
        }
        Command::Value { command } => value_command(&app, &store, &system, command).await?,
        Command::CalendarDays { file, calendar } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let p = admin_principal(&app).await?;
            let id = match calendar {
                Some(id) => id,
                None => app
                    .calendars(&p)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?
                    .first()
                    .map(|c| c.id)
                    .context("there is no calendar")?,
            };
            let added = app
                .add_calendar_days(&p, id, &bytes)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "calendar {id}: {} holiday(s) and {} make-up working day(s) added",
                added.holidays_added, added.makeup_workdays_added
            );
        }
        Command::SlaSweep => {
            let r = app.sla_sweep().await.map_err(|e| anyhow::anyhow!("{e}"))?;
            println!(
                "examined {}, warnings {}, response breaches {}, resolution breaches {}, escalations {}",
                r.examined, r.warnings, r.response_breaches, r.resolution_breaches, r.escalations
            );
        }
        Command::Demo { customers, seed } => {
            if !app.store.users().await?.is_empty() {
                bail!(
                    "the database is not empty; demo data goes into a new database (use another --data-dir)"
                );
            }
            if customers > 1_000_000 {
                bail!("--customers: at most 1,000,000");
            }
            let creds = demo::fill(
                &app,
                demo::Options {
                    customers,
                    seed,
                    progress: true,
                },
            )
            .await?;
            print_credentials(&creds);
        }
        Command::Import {
            kind,
            file,
            dry_run,
        } => {
            let k = Kind::parse(&kind).with_context(|| {
                format!("kind: {kind} is not customers, products, orders or reviews")
            })?;
            let format = Format::from_name(&file.to_string_lossy())
                .context("file: use a .csv or .xlsx file")?;
            let bytes =
                std::fs::read(&file).with_context(|| format!("cannot read {}", file.display()))?;
            let p = admin_principal(&app).await?;
            let aliases = aftercare_web::api::transfer::import_aliases(k);
            let report = transfer::import_file(&app, &p, k, format, &bytes, dry_run, &aliases)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?
                .map_err(|e| anyhow::anyhow!("row {}: {}", e.row, e.message))?;
            for a in &report.plan {
                println!("row {}: {} {}", a.row, a.action, a.summary);
            }
            for l in aftercare_web::api::transfer::report_lines(
                k,
                &report,
                aftercare_domain::lang::Lang::En,
            ) {
                println!("row {}, column {}: {}", l.row, l.column, l.message);
            }
            println!(
                "{} row(s) read, {} created{}",
                report.rows,
                report.created,
                if dry_run {
                    " (dry run: nothing written)"
                } else {
                    ""
                }
            );
            if !report.errors.is_empty() {
                std::process::exit(1);
            }
        }
        Command::Export { kind, file } => {
            let k = Kind::parse(&kind).with_context(|| {
                format!("kind: {kind} is not customers, products, orders or reviews")
            })?;
            let format = Format::from_name(&file.to_string_lossy())
                .context("file: use a .csv or .xlsx file")?;
            let p = admin_principal(&app).await?;
            let (header, rows) = transfer::export_rows(&app, &p, k)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let bytes = match format {
                Format::Csv => transfer::to_csv(&header, &rows),
                Format::Xlsx => {
                    transfer::to_xlsx(&kind, &header, &rows).map_err(anyhow::Error::msg)?
                }
            };
            std::fs::write(&file, bytes)?;
            println!("{} {kind} written to {}", rows.len(), file.display());
        }
        Command::User {
            command: UserCommand::Add { email, role, name },
        } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let name =
                name.unwrap_or_else(|| email.split('@').next().unwrap_or(&email).to_string());
            match app.add_user(&system, &email, &name, password, &role).await {
                Ok(u) => println!("user {} ({}) added with id {}", u.email, u.role, u.id),
                Err(aftercare_app::AppError::Invalid(inv)) => {
                    for e in inv.0 {
                        eprintln!(
                            "{}: {}",
                            e.field,
                            aftercare_web::i18n::field_message(
                                aftercare_domain::lang::Lang::En,
                                e.code
                            )
                        );
                    }
                    std::process::exit(2);
                }
                Err(e) => bail!("{e}"),
            }
        }
        Command::User {
            command: UserCommand::List,
        } => {
            for u in app.store.users().await? {
                let state = if u.active { "active" } else { "inactive" };
                println!("{}\t{}\t{}\t{state}", u.id, u.email, u.role);
            }
        }
        Command::User {
            command: UserCommand::Passwd { email },
        } => {
            let mut password = String::new();
            std::io::stdin().read_to_string(&mut password)?;
            let password = password.trim_end_matches(['\r', '\n']);
            let u = app
                .set_password(&system, &email, password)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("password of {} changed; their sessions are ended", u.email);
        }
        Command::User {
            command: UserCommand::Deactivate { email },
        } => set_active(&app, &email, false).await?,
        Command::User {
            command: UserCommand::Activate { email },
        } => set_active(&app, &email, true).await?,
        Command::Token {
            command: TokenCommand::Revoke { id },
        } => {
            let p = admin_principal(&app).await?;
            app.revoke_token(&p, id)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("token {id} revoked");
        }
        Command::Token {
            command:
                TokenCommand::Create {
                    email,
                    name,
                    scopes,
                },
        } => {
            let scopes: Vec<String> = scopes.split(',').map(|s| s.trim().to_string()).collect();
            let t = app
                .create_token(&system, &email, &name, &scopes)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            eprintln!(
                "token id {} (revoke with: aftercare token revoke {})",
                t.id, t.id
            );
            println!("{}", t.token);
        }
    }
    Ok(())
}

/// Resolves on SIGTERM or Ctrl-C (SIGINT). The handlers are installed when this is
/// called, so a signal that comes before the future is first polled is not lost (the
/// process would otherwise die of it, mid-round).
fn shutdown_signal() -> anyhow::Result<impl std::future::Future<Output = ()>> {
    use tokio::signal::unix::{SignalKind, signal};
    let mut term = signal(SignalKind::terminate()).context("cannot handle SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot handle SIGINT")?;
    Ok(async move {
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
        tracing::info!("shutting down");
    })
}

fn print_credentials(creds: &[(String, String, String)]) {
    println!("demo data ready; sign in with:");
    for (email, password, role) in creds {
        println!("login: {email} / {password}   ({role})");
    }
}

async fn value_command(
    app: &App,
    store: &SqlStore,
    system: &Actor,
    command: ValueCommand,
) -> anyhow::Result<()> {
    use std::io::Write;
    let err = |e: aftercare_app::AppError| anyhow::anyhow!("{e}");
    match command {
        ValueCommand::Recompute { json, as_of } => {
            let as_of = app.recompute_day(as_of.as_deref()).map_err(err)?;
            let job = app.start_recompute_as(system).await.map_err(err)?;
            let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let last = std::sync::atomic::AtomicUsize::new(usize::MAX);
            let progress = |done: usize, total: usize| {
                let pct = (done * 100).checked_div(total).unwrap_or(100);
                // A line per 10 % when not on a terminal; a bar redrawn in place otherwise.
                let step = if tty { pct } else { pct / 10 * 10 };
                if last.swap(step, std::sync::atomic::Ordering::Relaxed) == step {
                    return;
                }
                let bar = "#".repeat(pct / 5) + &".".repeat(20 - pct / 5);
                let mut e = std::io::stderr();
                if tty {
                    let _ = write!(e, "\r[{bar}] {pct:3}% {done}/{total}");
                    if done >= total {
                        let _ = writeln!(e);
                    }
                } else {
                    let _ = writeln!(e, "[{bar}] {pct:3}% {done}/{total}");
                }
            };
            let view = app
                .run_recompute(system, job.id, as_of, &progress)
                .await
                .map_err(err)?;
            print_model(&view, json)?;
        }
        ValueCommand::Model { json } => {
            let view = app
                .value_model(&admin_principal(app).await?)
                .await
                .map_err(err)?
                .context("no model yet: run `aftercare value recompute` first")?;
            print_model(&view, json)?;
        }
        ValueCommand::Holdout {
            calibration_end,
            end,
            json,
        } => {
            let q = aftercare_app::value::HoldoutQuery {
                calibration_end: Some(calibration_end),
                end,
            };
            let r = app
                .value_holdout(&admin_principal(app).await?, &q)
                .await
                .map_err(err)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
                return Ok(());
            }
            println!(
                "calibration {} .. {}, holdout to {}, cohort {} customers",
                r.calibration_start
                    .map(|d| d.to_string())
                    .unwrap_or_else(|| "-".into()),
                r.calibration_end,
                r.end,
                r.cohort
            );
            let Some(b) = &r.bgnbd else {
                println!(
                    "no fit: {}",
                    r.fit_error_code.as_deref().unwrap_or("unknown")
                );
                return Ok(());
            };
            println!(
                "BG/NBD r={:.4} alpha={:.4} a={:.4} b={:.4}",
                b.r, b.alpha, b.a, b.b
            );
            let gap = if r.actual > 0.0 {
                format!("{:+.1}%", (r.predicted - r.actual) / r.actual * 100.0)
            } else {
                "-".into()
            };
            println!(
                "repeat purchases in the holdout: actual {:.0}, predicted {:.1} ({gap})",
                r.actual, r.predicted
            );
            println!("\ncumulative          actual   predicted");
            for p in &r.tracking {
                println!("  to {}  {:>9.0} {:>11.1}", p.day, p.actual, p.predicted);
            }
            println!("\nrepeats in calibration  customers  actual (mean)  predicted (mean)");
            for g in &r.by_frequency {
                let x = if g.x >= aftercare_insight::holdout::TOP_GROUP {
                    format!("{}+", g.x)
                } else {
                    g.x.to_string()
                };
                println!(
                    "  {x:>4}  {:>24} {:>14.3} {:>17.3}",
                    g.customers, g.actual, g.predicted
                );
            }
        }
        ValueCommand::Refresh => {
            let r = app.refresh_values().await.map_err(err)?;
            println!("events {}, customers scored {}", r.events, r.customers);
        }
        ValueCommand::RebuildPurchases => {
            let started = std::time::Instant::now();
            let blocks = store.rebuild_purchases().await?;
            println!(
                "purchase summaries rebuilt: {blocks} blocks of {} customers in {:.1} s",
                aftercare_store::purchases::BLOCK,
                started.elapsed().as_secs_f64()
            );
        }
    }
    Ok(())
}

fn print_model(v: &aftercare_app::value::ModelView, json: bool) -> anyhow::Result<()> {
    if json {
        println!("{}", serde_json::to_string_pretty(v)?);
        return Ok(());
    }
    let m = &v.model;
    println!("run at {} in {:.1} s", v.fitted_at, v.seconds);
    println!(
        "calibration {} .. {}, time unit {} days",
        m.calibration_start
            .map(|d| d.to_string())
            .unwrap_or_else(|| "-".into()),
        m.calibration_end,
        m.unit_days
    );
    println!(
        "customers {}, buyers {}, fitted on {}",
        m.customers, m.buyers, m.fitted_on
    );
    match (&m.bgnbd, &m.gamma_gamma) {
        (Some(b), Some(g)) => {
            println!(
                "BG/NBD      r={:.4} alpha={:.4} a={:.4} b={:.4} log-likelihood={:.2}",
                b.r, b.alpha, b.a, b.b, b.log_likelihood
            );
            println!(
                "Gamma-Gamma p={:.4} q={:.4} gamma={:.4} log-likelihood={:.2}",
                g.p, g.q, g.gamma, g.log_likelihood
            );
        }
        _ => println!("no fit: {}", m.fit_error.as_deref().unwrap_or("unknown")),
    }
    Ok(())
}

async fn set_active(app: &App, email: &str, active: bool) -> anyhow::Result<()> {
    let p = admin_principal(app).await?;
    let user = app
        .store
        .credentials(&email.trim().to_lowercase())
        .await?
        .context("no such user")?
        .user;
    let patch = aftercare_app::input::UserPatch {
        active: Some(active),
        ..Default::default()
    };
    let u = app
        .update_user(&p, user.id, &patch)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    println!(
        "{} is now {}",
        u.email,
        if u.active { "active" } else { "inactive" }
    );
    Ok(())
}

/// Administrative commands act as the first admin account, or as the system.
/// `aftercare restore FILE`: checks the backup, then puts it in place of the SQLite
/// database, keeping the one it replaces.
async fn restore(cfg: &config::Config, file: &std::path::Path) -> anyhow::Result<()> {
    let Some(db_file) = cfg.database_url.strip_prefix("sqlite://") else {
        bail!(
            "restore puts back a SQLite backup; PostgreSQL is restored with pg_restore \
             (docs/operations.md#backups)"
        );
    };
    let db_file = std::path::Path::new(db_file.split('?').next().unwrap_or(db_file));
    let migrations = aftercare_store::backup::check(file)
        .await
        .map_err(|e| anyhow::anyhow!("not restored: {e}"))?;
    #[allow(clippy::disallowed_methods)] // a file name, not business time
    let stamp = jiff::Zoned::now().strftime("%Y%m%d%H%M%S").to_string();
    let kept = aftercare_store::backup::put_in_place(file, db_file, &stamp)
        .map_err(|e| anyhow::anyhow!("not restored: {e}"))?;
    println!(
        "restored {} ({migrations} migrations) as {}",
        file.display(),
        db_file.display()
    );
    if let Some(k) = kept {
        println!("the database it replaced is kept as {}", k.display());
    }
    Ok(())
}

async fn admin_principal(app: &App) -> anyhow::Result<Principal> {
    let users = app.store.users().await?;
    let user =
        users
            .into_iter()
            .find(|u| u.role == Role::Admin)
            .unwrap_or(aftercare_app::model::User {
                id: aftercare_domain::UserId(0),
                email: "cli".into(),
                name: "cli".into(),
                role: Role::Admin,
                lang: None,
                active: true,
            });
    Ok(Principal {
        user,
        role: Role::Admin,
        scopes: None,
    })
}
