use std::sync::OnceLock;
use std::time::{Duration, Instant};

use super::text::tokenize;
use super::*;

fn default_rules() -> &'static ValidatedRuleSet {
    static RULES: OnceLock<ValidatedRuleSet> = OnceLock::new();
    RULES.get_or_init(|| {
        RuleSet::default_rules()
            .validate()
            .expect("default rules are valid")
    })
}

fn route(text: &str) -> RoutingDecision {
    default_rules().route(text)
}

/// Checks category and urgency, and that the team follows from them.
#[track_caller]
fn assert_routes(text: &str, category: Category, urgent: bool) {
    let decision = route(text);
    let team = if urgent {
        Team::Support
    } else {
        category.team()
    };
    assert_eq!(
        (decision.category, decision.urgent, decision.team),
        (category, urgent, team),
        "{text:?} matched {:?}",
        decision.matched_rules
    );
}

#[track_caller]
fn assert_urgent(texts: &[&str]) {
    for text in texts {
        let decision = route(text);
        assert!(
            decision.urgent && decision.team == Team::Support,
            "{text:?} should be urgent; matched {:?}",
            decision.matched_rules
        );
    }
}

#[track_caller]
fn assert_not_urgent(texts: &[&str]) {
    for text in texts {
        let decision = route(text);
        assert!(
            !decision.urgent,
            "{text:?} should not be urgent; matched {:?}",
            decision.matched_rules
        );
    }
}

fn rule(id: &str, kind: &str, category: &str, patterns: &[&str]) -> Rule {
    Rule {
        id: id.to_string(),
        kind: kind.to_string(),
        category: category.to_string(),
        weight: 3,
        negatable: true,
        resolvable: false,
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
    }
}

/// A small valid set to break one way at a time.
fn small_set() -> RuleSet {
    RuleSet {
        version: 1,
        rules: vec![
            rule("urgent.chest", "urgent", "clinical", &["chest pain"]),
            rule("billing.words", "topic", "billing", &["invoice*", "copay"]),
        ],
    }
}

#[track_caller]
fn assert_rejected(set: RuleSet, expected: RuleSetError, message_mentions: &str) {
    let error = set.validate().expect_err("the set is invalid");
    assert_eq!(error, expected);
    let message = error.to_string();
    assert!(
        message.contains(message_mentions),
        "{message:?} should mention {message_mentions:?}"
    );
}

// ---- public types -------------------------------------------------------------------------

#[test]
fn team_and_category_names_round_trip() {
    for team in [Team::CareTeam, Team::Support] {
        assert_eq!(Team::parse(team.as_str()), Some(team));
        let json = serde_json::to_string(&team).expect("serialises");
        assert_eq!(json, format!("\"{}\"", team.as_str()));
    }
    for category in Category::ALL {
        assert_eq!(Category::parse(category.as_str()), Some(category));
        let json = serde_json::to_string(&category).expect("serialises");
        assert_eq!(json, format!("\"{}\"", category.as_str()));
    }
    assert_eq!(Team::parse("Support"), None);
    assert_eq!(Category::parse("care-plan"), None);
    assert_eq!(Category::CarePlan.as_str(), "care_plan");
    assert_eq!(Team::CareTeam.as_str(), "care_team");
}

#[test]
fn each_category_names_its_team() {
    use Category::*;
    for category in [Clinical, CarePlan, General] {
        assert_eq!(category.team(), Team::CareTeam, "{category:?}");
    }
    for category in [Tech, Billing, Scheduling, Account] {
        assert_eq!(category.team(), Team::Support, "{category:?}");
    }
}

#[test]
fn decision_serialises_in_snake_case() {
    let decision = route("I was charged twice for my copay.");
    let json = serde_json::to_value(&decision).expect("serialises");
    assert_eq!(json["team"], "support");
    assert_eq!(json["category"], "billing");
    assert_eq!(json["urgent"], false);
    assert_eq!(json["matched_rules"][0], "billing.keywords");
    let back: RoutingDecision = serde_json::from_value(json).expect("parses");
    assert_eq!(back, decision);
}

// ---- topics -------------------------------------------------------------------------------

