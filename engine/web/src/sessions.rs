//! Browser sessions kept in the engine's store (tower-sessions'
//! [`SessionStore`] over [`Backend`]), so they survive a restart and, on
//! PostgreSQL, are shared by every web node.

use crate::backend::{Backend, StoredSession};
use std::sync::Arc;
use tower_sessions::session::{Id, Record};
use tower_sessions::session_store::{Error, Result, SessionStore};

/// The store tower-sessions writes to.
#[derive(Clone)]
pub struct BackendSessions {
    backend: Arc<dyn Backend>,
}

impl BackendSessions {
    pub fn new(backend: Arc<dyn Backend>) -> Self {
        BackendSessions { backend }
    }
}

impl std::fmt::Debug for BackendSessions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BackendSessions")
    }
}

/// Runs a blocking backend call off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> std::result::Result<T, crate::WebError> + Send + 'static,
) -> Result<T> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| Error::Backend(e.to_string()))?
        .map_err(|e| Error::Backend(e.to_string()))
}

/// A session as the backend keeps it.
fn stored(record: &Record) -> Result<StoredSession> {
    let data = serde_json::to_vec(&record.data).map_err(|e| Error::Encode(e.to_string()))?;
    Ok(StoredSession {
        data,
        expires: record.expiry_date.unix_timestamp(),
    })
}

#[async_trait::async_trait]
impl SessionStore for BackendSessions {
    async fn create(&self, record: &mut Record) -> Result<()> {
        loop {
            let (b, id, s) = (self.backend.clone(), record.id.to_string(), stored(record)?);
            if blocking(move || b.session_create(&id, s)).await? {
                return Ok(());
            }
            // Taken: draw another id.
            record.id = Id::default();
        }
    }

    async fn save(&self, record: &Record) -> Result<()> {
        let (b, id, s) = (self.backend.clone(), record.id.to_string(), stored(record)?);
        blocking(move || b.session_save(&id, s)).await
    }

    async fn load(&self, id: &Id) -> Result<Option<Record>> {
        let (b, key) = (self.backend.clone(), id.to_string());
        let Some(s) = blocking(move || b.session_load(&key)).await? else {
            return Ok(None);
        };
        let expiry_date = time::OffsetDateTime::from_unix_timestamp(s.expires)
            .map_err(|e| Error::Decode(e.to_string()))?;
        if expiry_date <= time::OffsetDateTime::now_utc() {
            return Ok(None);
        }
        let data = serde_json::from_slice(&s.data).map_err(|e| Error::Decode(e.to_string()))?;
        Ok(Some(Record {
            id: *id,
            data,
            expiry_date,
        }))
    }

    async fn delete(&self, id: &Id) -> Result<()> {
        let (b, key) = (self.backend.clone(), id.to_string());
        blocking(move || b.session_delete(&key)).await
    }
}
