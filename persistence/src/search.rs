//! Full-text search, the one place with backend-specific SQL for it. PostgreSQL matches through
//! the GIN indexes of patients' names (`2026-11-26-000002_search`) and of closed conversations
//! (`2026-11-26-000006_closed_search_indexes`), the words of open conversations
//! (`2026-11-26-000009_open_conversation_lexemes`) and those of closed ones in the closed tab's
//! order (`2026-11-27-000013_closed_conversation_lexemes`), SQLite through the FTS5 tables of
//! `2026-11-26-000002_search`. Both engines see the same terms, parsed here from what a person
//! typed, and find the same conversations.

use diesel::expression::BoxableExpression;
use diesel::sql_types::{BigInt, Bool, Nullable, Text, Timestamp, Untyped};
use diesel::BoolExpressionMethods;
use diesel::RunQueryDsl;
use domain::conversation::Status;
use domain::routing::Team;

use crate::conversations::{message_kind, ActivityKey};
use crate::db::MultiBackend;
use crate::excerpt;
use crate::fragment::{fragment, Fragment};
use crate::schema::conversations;
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
            words_of(raw)
                .map(str::to_lowercase)
                .take(MAX_TERMS)
                .collect(),
        ))
    }

    /// True for text without a single word (blank, or only punctuation): it matches nothing.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// A PostgreSQL `tsquery` of the words; `prefix` lets each word match the start of one.
    fn tsquery(&self, prefix: bool, words: Words) -> String {
        let suffix = if prefix { ":*" } else { "" };
        let operator = match words {
            Words::All => " & ",
            Words::Any => " | ",
        };
        self.0
            .iter()
            .map(|word| format!("{word}{suffix}"))
            .collect::<Vec<_>>()
            .join(operator)
    }

    /// An FTS5 query of the words, each a quoted string (so none reads as an operator).
    fn fts5_query(&self, prefix: bool, words: Words) -> String {
        let suffix = if prefix { "*" } else { "" };
        let operator = match words {
            Words::All => " ",
            Words::Any => " OR ",
        };
        self.0
            .iter()
            .map(|word| format!("\"{}\"{suffix}", word.replace('"', "\"\"")))
            .collect::<Vec<_>>()
            .join(operator)
    }

    fn each_word(&self) -> impl Iterator<Item = SearchTerms> + '_ {
        self.0.iter().map(|word| SearchTerms(vec![word.clone()]))
    }
}

/// The words of a text as search reads them: runs of letters and digits; everything else
/// separates words. Search terms and the words an excerpt marks are both read this way.
pub fn words_of(text: &str) -> impl Iterator<Item = &str> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
}

/// Whether a text must hold every word of a search or one of them is enough.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Words {
    All,
    Any,
}

pub type Condition<QS> = Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>>;

/// A searchable text column and its indexes.
struct TextIndex {
    table: &'static str,
    /// The PostgreSQL `tsvector` of the text: a stored column, or an expression that must stay
    /// identical to the one a GIN index is over (or the planner cannot use the index).
    lexemes: &'static str,
    /// The PostgreSQL text search configuration of those lexemes.
    config: &'static str,
    /// The SQLite FTS5 table over the column.
    fts_table: &'static str,
    /// Each word matches the start of a word, not only a whole one.
    prefix: bool,
}

/// Migration `2026-11-26-000002_search`.
const PATIENT_NAMES: TextIndex = TextIndex {
    table: "patients",
    lexemes: "to_tsvector('simple', patients.display_name)",
    config: "simple",
    fts_table: "patients_fts",
    prefix: true,
};

/// Migrations `2026-11-26-000002_search` (SQLite) and `2026-11-26-000005_conversation_search`
/// (PostgreSQL: the stored lexemes, which conversations take their words from; its GIN index of
/// them is gone since `2026-11-27-000012_drop_message_lexemes_index`).
const MESSAGE_BODIES: TextIndex = TextIndex {
    table: "messages",
    lexemes: "messages.body_lexemes",
    config: "english",
    fts_table: "messages_fts",
    prefix: false,
};

