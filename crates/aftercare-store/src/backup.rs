//! Restoring a SQLite backup made by `SqlStore::backup_into`: the copy is checked (an
//! intact database, made by this or an older Aftercare) before it replaces the database,
//! and the database it replaces is kept beside it, never deleted.

use crate::MIGRATIONS;
use aftercare_app::StoreError;
use std::path::{Path, PathBuf};

fn fail(what: impl std::fmt::Display) -> StoreError {
    StoreError::Backend(what.to_string())
}

/// Checks that `path` is an intact Aftercare database this version can run: SQLite's
/// integrity check passes and every migration it has applied is one this version knows.
/// Returns how many migrations it has.
pub async fn check(path: &Path) -> Result<usize, StoreError> {
    if !path.is_file() {
        return Err(fail(format!("{}: no such file", path.display())));
    }
    let url = format!("sqlite://{}?mode=ro", path.display());
    let mut conn = <sqlx::SqliteConnection as sqlx::Connection>::connect(&url)
        .await
        .map_err(|e| fail(format!("{}: not a SQLite database ({e})", path.display())))?;
    let integrity: String = sqlx::query_scalar("PRAGMA integrity_check")
        .fetch_one(&mut conn)
        .await
        .map_err(|e| fail(format!("{}: {e}", path.display())))?;
    if integrity != "ok" {
        return Err(fail(format!("{}: damaged ({integrity})", path.display())));
    }
    let versions: Vec<String> = sqlx::query_scalar("SELECT version FROM schema_migrations")
        .fetch_all(&mut conn)
        .await
        .map_err(|_| fail(format!("{}: not an Aftercare database", path.display())))?;
    if let Some(v) = versions
        .iter()
        .find(|v| !MIGRATIONS.iter().any(|(m, _)| m == v))
    {
        return Err(fail(format!(
            "{}: made by a newer Aftercare (migration {v}); restore it with that version",
            path.display()
        )));
    }
    Ok(versions.len())
}

/// Puts a checked backup in place of `db_file`: copied next to it, flushed, and renamed
/// over it. The database it replaces (with its `-wal` and `-shm` files) is renamed to
/// `<db_file>.before-restore-<stamp>`; that path is returned when there was one.
pub fn put_in_place(
    backup: &Path,
    db_file: &Path,
    stamp: &str,
) -> Result<Option<PathBuf>, StoreError> {
    let io = |e: std::io::Error| fail(format!("{}: {e}", db_file.display()));
    let with = |suffix: &str| {
        let mut s = db_file.as_os_str().to_owned();
        s.push(suffix);
        PathBuf::from(s)
    };
    let incoming = with(".restoring");
    std::fs::copy(backup, &incoming).map_err(io)?;
    std::fs::File::open(&incoming)
        .and_then(|f| f.sync_all())
        .map_err(io)?;
    let kept = if db_file.exists() {
        let aside = with(&format!(".before-restore-{stamp}"));
        std::fs::rename(db_file, &aside).map_err(io)?;
        for side in ["-wal", "-shm"] {
            let from = with(side);
            if from.exists() {
                let mut to = aside.as_os_str().to_owned();
                to.push(side);
                std::fs::rename(&from, PathBuf::from(to)).map_err(io)?;
            }
        }
        Some(aside)
    } else {
        None
    };
    std::fs::rename(&incoming, db_file).map_err(io)?;
    if let Some(dir) = db_file.parent() {
        let _ = std::fs::File::open(dir).and_then(|d| d.sync_all());
    }
    Ok(kept)
}
