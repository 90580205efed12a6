//! The rule set as data an admin reads and replaces, and its validated, compiled form.

use std::cmp::Reverse;
use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::context::{Context, Lexicon};
use super::matcher::{
    parse_pattern, Found, Matcher, MatcherBuilder, PatternError, MAX_PATTERN_CHARS,
    MAX_PATTERN_WORDS,
};
use super::text::{tokenize, Tokens};
use super::{defaults, Category, RoutingDecision, Team};

/// The only rule-set format this code reads.
pub(super) const RULE_SET_VERSION: u32 = 1;
/// Bounds that keep routing fast whatever an admin uploads.
const MAX_RULES: usize = 200;
const MAX_PATTERNS_PER_RULE: usize = 1000;
const MAX_RULE_ID_CHARS: usize = 64;
const MIN_WEIGHT: i64 = 1;
const MAX_WEIGHT: i64 = 10;

/// A topic needs at least this score to beat `general`, so one weak hint ("session", "sounds
/// good", "my back") does not send a greeting to Support.
const MIN_TOPIC_SCORE: i64 = 2;
/// A long message repeating one word is not more about that topic than a short one.
const MAX_COUNTED_PER_RULE: i64 = 3;

/// The categories a rule can point to, in the order that breaks a tie: clinical first, so a
/// message that is as much about a symptom as about anything else reaches the care team.
const TOPICS: [Category; 6] = [
    Category::Clinical,
    Category::CarePlan,
    Category::Tech,
    Category::Billing,
    Category::Scheduling,
    Category::Account,
];

/// The routing vocabulary, as an admin reads (`GET`) and replaces (`PUT`) it.
///
/// ```json
/// {
///   "version": 1,
///   "rules": [
///     { "id": "urgent.chest_pain", "kind": "urgent", "category": "clinical", "weight": 2,
///       "negatable": true, "resolvable": true,
///       "patterns": ["chest pain", "pain in ~ chest", "chest tight*"] },
///     { "id": "billing.keywords", "kind": "topic", "category": "billing", "weight": 3,
///       "patterns": ["invoice*", "copay", "refund*"] }
///   ]
/// }
/// ```
///
/// * `kind`: `"urgent"` rules flag the message urgent (it goes to Support at once, whatever the
///   topic); `"topic"` rules only vote for their category.
/// * `category`: `clinical`, `care_plan`, `tech`, `billing`, `scheduling` or `account`. Each
///   match of a topic rule adds `weight` (1–10) to it, at most three matches per rule. Urgent
///   rules that fire add, per category, only the largest of their weights: they say what is
///   wrong, not what the message asks. The highest total wins, a tie goes to the earlier
///   category in that list, and below 2 the message is `general`. A match hides the topic
///   matches of other rules inside it when it is urgent or longer ("chest pain" is not also a
///   clinical "pain", "payment plan" is not a care "plan").
/// * `patterns`: words matched on normalised text (lowercase, accents and punctuation removed,
///   "can't"/"cant"/"cannot" all read "can not"). A word matches itself, its plural, and — from
///   five letters — one typo (missing, extra or swapped letter, or one vowel for another). A
///   trailing `*` matches any ending, without typo tolerance. `~` stands for up to three words
///   of any kind, `...` (once per pattern) for any number of words in the same sentence, `#`
///   for a number of two or more digits. A few fillers ("my", "is", "really", "feels") may sit
///   between any two words, so `lip swollen` matches "my lips feel swollen". A word split in
///   two in the message still matches ("head set" for `headset`). Patterns never match across
///   sentences. At most 8 words and 80 characters.
/// * `negatable` (default false): a match does not count when a negation precedes it in its
///   clause ("no chest pain", "I'm not suicidal", "never had a seizure"), when its sentence
///   places it in the distant past or under long control ("years ago", "as a kid", "well
///   controlled") without bringing it back ("again", "today"), or when it describes a noun
///   ("seizure medication", "stroke survivors"). Doubt is not negation: "not sure but my chest
///   hurts" counts.
/// * `resolvable` (default false): a match followed by a resolution ("is gone", "went away",
///   "stopped", "is better") does not count. Leave it off for events — a seizure that stopped
///   still happened.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSet {
    pub version: u32,
    pub rules: Vec<Rule>,
}

