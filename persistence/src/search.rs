//! Full-text search, the one place with backend-specific SQL for it. PostgreSQL matches through
//! the GIN expression indexes of migration `2026-11-26-000002_search` (the expressions here must
//! stay identical to the indexed ones, or the planner cannot use them); SQLite matches through
//! the FTS5 tables of the same migration. Both engines see the same terms, parsed here from what
//! a person typed.

use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::sql_types::{Bool, Text};

use crate::db::MultiBackend;
use crate::{Backend, DbConnection};

/// Longest search text accepted, in characters.
pub const MAX_QUERY_CHARS: usize = 200;
/// Words beyond this many are ignored: more narrow nothing a person is looking for.
const MAX_TERMS: usize = 16;

/// Marks where a match starts and ends in a snippet. Control characters, which stored text never
/// contains, so callers can escape the text and then turn these into markup.
pub const HIGHLIGHT_START: char = '\u{2}';
pub const HIGHLIGHT_END: char = '\u{3}';

/// The words of a search box: runs of letters and digits, lower-cased. Everything else separates
/// words, so no operator of either engine survives parsing and no input can make a query fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchTerms(Vec<String>);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the search text is longer than {MAX_QUERY_CHARS} characters")]
pub struct SearchTooLong;

impl SearchTerms {
    pub fn parse(raw: &str) -> Result<SearchTerms, SearchTooLong> {
        if raw.chars().count() > MAX_QUERY_CHARS {
            return Err(SearchTooLong);
        }
        Ok(SearchTerms(
            raw.split(|c: char| !c.is_alphanumeric())
                .filter(|word| !word.is_empty())
                .map(str::to_lowercase)
                .take(MAX_TERMS)
                .collect(),
        ))
    }

    /// True for text without a single word (blank, or only punctuation): it matches nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A PostgreSQL `tsquery` of all the words; `prefix` lets each word match the start of one.
    fn tsquery(&self, prefix: bool) -> String {
        let suffix = if prefix { ":*" } else { "" };
        self.0
            .iter()
            .map(|word| format!("{word}{suffix}"))
            .collect::<Vec<_>>()
            .join(" & ")
    }

