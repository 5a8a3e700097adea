use super::api_problem;
use crate::Problem;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};

/// `offset` and `limit` (1..=50), both required as in PDND's API.
#[derive(Debug, Clone, Copy)]
pub struct PageQuery {
    pub offset: usize,
    pub limit: usize,
}

impl PageQuery {
    pub fn parse(offset: Option<&str>, limit: Option<&str>) -> Result<PageQuery, Problem> {
        let bad = |what: &str| api_problem(StatusCode::BAD_REQUEST, what);
        let offset = offset
            .ok_or_else(|| bad("offset is required"))?
            .parse::<i64>()
            .ok()
            .filter(|o| (0..=i32::MAX as i64).contains(o))
            .ok_or_else(|| bad("offset must be an integer >= 0"))?;
        let limit = limit
            .ok_or_else(|| bad("limit is required"))?
            .parse::<i64>()
            .ok()
            .filter(|l| (1..=50).contains(l))
            .ok_or_else(|| bad("limit must be an integer between 1 and 50"))?;
        Ok(PageQuery { offset: offset as usize, limit: limit as usize })
    }

    /// From the query string's `offset` and `limit`.
    pub fn from_query(q: &std::collections::HashMap<String, String>) -> Result<PageQuery, Problem> {
        PageQuery::parse(q.get("offset").map(String::as_str), q.get("limit").map(String::as_str))
    }

    /// The window the services are asked for.
    pub fn window(self) -> varco_platform::Page {
        varco_platform::Page { offset: self.offset, limit: self.limit }
    }

    /// A page of the services, shown as PDND's page of `show(item)`.
    pub fn of<T, J>(self, paged: varco_platform::Paged<T>, show: impl Fn(&T) -> J) -> Page<J> {
        Page {
            results: paged.items.iter().map(show).collect(),
            pagination: Pagination { offset: self.offset, limit: self.limit, total_count: paged.total },
        }
    }

    /// The requested window of `all`, with the total count.
    pub fn apply<T>(self, all: Vec<T>) -> Page<T> {
        let total = all.len();
        let results = all.into_iter().skip(self.offset).take(self.limit).collect();
        Page { results, pagination: Pagination { offset: self.offset, limit: self.limit, total_count: total } }
    }
}

#[derive(Debug, Serialize, Deserialize)]
pub struct Pagination {
    pub offset: usize,
    pub limit: usize,
    #[serde(rename = "totalCount")]
    pub total_count: usize,
}

#[derive(Debug, Serialize)]
pub struct Page<T> {
    pub results: Vec<T>,
    pub pagination: Pagination,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_are_checked_and_windows_applied() {
        assert!(PageQuery::parse(None, Some("10")).is_err());
        assert!(PageQuery::parse(Some("0"), Some("0")).is_err());
        assert!(PageQuery::parse(Some("0"), Some("51")).is_err());
        assert!(PageQuery::parse(Some("-1"), Some("5")).is_err());
        assert!(PageQuery::parse(Some("x"), Some("5")).is_err());
        let q = PageQuery::parse(Some("2"), Some("2")).unwrap();
        let p = q.apply(vec![1, 2, 3, 4, 5]);
        assert_eq!(p.results, vec![3, 4]);
        assert_eq!(p.pagination.total_count, 5);
    }
}