/// One rule of a [`RuleSet`]. `kind` and `category` stay text here so that a wrong value is
/// reported by [`RuleSet::validate`] with the rule's id rather than as a JSON syntax error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    /// Shown to staff in `matched_rules`: lowercase letters, digits, `.`, `_`, `-`.
    pub id: String,
    pub kind: String,
    pub category: String,
    pub weight: i64,
    #[serde(default)]
    pub negatable: bool,
    #[serde(default)]
    pub resolvable: bool,
    pub patterns: Vec<String>,
}

/// Why a rule set was rejected. Nothing of a rejected set is used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum RuleSetError {
    #[error("rule set version {found} is not supported; the supported version is {supported}")]
    UnsupportedVersion { found: u32, supported: u32 },
    #[error("rule set has {count} rules, more than the maximum of {max}")]
    TooManyRules { count: usize, max: usize },
    #[error("rule number {position} has an empty id")]
    EmptyId { position: usize },
    #[error(
        "rule `{id}` has an invalid id: use at most {max} lowercase letters, digits, \
         '.', '_' or '-'"
    )]
    InvalidId { id: String, max: usize },
    #[error("rule id `{id}` is used by more than one rule")]
    DuplicateId { id: String },
    #[error("rule `{id}` has unknown kind `{kind}`; expected `urgent` or `topic`")]
    UnknownKind { id: String, kind: String },
    #[error(
        "rule `{id}` has unknown category `{category}`; expected one of clinical, care_plan, \
         tech, billing, scheduling, account"
    )]
    UnknownCategory { id: String, category: String },
    #[error("rule `{id}` has weight {weight}, outside the allowed range {min} to {max}")]
    WeightOutOfRange {
        id: String,
        weight: i64,
        min: i64,
        max: i64,
    },
    #[error("rule `{id}` has no patterns")]
    NoPatterns { id: String },
    #[error("rule `{id}` has {count} patterns, more than the maximum of {max}")]
    TooManyPatterns {
        id: String,
        count: usize,
        max: usize,
    },
    #[error(
        "rule `{id}` has pattern `{pattern}` longer than {max_words} words or {max_chars} \
         characters"
    )]
    PatternTooLong {
        id: String,
        pattern: String,
        max_words: usize,
        max_chars: usize,
    },
    #[error("rule `{id}` has invalid pattern `{pattern}`: {reason}")]
    InvalidPattern {
        id: String,
        pattern: String,
        reason: String,
    },
    #[error("rule set has no urgent rule, so no message could ever be flagged urgent")]
    NoUrgentRule,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Urgent,
    Topic,
}

#[derive(Debug, Clone)]
struct CompiledRule {
    kind: Kind,
    /// Index into [`TOPICS`].
    topic: usize,
    weight: i64,
    negatable: bool,
    resolvable: bool,
}

/// A rule set that passed [`RuleSet::validate`], with its patterns compiled. The only way to
/// route a message, so no message is ever routed by a half-valid set.
#[derive(Debug, Clone)]
pub struct ValidatedRuleSet {
    source: RuleSet,
    rules: Vec<CompiledRule>,
    matcher: Matcher,
    lexicon: Lexicon,
}

impl RuleSet {
    /// The rules that ship with the code.
    pub fn default_rules() -> RuleSet {
        defaults::rule_set()
    }

