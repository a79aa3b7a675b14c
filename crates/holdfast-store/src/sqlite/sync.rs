//! The tables of live syncs: `sync_state` (one resume state per source) and `sync_documents` (the fetched
//! source documents). Used inside an import transaction so that they commit together with the records.
use crate::StoreError;
use rusqlite::{Connection, OptionalExtension};

pub(crate) fn state(conn: &Connection, source: &str) -> Result<Option<String>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT state FROM sync_state WHERE source = ?1")?
        .query_row([source], |r| r.get(0))
        .optional()?)
}

pub(crate) fn set_state(conn: &Connection, source: &str, state: &str) -> Result<(), StoreError> {
    conn.prepare_cached("INSERT INTO sync_state (source, state) VALUES (?1, ?2) ON CONFLICT (source) DO UPDATE SET state = excluded.state")?
        .execute([source, state])?;
    Ok(())
}

pub(crate) fn put_document(conn: &Connection, source: &str, key: &str, body: &str) -> Result<bool, StoreError> {
    // Only a new or different body is written, so an unchanged document costs no page writes.
    let n = conn
        .prepare_cached(
            "INSERT INTO sync_documents (source, key, body) VALUES (?1, ?2, ?3)
             ON CONFLICT (source, key) DO UPDATE SET body = excluded.body WHERE body IS NOT excluded.body",
        )?
        .execute([source, key, body])?;
    Ok(n > 0)
}

pub(crate) fn delete_documents(conn: &Connection, source: &str, key_prefix: &str) -> Result<u64, StoreError> {
    // `substr` rather than LIKE: keys may contain `%` or `_`.
    let n = conn
        .prepare_cached("DELETE FROM sync_documents WHERE source = ?1 AND substr(key, 1, length(?2)) = ?2")?
        .execute([source, key_prefix])?;
    Ok(n as u64)
}

pub(crate) fn for_each_document(conn: &Connection, source: &str, visit: &mut dyn FnMut(&str, &str)) -> Result<(), StoreError> {
    let mut st = conn.prepare_cached("SELECT key, body FROM sync_documents WHERE source = ?1 ORDER BY key")?;
    let mut rows = st.query([source])?;
    while let Some(r) = rows.next()? {
        let key = r.get_ref(0)?.as_str().map_err(|e| StoreError::Corrupt(format!("sync_documents.key: {e}")))?;
        let body = r.get_ref(1)?.as_str().map_err(|e| StoreError::Corrupt(format!("sync_documents.body: {e}")))?;
        visit(key, body);
    }
    Ok(())
}
