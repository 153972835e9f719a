//! Which page of a list a client asks for: Relay's `first`/`after` (forwards) or
//! `last`/`before` (backwards). Lists apply both cursors, then take `first` items from the
//! start or `last` from the end, as the Relay connection specification describes.

use crate::error::{AppError, AppResult};

/// Default page size of lists.
pub const DEFAULT_PAGE_SIZE: u64 = 20;
/// Largest page a caller may ask for.
pub const MAX_PAGE_SIZE: u64 = 100;

/// The paging arguments of a connection, as the client sent them.
#[derive(Clone, Debug, Default)]
pub struct PageRequest {
    pub first: Option<i32>,
    pub after: Option<String>,
    pub last: Option<i32>,
    pub before: Option<String>,
}

/// A checked page request: how many rows, from which end.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PageSize {
    pub limit: u64,
    /// Taken from the end (`last`): the rows are read in reverse order, then turned back.
    pub from_end: bool,
}

fn checked(argument: &'static str, n: i32) -> AppResult<u64> {
    match u64::try_from(n) {
        Ok(n) if (1..=MAX_PAGE_SIZE).contains(&n) => Ok(n),
        _ => Err(AppError::bad_input(
            argument,
            format!("{argument} must be between 1 and {MAX_PAGE_SIZE}"),
        )),
    }
}

impl PageRequest {
    /// A forward page (`first`, `after`).
    pub fn forward(first: Option<i32>, after: Option<String>) -> Self {
        Self {
            first,
            after,
            ..Self::default()
        }
    }

    /// BAD_USER_INPUT for a size out of range, or for `first` with `last` (the
    /// specification discourages it and no client needs it).
    pub fn size(&self) -> AppResult<PageSize> {
        match (self.first, self.last) {
            (Some(_), Some(_)) => Err(AppError::bad_input(
                "last",
                "pass either first (with after) or last (with before), not both",
            )),
            (Some(first), None) => Ok(PageSize {
                limit: checked("first", first)?,
                from_end: false,
            }),
            (None, Some(last)) => Ok(PageSize {
                limit: checked("last", last)?,
                from_end: true,
            }),
            (None, None) => Ok(PageSize {
                limit: DEFAULT_PAGE_SIZE,
                from_end: self.before.is_some() && self.after.is_none(),
            }),
        }
    }

    /// What a page costs in the complexity score: its size, or the largest page when the
    /// size is out of range (the resolver then refuses it with BAD_USER_INPUT naming the
    /// argument, which the complexity ceiling would otherwise pre-empt).
    pub fn cost(first: Option<i32>, last: Option<i32>, child_complexity: usize) -> usize {
        let size = first.or(last).map_or(DEFAULT_PAGE_SIZE, |n| {
            u64::try_from(n).unwrap_or(0).min(MAX_PAGE_SIZE)
        });
        usize::try_from(size)
            .unwrap_or(1)
            .max(1)
            .saturating_mul(child_complexity)
    }
}

/// Trims rows read with one extra (to learn whether more exist) to the page, puts rows read
/// from the end back in order, and says whether pages exist before and after it.
pub fn settle<T>(mut rows: Vec<T>, size: PageSize, request: &PageRequest) -> (Vec<T>, bool, bool) {
    let more = rows.len() as u64 > size.limit;
    rows.truncate(usize::try_from(size.limit).unwrap_or(usize::MAX));
    if size.from_end {
        rows.reverse();
        // Backwards, a page after this one exists when the client came from a cursor.
        (rows, more, request.before.is_some())
    } else {
        (rows, request.after.is_some(), more)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(first: Option<i32>, last: Option<i32>) -> PageRequest {
        PageRequest {
            first,
            last,
            ..PageRequest::default()
        }
    }

    #[test]
    fn sizes_are_checked_and_first_excludes_last() {
        assert_eq!(request(None, None).size().unwrap().limit, DEFAULT_PAGE_SIZE);
        assert!(!request(Some(5), None).size().unwrap().from_end);
        assert!(request(None, Some(5)).size().unwrap().from_end);
        for bad in [
            request(Some(0), None),
            request(None, Some(-1)),
            request(None, Some(101)),
            request(Some(1), Some(1)),
        ] {
            assert!(matches!(bad.size(), Err(AppError::BadUserInput { .. })));
        }
    }

    #[test]
    fn rows_read_from_the_end_come_back_in_order() {
        let request = PageRequest {
            last: Some(2),
            before: Some("c".into()),
            ..PageRequest::default()
        };
        let size = request.size().unwrap();
        let (rows, previous, next) = settle(vec![3, 2, 1], size, &request);
        assert_eq!((rows, previous, next), (vec![2, 3], true, true));
    }
}
