//! Turns free text into the tokens that rules are matched on.
//!
//! Patients type on phones: case, curly apostrophes, missing apostrophes ("cant"), accents and
//! emoji all vary. Everything that makes two spellings of the same words differ is removed here,
//! once, so the vocabulary can be written in one plain form.

/// How a token is separated from the one before it. Ordered: a sentence break is also a clause
/// break.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
enum Break {
    #[default]
    None,
    Clause,
    Sentence,
}

#[derive(Debug, Clone, Copy)]
pub(super) struct Token {
    start: usize,
    end: usize,
    /// Patterns never match across sentences.
    pub(super) sentence: usize,
    /// Negation reaches only within its clause ("No fever, but I can't breathe").
    pub(super) clause: usize,
    /// The clause starts with a contrasting word ("but", "although", "and I …"): what follows is
    /// a new statement, so a resolution cue there says nothing about what came before.
    pub(super) conjunction: bool,
}

/// Normalised tokens of one message: lowercase, accents folded, contractions expanded.
#[derive(Debug, Clone)]
pub(super) struct Tokens {
    text: String,
    tokens: Vec<Token>,
}

impl Tokens {
    pub(super) fn len(&self) -> usize {
        self.tokens.len()
    }

    pub(super) fn token(&self, i: usize) -> &Token {
        &self.tokens[i]
    }

    pub(super) fn word(&self, i: usize) -> &str {
        let t = &self.tokens[i];
        &self.text[t.start..t.end]
    }

    pub(super) fn words(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).map(|i| self.word(i))
    }
}

pub(super) fn tokenize(input: &str) -> Tokens {
    let mut builder = Builder::default();
    let mut word = String::new();
    let mut chars = input.chars().peekable();
    let mut previous: Option<char> = None;
    while let Some(c) = chars.next() {
        if c.is_ascii_alphanumeric() {
            word.push(c.to_ascii_lowercase());
        } else if c.is_alphanumeric() {
            word.extend(c.to_lowercase().map(fold_accent));
        } else if is_combining_mark(c) {
            // A decomposed accent ("e" + U+0301) must not split the word.
        } else if is_apostrophe(c) {
            if !word.is_empty() {
                word.push('\'');
            }
        } else {
            builder.flush(&mut word);
            let decimal_point = c == '.'
                && previous.is_some_and(|p| p.is_ascii_digit())
                && chars.peek().is_some_and(|n| n.is_ascii_digit());
            let boundary = match c {
                _ if decimal_point => Break::None,
                '.' | '!' | '?' | ';' | '\n' | '\r' | '。' | '¡' | '¿' => Break::Sentence,
                ',' | ':' | '(' | ')' | '[' | ']' | '"' | '“' | '”' | '—' | '–' | '…' => {
                    Break::Clause
                }
                _ => Break::None,
            };
            builder.pending = builder.pending.max(boundary);
        }
        previous = Some(c);
    }
    builder.flush(&mut word);
    builder.finish()
}

#[derive(Default)]
struct Builder {
    text: String,
    spans: Vec<(usize, usize, Break)>,
    pending: Break,
}

impl Builder {
    fn flush(&mut self, word: &mut String) {
        let trimmed = word.trim_end_matches('\'');
        if !trimmed.is_empty() {
            expand_contraction(trimmed, &mut |w| self.push(w));
        }
        word.clear();
    }

    fn push(&mut self, word: &str) {
        let start = self.text.len();
        self.text.push_str(word);
        self.spans.push((start, self.text.len(), self.pending));
        self.pending = Break::None;
    }

