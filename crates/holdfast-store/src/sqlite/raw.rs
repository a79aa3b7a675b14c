//! A minimal forward-only scanner over SQLite's C API, for the one hot loop where rusqlite's per-column
//! checks cost as much as SQLite itself: reading every row of every table into load batches.
//!
//! It knows the declared shape of each column ([`Kind`]) and relies on the schema's guarantees (`STRICT`
//! tables: an INTEGER column holds integers, a TEXT column text, `NOT NULL` columns no NULLs) to fetch each
//! value with as few C calls as possible. All `unsafe` of the crate is in this module.
use rusqlite::{ffi, Connection};
use std::ffi::{c_char, c_int, CStr};
use std::marker::PhantomData;

/// Declared type and nullability of a selected column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Int,
    IntNotNull,
    Text,
    TextNotNull,
}

/// A value as copied out of a row: integers inline, text as a byte range of the caller's arena.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Cell {
    Null,
    Int(i64),
    /// Byte range in the batch's text arena.
    Text(u32, u32),
}

/// A prepared `SELECT` stepping through its rows. Borrows the connection it was prepared on.
pub(crate) struct RawScan<'c> {
    db: *mut ffi::sqlite3,
    stmt: *mut ffi::sqlite3_stmt,
    _conn: PhantomData<&'c Connection>,
}

fn error(db: *mut ffi::sqlite3, code: c_int) -> rusqlite::Error {
    // SAFETY: `db` is the live handle of the borrowed connection; sqlite3_errmsg returns a NUL-terminated
    // string owned by SQLite that stays valid until the next API call on `db`, and we copy it at once.
    let msg = unsafe { CStr::from_ptr(ffi::sqlite3_errmsg(db)) }.to_string_lossy().into_owned();
    rusqlite::Error::SqliteFailure(ffi::Error::new(code), Some(msg))
}

impl<'c> RawScan<'c> {
    pub(crate) fn new(conn: &'c Connection, sql: &str) -> rusqlite::Result<Self> {
        let len = c_int::try_from(sql.len()).map_err(|_| rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_TOOBIG), None))?;
        // SAFETY: the handle belongs to `conn`, which outlives `'c`; only this thread uses the connection
        // while the scan exists (Connection is !Sync and the scan borrows it). `sql` is passed with its
        // length, so it needs no terminating NUL.
        unsafe {
            let db = conn.handle();
            let mut stmt: *mut ffi::sqlite3_stmt = std::ptr::null_mut();
            let rc = ffi::sqlite3_prepare_v2(db, sql.as_ptr() as *const c_char, len, &mut stmt, std::ptr::null_mut());
            if rc != ffi::SQLITE_OK {
                return Err(error(db, rc));
            }
            if stmt.is_null() {
                return Err(rusqlite::Error::SqliteFailure(ffi::Error::new(ffi::SQLITE_MISUSE), Some("empty statement".into())));
            }
            Ok(RawScan { db, stmt, _conn: PhantomData })
        }
    }

    pub(crate) fn column_count(&self) -> usize {
        // SAFETY: `stmt` is a valid prepared statement until drop.
        unsafe { ffi::sqlite3_column_count(self.stmt) as usize }
    }

    /// Advances to the next row; `false` when done.
    #[inline]
    pub(crate) fn step(&mut self) -> rusqlite::Result<bool> {
        // SAFETY: valid statement, single-threaded use.
        match unsafe { ffi::sqlite3_step(self.stmt) } {
            ffi::SQLITE_ROW => Ok(true),
            ffi::SQLITE_DONE => Ok(false),
            rc => Err(error(self.db, rc)),
        }
    }

    /// Column `i` of the current row (which `step` must just have returned), text appended to `arena`.
    #[inline]
    pub(crate) fn cell(&self, i: usize, kind: Kind, arena: &mut Vec<u8>) -> rusqlite::Result<Cell> {
        let i = i as c_int;
        // SAFETY: `step` returned SQLITE_ROW, so the row's values are readable until the next step;
        // `i` < column_count (the callers' kinds have one entry per selected column). A text pointer is
        // valid for `sqlite3_column_bytes` bytes, fetched after it as SQLite's documentation requires, and
        // copied before any other call on the statement.
        unsafe {
            match kind {
                Kind::IntNotNull => Ok(Cell::Int(ffi::sqlite3_column_int64(self.stmt, i))),
                Kind::Int => {
                    let v = ffi::sqlite3_column_int64(self.stmt, i);
                    // 0 is also what NULL reads as: only then ask for the type.
                    if v == 0 && ffi::sqlite3_column_type(self.stmt, i) == ffi::SQLITE_NULL {
                        Ok(Cell::Null)
                    } else {
                        Ok(Cell::Int(v))
                    }
                }
                Kind::Text | Kind::TextNotNull => {
                    let p = ffi::sqlite3_column_text(self.stmt, i);
                    if p.is_null() {
                        // NULL, or an out-of-memory error while converting.
                        let rc = ffi::sqlite3_errcode(self.db);
                        if rc == ffi::SQLITE_NOMEM {
                            return Err(error(self.db, rc));
                        }
                        return Ok(Cell::Null);
                    }
                    let n = ffi::sqlite3_column_bytes(self.stmt, i) as usize;
                    let a = arena.len();
                    arena.extend_from_slice(std::slice::from_raw_parts(p, n));
                    Ok(Cell::Text(a as u32, arena.len() as u32))
                }
            }
        }
    }
}

impl Drop for RawScan<'_> {
    fn drop(&mut self) {
        // SAFETY: finalizing the statement we prepared, exactly once.
        unsafe {
            ffi::sqlite3_finalize(self.stmt);
        }
    }
}
