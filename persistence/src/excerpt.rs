//! Excerpts of a message around the words a PostgreSQL search matched, made in the server.
//!
//! `ts_headline` made them in the database: 50 per page, 0.8–2 ms of PostgreSQL's time per search
//! at 1 M messages (BENCHMARKS.md item 18), on the cores the whole server shares. Here the words
//! are recognised as PostgreSQL's `english` configuration recognises them: the same Snowball
//! English stemmer (`rust-stemmers`), its stop words, and words holding a digit kept whole, as its
//! parser's number tokens are. `tests/tests/english_lexemes.rs` holds the two to agreement on
//! the PostgreSQL the suite runs on; run it against a new major version before moving to one, as
//! PostgreSQL updates the Snowball stemmers it bundles. SQLite's FTS5 makes its own excerpts
//! (`snippet()`).

use std::collections::HashSet;
use std::sync::LazyLock;

use rust_stemmers::{Algorithm, Stemmer};

use crate::search::{words_of, HIGHLIGHT_END, HIGHLIGHT_START};

/// Words of an excerpt of a long message: about a line in the inbox, as `ts_headline`'s
/// `MaxWords=24` gave.
const EXCERPT_WORDS: usize = 24;
/// Words shown before the first match when the message is cut, so the match reads in context.
const WORDS_BEFORE_MATCH: usize = 6;
/// Marks where text was left out.
const ELLIPSIS: &str = "…";

/// PostgreSQL's `english.stop` (`tsearch_data`), which its `english` configuration does not
/// index: a stop word matches nothing, so it is never marked.
#[rustfmt::skip]
const ENGLISH_STOP_WORDS: [&str; 127] = [
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours",
    "yourself", "yourselves", "he", "him", "his", "himself", "she", "her", "hers", "herself", "it",
    "its", "itself", "they", "them", "their", "theirs", "themselves", "what", "which", "who",
    "whom", "this", "that", "these", "those", "am", "is", "are", "was", "were", "be", "been",
    "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an", "the", "and",
    "but", "if", "or", "because", "as", "until", "while", "of", "at", "by", "for", "with", "about",
    "against", "between", "into", "through", "during", "before", "after", "above", "below", "to",
    "from", "up", "down", "in", "out", "on", "off", "over", "under", "again", "further", "then",
    "once", "here", "there", "when", "where", "why", "how", "all", "any", "both", "each", "few",
    "more", "most", "other", "some", "such", "no", "nor", "not", "only", "own", "same", "so",
    "than", "too", "very", "s", "t", "can", "will", "just", "don", "should", "now",
];

static STOP_WORDS: LazyLock<HashSet<&'static str>> =
    LazyLock::new(|| ENGLISH_STOP_WORDS.into_iter().collect());

static ENGLISH: LazyLock<Stemmer> = LazyLock::new(|| Stemmer::create(Algorithm::English));

/// The form PostgreSQL's `english` configuration indexes a word (a run of letters and digits)
/// under, or `None` for a stop word, which it does not index.
pub fn english_lexeme(word: &str) -> Option<String> {
    let word = word.to_lowercase();
    if word.chars().any(|c| c.is_ascii_digit()) {
        // Its parser reads these as numbers or number-words, which the `simple` dictionary
        // keeps as they are.
        return Some(word);
    }
    if STOP_WORDS.contains(word.as_str()) {
        return None;
    }
    Some(ENGLISH.stem(&word).into_owned())
}

/// An excerpt of `text` with every word in one of the forms of `words` between
/// [`HIGHLIGHT_START`] and [`HIGHLIGHT_END`]: the whole text when it is short, otherwise
/// [`EXCERPT_WORDS`] words from a little before the first match, with an ellipsis where text was
/// left out. Words are stemmed up to the first match and within the excerpt only, so a long
/// message costs little more than a short one.
pub fn excerpt(text: &str, words: &[String]) -> String {
    let wanted: HashSet<String> = words
        .iter()
        .filter_map(|word| english_lexeme(word))
        .collect();
    let spans = word_spans(text);
    let is_match = |&(start, end): &(usize, usize)| {
        english_lexeme(&text[start..end]).is_some_and(|lexeme| wanted.contains(&lexeme))
    };
    let (first, last) = shown_words(spans.len(), spans.iter().position(is_match));
    let from = if first == 0 { 0 } else { spans[first].0 };
    let to = if last == spans.len() {
        text.len()
    } else {
        spans[last - 1].1
    };
    let mut excerpt = String::with_capacity(to - from + 16);
    if from > 0 {
        excerpt.push_str(ELLIPSIS);
    }
    let mut copied = from;
    for &(start, end) in spans[first..last].iter().filter(|span| is_match(span)) {
        excerpt.push_str(&text[copied..start]);
        excerpt.push(HIGHLIGHT_START);
        excerpt.push_str(&text[start..end]);
        excerpt.push(HIGHLIGHT_END);
        copied = end;
    }
    excerpt.push_str(&text[copied..to]);
    if to < text.len() {
        excerpt.push_str(ELLIPSIS);
    }
    excerpt
}