#[test]
fn clinical_messages_go_to_the_care_team() {
    for text in [
        "My ankle is swollen and bruised after I twisted it on the stairs.",
        "The new muscle relaxant makes me nauseous.",
        "I've been feeling really anxious since the accident.",
        "Should I put ice or heat on my sore hamstring?",
    ] {
        assert_routes(text, Category::Clinical, false);
    }
}

#[test]
fn care_plan_messages_go_to_the_care_team() {
    for text in [
        "Can we change my home exercise program? It's too easy now.",
        "How many reps of the bridge should I do this week?",
        "What's the next module after I finish the posture series?",
        "When should I take my medication on therapy days?",
    ] {
        assert_routes(text, Category::CarePlan, false);
    }
}

#[test]
fn tech_messages_go_to_support() {
    for text in [
        "The VR headset screen keeps flickering.",
        "Bluetooth won't connect to my controllers.",
        "The app freezes when I upload my progress video.",
    ] {
        assert_routes(text, Category::Tech, false);
    }
}

#[test]
fn billing_messages_go_to_support() {
    for text in [
        "My insurance should cover this, why did I get an invoice?",
        "Can I get a refund for last month?",
        "Is there a payment plan for the outstanding balance?",
    ] {
        assert_routes(text, Category::Billing, false);
    }
}

#[test]
fn scheduling_messages_go_to_support() {
    for text in [
        "I need to reschedule Friday's appointment.",
        "Is there any availability next Tuesday afternoon?",
        "Please cancel my session tomorrow.",
    ] {
        assert_routes(text, Category::Scheduling, false);
    }
}

#[test]
fn account_messages_go_to_support() {
    for text in [
        "How do I change the email address on my profile?",
        "I'm locked out of my account after too many attempts.",
        "Can my husband get access to my account as a caregiver?",
    ] {
        assert_routes(text, Category::Account, false);
    }
}

#[test]
fn nothing_matched_is_general_for_the_care_team() {
    for text in [
        "",
        "   \n\t ",
        "Hello?",
        "Thanks so much!",
        "😊🙏",
        "?!...,,;;",
        "Good morning, see you soon.",
        "Merci beaucoup pour votre aide",
        "谢谢你的帮助",
    ] {
        assert_routes(text, Category::General, false);
        assert!(route(text).matched_rules.is_empty(), "{text:?}");
    }
    // One weak hint ("sound" is a tech word) is not enough to leave the care team.
    let decision = route("Sounds good, see you then");
    assert_eq!(decision.category, Category::General);
    assert_eq!(decision.matched_rules, ["tech.devices"]);
}

#[test]
fn the_main_ask_decides_a_mixed_topic() {
    // A symptom in a conditional question is the point of the question.
    assert_routes(
        "Do I need to reschedule if my knee is still sore?",
        Category::Clinical,
        false,
    );
    // A passing mention of the app is not a tech question.
    assert_routes(
        "I feel a little dizzy after taking the headset off.",
        Category::Clinical,
        false,
    );
    assert_routes(
        "The app froze when I tried to log my pain score.",
        Category::Tech,
        false,
    );
    // A longer phrase hides the shorter word of another topic inside it.
    assert_routes(
        "I'd like to focus more on pain management in my plan.",
        Category::CarePlan,
        false,
    );
    assert_routes("Can I set up a payment plan?", Category::Billing, false);
    assert_routes(
        "Why was I billed for a session I cancelled?",
        Category::Billing,
        false,
    );
}

// ---- urgency ------------------------------------------------------------------------------

#[test]
fn safety_cues_are_urgent() {
    assert_urgent(&[
        "I don't want to live anymore.",
        "I've been thinking about ending it.",
        "I keep thinking about hurting myself.",
        "Everyone would be better off dead without me, I'd be better off dead.",
        "I want to kill myself.",
        "I have crushing chest pain.",
        "There is pressure in my chest.",
        "I can't breathe.",
        "I'm short of breath and my throat is swelling.",
        "His face is drooping and his speech is slurred.",
        "I suddenly feel weak on one side.",
        "My wound is bleeding a lot and won't stop.",
        "I fell and I can't get up.",
        "I passed out and hit my head, now I'm confused.",
        "My son is having a seizure.",
        "I took too many pills on purpose.",
        "My partner hits me and I'm scared to go home.",
        "My toddler drank some bleach.",
        "I think I'm having a severe allergic reaction.",
        "High fever and a stiff neck since this morning.",
        "My blood sugar is really low and I'm shaking.",
        "My husband is not responding.",
        "My grandfather tripped and now he can't move his leg.",
        "I just took 20 of my sleeping pills.",
        "My partner is going to hurt me, I'm scared.",
    ]);
}