fn matches(
    backend: Backend,
    terms: &SearchTerms,
    index: &TextIndex,
    words: Words,
) -> Fragment<Bool> {
    let TextIndex {
        table,
        lexemes,
        config,
        fts_table,
        prefix,
    } = index;
    match backend {
        Backend::Postgres => fragment(format!("{lexemes} @@ to_tsquery('{config}', "))
            .bind::<Text, _>(terms.tsquery(*prefix, words))
            .sql(")"),
        Backend::Sqlite => fragment(format!(
            "{table}.rowid IN (SELECT rowid FROM {fts_table} WHERE {fts_table} MATCH "
        ))
        .bind::<Text, _>(terms.fts5_query(*prefix, words))
        .sql(")"),
    }
}

/// `patients` rows whose name has every word, each as the start of a name part ("ali" finds
/// "Alice"): people type partial names into pickers.
pub fn patient_name_matches(backend: Backend, terms: &SearchTerms) -> Fragment<Bool> {
    matches(backend, terms, &PATIENT_NAMES, Words::All)
}

/// `messages` rows whose text has one of the words in some form ("bleeding" finds "bleed" and
/// "bleeds").
fn message_has_any_word(backend: Backend, terms: &SearchTerms) -> Fragment<Bool> {
    matches(backend, terms, &MESSAGE_BODIES, Words::Any)
}

/// Whether a search can collect a rare word's matches from search indexes instead of walking
/// the tab: on PostgreSQL, closed conversations' GIN indexes (migration 6), and for open ones the
/// table of their words (migration 9) and the index of patients' names. SQLite's search starts
/// from its FTS5 matches anyway.
pub fn collects_from_indexes(backend: Backend) -> bool {
    backend == Backend::Postgres
}

/// Entries `words` of the word table of open conversations (PostgreSQL, migration 9) that are
/// one of `text`'s words in the form PostgreSQL's English configuration gives it. A stop word
/// has no form, so it is no entry.
fn open_word_is_one_of(text: String) -> Fragment<Bool> {
    fragment("words.lexeme = ANY(tsvector_to_array(to_tsvector('english', ")
        .bind::<Text, _>(text)
        .sql(")))")
}

/// `FROM` and `WHERE` of the organization's entries in the word table that hold one of the
/// words.
fn open_word_entries_of(organization_id: &str, terms: &SearchTerms) -> Fragment<Untyped> {
    fragment("open_conversation_lexemes AS words WHERE words.organization_id = ")
        .bind::<Text, _>(organization_id.to_owned())
        .sql(" AND ")
        .then(open_word_is_one_of(terms.0.join(" ")))
}

/// Whether the tested conversation has an entry of the word table for one of the words: a probe
/// of the table's index for each row tested whose word signature (migration 29) has one of the
/// words' bits, or, for words rare among the open conversations of the organization `rare_in`, a
/// lookup in the set of their entries, read once.
///
/// The signature is on the row the walk reads anyway, and its words' bits are computed once per
/// statement (the scalar subquery is an init plan, whatever the plan's parameters): a walk for a
/// common word then probes its matches and the few rows that share their bit, not every row
/// (`knee`, My Clinic's newest 1,000 rows: 96 probes instead of 1,000; BENCHMARKS.md item 36).
///
/// `OFFSET 0` keeps the probe one per row: without it PostgreSQL may turn it into a hash of
/// every conversation with the word, built before the walk — 8 ms for a word in 10,000
/// conversations, where the walk tests a few hundred rows. For rare words that hash is what
/// pays, as a walk for them reads its whole part of the tab: a caseload's walk for `password`
/// (288 entries) tested 724 rows in 1.9 ms with a probe each and in 0.6 ms against the set, where
/// `exercises` (8,146 entries) found its page after 167 rows in 0.7 ms with probes and took 2.0
/// ms with the set (BENCHMARKS.md item 34). The set is a subquery of no outer column under an
/// `OR` (the patient's name), so PostgreSQL keeps it a subplan, never a join that could lead
/// the walk, and hashes it once it expects more than a few rows to test (a caseload's hundreds).
fn open_word_lookup(rare_in: Option<&str>, word: &SearchTerms) -> Fragment<Bool> {
    match rare_in {
        Some(organization_id) => {
            fragment("conversations.id IN (SELECT words.conversation_id FROM ")
                .then(open_word_entries_of(organization_id, word))
                .sql(")")
        }
        None => fragment(
            "(conversations.lexemes_signature & (SELECT signature_of_lexemes(tsvector_to_array(\
             to_tsvector('english', ",
        )
        .bind::<Text, _>(word.0.join(" "))
        .sql(
            "))))) <> B'0'::BIT(512) AND EXISTS (SELECT 1 FROM open_conversation_lexemes AS \
             words WHERE words.organization_id = conversations.organization_id AND \
             words.conversation_id = conversations.id AND ",
        )
        .then(open_word_is_one_of(word.0.join(" ")))
        .sql(" OFFSET 0)"),
    }
}

