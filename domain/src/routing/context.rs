//! Whether the words around a match take it back: negated ("no chest pain", "I'm not
//! suicidal"), long past ("a seizure years ago"), naming something else ("seizure medication")
//! or resolved ("my chest pain is gone").
//!
//! Every test here errs towards keeping the match: a missed emergency costs more than a false
//! alarm, so only plain, close wording cancels a cue.
//!
//! The word lists are comma-separated phrases.

use super::text::Tokens;

const NEGATIONS: &str = "no, not, never, without, none, nor, neither, deny, denies, denied";
/// A negation followed by one of these expresses doubt or persistence, not absence: "not sure
/// but my chest hurts", "I can't stop shaking", "no idea why I can't breathe".
const NOT_NEGATING_BEFORE: &str = "sure, know, certain, tell, think, idea, doubt, matter, \
    wonder, only, just, one, way, kidding, joking, mind, stop";
/// How many words back a negation reaches: "I have not had any chest pain".
const NEGATION_REACH: usize = 5;

const RESOLUTIONS: &str = "gone, went away, resolved, disappeared, stopped, subsided, \
    cleared up, passed, healed, eased, improved, better, no longer, under control, is over, \
    was over";
/// How many words after the match a resolution may come: "chest pain from last month is
/// completely gone".
const RESOLUTION_REACH: usize = 7;
/// Words that undo a resolution anywhere in the sentence: "it went away but now it's back".
const RECURRENCES: &str = "again, came back, come back, coming back, is back, are back, \
    returned, returning, recurring, worse, worsening";

/// The distant past, or long-standing and known.
const REMOTE_PAST: &str = "well controlled, under control, always have been, always had, \
    for years, for a long time, been stable, in my teens, in my twenties, in my thirties, \
    whole life, all my life, since i was a kid, since childhood, last month, last year, month ago, \
    months ago, year ago, years ago, decades ago, years back, long ago, long time ago, as a child, \
    as a kid, as a teen, as a teenager, when i was young, when i was younger, when i was little, \
    when i was a kid, when i was a child, in the past, history of, used to, childhood";
/// Words that bring a long-past event back to now: "years ago, and again today".
const PRESENT_AGAIN: &str = "right now, just now, but now, and now, today, tonight, \
    yesterday, last night, this morning, currently";

/// Nouns that turn a cue right before them into a description: "seizure medication" is a
/// drug, "stroke survivors" are people, neither is happening now.
const QUALIFIED_NOUNS: &str = "medication, medications, medicine, medicines, meds, pill, pills, \
    drug, drugs, disorder, history, risk, risks, warning, warnings, prevention, precautions, \
    free, survivor, survivors, patient, patients, rehab, rehabilitation, recovery, awareness, \
    support, group, class, training, screening, test";

/// The lists above split into words once, when a rule set is validated, rather than for
/// every message.
#[derive(Debug, Clone)]
pub(super) struct Lexicon {
    negations: Phrases,
    not_negating_before: Phrases,
    resolutions: Phrases,
    recurrences: Phrases,
    remote_past: Phrases,
    present_again: Phrases,
    qualified_nouns: Phrases,
}

impl Default for Lexicon {
    fn default() -> Self {
        Lexicon {
            negations: Phrases::new(NEGATIONS),
            not_negating_before: Phrases::new(NOT_NEGATING_BEFORE),
            resolutions: Phrases::new(RESOLUTIONS),
            recurrences: Phrases::new(RECURRENCES),
            remote_past: Phrases::new(REMOTE_PAST),
            present_again: Phrases::new(PRESENT_AGAIN),
            qualified_nouns: Phrases::new(QUALIFIED_NOUNS),
        }
    }
}

#[derive(Debug, Clone)]
struct Phrases(Vec<Vec<&'static str>>);

impl Phrases {
    fn new(list: &'static str) -> Self {
        Phrases(
            list.split(',')
                .map(|phrase| phrase.split_ascii_whitespace().collect())
                .collect(),
        )
    }

    fn contains(&self, word: &str) -> bool {
        self.0.iter().any(|phrase| phrase.as_slice() == [word])
    }
}

/// The surroundings of the matches in one message. Sentence-wide questions are answered once
/// per sentence, so a long sentence full of cues stays linear.
pub(super) struct Context<'a> {
    tokens: &'a Tokens,
    lexicon: &'a Lexicon,
    long_past: Vec<Option<bool>>,
    recurs: Vec<Option<bool>>,
}