#[test]
fn urgent_messages_keep_their_topic() {
    let decision = route("Billing question, but first: I have sudden severe chest pain right now.");
    assert_eq!(decision.category, Category::Billing);
    assert!(decision.urgent);
    assert_eq!(decision.team, Team::Support);
    assert!(decision
        .matched_rules
        .contains(&"urgent.chest_pain".to_string()));
    assert!(decision
        .matched_rules
        .contains(&"billing.explicit".to_string()));

    assert_routes(
        "I have crushing chest pain and my left arm is numb.",
        Category::Clinical,
        true,
    );
    assert_routes(
        "The app keeps crashing and I think I'm having a seizure right now.",
        Category::Tech,
        true,
    );
    assert_routes(
        "Can I reschedule? I fainted at work today and hit my head.",
        Category::Scheduling,
        true,
    );
    assert_routes(
        "Please reset my password. Also my husband hits me when he's drunk.",
        Category::Account,
        true,
    );
}

#[test]
fn negated_cues_are_not_urgent() {
    assert_not_urgent(&[
        "No chest pain today.",
        "I don't have chest pain, just a sore shoulder.",
        "I'm not suicidal, just tired.",
        "I have never had a seizure.",
        "I would never hurt myself.",
        "I'm not having any trouble breathing.",
        "I haven't passed out or anything.",
        "No shortness of breath.",
        "I didn't fall, I just lost my balance.",
    ]);
}

#[test]
fn resolved_and_long_past_cues_are_not_urgent() {
    assert_not_urgent(&[
        "My chest pain is gone.",
        "The chest pain went away last month.",
        "My chest pain from last month is completely gone, thanks.",
        "The heavy bleeding has stopped now.",
        "I had a seizure years ago, is VR safe for me?",
        "I used to have suicidal thoughts but I'm doing much better now.",
        "I have a history of seizures.",
        "My old seizure medication makes me sleepy.",
        "I'm a stroke survivor, can VR help my balance?",
        "My seizures have been well controlled for five years.",
        "I've been a little short of breath on stairs all my life.",
    ]);
}

#[test]
fn doubt_and_persistence_stay_urgent() {
    assert_urgent(&[
        "I think I'm having chest pain.",
        "Not sure but my chest hurts.",
        "I don't know if it's serious but his face is drooping.",
        "No fever, but I can't breathe.",
        "My chest pain went away but now it's back.",
        "My chest pain hasn't gone away.",
        "I can't walk without chest pain.",
        "I can't stop the bleeding.",
        "He had a seizure, it stopped after a minute.",
        "Never had chest pain before, but now my chest is very tight.",
        "I had a seizure last month and another one today.",
    ]);
}

#[test]
fn misspellings_and_casual_typing_still_match() {
    assert_urgent(&[
        "I'm having trouble brething",
        "I think I had a siezure",
        "feeling sucidal tonight",
        "I CAN’T BREATHE",
        "i cant breath",
        "im bleding a lot",
        "really bad chest presure rn",
        "chest pian and my arm is numb",
    ]);
    assert_routes(
        "I need to move my appointement.",
        Category::Scheduling,
        false,
    );
    assert_routes(
        "Can I change my apointment time?",
        Category::Scheduling,
        false,
    );
    assert_routes("How do I reset my pasword?", Category::Account, false);
    assert_routes("My dizzyness is worse today.", Category::Clinical, false);
    assert_routes("The head set won't turn on.", Category::Tech, false);
    assert_routes("Whats my co-pay for this?", Category::Billing, false);
}