    /// Checks the whole set and compiles it; the first fault found is returned.
    pub fn validate(self) -> Result<ValidatedRuleSet, RuleSetError> {
        if self.version != RULE_SET_VERSION {
            return Err(RuleSetError::UnsupportedVersion {
                found: self.version,
                supported: RULE_SET_VERSION,
            });
        }
        if self.rules.len() > MAX_RULES {
            return Err(RuleSetError::TooManyRules {
                count: self.rules.len(),
                max: MAX_RULES,
            });
        }
        let mut builder = MatcherBuilder::default();
        let mut rules = Vec::with_capacity(self.rules.len());
        let mut seen = HashSet::new();
        for (index, rule) in self.rules.iter().enumerate() {
            rules.push(compile_rule(index, rule, &mut builder)?);
            if !seen.insert(rule.id.as_str()) {
                return Err(RuleSetError::DuplicateId {
                    id: rule.id.clone(),
                });
            }
        }
        if !rules.iter().any(|r| r.kind == Kind::Urgent) {
            return Err(RuleSetError::NoUrgentRule);
        }
        Ok(ValidatedRuleSet {
            source: self,
            rules,
            matcher: builder.build(),
            lexicon: Lexicon::default(),
        })
    }
}

fn compile_rule(
    index: usize,
    rule: &Rule,
    builder: &mut MatcherBuilder,
) -> Result<CompiledRule, RuleSetError> {
    let id = || rule.id.clone();
    if rule.id.trim().is_empty() {
        return Err(RuleSetError::EmptyId {
            position: index + 1,
        });
    }
    let id_chars_ok = rule
        .id
        .chars()
        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'));
    if !id_chars_ok || rule.id.chars().count() > MAX_RULE_ID_CHARS {
        return Err(RuleSetError::InvalidId {
            id: id(),
            max: MAX_RULE_ID_CHARS,
        });
    }
    let kind = match rule.kind.as_str() {
        "urgent" => Kind::Urgent,
        "topic" => Kind::Topic,
        _ => {
            return Err(RuleSetError::UnknownKind {
                id: id(),
                kind: rule.kind.clone(),
            })
        }
    };
    let topic = Category::parse(&rule.category)
        .and_then(|category| TOPICS.iter().position(|t| *t == category))
        .ok_or_else(|| RuleSetError::UnknownCategory {
            id: id(),
            category: rule.category.clone(),
        })?;
    if !(MIN_WEIGHT..=MAX_WEIGHT).contains(&rule.weight) {
        return Err(RuleSetError::WeightOutOfRange {
            id: id(),
            weight: rule.weight,
            min: MIN_WEIGHT,
            max: MAX_WEIGHT,
        });
    }
    if rule.patterns.is_empty() {
        return Err(RuleSetError::NoPatterns { id: id() });
    }
    if rule.patterns.len() > MAX_PATTERNS_PER_RULE {
        return Err(RuleSetError::TooManyPatterns {
            id: id(),
            count: rule.patterns.len(),
            max: MAX_PATTERNS_PER_RULE,
        });
    }
    for pattern in &rule.patterns {
        let pieces = parse_pattern(pattern).map_err(|error| match error {
            PatternError::TooLong => RuleSetError::PatternTooLong {
                id: id(),
                pattern: shorten(pattern),
                max_words: MAX_PATTERN_WORDS,
                max_chars: MAX_PATTERN_CHARS,
            },
            PatternError::Invalid(reason) => RuleSetError::InvalidPattern {
                id: id(),
                pattern: shorten(pattern),
                reason,
            },
        })?;
        builder.add(index, &pieces);
    }
    Ok(CompiledRule {
        kind,
        topic,
        weight: rule.weight,
        negatable: rule.negatable,
        resolvable: rule.resolvable,
    })
}

/// Overlapping matches of one rule ("my plan", "plan") are one mention. `group` is sorted by
/// start, longest first.
fn mentions(group: &[&Found]) -> i64 {
    let mut mentions = 0;
    let mut covered_to = 0;
    for f in group {
        if f.start >= covered_to {
            mentions += 1;
            covered_to = f.end;
        }
    }
    mentions
}

