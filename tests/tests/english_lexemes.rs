//! The server marks a PostgreSQL search's matches in its excerpts itself
//! (`persistence::excerpt`), so it must see a word in the form PostgreSQL's `english`
//! configuration indexes it under, or a match would go unmarked (or a stop word be marked). This
//! compares the two on every word of this repository's prose and of the clinic's routing rules.
//! PostgreSQL only: SQLite's FTS5 marks its own matches; the SQLite suite says so.

use diesel::prelude::*;
use diesel::sql_types::{Array, Text};
use http_tests::{backend_name, TEST_DATABASE_ENV};
use persistence::excerpt::english_lexeme;
use persistence::search::words_of;

/// English text of several kinds: docs, the routing rules' phrases, patients' messages.
const CORPUS: [&str; 4] = [
    include_str!("../../README.md"),
    include_str!("../../BENCHMARKS.md"),
    include_str!("../../domain/src/routing/defaults.rs"),
    include_str!("../bench/workload.lua"),
];

#[derive(QueryableByName)]
struct Indexed {
    #[diesel(sql_type = Text)]
    word: String,
    #[diesel(sql_type = Text)]
    lexemes: String,
}

#[test]
fn words_take_the_form_postgresql_indexes_them_under() {
    if backend_name() != "postgres" {
        eprintln!("english lexemes are compared in the PostgreSQL suite (INBOX_TEST_DATABASE_URL)");
        return;
    }
    let mut words: Vec<String> = CORPUS
        .iter()
        .flat_map(|text| words_of(text))
        .map(str::to_lowercase)
        .collect();
    words.sort();
    words.dedup();
    assert!(words.len() > 1_000, "a corpus of {} words", words.len());

    // The configuration is PostgreSQL's own: any database of the server has it.
    let url = std::env::var(TEST_DATABASE_ENV).unwrap();
    let mut conn = PgConnection::establish(&url).unwrap();
    let indexed: Vec<Indexed> = diesel::sql_query(
        "SELECT word, array_to_string(tsvector_to_array(to_tsvector('english', word)), ' ') \
         AS lexemes FROM unnest($1) AS word",
    )
    .bind::<Array<Text>, _>(words)
    .load(&mut conn)
    .unwrap();

    // PostgreSQL's parser reads a few runs of letters and digits as two tokens (`05e6c68`: a
    // number in scientific notation, then a word), which no excerpt marks; no run of letters
    // alone is one of them.
    let (split, single): (Vec<&Indexed>, Vec<&Indexed>) =
        indexed.iter().partition(|row| row.lexemes.contains(' '));
    let split_words: Vec<&str> = split.iter().map(|row| row.word.as_str()).collect();
    assert!(
        split_words
            .iter()
            .all(|word| word.chars().any(|c| c.is_ascii_digit())),
        "{split_words:?}"
    );
    let disagreements: Vec<String> = single
        .iter()
        .filter_map(|Indexed { word, lexemes }| {
            let ours = english_lexeme(word).unwrap_or_default();
            (ours != *lexemes).then(|| format!("{word}: PostgreSQL {lexemes:?}, ours {ours:?}"))
        })
        .collect();
    assert!(
        disagreements.is_empty(),
        "{} of {} words differ: {disagreements:#?}",
        disagreements.len(),
        single.len()
    );
    let stop_words = indexed.iter().filter(|row| row.lexemes.is_empty()).count();
    assert!(
        stop_words > 50,
        "the corpus holds stop words ({stop_words})"
    );
}