#[test]
fn everyday_words_near_a_cue_are_not_urgent() {
    assert_not_urgent(&[
        "I was cooking dinner when the app crashed.",
        "The app keeps crashing.",
        "The headset screen blacked out.",
        "I fell asleep during the relaxation session.",
        "The headset fell off the table and the lens is scratched.",
        "I hurt myself doing lunges, my knee is sore.",
        "It hurts me to bend my knee.",
        "How do I update my emergency contact?",
        "Thanks, my stroke rehab is going well.",
        "I have a question about the breathing exercises.",
        "I get a bit out of breath on the bike, is that normal?",
        "The app is not responding.",
        "The app is unresponsive after the update.",
        "I just took 2 of my pain pills before the session.",
        "She said the new exercise might hurt me a little at first.",
    ]);
    assert_routes("The app is not responding.", Category::Tech, false);
    // "changed" is one letter from "charged", "messages" one from "massage".
    assert_routes("I changed my password last week.", Category::Account, false);
    assert_routes(
        "Can I give my wife access to my messages?",
        Category::Account,
        false,
    );
}

#[test]
fn matched_rules_explain_the_decision() {
    let decision = route("The app crashes and I was charged twice.");
    assert_eq!(
        decision.matched_rules,
        ["tech.problems", "tech.devices", "billing.keywords"]
    );
    assert!(route("Hello!").matched_rules.is_empty());
    // A negated cue is not reported as fired.
    let negated = route("No chest pain.");
    assert!(!negated
        .matched_rules
        .iter()
        .any(|id| id.starts_with("urgent.")));
}

#[test]
fn odd_input_never_panics() {
    let long = "my knee hurts and the app crashed. ".repeat(3_000);
    let nul_and_controls = "\u{0}\u{7}\u{1b}[31m chest\u{0}pain \u{feff}";
    let decomposed_accent = "cafe\u{301} pa\u{301}in";
    for text in [
        long.as_str(),
        nul_and_controls,
        decomposed_accent,
        "İstanbul'da ağrım var",
        "'''''",
        "can't'",
        "'s",
        "n't",
        "3.5 / 10 pain",
        "~ ... # * ",
        "💥💥 chest 💥 pain 💥",
    ] {
        let _ = route(text);
    }
    assert!(route(&long)
        .matched_rules
        .contains(&"tech.problems".to_string()));
}

#[test]
fn routing_a_long_message_is_fast() {
    let mut message = String::new();
    while message.len() < 2048 {
        message.push_str(
            "Hi, my knee has been sore after the exercises and the app crashed twice when I \
             tried to log my pain score. I was also charged twice this month. I don't have \
             chest pain, just stiffness. ",
        );
    }
    message.truncate(2048);
    let rules = default_rules();
    let runs = 50;
    let started = Instant::now();
    for _ in 0..runs {
        let _ = rules.route(&message);
    }
    let each = started.elapsed() / runs;
    println!("routing 2 KB took {each:?} per message");
    // Far above the release-build figure (tens of microseconds): this only catches a blow-up
    // such as quadratic matching, even in an unoptimised test build on a busy machine.
    assert!(each < Duration::from_millis(20), "{each:?}");
}

// ---- normalisation ------------------------------------------------------------------------

#[test]
fn tokens_are_normalised() {
    let tokens = tokenize("I Can’t BREATHE, I'm scared! My husband's face… Café");
    let words: Vec<&str> = tokens.words().collect();
    assert_eq!(
        words,
        ["i", "can", "not", "breathe", "i", "am", "scared", "my", "husband", "face", "cafe"]
    );
    let cannot: Vec<String> = ["cannot", "cant", "can't", "can not"]
        .iter()
        .map(|t| tokenize(t).words().collect::<Vec<_>>().join(" "))
        .collect();
    assert!(cannot.iter().all(|t| t == "can not"), "{cannot:?}");
}

// ---- rule sets as data --------------------------------------------------------------------

#[test]
fn default_rules_round_trip_through_json() {
    let original = RuleSet::default_rules();
    let json = serde_json::to_string_pretty(&original).expect("serialises");
    let parsed: RuleSet = serde_json::from_str(&json).expect("parses");
    assert_eq!(parsed, original);
    let validated = parsed.validate().expect("still valid");
    assert_eq!(validated.rules(), &original);
    for text in [
        "I have chest pain",
        "The app crashed",
        "My chest pain is gone",
        "Hello",
    ] {
        assert_eq!(validated.route(text), route(text), "{text:?}");
    }
}

