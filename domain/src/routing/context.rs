//! Whether the words around a match take it back: negated ("no chest pain", "I'm not
//! suicidal"), long past ("a seizure years ago") or resolved ("my chest pain is gone").
//!
//! Every test here errs towards keeping the match: a missed emergency costs more than a false
//! alarm, so only plain, close, same-clause wording cancels a cue.

use super::text::Tokens;

const NEGATIONS: &[&str] = &[
    "no", "not", "never", "without", "none", "nor", "neither", "deny", "denies", "denied",
];
/// A negation followed by one of these expresses doubt or persistence, not absence: "not sure
/// but my chest hurts", "I can't stop shaking", "no idea why I can't breathe".
const NOT_NEGATING_BEFORE: &[&str] = &[
    "sure", "know", "certain", "tell", "think", "idea", "doubt", "matter", "wonder", "only",
    "just", "one", "way", "kidding", "joking", "mind", "stop",
];
/// How many words back a negation reaches: "I have not had any chest pain".
const NEGATION_REACH: usize = 5;
/// How many words after the match a resolution may come: "chest pain from last month is
/// completely gone".
const RESOLUTION_REACH: usize = 7;

const RESOLUTIONS: &[&[&str]] = &[
    &["gone"],
    &["went", "away"],
    &["resolved"],
    &["disappeared"],
    &["stopped"],
    &["subsided"],
    &["cleared", "up"],
    &["passed"],
    &["healed"],
    &["eased"],
    &["improved"],
    &["better"],
    &["no", "longer"],
    &["under", "control"],
    &["is", "over"],
    &["was", "over"],
];

const RECURRENCES: &[&[&str]] = &[
    &["again"],
    &["came", "back"],
    &["come", "back"],
    &["coming", "back"],
    &["is", "back"],
    &["are", "back"],
    &["returned"],
    &["returning"],
    &["recurring"],
    &["worse"],
    &["worsening"],
];

const REMOTE_PAST: &[&[&str]] = &[
    &["last", "month"],
    &["last", "year"],
    &["month", "ago"],
    &["months", "ago"],
    &["year", "ago"],
    &["years", "ago"],
    &["decades", "ago"],
    &["years", "back"],
    &["long", "ago"],
    &["long", "time", "ago"],
    &["as", "a", "child"],
    &["as", "a", "kid"],
    &["as", "a", "teen"],
    &["as", "a", "teenager"],
    &["when", "i", "was", "young"],
    &["when", "i", "was", "younger"],
    &["when", "i", "was", "little"],
    &["when", "i", "was", "a", "kid"],
    &["when", "i", "was", "a", "child"],
    &["in", "the", "past"],
    &["history", "of"],
    &["used", "to"],
    &["childhood"],
];

/// Words that bring a long-past event back to now: "years ago, and again today".
const PRESENT_AGAIN: &[&[&str]] = &[
    &["right", "now"],
    &["just", "now"],
    &["today"],
    &["tonight"],
    &["yesterday"],
    &["last", "night"],
    &["this", "morning"],
    &["currently"],
];

/// Negated before the match ("I don't have any chest pain") or placed in the distant past ("I
/// had a seizure years ago").
pub(super) fn is_negated(tokens: &Tokens, start: usize) -> bool {
    negated_before(tokens, start) || long_past(tokens, start)
}

/// Said to be over right after the match ("my chest pain is gone", "went away last month").
pub(super) fn is_resolved(tokens: &Tokens, start: usize, end: usize) -> bool {
    let sentence = tokens.token(start).sentence;
    let mut negation_between = false;
    for i in end..tokens.len().min(end + RESOLUTION_REACH) {
        let token = tokens.token(i);
        if token.sentence != sentence || token.conjunction {
            break;
        }
        if starts_phrase(tokens, i, RESOLUTIONS) {
            // "hasn't gone away", "won't stop", "is no better" keep it current.
            return !negation_between && !sentence_has(tokens, start, RECURRENCES);
        }
        negation_between |= NEGATIONS.contains(&tokens.word(i));
    }
    false
}

fn negated_before(tokens: &Tokens, start: usize) -> bool {
    let clause = tokens.token(start).clause;
    let mut negations = 0;
    for i in (start.saturating_sub(NEGATION_REACH)..start).rev() {
        if tokens.token(i).clause != clause {
            break;
        }
        if NEGATIONS.contains(&tokens.word(i)) && !NOT_NEGATING_BEFORE.contains(&tokens.word(i + 1))
        {
            negations += 1;
        }
    }
    // "I can't walk without chest pain": two negations cancel out.
    negations % 2 == 1
}

fn long_past(tokens: &Tokens, start: usize) -> bool {
    sentence_has(tokens, start, REMOTE_PAST)
        && !sentence_has(tokens, start, RECURRENCES)
        && !sentence_has(tokens, start, PRESENT_AGAIN)
}

/// Whether the sentence holding token `at` contains one of `phrases`.
fn sentence_has(tokens: &Tokens, at: usize, phrases: &[&[&str]]) -> bool {
    let sentence = tokens.token(at).sentence;
    let first = (0..at)
        .rev()
        .take_while(|&i| tokens.token(i).sentence == sentence)
        .last()
        .unwrap_or(at);
    (first..tokens.len())
        .take_while(|&i| tokens.token(i).sentence == sentence)
        .any(|i| starts_phrase(tokens, i, phrases))
}

fn starts_phrase(tokens: &Tokens, i: usize, phrases: &[&[&str]]) -> bool {
    phrases.iter().any(|phrase| {
        i + phrase.len() <= tokens.len()
            && phrase
                .iter()
                .enumerate()
                .all(|(k, word)| tokens.word(i + k) == *word)
    })
}