/// Keeps an error message one readable line even for a pasted paragraph.
fn shorten(pattern: &str) -> String {
    const SHOWN: usize = 40;
    if pattern.chars().count() <= SHOWN {
        pattern.to_string()
    } else {
        let head: String = pattern.chars().take(SHOWN).collect();
        format!("{head}…")
    }
}

impl ValidatedRuleSet {
    /// The rule set as given, for an admin to read back.
    pub fn rules(&self) -> &RuleSet {
        &self.source
    }

    /// Classifies one patient message. Never fails: text that matches nothing is `general`.
    pub fn route(&self, text: &str) -> RoutingDecision {
        let tokens = tokenize(text);
        let found = self.matcher.find(&tokens);
        let standing = self.standing(&tokens, &found);
        // Only urgent or multi-word matches can hide others; usually there are few.
        let hiders: Vec<&Found> = standing
            .iter()
            .copied()
            .filter(|f| self.rules[f.rule].kind == Kind::Urgent || f.end - f.start > 1)
            .collect();
        let mut counted: Vec<&Found> = standing
            .into_iter()
            .filter(|f| !hiders.iter().any(|other| self.hides(other, f)))
            .collect();
        counted.sort_by_key(|f| (f.rule, f.start, Reverse(f.end)));

        let mut scores = [0_i64; TOPICS.len()];
        // Urgent cues say what is wrong, not what the message asks: per category they vote
        // once, with the weight of the strongest, however many of them fire.
        let mut urgent_votes = [0_i64; TOPICS.len()];
        let mut urgent = false;
        let mut matched_rules = Vec::new();
        for group in counted.chunk_by(|a, b| a.rule == b.rule) {
            let Some(first) = group.first() else { continue };
            let rule = &self.rules[first.rule];
            match rule.kind {
                Kind::Urgent => {
                    urgent = true;
                    urgent_votes[rule.topic] = urgent_votes[rule.topic].max(rule.weight);
                }
                Kind::Topic => {
                    scores[rule.topic] += rule.weight * mentions(group).min(MAX_COUNTED_PER_RULE);
                }
            }
            matched_rules.push(self.source.rules[first.rule].id.clone());
        }

        let mut category = Category::General;
        let mut best = MIN_TOPIC_SCORE - 1;
        for ((topic, score), vote) in TOPICS.into_iter().zip(scores).zip(urgent_votes) {
            if score + vote > best {
                best = score + vote;
                category = topic;
            }
        }
        RoutingDecision {
            team: if urgent {
                Team::Support
            } else {
                category.team()
            },
            urgent,
            category,
            matched_rules,
        }
    }

    /// The matches that the words around them do not take back.
    fn standing<'f>(&self, tokens: &Tokens, found: &'f [Found]) -> Vec<&'f Found> {
        let mut context = Context::new(tokens, &self.lexicon);
        found
            .iter()
            .filter(|f| {
                let rule = &self.rules[f.rule];
                let negated = rule.negatable && context.is_negated(f.start, f.end);
                let resolved = rule.resolvable && context.is_resolved(f.start, f.end);
                !negated && !resolved
            })
            .collect()
    }

    /// Whether match `a` hides topic match `b` inside it: an urgent cue hides the topic words
    /// it is made of ("chest pain" is not also a clinical-topic "pain"), and a longer topic
    /// phrase hides a shorter one of another rule ("payment plan" is not a care "plan").
    fn hides(&self, a: &Found, b: &Found) -> bool {
        let (kind_a, kind_b) = (self.rules[a.rule].kind, self.rules[b.rule].kind);
        a.rule != b.rule
            && kind_b == Kind::Topic
            && a.start <= b.start
            && b.end <= a.end
            && (kind_a == Kind::Urgent || a.end - a.start > b.end - b.start)
    }
}