/// Conversations (PostgreSQL) whose copy of their patient's name (migration 5) matches as
/// [`patient_name_matches`] does.
fn conversation_patient_name_matches(terms: &SearchTerms) -> Fragment<Bool> {
    fragment("conversations.patient_name_lexemes @@ to_tsquery('simple', ")
        .bind::<Text, _>(terms.tsquery(PATIENT_NAMES.prefix, Words::All))
        .sql(")")
}

/// Which conversations a search tests, and so where it reads their words (PostgreSQL; SQLite's
/// FTS5 reads them one way).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tested<'a> {
    /// Closed conversations: their own lexeme column (migration 6).
    Closed,
    /// Open conversations, whose words are in the word table (migration 9). Each tested row
    /// looks them up there, or, when they are rare among the open conversations of the
    /// organization `rare_in`, in a set of their entries read once (see [`open_word_lookup`]).
    Open { rare_in: Option<&'a str> },
}

impl From<Status> for Tested<'_> {
    fn from(status: Status) -> Self {
        match status {
            Status::Closed => Tested::Closed,
            Status::Open => Tested::Open { rare_in: None },
        }
    }
}

/// Conversations whose messages (acknowledgments aside: every conversation has the same ones)
/// hold, between them, every word in some form, or whose patient's name has every word as the
/// start of a name part. A thread is what staff look for, so "knee swollen" finds the one where
/// the patient named the knee in one message and the swelling in the next. Only conversations of
/// the `tested` status match: PostgreSQL keeps the words of open and closed ones apart.
pub fn conversation_matches(
    backend: Backend,
    terms: &SearchTerms,
    tested: Tested<'_>,
) -> Condition<conversations::table> {
    match backend {
        Backend::Postgres => {
            let in_patient_name = conversation_patient_name_matches(terms);
            let in_messages: Condition<conversations::table> = match tested {
                // The lexeme column lets the planner walk the tab's index testing each row, which
                // finds a page of a common word at once; its GIN index lets it start from the
                // matches of a rare word instead.
                Tested::Closed => Box::new(
                    fragment::<Bool>("conversations.message_lexemes @@ to_tsquery('english', ")
                        .bind::<Text, _>(terms.tsquery(false, Words::All))
                        .sql(")"),
                ),
                // Open conversations keep their words in a table (migration 9): each word is
                // looked up on its own. A stop word, which `to_tsquery` drops, asks for nothing,
                // and a search of stop words alone finds nothing, as with closed conversations.
                Tested::Open { rare_in } => {
                    let any_word: Condition<conversations::table> = Box::new(
                        fragment::<Bool>("numnode(to_tsquery('english', ")
                            .bind::<Text, _>(terms.tsquery(false, Words::All))
                            .sql(")) > 0"),
                    );
                    terms.each_word().fold(any_word, |all, word| {
                        let has_word = fragment::<Bool>("(to_tsvector('english', ")
                            .bind::<Text, _>(word.0.join(" "))
                            .sql(") = ''::tsvector OR ")
                            .then(open_word_lookup(rare_in, &word))
                            .sql(")");
                        Box::new(all.and(has_word))
                    })
                }
            };
            Box::new(in_messages.or(in_patient_name))
        }
        // FTS5 indexes messages, so every word is looked up on its own and the conversations
        // that have them all are kept.
        Backend::Sqlite => {
            let in_messages = terms
                .each_word()
                .map(|word| -> Condition<conversations::table> {
                    Box::new(
                        fragment::<Bool>(format!(
                            "conversations.id IN (SELECT messages.conversation_id FROM messages \
                             WHERE messages.kind <> '{}' AND ",
                            message_kind::ACKNOWLEDGMENT
                        ))
                        .then(matches(backend, &word, &MESSAGE_BODIES, Words::All))
                        .sql(")"),
                    )
                })
                .reduce(|all, next| Box::new(all.and(next)));
            let in_patient_name: Condition<conversations::table> = Box::new(
                fragment::<Bool>(
                    "conversations.patient_id IN (SELECT patients.id FROM patients WHERE ",
                )
                .then(patient_name_matches(backend, terms))
                .sql(")"),
            );
            match in_messages {
                Some(in_messages) => Box::new(in_messages.or(in_patient_name)),
                None => in_patient_name,
            }
        }
    }
}

