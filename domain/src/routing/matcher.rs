//! Compiled patterns and the search for them in a tokenised message.
//!
//! Every distinct pattern word is put once into a byte trie, so each token is looked up in one
//! walk whatever the number of rules; the same walk continued into the next token finds words
//! split in two ("head set", "log in", "co-pay"). Patterns are indexed by their first word, so
//! only patterns that can start at a token are tried there.

use std::collections::HashMap;

use super::text::{tokenize, Tokens};

/// Words a pattern may skip between two of its own words ("my lips feel swollen" matches
/// "lip swollen"), so patterns need not list every filler.
const FILLERS: &str = "a an the my his her their our your its this that is are was were am be \
    been being will would can could does did has feel feels felt feeling really very so too just \
    quite pretty kind sort bit little now still all getting gets got keep keeps kept suddenly \
    badly super extremely severely completely totally him them left right upper lower whole \
    entire both real";
/// At most this many fillers between two words of a pattern.
const MAX_FILLERS: usize = 2;
/// Words a `~` in a pattern stands for, at most.
const MAX_GAP: usize = 3;
/// Typo tolerance starts at this length: shorter words have too many real-word neighbours.
const MIN_FUZZY_LEN: usize = 5;
const MIN_PREFIX_LEN: usize = 3;
pub(super) const MAX_PATTERN_CHARS: usize = 80;
pub(super) const MAX_PATTERN_WORDS: usize = 8;

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(super) enum WordKey {
    /// The word, its plural, or (from 5 letters) one typo away.
    Exact(String),
    /// Any token starting with this; no typo tolerance, which is how a vocabulary avoids
    /// real-word neighbours ("chok*" must not match "cooking").
    Prefix(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Piece {
    Word(WordKey),
    Number,
    Gap,
    Far,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum PatternError {
    TooLong,
    Invalid(String),
}

/// Parses `chest tight*`, `pain in ~ chest`, `fell ... not get up`, `took # ~ pill`: words
/// separated by spaces, a trailing `*` for a prefix, `~` for up to three arbitrary words, `...`
/// for any number of words in the same sentence, `#` for a number of two or more digits (a
/// count that is large, "took 20 pills", unlike "took 2 pills"). Words are normalised like
/// message text, so "can't" in a pattern is "can not" as in a message.
pub(super) fn parse_pattern(pattern: &str) -> Result<Vec<Piece>, PatternError> {
    if pattern.chars().count() > MAX_PATTERN_CHARS {
        return Err(PatternError::TooLong);
    }
    let invalid = |reason: String| Err(PatternError::Invalid(reason));
    let mut pieces = Vec::new();
    for raw in pattern.split_whitespace() {
        if raw == "#" {
            if pieces.is_empty() {
                return invalid("a pattern must start with a word".to_string());
            }
            pieces.push(Piece::Number);
            continue;
        }
        let gap = match raw {
            "~" => Some(Piece::Gap),
            "..." => Some(Piece::Far),
            _ => None,
        };
        if let Some(gap) = gap {
            if !matches!(pieces.last(), Some(Piece::Word(_) | Piece::Number)) {
                return invalid(format!("`{raw}` must stand between two words"));
            }
            // Two unbounded gaps would make matching quadratic in the sentence length.
            if gap == Piece::Far && pieces.contains(&Piece::Far) {
                return invalid("a pattern may contain `...` only once".to_string());
            }
            pieces.push(gap);
            continue;
        }
        let (stem, prefix) = match raw.strip_suffix('*') {
            Some(stem) => (stem, true),
            None => (raw, false),
        };
        if stem.contains('*') || stem.contains('~') {
            return invalid(format!(
                "`{raw}`: `*` may only end a word and `~` must stand alone"
            ));
        }
        let tokens = tokenize(stem);
        let words: Vec<&str> = tokens.words().collect();
        if words.is_empty() {
            return invalid(format!("`{raw}` has no letters or digits"));
        }
        if prefix {
            match words.as_slice() {
                [one] if one.chars().count() >= MIN_PREFIX_LEN => {
                    pieces.push(Piece::Word(WordKey::Prefix((*one).to_string())));
                }
                [_] => {
                    return invalid(format!(
                        "`{raw}` needs at least {MIN_PREFIX_LEN} letters before the `*`"
                    ))
                }
                _ => return invalid(format!("`{raw}` must be a single word before the `*`")),
            }
        } else {
            pieces.extend(
                words
                    .iter()
                    .map(|w| Piece::Word(WordKey::Exact((*w).to_string()))),
            );
        }
    }
    match pieces.last() {
        None => invalid("it is empty".to_string()),
        Some(Piece::Gap | Piece::Far) => invalid("a gap must stand between two words".to_string()),
        Some(_) if words_in(&pieces) > MAX_PATTERN_WORDS => Err(PatternError::TooLong),
        Some(_) => Ok(pieces),
    }
}

fn words_in(pieces: &[Piece]) -> usize {
    pieces
        .iter()
        .filter(|p| matches!(p, Piece::Word(_) | Piece::Number))
        .count()
}

/// A pattern word or gap, with words replaced by their vocabulary id.
#[derive(Debug, Clone, Copy)]
enum Element {
    Word(u32),
    Number,
    /// Up to [`MAX_GAP`] words.
    Gap,
    /// Any number of words, within the sentence.
    Far,
}

#[derive(Debug, Clone)]
struct Pattern {
    rule: usize,
    elements: Vec<Element>,
}

#[derive(Debug, Clone, Default)]
struct Node {
    children: Vec<(u8, u32)>,
    /// Vocabulary words this node spells out completely (with plural endings).
    exact: Vec<u32>,
    /// Prefix words ending at this node.
    prefix: Vec<u32>,
    /// The node spells one of [`FILLERS`].
    filler: bool,
}

#[derive(Debug, Clone)]
struct FuzzyWord {
    id: u32,
    word: Box<[u8]>,
}

/// A pattern found in a message, as token positions `start..end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Found {
    pub(super) rule: usize,
    pub(super) start: usize,
    pub(super) end: usize,
}

#[derive(Debug, Clone)]
pub(super) struct Matcher {
    nodes: Vec<Node>,
    /// The root's children by first byte (0: none, as the root is no one's child): every token
    /// starts here, and the root has the most children.
    root: Vec<u32>,
    /// Words eligible for typo tolerance, bucketed by [`fuzzy_bucket`].
    fuzzy: Vec<Vec<FuzzyWord>>,
    patterns: Vec<Pattern>,
    by_first_word: Vec<Vec<usize>>,
}

#[derive(Debug, Default)]
pub(super) struct MatcherBuilder {
    ids: HashMap<WordKey, u32>,
    patterns: Vec<Pattern>,
}

impl MatcherBuilder {
    pub(super) fn add(&mut self, rule: usize, pieces: &[Piece]) {
        let elements = pieces
            .iter()
            .map(|piece| match piece {
                Piece::Number => Element::Number,
                Piece::Gap => Element::Gap,
                Piece::Far => Element::Far,
                Piece::Word(key) => {
                    let next = u32::try_from(self.ids.len()).unwrap_or(u32::MAX);
                    Element::Word(*self.ids.entry(key.clone()).or_insert(next))
                }
            })
            .collect();
        self.patterns.push(Pattern { rule, elements });
    }

    pub(super) fn build(self) -> Matcher {
        let mut matcher = Matcher {
            nodes: vec![Node::default()],
            root: vec![0; 256],
            fuzzy: vec![Vec::new(); FUZZY_BUCKETS],
            patterns: self.patterns,
            by_first_word: vec![Vec::new(); self.ids.len()],
        };
        for (key, &id) in &self.ids {
            match key {
                WordKey::Prefix(p) => {
                    let node = matcher.insert(p.as_bytes());
                    matcher.nodes[node].prefix.push(id);
                }
                WordKey::Exact(w) => {
                    for form in inflections(w) {
                        let node = matcher.insert(form.as_bytes());
                        matcher.nodes[node].exact.push(id);
                    }
                    let bytes = w.as_bytes();
                    if bytes.len() >= MIN_FUZZY_LEN {
                        if let Some(bucket) = fuzzy_bucket(bytes, bytes.len()) {
                            matcher.fuzzy[bucket].push(FuzzyWord {
                                id,
                                word: bytes.into(),
                            });
                        }
                    }
                }
            }
        }
        for filler in FILLERS.split_ascii_whitespace() {
            let node = matcher.insert(filler.as_bytes());
            matcher.nodes[node].filler = true;
        }
        for (index, pattern) in matcher.patterns.iter().enumerate() {
            if let Some(Element::Word(first)) = pattern.elements.first() {
                matcher.by_first_word[*first as usize].push(index);
            }
        }
        matcher
    }
}

/// The forms an exact word also matches: plurals and third-person "-s"/"-es"/"-ies".
fn inflections(word: &str) -> Vec<String> {
    let mut forms = vec![word.to_string(), format!("{word}s"), format!("{word}es")];
    if let Some(stem) = word.strip_suffix('y') {
        if stem.chars().last().is_some_and(|c| !is_vowel(c)) {
            forms.push(format!("{stem}ies"));
        }
    }
    forms
}

fn is_vowel(c: char) -> bool {
    matches!(c, 'a' | 'e' | 'i' | 'o' | 'u' | 'y')
}

impl Matcher {
    fn insert(&mut self, bytes: &[u8]) -> usize {
        let mut node = 0;
        for &b in bytes {
            node = match self.child(node, b) {
                Some(child) => child,
                None => {
                    let child = self.nodes.len();
                    self.nodes.push(Node::default());
                    let id = u32::try_from(child).unwrap_or(u32::MAX);
                    if node == 0 {
                        self.root[usize::from(b)] = id;
                    } else {
                        self.nodes[node].children.push((b, id));
                    }
                    child
                }
            };
        }
        node
    }

    fn child(&self, node: usize, byte: u8) -> Option<usize> {
        if node == 0 {
            let child = self.root[usize::from(byte)];
            return (child != 0).then_some(child as usize);
        }
        self.nodes[node]
            .children
            .iter()
            .find(|(b, _)| *b == byte)
            .map(|&(_, child)| child as usize)
    }

    /// Every occurrence of every pattern; overlapping ones included.
    pub(super) fn find(&self, tokens: &Tokens) -> Vec<Found> {
        let mut scan = Scan {
            tokens,
            hits: Vec::new(),
            starts: Vec::with_capacity(tokens.len() + 1),
            fillers: Vec::with_capacity(tokens.len()),
        };
        for i in 0..tokens.len() {
            scan.starts.push(scan.hits.len());
            let filler = self.lookup(tokens, i, &mut scan.hits);
            scan.fillers.push(filler);
        }
        scan.starts.push(scan.hits.len());

        let mut found = Vec::new();
        for start in 0..tokens.len() {
            for &(word, span) in scan.words_at(start) {
                for &index in &self.by_first_word[word as usize] {
                    let pattern = &self.patterns[index];
                    let sentence = tokens.token(start).sentence;
                    let rest = pattern.elements.get(1..).unwrap_or_default();
                    if let Some(end) = scan.match_rest(rest, start + span, sentence) {
                        found.push(Found {
                            rule: pattern.rule,
                            start,
                            end,
                        });
                    }
                }
            }
        }
        found
    }

    /// Records which vocabulary words token `i` is (span 1), or starts together with the next
    /// token (span 2); returns whether it is a filler.
    fn lookup(&self, tokens: &Tokens, i: usize, hits: &mut Vec<(u32, usize)>) -> bool {
        let before = hits.len();
        let word = tokens.word(i).as_bytes();
        let end_of_word = self.walk(0, word, 1, hits);
        if let Some(node) = end_of_word {
            hits.extend(self.nodes[node].exact.iter().map(|&id| (id, 1)));
        }
        let matched_alone = hits.len() > before;
        if let Some(node) = end_of_word {
            let next_in_sentence =
                i + 1 < tokens.len() && tokens.token(i + 1).sentence == tokens.token(i).sentence;
            if next_in_sentence {
                if let Some(joined) = self.walk(node, tokens.word(i + 1).as_bytes(), 2, hits) {
                    hits.extend(self.nodes[joined].exact.iter().map(|&id| (id, 2)));
                }
            }
        }
        // A token that is itself a known word is not a typo of another one.
        if !matched_alone {
            self.lookup_typo(word, before, hits);
            if word.len() > MIN_FUZZY_LEN {
                if let Some(singular) = word.strip_suffix(b"s") {
                    self.lookup_typo(singular, before, hits);
                }
            }
        }
        end_of_word.is_some_and(|node| self.nodes[node].filler)
    }

    /// Follows `bytes` from `node`, recording prefix words passed on the way; returns the node
    /// reached if the trie spells all of `bytes`.
    fn walk(
        &self,
        mut node: usize,
        bytes: &[u8],
        span: usize,
        hits: &mut Vec<(u32, usize)>,
    ) -> Option<usize> {
        for &b in bytes {
            node = self.child(node, b)?;
            hits.extend(self.nodes[node].prefix.iter().map(|&id| (id, span)));
        }
        Some(node)
    }

    /// Records the words `word` is one typo away from; this token's hits start at `from`.
    fn lookup_typo(&self, word: &[u8], from: usize, hits: &mut Vec<(u32, usize)>) {
        if word.len() + 1 < MIN_FUZZY_LEN || !word.is_ascii() {
            return;
        }
        let lengths = word.len() - 1..=word.len() + 1;
        let buckets = lengths.filter_map(|len| fuzzy_bucket(word, len));
        for candidate in buckets.flat_map(|bucket| &self.fuzzy[bucket]) {
            if one_typo_apart(&candidate.word, word) && !hits[from..].contains(&(candidate.id, 1)) {
                hits.push((candidate.id, 1));
            }
        }
    }
}

const MAX_FUZZY_LEN: usize = 32;
const FUZZY_BUCKETS: usize = 26 * (MAX_FUZZY_LEN + 1);

/// Where words of length `len` starting like `word` are kept for typo lookups: by first letter
/// (a typo there is rare and would widen the net too much) and length (a typo changes it by at
/// most one). Only words starting with a letter a–z have typo tolerance.
fn fuzzy_bucket(word: &[u8], len: usize) -> Option<usize> {
    let first = *word.first()?;
    (first.is_ascii_lowercase() && len <= MAX_FUZZY_LEN)
        .then(|| usize::from(first - b'a') * (MAX_FUZZY_LEN + 1) + len)
}

/// One missing, extra or swapped-adjacent letter, or one vowel written as another. Consonant
/// swaps are left out on purpose: they mostly turn one real word into another ("changed" /
/// "charged", "cancel" / "cancer", "fever" / "fewer").
fn one_typo_apart(a: &[u8], b: &[u8]) -> bool {
    if a.first() != b.first() {
        return false;
    }
    let (short, long) = if a.len() <= b.len() { (a, b) } else { (b, a) };
    match long.len() - short.len() {
        0 => {
            let Some(i) = a.iter().zip(b).position(|(x, y)| x != y) else {
                return true;
            };
            if a[i + 1..] == b[i + 1..] {
                return is_vowel(char::from(a[i])) && is_vowel(char::from(b[i]));
            }
            i + 1 < a.len() && a[i] == b[i + 1] && a[i + 1] == b[i] && a[i + 2..] == b[i + 2..]
        }
        1 => {
            let i = short
                .iter()
                .zip(long)
                .position(|(x, y)| x != y)
                .unwrap_or(short.len());
            short[i..] == long[i + 1..]
        }
        _ => false,
    }
}

/// The vocabulary words found at each token of one message.
struct Scan<'a> {
    tokens: &'a Tokens,
    /// `(word id, tokens spanned)`, grouped by token: token `i` owns
    /// `hits[starts[i]..starts[i + 1]]`.
    hits: Vec<(u32, usize)>,
    starts: Vec<usize>,
    fillers: Vec<bool>,
}

impl Scan<'_> {
    fn words_at(&self, i: usize) -> &[(u32, usize)] {
        &self.hits[self.starts[i]..self.starts[i + 1]]
    }

    fn in_sentence(&self, i: usize, sentence: usize) -> bool {
        i < self.tokens.len() && self.tokens.token(i).sentence == sentence
    }

    /// Where the rest of a pattern ends if it matches from token `pos`, within one sentence.
    fn match_rest(&self, rest: &[Element], pos: usize, sentence: usize) -> Option<usize> {
        let Some((first, tail)) = rest.split_first() else {
            return Some(pos);
        };
        let gap = match *first {
            Element::Word(word) => {
                return self.after_fillers(pos, sentence, |at| {
                    self.words_at(at)
                        .iter()
                        .filter(|&&(id, _)| id == word)
                        .find_map(|&(_, span)| self.match_rest(tail, at + span, sentence))
                })
            }
            Element::Number => {
                return self.after_fillers(pos, sentence, |at| {
                    let token = self.tokens.word(at);
                    let large = token.len() >= 2 && token.bytes().all(|b| b.is_ascii_digit());
                    large.then(|| self.match_rest(tail, at + 1, sentence))?
                })
            }
            Element::Gap => MAX_GAP,
            Element::Far => usize::MAX,
        };
        (0..=gap)
            .take_while(|&skip| skip == 0 || self.in_sentence(pos + skip - 1, sentence))
            .find_map(|skip| self.match_rest(tail, pos + skip, sentence))
    }

    /// Tries `matches_at` at `pos` and after each of up to [`MAX_FILLERS`] filler words.
    fn after_fillers(
        &self,
        pos: usize,
        sentence: usize,
        matches_at: impl Fn(usize) -> Option<usize>,
    ) -> Option<usize> {
        for skip in 0..=MAX_FILLERS {
            let at = pos + skip;
            if !self.in_sentence(at, sentence) || (skip > 0 && !self.fillers[at - 1]) {
                return None;
            }
            if let Some(end) = matches_at(at) {
                return Some(end);
            }
        }
        None
    }
}
