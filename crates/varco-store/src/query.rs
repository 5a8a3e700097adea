//! Typed list queries on the aggregate tables: conditions on the filter columns,
//! an order, and a window, all done by the database, with the count of the whole
//! list. The services build them from a caller's visibility and a front's filters;
//! column names always come from our code (and are checked to be plain identifiers).
use crate::{decode_versioned, Aggregate, Result, Store};
use varco_domain::Env;

/// One condition on a filter column.
#[derive(Debug, Clone)]
pub enum Cond {
    /// `column = value`
    Eq(&'static str, String),
    /// `column <> value`
    Ne(&'static str, String),
    /// `column IN (values)`; an empty list matches nothing.
    In(&'static str, Vec<String>),
    /// At least one of the groups holds, each group being `column = value` for all
    /// its pairs (the visibility of a caller on several sides); no group: nothing.
    AnyOf(Vec<Vec<(&'static str, String)>>),
    /// The column contains this text, ignoring ASCII case.
    Contains(&'static str, String),
}

/// A list query: every condition holds; ordered by `order` then by id.
#[derive(Debug, Clone, Default)]
pub struct Query {
    pub conds: Vec<Cond>,
    /// Columns to sort by (ascending); `lower(column)` is written `("column", true)`.
    pub order: Vec<(&'static str, bool)>,
    pub offset: u64,
    /// `None`: to the end.
    pub limit: Option<u64>,
}

impl Query {
    pub fn new() -> Query {
        Query::default()
    }

    pub fn with(mut self, c: Cond) -> Query {
        self.conds.push(c);
        self
    }

    /// Adds `column IN (values)` unless `values` is empty (an empty filter is no filter).
    pub fn any_of<T: ToString>(self, column: &'static str, values: &[T]) -> Query {
        if values.is_empty() {
            return self;
        }
        self.with(Cond::In(column, values.iter().map(ToString::to_string).collect()))
    }

    pub fn order_by(mut self, column: &'static str) -> Query {
        self.order.push((column, false));
        self
    }

    pub fn order_by_lower(mut self, column: &'static str) -> Query {
        self.order.push((column, true));
        self
    }

    pub fn window(mut self, offset: u64, limit: Option<u64>) -> Query {
        self.offset = offset;
        self.limit = limit;
        self
    }
}

fn ident(col: &str) -> &str {
    assert!(!col.is_empty() && col.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'), "bad column {col}");
    col
}

/// `%text%` for LIKE, with `\` escaping the wildcards of the text itself.
fn like_pattern(text: &str) -> String {
    let mut p = String::from("%");
    for ch in text.to_lowercase().chars() {
        if matches!(ch, '%' | '_' | '\\') {
            p.push('\\');
        }
        p.push(ch);
    }
    p.push('%');
    p
}

/// Adds a value and gives its placeholder (`$1` is the environment).
fn next(binds: &mut Vec<String>, v: String) -> String {
    binds.push(v);
    format!("${}", binds.len() + 1)
}

/// The WHERE clause (after `env = $1`) and its values, numbered from `$2`.
fn where_sql(q: &Query) -> (String, Vec<String>) {
    let mut sql = String::new();
    let mut binds: Vec<String> = Vec::new();
    for c in &q.conds {
        match c {
            Cond::Eq(col, v) => sql.push_str(&format!(" AND {} = {}", ident(col), next(&mut binds, v.clone()))),
            Cond::Ne(col, v) => sql.push_str(&format!(" AND {} <> {}", ident(col), next(&mut binds, v.clone()))),
            Cond::In(col, vs) if vs.is_empty() => {
                let _ = col;
                sql.push_str(" AND 1 = 0");
            }
            Cond::In(col, vs) => {
                let marks: Vec<String> = vs.iter().map(|v| next(&mut binds, v.clone())).collect();
                sql.push_str(&format!(" AND {} IN ({})", ident(col), marks.join(", ")));
            }
            Cond::AnyOf(groups) if groups.is_empty() => sql.push_str(" AND 1 = 0"),
            Cond::AnyOf(groups) => {
                let ors: Vec<String> = groups
                    .iter()
                    .map(|g| {
                        let ands: Vec<String> = g
                            .iter()
                            .map(|(col, v)| format!("{} = {}", ident(col), next(&mut binds, v.clone())))
                            .collect();
                        format!("({})", ands.join(" AND "))
                    })
                    .collect();
                sql.push_str(&format!(" AND ({})", ors.join(" OR ")));
            }
            Cond::Contains(col, text) => {
                let m = next(&mut binds, like_pattern(text));
                sql.push_str(&format!(" AND LOWER({}) LIKE {m} ESCAPE '\\'", ident(col)));
            }
        }
    }
    (sql, binds)
}

impl Store {
    /// One page of the aggregates matching `q`, and how many match in all.
    pub async fn query<T: Aggregate>(&self, env: Env, q: &Query) -> Result<(Vec<T>, u64)> {
        let (filter, binds) = where_sql(q);
        if crate::has_nul(&binds) {
            return Ok((vec![], 0));
        }
        let count_sql = format!("SELECT COUNT(*) AS n FROM {} WHERE env = $1{filter}", T::TABLE);
        let mut count = sqlx::query(&count_sql).bind(env.slug());
        for b in &binds {
            count = count.bind(b.as_str());
        }
        let total: i64 = sqlx::Row::try_get(&count.fetch_one(self.pool()).await?, "n")?;

        // Byte order on both backends (PostgreSQL would otherwise follow the
        // database's locale), so that pages are the same wherever the data lives.
        let collate = if self.backend() == crate::Backend::Postgres { " COLLATE \"C\"" } else { "" };
        let mut order: Vec<String> = q
            .order
            .iter()
            .map(
                |(c, lower)| {
                    if *lower {
                        format!("LOWER({}){collate}", ident(c))
                    } else {
                        format!("{}{collate}", ident(c))
                    }
                },
            )
            .collect();
        order.push(format!("id{collate}"));
        let mut sql =
            format!("SELECT doc, version FROM {} WHERE env = $1{filter} ORDER BY {}", T::TABLE, order.join(", "));
        // Both backends take LIMIT/OFFSET; the values are ours (numbers), not the user's text.
        match q.limit {
            Some(l) => sql.push_str(&format!(" LIMIT {l} OFFSET {}", q.offset)),
            None if q.offset > 0 => sql.push_str(&format!(" LIMIT {} OFFSET {}", i64::MAX, q.offset)),
            None => {}
        }
        let mut rows = sqlx::query(&sql).bind(env.slug());
        for b in &binds {
            rows = rows.bind(b.as_str());
        }
        let rows = rows.fetch_all(self.pool()).await?;
        let items = rows.iter().map(|r| decode_versioned::<T>(r).map(|v| v.value)).collect::<Result<Vec<T>>>()?;
        Ok((items, total as u64))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conditions_become_numbered_placeholders() {
        let q = Query::new()
            .with(Cond::AnyOf(vec![vec![("consumer_id", "a".into())], vec![("producer_id", "a".into())]]))
            .any_of("state", &["ACTIVE", "SUSPENDED"])
            .with(Cond::Contains("name", "50%_Off".into()));
        let (sql, binds) = where_sql(&q);
        assert_eq!(
            sql,
            " AND ((consumer_id = $2) OR (producer_id = $3)) AND state IN ($4, $5) AND LOWER(name) LIKE $6 ESCAPE '\\'"
        );
        assert_eq!(binds, vec!["a", "a", "ACTIVE", "SUSPENDED", "%50\\%\\_off%"]);
    }

    #[test]
    fn empty_choices_match_nothing_and_empty_filters_nothing_is_added() {
        let (sql, _) = where_sql(&Query::new().with(Cond::AnyOf(vec![])).with(Cond::In("state", vec![])));
        assert_eq!(sql, " AND 1 = 0 AND 1 = 0");
        let (sql, binds) = where_sql(&Query::new().any_of::<String>("state", &[]));
        assert_eq!((sql.as_str(), binds.len()), ("", 0));
    }

    #[test]
    #[should_panic(expected = "bad column")]
    fn column_names_are_plain_identifiers() {
        where_sql(&Query::new().with(Cond::Eq("name; DROP TABLE x", "y".into())));
    }
}