/// Open conversations of the organization (PostgreSQL) that may match: those with a message
/// holding one of the words, from the word table of migration 9, and those of a patient whose
/// name has every word. Both lists are read once, so the planner starts from them and the
/// conversations' own indexes instead of walking a tab; the match itself is still
/// [`conversation_matches`].
pub fn open_candidates(
    organization_id: &str,
    terms: &SearchTerms,
) -> Condition<conversations::table> {
    Box::new(
        fragment::<Bool>("(conversations.id = ANY(ARRAY(SELECT words.conversation_id FROM ")
            .then(open_word_entries_of(organization_id, terms))
            .sql(
                ")) OR conversations.patient_id = ANY(ARRAY(SELECT id FROM patients \
                 WHERE organization_id = ",
            )
            .bind::<Text, _>(organization_id.to_owned())
            .sql(" AND ")
            .then(patient_name_matches(Backend::Postgres, terms))
            .sql(")))"),
    )
}

/// The lexeme PostgreSQL's English configuration makes of the words, as both word tables
/// (migrations 9 and 13) hold it, when they make exactly one: all are forms of one word, or
/// stop words beside it.
pub fn single_english_lexeme(
    conn: &mut DbConnection,
    terms: &SearchTerms,
) -> Result<Option<String>, diesel::result::Error> {
    diesel::select(
        fragment::<Nullable<Text>>(
            "(SELECT CASE WHEN cardinality(lexemes) = 1 THEN lexemes[1] END \
             FROM tsvector_to_array(to_tsvector('english', ",
        )
        .bind::<Text, _>(terms.0.join(" "))
        .sql(")) AS lexemes)"),
    )
    .get_result(conn)
}

/// Closed conversations of the organization (PostgreSQL) that may match one lexeme: the
/// `limit` newest with the lexeme in the word table of migration 13 (after `after`, and of
/// `team` when the caller sees one team only), which are one index range, read in the closed
/// tab's order; and those of a patient whose name has every word, from the closed GIN index of
/// names. The caller filters and orders by exactly these, or the limit would cut matches off;
/// the match itself is still [`conversation_matches`].
pub fn closed_candidates(
    organization_id: &str,
    team: Option<Team>,
    lexeme: &str,
    after: Option<&ActivityKey>,
    terms: &SearchTerms,
    limit: i64,
) -> Condition<conversations::table> {
    let mut entries = fragment::<Bool>(
        "(conversations.id = ANY(ARRAY(SELECT entries.conversation_id \
         FROM closed_conversation_lexemes AS entries WHERE entries.organization_id = ",
    )
    .bind::<Text, _>(organization_id.to_owned())
    .sql(" AND entries.lexeme = ")
    .bind::<Text, _>(lexeme.to_owned());
    if let Some(team) = team {
        entries = entries
            .sql(" AND entries.team = ")
            .bind::<Text, _>(team.as_str().to_owned());
    }
    if let Some(after) = after {
        entries = entries
            .sql(" AND (entries.last_activity_at, entries.conversation_id) < (")
            .bind::<Timestamp, _>(after.last_activity_at)
            .sql(", ")
            .bind::<Text, _>(after.id.clone())
            .sql(")");
    }
    Box::new(
        entries
            .sql(" ORDER BY entries.last_activity_at DESC, entries.conversation_id DESC LIMIT ")
            .bind::<BigInt, _>(limit)
            .sql(")) OR ")
            .then(conversation_patient_name_matches(terms))
            .sql(")"),
    )
}