#[test]
fn rule_set_json_is_simple_and_strict() {
    let json = r#"{"version": 1, "rules": [
        {"id": "urgent.chest_pain", "kind": "urgent", "category": "clinical", "weight": 2,
         "negatable": true, "patterns": ["chest pain", "pain in ~ chest"]},
        {"id": "billing.words", "kind": "topic", "category": "billing", "weight": 3,
         "patterns": ["invoice*"]}
    ]}"#;
    let set: RuleSet = serde_json::from_str(json).expect("parses");
    assert!(!set.rules[0].resolvable, "resolvable defaults to false");
    assert!(!set.rules[1].negatable, "negatable defaults to false");
    let rules = set.validate().expect("valid");
    let decision = rules.route("Question about my invoices: pain in my chest since noon");
    assert_eq!(decision.category, Category::Billing);
    assert!(decision.urgent);
    assert!(!rules.route("No chest pain, thanks").urgent);

    let unknown_field = r#"{"version": 1, "rules": [], "extra": true}"#;
    assert!(serde_json::from_str::<RuleSet>(unknown_field).is_err());
    let unknown_rule_field = r#"{"version": 1, "rules": [{"id": "a", "kind": "topic",
        "category": "tech", "weight": 1, "patterns": ["x"], "priority": 9}]}"#;
    assert!(serde_json::from_str::<RuleSet>(unknown_rule_field).is_err());
}

#[test]
fn an_edited_rule_set_changes_routing() {
    let mut set = RuleSet::default_rules();
    assert_eq!(route("My zorblat is broken").category, Category::Tech);
    set.rules
        .push(rule("clinical.zorblat", "topic", "clinical", &["zorblat"]));
    let edited = set.validate().expect("valid");
    assert_eq!(
        edited.route("My zorblat is acting up").category,
        Category::Clinical
    );
}

#[test]
fn pattern_syntax_gaps_prefixes_numbers_and_split_words() {
    let set = RuleSet {
        version: 1,
        rules: vec![
            rule("urgent.far", "urgent", "clinical", &["fell ... not get up"]),
            rule("urgent.count", "urgent", "clinical", &["took # ~ pill"]),
            rule("tech.words", "topic", "tech", &["headset", "sync*", "wifi"]),
            rule("clinical.gap", "topic", "clinical", &["pain in ~ chest"]),
        ],
    }
    .validate()
    .expect("valid");
    assert!(
        set.route("I fell in the garden this morning and I can't get up")
            .urgent
    );
    assert!(
        !set.route("I fell. Later I could not get up the hill")
            .urgent
    );
    assert!(set.route("I took 20 of my sleeping pills").urgent);
    assert!(!set.route("I took 2 of my sleeping pills").urgent);
    let tech = set.route("The head set is syncing over wi-fi");
    assert_eq!(tech.category, Category::Tech);
    assert_eq!(
        set.route("pain in the middle of my chest").category,
        Category::Clinical
    );
}

// ---- validation ---------------------------------------------------------------------------

#[test]
fn validation_names_the_faulty_rule() {
    let mut set = small_set();
    set.version = 2;
    assert_rejected(
        set,
        RuleSetError::UnsupportedVersion {
            found: 2,
            supported: 1,
        },
        "version 2",
    );

    let mut set = small_set();
    set.rules = (0..201)
        .map(|i| rule(&format!("r{i}"), "urgent", "clinical", &["x"]))
        .collect();
    assert_rejected(
        set,
        RuleSetError::TooManyRules {
            count: 201,
            max: 200,
        },
        "201 rules",
    );

    let mut set = small_set();
    set.rules[1].id = "  ".to_string();
    assert_rejected(set, RuleSetError::EmptyId { position: 2 }, "rule number 2");

    let mut set = small_set();
    set.rules[1].id = "Billing Words".to_string();
    assert_rejected(
        set,
        RuleSetError::InvalidId {
            id: "Billing Words".to_string(),
            max: 64,
        },
        "`Billing Words`",
    );

    let mut set = small_set();
    set.rules[1].id = "urgent.chest".to_string();
    assert_rejected(
        set,
        RuleSetError::DuplicateId {
            id: "urgent.chest".to_string(),
        },
        "`urgent.chest`",
    );

    let mut set = small_set();
    set.rules[1].kind = "important".to_string();
    assert_rejected(
        set,
        RuleSetError::UnknownKind {
            id: "billing.words".to_string(),
            kind: "important".to_string(),
        },
        "`important`",
    );
}