    fn finish(self) -> Tokens {
        let Builder { text, spans, .. } = self;
        let word = |i: usize| spans.get(i).map(|&(s, e, _)| &text[s..e]);
        let mut tokens = Vec::with_capacity(spans.len());
        let (mut sentence, mut clause) = (0, 0);
        for (i, &(start, end, boundary)) in spans.iter().enumerate() {
            let next_is_same_clause = spans.get(i + 1).is_some_and(|n| n.2 == Break::None);
            let conjunction = word(i).is_some_and(|w| {
                CONTRASTS.contains(&w)
                    || (w == "and"
                        && next_is_same_clause
                        && word(i + 1).is_some_and(|n| NEW_STATEMENT_OPENERS.contains(&n)))
            });
            if i > 0 {
                match boundary {
                    Break::Sentence => {
                        sentence += 1;
                        clause += 1;
                    }
                    Break::Clause => clause += 1,
                    Break::None if conjunction => clause += 1,
                    Break::None => {}
                }
            }
            tokens.push(Token {
                start,
                end,
                sentence,
                clause,
                conjunction,
            });
        }
        Tokens { text, tokens }
    }
}

/// Words that open a clause whose statement stands apart from the previous one.
const CONTRASTS: &[&str] = &[
    "but", "however", "although", "though", "except", "whereas", "yet", "because", "unless",
    "while",
];

/// After "and", these start a new statement ("no fever and I can't breathe") rather than
/// continue a list ("no fever and chills").
const NEW_STATEMENT_OPENERS: &[&str] = &[
    "i", "my", "me", "it", "he", "she", "they", "we", "his", "her", "their", "now", "then",
    "suddenly", "today", "also", "am", "have", "has",
];

fn expand_contraction(word: &str, emit: &mut dyn FnMut(&str)) {
    if let Some(base) = word.strip_suffix("n't") {
        emit(match base {
            "ca" => "can",
            "wo" => "will",
            "sha" => "shall",
            "ai" => "is",
            other => other,
        });
        emit("not");
        return;
    }
    if let Some((base, rest)) = word.split_once('\'') {
        let expansion = match rest {
            "m" => Some("am"),
            "re" => Some("are"),
            "ve" => Some("have"),
            "ll" => Some("will"),
            "d" => Some("would"),
            "s" if IS_CONTRACTED.contains(&base) => Some("is"),
            // Possessive: "husband's face" is about the face.
            "s" => None,
            _ => {
                emit(&word.replace('\'', ""));
                return;
            }
        };
        emit(base);
        if let Some(e) = expansion {
            emit(e);
        }
        return;
    }
    let expanded: &[&str] = match word {
        "cant" | "cannot" => &["can", "not"],
        "dont" => &["do", "not"],
        "doesnt" => &["does", "not"],
        "didnt" => &["did", "not"],
        "isnt" => &["is", "not"],
        "wasnt" => &["was", "not"],
        "arent" => &["are", "not"],
        "werent" => &["were", "not"],
        "havent" => &["have", "not"],
        "hasnt" => &["has", "not"],
        "hadnt" => &["had", "not"],
        "couldnt" => &["could", "not"],
        "wouldnt" => &["would", "not"],
        "shouldnt" => &["should", "not"],
        "wont" => &["will", "not"],
        "aint" => &["is", "not"],
        "im" => &["i", "am"],
        "ive" => &["i", "have"],
        "gonna" => &["going", "to"],
        "wanna" => &["want", "to"],
        "gotta" => &["got", "to"],
        "idk" => &["i", "do", "not", "know"],
        "u" => &["you"],
        "ur" => &["your"],
        "pls" | "plz" => &["please"],
        other => {
            emit(other);
            return;
        }
    };
    for w in expanded {
        emit(w);
    }
}

/// Words whose "'s" is "is", not a possessive.
const IS_CONTRACTED: &[&str] = &[
    "it", "that", "there", "what", "he", "she", "who", "where", "here", "how", "this",
];

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | '`' | '´' | 'ʼ' | '′')
}

fn is_combining_mark(c: char) -> bool {
    ('\u{300}'..='\u{36f}').contains(&c)
}

fn fold_accent(c: char) -> char {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ā' => 'a',
        'ç' | 'ć' | 'č' => 'c',
        'è' | 'é' | 'ê' | 'ë' | 'ē' | 'ę' => 'e',
        'ì' | 'í' | 'î' | 'ï' | 'ī' => 'i',
        'ñ' | 'ń' => 'n',
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ō' => 'o',
        'ù' | 'ú' | 'û' | 'ü' | 'ū' => 'u',
        'ý' | 'ÿ' => 'y',
        other => other,
    }
}