/// How many (conversation, word) entries of the organization's open conversations hold one of
/// the words in some form, counted up to `at_most` (PostgreSQL's word table of migration 9). It
/// tells a search whether a word is rare enough to start from its matches.
pub fn open_word_entries(
    conn: &mut DbConnection,
    organization_id: &str,
    terms: &SearchTerms,
    at_most: i64,
) -> Result<i64, diesel::result::Error> {
    diesel::select(
        fragment::<BigInt>("(SELECT count(*) FROM (SELECT 1 FROM ")
            .then(open_word_entries_of(organization_id, terms))
            .sql(" LIMIT ")
            .bind::<BigInt, _>(at_most)
            .sql(") AS entries)"),
    )
    .get_result(conn)
}

/// For each `conversations` row, its latest message (acknowledgments aside) that holds one of
/// the words in some form, as [`excerpt_of`] takes it: on PostgreSQL the whole text, on SQLite
/// FTS5's excerpt; NULL when none does.
///
/// The conversation's messages are read newest first through its index of messages and the
/// reading stops at the first match. On PostgreSQL the newest-first rows are a subquery that
/// `OFFSET 0` keeps whole, so that no index of the words can stand in for that reading: when
/// messages had one (migration 12 dropped it), a rare word let the planner intersect it with the
/// conversation's index, listing every message in the database with the word for each
/// conversation of the page (`password`, a page of closed conversations: 6.5 ms against 0.5 ms;
/// BENCHMARKS.md item 18). The rows keep the name `messages`, so the match is the one every
/// message search uses.
pub fn latest_match_text(backend: Backend, terms: &SearchTerms) -> Fragment<Nullable<Text>> {
    let conversation_messages = format!(
        "FROM messages WHERE messages.conversation_id = conversations.id \
         AND messages.kind <> '{}'",
        message_kind::ACKNOWLEDGMENT
    );
    let newest_first = "ORDER BY messages.created_at DESC, messages.id DESC";
    match backend {
        Backend::Postgres => fragment(format!(
            "(SELECT messages.body FROM (SELECT messages.body, messages.body_lexemes, \
             messages.created_at, messages.id {conversation_messages} {newest_first} OFFSET 0) \
             AS messages WHERE "
        ))
        .then(message_has_any_word(backend, terms))
        .sql(format!(" {newest_first} LIMIT 1)")),
        // snippet() needs the FTS5 row of a MATCH, hence the inner correlated subquery.
        Backend::Sqlite => fragment("(SELECT (SELECT snippet(messages_fts, 0, ")
            .bind::<Text, _>(HIGHLIGHT_START.to_string())
            .sql(", ")
            .bind::<Text, _>(HIGHLIGHT_END.to_string())
            .sql(", '…', 24) FROM messages_fts WHERE messages_fts MATCH ")
            .bind::<Text, _>(terms.fts5_query(false, Words::Any))
            .sql(format!(
                " AND messages_fts.rowid = messages.rowid) {conversation_messages} AND "
            ))
            .then(message_has_any_word(backend, terms))
            .sql(format!(" {newest_first} LIMIT 1)")),
    }
}

/// The excerpt of a message [`latest_match_text`] found, matches between [`HIGHLIGHT_START`]
/// and [`HIGHLIGHT_END`]. PostgreSQL's is made here ([`crate::excerpt`]); SQLite's FTS5 made
/// its own.
pub fn excerpt_of(backend: Backend, terms: &SearchTerms, text: String) -> String {
    match backend {
        Backend::Postgres => excerpt::excerpt(&text, &terms.0),
        Backend::Sqlite => text,
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
            terms.tsquery(true, Words::All),
            "knee:* & pain:* & near:* & x:* & o:* & brien:* & 3rd:* & é:*"
        );
        assert_eq!(
            terms.fts5_query(false, Words::All),
            r#""knee" "pain" "near" "x" "o" "brien" "3rd" "é""#
        );
        assert_eq!(
            terms.tsquery(false, Words::Any),
            "knee | pain | near | x | o | brien | 3rd | é"
        );
        assert_eq!(
            terms.fts5_query(false, Words::Any),
            r#""knee" OR "pain" OR "near" OR "x" OR "o" OR "brien" OR "3rd" OR "é""#
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
