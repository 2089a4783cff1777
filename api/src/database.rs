//! Opening the event store a database URL names, for the server and for the command line.
//!
//! The server creates the embedded default's directory so that it runs on a fresh checkout;
//! the tools refuse a SQLite file that does not exist, so that a mistyped path to a copied
//! database is an error instead of a new, empty store.

use anyhow::Context;
use keel_store::{open, EventStore, StoreOptions};
use std::path::Path;
use std::sync::Arc;

/// What to do when the SQLite file a URL names does not exist.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Missing {
    /// Create it (and its directory): the server and `keel migrate`.
    Create,
    /// Refuse: the read-only tools.
    Refuse,
}

/// Opens the store at `url` with `connections` pooled connections and applies pending
/// migrations.
pub async fn open_store(
    url: &str,
    connections: u32,
    missing: Missing,
) -> anyhow::Result<Arc<dyn EventStore>> {
    if let Some(path) = sqlite_path(url) {
        match missing {
            Missing::Create => create_parent(path)?,
            Missing::Refuse if !Path::new(path).exists() => {
                anyhow::bail!("there is no database at {path} (give --database-url)")
            }
            Missing::Refuse => {}
        }
    }
    let options = StoreOptions {
        connections,
        ..StoreOptions::default()
    };
    open(url, &options)
        .await
        .with_context(|| format!("cannot open the event store at {}", redact(url)))
}

/// The file of a `sqlite://` URL.
pub fn sqlite_path(url: &str) -> Option<&str> {
    let path = url.strip_prefix("sqlite://")?;
    Some(path.split('?').next().unwrap_or(path))
}

/// Creates the directory of a SQLite database file.
fn create_parent(path: &str) -> anyhow::Result<()> {
    match Path::new(path).parent() {
        Some(parent) if !parent.as_os_str().is_empty() => std::fs::create_dir_all(parent)
            .with_context(|| format!("cannot create {}", parent.display())),
        _ => Ok(()),
    }
}

/// The database URL without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let credentials = &url[scheme + 3..at];
            match credentials.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_redacted_from_database_urls() {
        assert_eq!(
            redact("postgres://keel:secret@db:5432/keel"),
            "postgres://keel:***@db:5432/keel"
        );
        assert_eq!(redact("postgres://keel@db/keel"), "postgres://keel@db/keel");
        assert_eq!(redact("sqlite://./data/keel.db"), "sqlite://./data/keel.db");
    }

    #[tokio::test]
    async fn the_tools_refuse_a_missing_sqlite_file() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}/nothing.db", dir.path().display());
        let error = open_store(&url, 1, Missing::Refuse).await.err().unwrap();
        assert!(
            error.to_string().contains("there is no database"),
            "{error}"
        );
        assert!(!dir.path().join("nothing.db").exists());
    }
}