#[test]
fn validation_checks_category_weight_and_patterns() {
    for category in ["finance", "general", "Billing"] {
        let mut set = small_set();
        set.rules[1].category = category.to_string();
        assert_rejected(
            set,
            RuleSetError::UnknownCategory {
                id: "billing.words".to_string(),
                category: category.to_string(),
            },
            "rule `billing.words` has unknown category",
        );
    }

    for weight in [0, 11, -3] {
        let mut set = small_set();
        set.rules[1].weight = weight;
        assert_rejected(
            set,
            RuleSetError::WeightOutOfRange {
                id: "billing.words".to_string(),
                weight,
                min: 1,
                max: 10,
            },
            "outside the allowed range 1 to 10",
        );
    }

    let mut set = small_set();
    set.rules[1].patterns.clear();
    assert_rejected(
        set,
        RuleSetError::NoPatterns {
            id: "billing.words".to_string(),
        },
        "has no patterns",
    );

    let mut set = small_set();
    set.rules[1].patterns = vec!["bill".to_string(); 1001];
    assert_rejected(
        set,
        RuleSetError::TooManyPatterns {
            id: "billing.words".to_string(),
            count: 1001,
            max: 1000,
        },
        "1001 patterns",
    );

    for pattern in [
        "a ".repeat(41),
        "one two three four five six seven eight nine".to_string(),
    ] {
        let mut set = small_set();
        set.rules[1].patterns = vec![pattern.clone()];
        let error = set.validate().expect_err("too long");
        assert!(
            matches!(&error, RuleSetError::PatternTooLong { id, .. } if id == "billing.words"),
            "{error:?}"
        );
        assert!(error
            .to_string()
            .contains("longer than 8 words or 80 characters"));
    }
}

#[test]
fn validation_rejects_malformed_patterns() {
    for (pattern, reason) in [
        ("", "it is empty"),
        ("   ", "it is empty"),
        ("~ chest", "`~` must stand between two words"),
        ("chest ~", "a gap must stand between two words"),
        ("chest ~ ~ pain", "`~` must stand between two words"),
        ("fell ... x ... y", "`...` only once"),
        ("# pills", "must start with a word"),
        ("ch*st", "`*` may only end a word"),
        ("*", "has no letters or digits"),
        ("ab*", "at least 3 letters before the `*`"),
        ("can't*", "a single word before the `*`"),
        ("!!!", "has no letters or digits"),
    ] {
        let mut set = small_set();
        set.rules[1].patterns = vec!["invoice".to_string(), pattern.to_string()];
        let error = set.validate().expect_err("invalid pattern");
        let message = error.to_string();
        assert!(
            matches!(&error, RuleSetError::InvalidPattern { id, .. } if id == "billing.words"),
            "{pattern:?}: {error:?}"
        );
        assert!(
            message.contains(reason),
            "{pattern:?}: {message:?} should say {reason:?}"
        );
    }
}

#[test]
fn a_set_that_could_never_flag_urgency_is_rejected() {
    assert_rejected(
        RuleSet {
            version: 1,
            rules: Vec::new(),
        },
        RuleSetError::NoUrgentRule,
        "no urgent rule",
    );
    let mut set = small_set();
    set.rules.remove(0);
    assert_rejected(set, RuleSetError::NoUrgentRule, "no urgent rule");
}

#[test]
fn a_long_pattern_is_shortened_in_the_error() {
    let mut set = small_set();
    let pasted = "x".repeat(500);
    set.rules[1].patterns = vec![pasted];
    let message = set.validate().expect_err("too long").to_string();
    assert!(message.len() < 200, "{message}");
    assert!(message.contains('…'));
}