impl<'a> Context<'a> {
    pub(super) fn new(tokens: &'a Tokens, lexicon: &'a Lexicon) -> Self {
        let sentences = tokens
            .len()
            .checked_sub(1)
            .map_or(0, |last| tokens.token(last).sentence + 1);
        Context {
            tokens,
            lexicon,
            long_past: vec![None; sentences],
            recurs: vec![None; sentences],
        }
    }

    /// Negated before the match ("I don't have any chest pain"), placed in the distant past
    /// ("I had a seizure years ago"), or naming something else ("my seizure medication").
    pub(super) fn is_negated(&mut self, start: usize, end: usize) -> bool {
        self.negated_before(start) || self.long_past(start) || self.qualifies_noun(start, end)
    }

    /// Said to be over right after the match ("my chest pain is gone", "went away last
    /// month"), unless the sentence says it came back.
    pub(super) fn is_resolved(&mut self, start: usize, end: usize) -> bool {
        let tokens = self.tokens;
        let sentence = tokens.token(start).sentence;
        let mut negation_between = false;
        for i in end..tokens.len().min(end + RESOLUTION_REACH) {
            let token = tokens.token(i);
            if token.sentence != sentence || token.conjunction {
                break;
            }
            if self.starts_phrase(i, &self.lexicon.resolutions) {
                // "hasn't gone away", "won't stop", "is no better" keep it current.
                return !negation_between && !self.recurs(start);
            }
            negation_between |= self.lexicon.negations.contains(tokens.word(i));
        }
        false
    }

    fn negated_before(&self, start: usize) -> bool {
        let tokens = self.tokens;
        let clause = tokens.token(start).clause;
        let mut negations = 0;
        for i in (start.saturating_sub(NEGATION_REACH)..start).rev() {
            if tokens.token(i).clause != clause {
                break;
            }
            if self.lexicon.negations.contains(tokens.word(i))
                && !self
                    .lexicon
                    .not_negating_before
                    .contains(tokens.word(i + 1))
            {
                negations += 1;
            }
        }
        // "I can't walk without chest pain": two negations cancel out.
        negations % 2 == 1
    }

    fn qualifies_noun(&self, start: usize, end: usize) -> bool {
        let tokens = self.tokens;
        end < tokens.len()
            && tokens.token(end).sentence == tokens.token(start).sentence
            && self.lexicon.qualified_nouns.contains(tokens.word(end))
    }

    fn long_past(&mut self, at: usize) -> bool {
        let sentence = self.tokens.token(at).sentence;
        if let Some(known) = self.long_past[sentence] {
            return known;
        }
        let answer = self.sentence_has(at, &self.lexicon.remote_past)
            && !self.recurs(at)
            && !self.sentence_has(at, &self.lexicon.present_again);
        self.long_past[sentence] = Some(answer);
        answer
    }

    fn recurs(&mut self, at: usize) -> bool {
        let sentence = self.tokens.token(at).sentence;
        if let Some(known) = self.recurs[sentence] {
            return known;
        }
        let answer = self.sentence_has(at, &self.lexicon.recurrences);
        self.recurs[sentence] = Some(answer);
        answer
    }

    /// Whether the sentence holding token `at` contains one of `phrases`.
    fn sentence_has(&self, at: usize, phrases: &Phrases) -> bool {
        let tokens = self.tokens;
        let sentence = tokens.token(at).sentence;
        let first = (0..at)
            .rev()
            .take_while(|&i| tokens.token(i).sentence == sentence)
            .last()
            .unwrap_or(at);
        (first..tokens.len())
            .take_while(|&i| tokens.token(i).sentence == sentence)
            .any(|i| self.starts_phrase(i, phrases))
    }

    fn starts_phrase(&self, i: usize, phrases: &Phrases) -> bool {
        let tokens = self.tokens;
        phrases.0.iter().any(|phrase| {
            phrase
                .iter()
                .enumerate()
                .all(|(k, word)| i + k < tokens.len() && tokens.word(i + k) == *word)
        })
    }
}