    /// An FTS5 query of all the words, each a quoted string (so none reads as an operator).
    fn fts5_query(&self, prefix: bool) -> String {
        let suffix = if prefix { "*" } else { "" };
        self.0
            .iter()
            .map(|word| format!("\"{}\"{suffix}", word.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(" ")
    }
}

pub fn backend_of(conn: &DbConnection) -> Backend {
    match conn {
        DbConnection::Postgresql(_) => Backend::Postgres,
        DbConnection::Sqlite(_) => Backend::Sqlite,
    }
}

/// A condition of the form `<sql_prefix> <bound search query> <sql_suffix>`.
pub struct TextCondition {
    sql_prefix: String,
    query: String,
    sql_suffix: String,
}

impl TextCondition {
    /// The condition inside an outer one, e.g. `x IN (SELECT … WHERE <self>)`.
    pub fn within(self, outer_prefix: &str, outer_suffix: &str) -> TextCondition {
        TextCondition {
            sql_prefix: format!("{outer_prefix}{}", self.sql_prefix),
            query: self.query,
            sql_suffix: format!("{}{outer_suffix}", self.sql_suffix),
        }
    }

    pub fn into_expression<QS>(
        self,
    ) -> Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>> {
        Box::new(
            sql::<Bool>(&self.sql_prefix)
                .bind::<Text, _>(self.query)
                .sql(&self.sql_suffix),
        )
    }
}

/// A searchable text column and the indexes of migration `2026-11-26-000002_search` over it.
struct TextIndex {
    table: &'static str,
    column: &'static str,
    /// The PostgreSQL text search configuration of the GIN expression index.
    config: &'static str,
    /// The SQLite FTS5 table over the column.
    fts_table: &'static str,
    /// Each word matches the start of a word, not only a whole one.
    prefix: bool,
}

const PATIENT_NAMES: TextIndex = TextIndex {
    table: "patients",
    column: "display_name",
    config: "simple",
    fts_table: "patients_fts",
    prefix: true,
};

const MESSAGE_BODIES: TextIndex = TextIndex {
    table: "messages",
    column: "body",
    config: "english",
    fts_table: "messages_fts",
    prefix: false,
};

fn matches(backend: Backend, terms: &SearchTerms, index: &TextIndex) -> TextCondition {
    let TextIndex {
        table,
        column,
        config,
        fts_table,
        prefix,
    } = index;
    match backend {
        Backend::Postgres => TextCondition {
            sql_prefix: format!(
                "to_tsvector('{config}', {table}.{column}) @@ to_tsquery('{config}', "
            ),
            query: terms.tsquery(*prefix),
            sql_suffix: ")".to_owned(),
        },
        Backend::Sqlite => TextCondition {
            sql_prefix: format!(
                "{table}.rowid IN (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH "
            ),
            query: terms.fts5_query(*prefix),
            sql_suffix: ")".to_owned(),
        },
    }
}

/// `patients` rows whose name has every word, each as the start of a name part ("ali" finds
/// "Alice"): people type partial names into pickers.
pub fn patient_name_matches(backend: Backend, terms: &SearchTerms) -> TextCondition {
    matches(backend, terms, &PATIENT_NAMES)
}

/// `messages` rows whose text has every word in some form ("bleeding" finds "bleed" and
/// "bleeds").
pub fn message_body_matches(backend: Backend, terms: &SearchTerms) -> TextCondition {
    matches(backend, terms, &MESSAGE_BODIES)
}

/// An excerpt of `messages.body` around the words, matches between [`HIGHLIGHT_START`] and
/// [`HIGHLIGHT_END`].
pub fn message_snippet(
    backend: Backend,
    terms: &SearchTerms,
) -> Box<dyn BoxableExpression<crate::schema::messages::table, MultiBackend, SqlType = Text>> {
    let start = HIGHLIGHT_START.to_string();
    let end = HIGHLIGHT_END.to_string();
    match backend {
        Backend::Postgres => Box::new(
            sql::<Text>("ts_headline('english', messages.body, to_tsquery('english', ")
                .bind::<Text, _>(terms.tsquery(false))
                .sql("), ")
                .bind::<Text, _>(format!(
                    "StartSel={start}, StopSel={end}, MaxWords=24, MinWords=8"
                ))
                .sql(")"),
        ),
        // snippet() needs the FTS5 row of a MATCH, hence the correlated subquery.
        Backend::Sqlite => Box::new(
            sql::<Text>("(SELECT snippet(messages_fts, 0, ")
                .bind::<Text, _>(start)
                .sql(", ")
                .bind::<Text, _>(end)
                .sql(", '…', 24) FROM messages_fts WHERE messages_fts MATCH ")
                .bind::<Text, _>(terms.fts5_query(false))
                .sql(" AND messages_fts.rowid = messages.rowid)"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_letters_and_digits_and_operators_vanish() {
        let terms = SearchTerms::parse(r#"Knee "pain" NEAR( x* 'O'Brien' -3rd é"#).unwrap();
        assert_eq!(
            terms.0,
            ["knee", "pain", "near", "x", "o", "brien", "3rd", "é"]
        );
        assert_eq!(
            terms.tsquery(true),
            "knee:* & pain:* & near:* & x:* & o:* & brien:* & 3rd:* & é:*"
        );
        assert_eq!(
            terms.fts5_query(false),
            r#""knee" "pain" "near" "x" "o" "brien" "3rd" "é""#
        );
    }

    #[test]
    fn punctuation_only_is_empty_and_long_text_is_refused() {
        assert!(SearchTerms::parse(r#"" * ( ' "#).unwrap().is_empty());
        assert!(SearchTerms::parse(&"a".repeat(MAX_QUERY_CHARS)).is_ok());
        assert_eq!(
            SearchTerms::parse(&"a".repeat(MAX_QUERY_CHARS + 1)),
            Err(SearchTooLong)
        );
        assert_eq!(
            SearchTerms::parse(&"a ".repeat(40)).unwrap().0.len(),
            MAX_TERMS
        );
    }
}