/// The byte ranges of the words of `text` ([`words_of`]).
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    // Each word is a slice of `text`, so its place is its distance from the start.
    let text_start = text.as_ptr() as usize;
    words_of(text)
        .map(|word| {
            let start = word.as_ptr() as usize - text_start;
            (start, start + word.len())
        })
        .collect()
}

/// The range of `count` words an excerpt shows, given the first that matched.
fn shown_words(count: usize, first_match: Option<usize>) -> (usize, usize) {
    if count <= EXCERPT_WORDS {
        return (0, count);
    }
    let last =
        (first_match.unwrap_or(0).saturating_sub(WORDS_BEFORE_MATCH) + EXCERPT_WORDS).min(count);
    (last - EXCERPT_WORDS, last)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn marked(excerpt: &str) -> String {
        excerpt
            .replace(HIGHLIGHT_START, "[")
            .replace(HIGHLIGHT_END, "]")
    }

    fn words(list: &[&str]) -> Vec<String> {
        list.iter().map(|word| (*word).to_owned()).collect()
    }

    #[test]
    fn words_are_stemmed_stop_words_dropped_and_numbers_kept_whole() {
        assert_eq!(english_lexeme("Bleeding").as_deref(), Some("bleed"));
        assert_eq!(english_lexeme("bleeds").as_deref(), Some("bleed"));
        assert_eq!(english_lexeme("generously").as_deref(), Some("generous"));
        assert_eq!(english_lexeme("The"), None);
        assert_eq!(english_lexeme("doesn"), Some("doesn".to_owned()));
        assert_eq!(english_lexeme("3rd").as_deref(), Some("3rd"));
        assert_eq!(english_lexeme("0042a81e").as_deref(), Some("0042a81e"));
    }

    #[test]
    fn a_short_message_is_shown_whole_with_every_form_of_the_words_marked() {
        let text = "My knee bleeds; it bled before. Bleeding knees!";
        assert_eq!(
            marked(&excerpt(text, &words(&["bleeding", "knee"]))),
            "My [knee] [bleeds]; it bled before. [Bleeding] [knees]!"
        );
    }

    #[test]
    fn stop_words_in_the_search_mark_nothing() {
        assert_eq!(
            marked(&excerpt("The knee is fine", &words(&["the", "is", "knee"]))),
            "The [knee] is fine"
        );
    }

    #[test]
    fn a_long_message_is_cut_around_its_first_match() {
        let text = (1..=60)
            .map(|n| {
                if n == 40 {
                    "swelling".to_owned()
                } else {
                    format!("w{n}")
                }
            })
            .collect::<Vec<_>>()
            .join(" ");
        let shown = marked(&excerpt(&text, &words(&["swollen", "swelling"])));
        assert!(shown.starts_with("…w34 w35"), "{shown}");
        assert!(shown.contains("w39 [swelling] w41"), "{shown}");
        assert!(shown.ends_with("w57…"), "{shown}");
        assert_eq!(shown.split(' ').count(), EXCERPT_WORDS, "{shown}");
    }

    #[test]
    fn a_match_near_either_end_keeps_a_full_excerpt() {
        let numbered = |range: std::ops::RangeInclusive<usize>| {
            range.map(|n| format!("w{n}")).collect::<Vec<_>>().join(" ")
        };
        let at_the_end = format!("{} knee.", numbered(1..=30));
        assert_eq!(
            marked(&excerpt(&at_the_end, &words(&["knee"]))),
            format!("…{} [knee].", numbered(8..=30))
        );
        let at_the_start = format!("Knee: {}", numbered(1..=30));
        assert_eq!(
            marked(&excerpt(&at_the_start, &words(&["knee"]))),
            format!("[Knee]: {}…", numbered(1..=23))
        );
    }

    #[test]
    fn no_match_shows_the_start() {
        let short = "Ask about the e-mail at jo@example.com";
        assert_eq!(excerpt(short, &words(&["invoice"])), short);
        let long = (1..=30)
            .map(|n| format!("w{n}"))
            .collect::<Vec<_>>()
            .join(" ");
        let shown = excerpt(&long, &words(&["invoice"]));
        assert!(shown.starts_with("w1 w2 "), "{shown}");
        assert!(shown.ends_with("w24…"), "{shown}");
    }

    #[test]
    fn text_without_words_or_beyond_ascii_is_kept_whole() {
        assert_eq!(excerpt("", &words(&["knee"])), "");
        assert_eq!(excerpt("?! …", &words(&["knee"])), "?! …");
        assert_eq!(
            marked(&excerpt(
                "Ça fait mal au genou — knee 🦵, très",
                &words(&["knee", "genou"])
            )),
            "Ça fait mal au [genou] — [knee] 🦵, très"
        );
        let long = "é ".repeat(40) + "knee ü";
        let shown = marked(&excerpt(&long, &words(&["knee"])));
        assert!(shown.starts_with("…é é"), "{shown}");
        assert!(shown.ends_with("[knee] ü"), "{shown}");
    }
}
