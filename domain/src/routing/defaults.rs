//! The vocabulary that ships with the code (see [`RuleSet`] for the pattern syntax).
//!
//! Each list is one string of comma-separated patterns, so the vocabulary stays readable as a
//! list of phrases rather than one line per phrase.
//!
//! Choices that are not obvious from the lists:
//! * A word with a real-word neighbour one typo away is written with `*`, which turns typo
//!   tolerance off: `chok*` (not "cooking"), `stiff*` ("stuff"), `tired*` ("tried"), `droop*`
//!   ("dropping"), `cancel*` ("cancer"), `massag*` ("message"), `think*` ("thank").
//! * Urgent rules weigh 2 as a topic vote, and vote once however many fire: they decide
//!   urgency, not the topic, so "Billing question, but first: chest pain" stays a billing
//!   question while "I have crushing chest pain" alone is clinical.
//! * Device words ("app", "headset") weigh 1 and problem words ("crash", "won't turn on") 3, so
//!   "dizzy after taking the headset off" stays clinical.
//! * Everyday words that are only sometimes alarming are used inside phrases: "hurts me" is
//!   usually a knee, so abuse needs a person ("my husband hurts me"); "fell" is usually asleep
//!   or behind, so a fall needs "fell down", "can't get up" or an injury.

use super::rules::{Rule, RuleSet, RULE_SET_VERSION};

const URGENT_WEIGHT: i64 = 2;

struct Spec {
    id: &'static str,
    kind: &'static str,
    category: &'static str,
    weight: i64,
    negatable: bool,
    resolvable: bool,
    /// Comma-separated patterns.
    patterns: &'static str,
}

/// Cues of a lasting state ("chest pain"): negation and "it's gone" both cancel them.
const fn state(id: &'static str, patterns: &'static str) -> Spec {
    Spec {
        id,
        kind: "urgent",
        category: "clinical",
        weight: URGENT_WEIGHT,
        negatable: true,
        resolvable: true,
        patterns,
    }
}

/// Cues of an event ("a seizure"): "never" cancels them, "it stopped" does not — it happened.
const fn event(id: &'static str, patterns: &'static str) -> Spec {
    Spec {
        resolvable: false,
        ..state(id, patterns)
    }
}

const fn topic(
    id: &'static str,
    category: &'static str,
    weight: i64,
    patterns: &'static str,
) -> Spec {
    Spec {
        id,
        kind: "topic",
        category,
        weight,
        negatable: false,
        resolvable: false,
        patterns,
    }
}

/// Family, partners and carers: people a patient names when someone falls or hurts them.
const RELATIVES: &str = "mom, dad, mother, father, husband, wife, partner, boyfriend, \
    girlfriend, ex, son, daughter, brother, sister, grandma, grandpa, grandmother, grandfather, \
    caregiver";
/// Pronouns need the verb right after them for "hurts me": "she said it might hurt me" is
/// about an exercise, "my husband says he will hurt me" is not.
const PRONOUNS: &str = "he, she, they, someone, somebody, someone at home, people at home";
/// Violent whatever stands between the person and "me": "my partner at home has been hitting
/// me".
const VIOLENT_VERBS: &str = "hit*, beat*, punch*, slap*, kick*, chok*, shov*, grab*, \
    threaten*, abus*, rape*, strangl*, kill*";
const ABUSE_RULE: &str = "urgent.abuse";

/// A fall is "<someone> fell <badly>": the subject keeps out "the headset fell off the table",
/// the rest keeps out "fell asleep" and "fell behind".
const FALL_TAILS: &str = "fell down, fell over, fell off, fell on ~ floor, fell in ~ shower, \
    fell in ~ bathroom, fell down ~ stairs, fell and hit, have fallen, has fallen";
/// What makes a trip or fall an emergency, wherever it comes in the sentence.
const FALL_HARMS: &str = "not get up, broke*, hurt*, bleeding, injur*, not move, not walk, \
    not stand, hit ~ head";
const FALL_RULE: &str = "urgent.fall";
/// "not responding" and "unresponsive" are a person in danger only with a person as subject:
/// apps stop responding all the time.
const UNRESPONSIVE_RULE: &str = "urgent.consciousness";

const SPECS: &[Spec] = &[
    event(
        "urgent.self_harm",
        "suicid*, suicide, suicidal, kill myself, killing myself, end my life, ending my life, \
         end my own life, take my own life, take my life, taking my life, end it all, \
         ending it all, ending it, end things, ending things, not want to live, \
         not want to be alive, not want to exist*, not want to wake up, \
         not want to be here anymore, not want to go on, want to die, wish i was dead, \
         wish i were dead, wish i was not alive, rather be dead, better off dead, \
         better off without me, no reason to live, nothing to live for, not worth living, \
         tired of living, tired of being alive, hurting myself, hurt myself on purpose, \
         want to hurt myself, going to hurt myself, urge to hurt myself, harm myself, \
         harming myself, self harm*, selfharm, cut myself, cutting myself, hang myself, \
         hanging myself, jump off a bridge, jump in front of, not go on like this, \
         not go on anymore, not go on living, give up on life, giving up on life, \
         want it all to end, want it to end, want everything to end, what is the point anymore, \
         no point in living, no point anymore, no point in going on, want to disappear, \
         disappear forever, thinking about taking all, thinking of taking all, \
         going to take all ~ pill, want to take all ~ pill, pills saved up, saving up ~ pill, \
         stockpil*, better ~ if i was not here, better if i were not here, better without me, \
         if i was gone, if i were gone, not be here much longer, not be around much longer, \
         goodbye letter*, goodbye note*, suicide note, say* goodbye to everyone, \
         easier to ~ die, better to ~ die, rather ~ die, just die, wish ~ die, ready to die, \
         want* ~ die, deserve to die, cut* ~ wrist*, slit*, kms, not ~ point in living, \
         not ~ point of living, point in living anymore, not ~ reason to live, \
         not ~ anything to live for, nobody would miss me, no one would miss me, \
         plan to hurt myself, planning to hurt myself, plan to harm myself",
    ),
    state(
        "urgent.chest_pain",
        "chest pain, chest pian, chest hurt*, chest ache*, chest aching, chest pressure, \
         chest tight*, chest heavy, chest discomfort, chest and ~ pain, pain in ~ chest, \
         pressure in ~ chest, pressure on ~ chest, tight* in ~ chest, heavy chest, tight chest, \
         crush* chest, crushing pain, squeez* ~ chest, chest squeez*, heart hurt*, heart pain, \
         pain in ~ heart, angina, chest ~ killing me, chest ~ sitting on, sitting on ~ chest, \
         weight on ~ chest, elephant on ~ chest, heart attack, pain ~ left arm, pain down ~ arm, \
         dolor de pecho, dolor en ~ pecho, crush* ~ chest, heart ... explod*, chest ~ on fire, \
         burning ~ chest, chest ~ burning, left arm ~ heavy, left arm ~ numb, left arm ~ tingl*",
    ),
    state(
        "urgent.breathing",
        "not breathe, not breath, not breathing, not able to breathe, unable to breathe, \
         not get ~ breath, not catch ~ breath, hard to breathe, hard to breath, \
         hard time breathing, trouble breathing, trouble with breathing, difficulty breathing, \
         difficult to breathe, struggling to breathe, struggle to breathe, barely breathe, \
         hardly breathe, barely breathing, short of breath, shortness of breath, breathless, \
         gasp*, chok*, suffocat*, wheez*, stopped breathing, lip ~ blue, blue lip, \
         asthma attack, not get ~ air, not enough air, struggling for air, air hunger, \
         breathing ~ fast, breathing rapid*, labored breathing, laboured breathing, \
         breathing ~ labored, no puedo respirar, face ~ blue, fingertips ~ blue, skin ~ blue, \
         he ~ turning blue, she ~ turning blue, baby ~ turning blue",
    ),
    state(
        "urgent.allergic_reaction",
        "anaphyla*, allergic reaction, severe allergic, epipen, epi pen, throat swell*, \
         throat swollen, swollen throat, throat closing, throat ~ closing up, tongue swell*, \
         tongue swollen, swollen tongue, throat tight*, lip swell*, lip swollen, swollen lip, \
         face swell*, face swollen, swollen face, hives all over, throat ~ closing",
    ),
    event(
        "urgent.stroke",
        "face droop*, droop* face, mouth droop*, droop* mouth, smile droop*, droop* on one side, \
         slurred, slurring, having a stroke, just had a stroke, think* ~ stroke, \
         signs of ~ stroke, stroke symptoms, mini stroke, sudden* weak*, sudden* numb, \
         sudden* numbness, sudden* ~ not move, sudden* ~ not lift, sudden* ~ not feel, \
         sudden* ~ not speak, sudden* ~ not talk, sudden* ~ not see, sudden* ~ not walk, \
         face ~ crooked, crooked smile, face ~ uneven, weak* on one side, numb on one side, \
         numbness on one side, one side ~ numb, one side ~ weak*, face ~ numb, face ~ numbness, \
         numb ~ face, numbness in ~ face, not move ~ one side, not feel ~ one side, \
         trouble speaking, difficulty speaking, trouble talking, not speak properly, \
         not talk properly, not get ~ words out, words ~ jumbled, garbled, sudden* confus*, \
         sudden* vision, lost ~ vision, loss of vision, vision loss, sudden* blind*, went blind, \
         not see out of, worst headache, thunderclap, sudden* severe headache, speech ~ weird, \
         speech ~ strange, speech ~ funny, speech ~ wrong, not feel ~ leg, not feel ~ arm, \
         not feel ~ face, not feel ~ feet, seeing double, face ~ tingl*, \
         sudden* ~ not understand, not understand what ~ saying, side ~ numb, side ~ numbness, \
         side ~ weak*, numb sudden*, numb all of a sudden, mouth ~ crooked, crooked ~ mouth, \
         smile ~ crooked, lopsided",
    ),
    state(
        "urgent.bleeding",
        "bleeding a lot, bleed a lot, bled a lot, bleeding heavily, bleed heavily, bled heavily, \
         bleeding badly, bleeding profusely, heavy bleeding, severe bleeding, so much blood, \
         much blood, blood ~ pour*, pour* ~ blood, blood ~ coming out, blood coming from, \
         bleeding not stop*, bleed not stop*, not stop* bleeding, not get ~ bleeding to stop, \
         bleeding through, bled through, lot of blood, losing ~ blood, lost ~ blood, \
         blood everywhere, blood ~ everywhere, blood ~ soak*, deep cut, cut ~ badly, gash*, \
         soak* ~ blood, gushing, spurt*, cough* up blood, coughing blood, vomit* blood, \
         throw* up blood, threw up blood, blood in ~ vomit, hemorrhag*, haemorrhag*, \
         soak* through, bleeding ... soak*",
    ),
    event(
        "urgent.fall",
        "not get up, not get back up, not get off ~ floor, had a fall, had a bad fall, \
         took a fall, took a bad fall, bad fall, took a tumble, slipped and fell, \
         tripped and fell, broke* ~ bone, broken bone, fractur*, dislocat*, wrist ~ broken, \
         arm ~ broken, leg ~ broken, hip ~ broken, ankle ~ broken, rib ~ broken, broke* ~ wrist, \
         broke* ~ ankle, broke* ~ hip, broke* ~ rib",
    ),
    event(
        "urgent.consciousness",
        "passed out, pass out, passing out, fainted, fainting, i faint, keep fainting, \
         i black* out, i keep black* out, he black* out, she black* out, lost consciousness, \
         lose consciousness, losing consciousness, loss of consciousness, unconscious, \
         not wake ~ up, collaps*, knocked out, hit ~ head, bump* ~ head, bang* ~ head, \
         head injury, concussion, vision ~ black, everything went black, everything went dark, \
         vision went dark, found me on ~ floor, found ~ on the floor, woke up on ~ floor, \
         not remember what happened",
    ),
    event(
        "urgent.seizure",
        "seizure, seizing*, convuls*, having a fit, epileptic fit, shaking uncontrollably, \
         jerking uncontrollably, not stop shaking, having fits, had a fit",
    ),
    event(
        "urgent.overdose",
        "overdos*, overdose, took too much of, took too much ~ insulin, too much insulin, \
         took too much ~ medication, took too much ~ meds, took too many, taken too many, \
         took ~ too many, too many ~ pill, too many ~ tablet*, whole bottle, entire bottle, \
         took ... on purpose, swallowed ~ pill, double dose, all of my pills at once, \
         all my pills at once, pills at once, handful of ~ pill, bunch of ~ pill, \
         took ~ # ~ pill, took ~ # ~ tablet*, taken ~ # ~ pill, swallowed ~ # ~ pill, \
         took ... by mistake, wrong pill, wrong medication, wrong meds",
    ),
    event(
        ABUSE_RULE,
        "scared to go home, afraid to go home, scared of him, scared of her, afraid of him, \
         afraid of her, scared of ~ partner, afraid of ~ partner, scared of ~ husband, \
         afraid of ~ husband, scared of ~ wife, afraid of ~ wife, scared of ~ boyfriend, \
         afraid of ~ boyfriend, not safe at home, unsafe at home, not feel safe, \
         domestic violence, domestic abuse, abus*, rape*, rapist, sexual* assault*, assault*, \
         molest*, threaten* to kill, threaten* to hurt, will kill me, push* me down, \
         afraid for my life, am in danger, are in danger, life is in danger, locked me in, \
         not let me leave, push* me into, push* me against, threaten* me, broke into ~ house, \
         broke into ~ apartment, broke into ~ home",
    ),
    event(
        "urgent.violence",
        "hurt someone, hurt somebody, hurt other people, hurt others, kill someone, kill somebody, \
         kill him, kill her, kill them, going to kill, want to kill, weapon",
    ),
    event(
        "urgent.poisoning",
        "poison*, swallowed ~ bleach, drank ~ bleach, drinking ~ bleach, drink ~ bleach, \
         swallowed ~ battery, swallowed ~ chemical*, swallowed ... clean*, drank ... clean*, \
         drinking ... clean*, cleaning fluid, cleaning product*, drain cleaner, detergent, \
         antifreeze, laundry pod*, carbon monoxide, ingested, ate ~ pill, ate ~ medication, \
         ate ~ meds, swallowed ~ medication, got into ~ pill, got into ~ medication, gas smell, \
         smell gas, smell of gas, gas leak",
    ),
    state(
        "urgent.fever_stiff_neck",
        "high fever, very high temperature, fever ~ stiff* neck, stiff* neck ~ fever, \
         neck ~ stiff* ~ fever, fever ~ neck ~ stiff*, fever ~ 103, fever ~ 104, fever ~ 105, \
         103 fever, 104 fever, 105 fever, fever of 40, fever of 41, temperature of 40, \
         temperature of 41, temp ~ 103, temp ~ 104, temp ~ 105, temperature ~ 103, \
         temperature ~ 104, temperature ~ 105",
    ),
    state(
        "urgent.blood_sugar",
        "low blood sugar, blood sugar ~ low, sugar ~ really low, sugar ~ very low, \
         blood sugar ~ high, hypoglyc*, hyperglyc*, diabetic ~ emergency, ketoacidosis, \
         diabetic coma",
    ),
    state(
        "urgent.severe_illness",
        "not keep anything down, confused and ~ drowsy, drowsy and ~ confused, confused and dizzy",
    ),
    event(
        "urgent.emergency",
        "this is an emergency, it is an emergency, medical emergency, emergency help, 911, \
         call an ambulance, ambulance, life threatening, emergency room, go to the er, \
         going to the er, take ~ to the er",
    ),
    topic(
        "clinical.symptoms",
        "clinical",
        3,
        "pain, pian, painful, hurt*, ache, ached, aching, achy, achiness, sore*, stiff*, swell*, \
         swollen, inflam*, numb, numbness, tingl*, tingling, dizz*, lightheaded, vertigo, \
         spinning, nause*, vomit*, throwing up, threw up, headache, migraine*, fever*, chills, \
         cramp*, spasm*, bruis*, injur*, sprain*, strain*, tweak*, tender*, tightness, weakness, \
         feel weak, fatigue*, tired*, exhaust*, drowsy, sleepy, insomnia, sleep*, rash*, itch*, \
         burning, throb*, twinge*, stabbing, pinch*, pins and needles, limp*, cough*, infection, \
         infected, wound, incision, stitches, blister*, bleed*, blood, seizure, convuls*, \
         faint*, short of breath, shortness of breath, breathless, blurr* vision, double vision, \
         palpitation*, symptom*, flare*, discomfort, constipat*, diarrh*, stroke, allerg*, \
         concussion, healing, healed, heals, heart rate, pulse, blood pressure, heartbeat, \
         heart racing, cut, pale, motion sick*, cybersick*, seasick*, feel sick, feeling sick, \
         flaring, jittery, gave out, giving out, buckled, buckling, shaking, shaky, tremor*, \
         vision ~ blurr*, clicking, popping, grinding, cracking, cracks, pain level, dolor*, \
         flu, shake*",
    ),
    topic(
        "clinical.conditions",
        "clinical",
        3,
        "arthritis, osteo*, fibromyalgia, sciatica, tendonitis, tendinitis, bursitis, fasciitis, \
         neuropathy, scoliosis, herniat*, slipped disc, pregnan*, diabet*, asthma, copd, \
         hypertension, cancer, chemo*, whiplash, carpal tunnel, plantar, vertigo, parkinson*, \
         multiple sclerosis, lupus, gout, migraine*",
    ),
    topic(
        "clinical.body",
        "clinical",
        1,
        "back, neck, shoulder, knee, hip, ankle, wrist, elbow, leg, arm, foot, feet, hand, \
         finger*, toe, spine, joint*, muscle*, hamstring*, calf, calves, thigh*, glute*, head, \
         jaw, chest, stomach, belly, abdomen, heel, shin, tendon*, ligament*, bone*, pelvi*, \
         posture, balance, heart",
    ),
    topic(
        "clinical.medication",
        "clinical",
        3,
        "medication, medicine, meds, pill, antidepressant*, anti depressant*, prescription, \
         prescri*, dose, dosage, side effect, drug*, ibuprofen, tylenol, advil, aspirin, \
         acetaminophen, naproxen, relaxant, antibiotic*, painkiller*, opioid*, insulin, inhaler, \
         injection*, supplement*, vitamin*, steroid*, gabapentin, tramadol",
    ),
    topic(
        "clinical.mental_health",
        "clinical",
        3,
        "anxi*, depress*, panic*, ptsd, trauma*, hopeless*, worthless, mental health, suicid*, \
         self harm*, nightmare*",
    ),
    topic(
        "clinical.wellbeing",
        "clinical",
        2,
        "mood, stress*, sad, sadness, lonely, loneliness, grief, griev*, overwhelm*, feeling down, \
         feel down, feeling low, feel low, unmotivated, no motivation, crying, emotion*, \
         irritab*, coping*",
    ),
    topic(
        "clinical.self_care",
        "clinical",
        2,
        "ice, icing, ice pack, heat, heating pad, heat pack, compression, brace, elevat*, massag*, \
         foam roll*, epsom",
    ),
    topic(
        "clinical.questions",
        "clinical",
        2,
        "is that normal, is this normal, is it normal, normal to, is that ok, is that okay, \
         is this ok, is this okay, should i be worried, should i be concerned, should i worry, \
         worried, concerned, is it safe, safe to, is it okay to, is it ok to, okay to, doctor, \
         physician, surgeon, surgery, diagnos*, xray, mri, physio*, nurse, clinician",
    ),
    topic(
        "care_plan.plan",
        "care_plan",
        3,
        "care plan, treatment plan, therapy plan, rehab plan, exercise plan, my plan, plan, \
         program, programme, goal, module, milestone*, homework, routine, regimen, protocol, \
         home exercise*, exercise program, how many reps, reps, repetitions, how many sets, \
         sets and reps, progression, next phase, next level, next step, what comes next, \
         what is next, curriculum, lesson, assigned exercise*, prescribed exercise*, \
         pain management, medication schedule, rehab, next stage, when ~ take ~ medication, \
         when ~ take ~ meds, when ~ take ~ pill, what time ~ take ~ medication, \
         what time ~ take ~ meds, what time ~ take ~ pill, target heart rate, printout*, \
         handout*, do extra, extra exercise*, focus from",
    ),
    topic(
        "care_plan.adjustments",
        "care_plan",
        2,
        "too easy, too hard, too difficult, too much, too many exercises, harder, easier, \
         more challenging, less challenging, add more, add ~ exercise*, change ~ exercise*, \
         switch ~ exercise*, swap ~ exercise*, replace ~ exercise*, skip ~ exercise*, focus on, \
         focus more, sessions a week, sessions per week, times a week, times per week, \
         days a week, minutes a day, per day, frequency, intensity, customiz*, personaliz*, \
         treatment, progress, how often, how many minutes, how many times, every day, \
         every other day, each day, once a day, twice a day, supposed to do, list of exercises, \
         work on, mix it up, bored, same exercises, new exercises, different exercises, \
         advanced level, ready for ~ level, ready for the next, continue ~ exercise*",
    ),
    topic(
        "care_plan.exercise",
        "care_plan",
        1,
        "exercis*, stretch*, workout*, movement*, activit*, strength*, mobility, flexibility, \
         endurance, balance training, coach, adjust*, modif*, training, squat*, lunge*, plank*, \
         bike, treadmill, weights, resistance band*, rest day",
    ),
    topic(
        "tech.problems",
        "tech",
        3,
        "crash*, freez*, froze, frozen, glitch*, bug, buggy, error*, not work*, stopped working, \
         stop* working, not load*, not open*, not turn on, not turning on, not start*, \
         not connect*, disconnect*, not sync*, sync*, not charg*, not pair*, pairing, flicker*, \
         blurry, lag, lagg*, stuck*, loading*, black screen, blank screen, white screen, \
         spinning wheel, spinning circle, restart*, reboot*, reinstall*, uninstall*, install, \
         installed, installing, installation, download*, upload*, update ~ app, app update, \
         software update, firmware, bluetooth, wifi, internet, connection, connectivity, \
         kick* ~ out, signal, battery, charger, charging, not charge, volume, microphone, mic, \
         audio, camera, speaker*, hand tracking, lost tracking, tracking lost, tracking issue*, \
         calibrat*, guardian, not hear, technical, tech support, troubleshoot*, factory reset, \
         reset ~ headset, sleep mode, notification*, no sound, broken, log* me out, not show*, \
         not appear*, call dropped, call drops, video dropped, keeps dropping, dropped out, \
         turning off, turns off, shuts off, shutting off, shuts down, keeps shutting, \
         cutting out, cuts out, keeps cutting, compatib*, upside down, update ~ fail*, \
         fail* to update, install ~ fail*, not play*, black box, out of focus, own headset, \
         own device, not record*, spins forever, keeps spinning, loading forever, cracked, \
         screen ~ dark, goes dark, not count*, vibrat*, charge ~ headset, charge ~ controller*, \
         charge ~ battery, not track*, serial number, model number, so slow, really slow, \
         very slow, too slow, is slow, running slow, slow to load, stopped responding, \
         screen ~ black, goes black, new version, version, overheat*, headset ~ hot, \
         phone ~ hot, is blank, shows blank, not find ~ app, app ~ not respond*, \
         headset ~ not respond*, controller* ~ not respond*, screen ~ not respond*, \
         not respond* to ~ tap*, not respond* to ~ touch",
    ),
    topic(
        "tech.devices",
        "tech",
        1,
        "app, application, headset, vr, virtual reality, controller*, device*, phone, smartphone, \
         tablet*, ipad, iphone, android, computer, laptop, website, browser, oculus, quest, \
         pico, goggles, software, hardware, screen, display, sound, connect*, video, tv, tech, \
         link, button, settings, update*, strap*, lens, lenses, image, picture, timer*, graph, \
         chart",
    ),
    topic(
        "billing.keywords",
        "billing",
        3,
        "bill, billing, billed, invoice*, charge, charged, a charge, charge for, overcharg*, \
         double charg*, pay*, paid, refund*, copay*, coinsurance, deductible*, insurance, \
         insur*, medicare, medicaid, hsa, fsa, receipt*, credit card, debit card, card on file, \
         card, cost*, price*, pricing, fee, subscription*, out of pocket, balance due, \
         outstanding balance, remaining balance, account balance, owe, owed, money, dollar*, \
         expensive, afford*, claim, eob, explanation of benefits, coverage, reimburs*, \
         discount*, coupon*, promo code, financial, statement, bank, transaction*, payment plan, \
         insurance plan, health plan, subscription plan, monthly plan, plan price, plan cost, \
         plan fee, cheap*, cheaper plan, plan options, premium, upgrade*, downgrade*, \
         cancel* ~ subscription, collections, charity care, free trial, factura, rental*, \
         covered, covered by, covered under, blue cross, aetna, cigna, united healthcare, \
         kaiser, humana, tricare, bcbs",
    ),
    topic(
        "billing.explicit",
        "billing",
        5,
        "billing question, billing issue, billing problem, billing error, question about ~ bill, \
         question about ~ invoice, question about ~ charge, payment issue, payment problem, \
         payment question, insurance question",
    ),
    topic(
        "scheduling.keywords",
        "scheduling",
        3,
        "appointment, appt*, reschedul*, reschedule, schedul*, schedule, cancel*, book*, availab*, \
         slot*, time slot, next session, next visit, move ~ session, move ~ visit, \
         change ~ session, session time, postpone*, running late, be late, late for, what time, \
         calendar, confirm ~ session, confirm ~ visit, missed ~ session, miss ~ session, \
         when is my, rebook*, no show, make up session, time zone, cita",
    ),
    topic(
        "scheduling.requests",
        "scheduling",
        2,
        "consultation, confirm*, weekend session*, set up ~ session, set up ~ visit, \
         set up ~ call, opening*, not make it tomorrow, not make it today, not make it to, \
         not be able to make it, what days, which days, what hours, office hours, opening hours, \
         push ~ session, push ~ appointment, available times, over the phone, by phone, \
         phone session, make it ~ instead, can we make it, come in at, come in earlier, \
         come in later, come in on, anything earlier, anything later, earlier in the day, \
         instead of dr, see dr, different therapist, change therapist, switch therapist, \
         new therapist, leave early, shorter session, shorten ~ session, start later, \
         start earlier",
    ),
    topic(
        "scheduling.context",
        "scheduling",
        1,
        "visit, meeting, tomorrow, next week, monday, tuesday, wednesday, thursday, friday, \
         saturday, sunday, weekend, reminder*, next time, instead",
    ),
    topic(
        "account.keywords",
        "account",
        3,
        "password, passcode, delete*, login, log* in, log* into, logged out, log out, sign* in, \
         signin, sign* on, sign up, signup, username, account, profile, 2fa, verif*, \
         authenticat*, security question*, deactivat*, reactivat*, caregiver*, proxy, \
         permission*, access ~ account, phone number, home address, mailing address, \
         change ~ address, update ~ address, name change, change ~ name, update ~ name, \
         personal information, personal details, personal info, privacy, my data, unsubscrib*, \
         email address, change ~ email, update ~ email, contrasena, give ~ access, \
         grant* ~ access, access to ~ account, download ~ data, emergency contact, \
         preferred language, language, date of birth, stop receiving, opt out, text messages, \
         sms, sign* out",
    ),
    topic(
        "account.access",
        "account",
        5,
        "password reset, reset ~ password, forgot* ~ password, locked out, lock* out, not log* in, \
         not sign* in, two factor, verification code, one time code, delete ~ account, \
         delete ~ data, close ~ account, cancel* ~ account",
    ),
    topic("account.email", "account", 2, "email, emails"),
];

fn split(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|p| !p.is_empty())
}

/// Patterns made of a person and what happened, kept as two short lists rather than written
/// out in full.
fn combinations(id: &str) -> Vec<String> {
    let mut patterns = Vec::new();
    let people = || ["i", "he", "she"].into_iter().chain(split(RELATIVES));
    if id == FALL_RULE {
        for who in people() {
            patterns.extend(split(FALL_TAILS).map(|tail| format!("{who} {tail}")));
            patterns.extend(split(FALL_HARMS).map(|harm| format!("{who} fell ... {harm}")));
        }
        // Written as prefixes so that "tipped" and "sipped" are not read as typos.
        for verb in ["tripped*", "slipped*"] {
            patterns.extend(split(FALL_HARMS).map(|harm| format!("{verb} ... {harm}")));
        }
    }
    if id == UNRESPONSIVE_RULE {
        let others = people().filter(|who| *who != "i");
        for who in others {
            patterns.push(format!("{who} ~ not respond*"));
            patterns.push(format!("{who} ~ unresponsive"));
        }
    }
    if id == ABUSE_RULE {
        for who in split(PRONOUNS) {
            patterns.push(format!("{who} hurt* me"));
        }
        for who in split(RELATIVES) {
            patterns.push(format!("{who} ~ hurt* me"));
        }
        for who in split(PRONOUNS).chain(split(RELATIVES)) {
            patterns.extend(split(VIOLENT_VERBS).map(|verb| format!("{who} ~ {verb} me")));
        }
    }
    patterns
}

pub(super) fn rule_set() -> RuleSet {
    let rules = SPECS
        .iter()
        .map(|spec| Rule {
            id: spec.id.to_string(),
            kind: spec.kind.to_string(),
            category: spec.category.to_string(),
            weight: spec.weight,
            negatable: spec.negatable,
            resolvable: spec.resolvable,
            patterns: split(spec.patterns)
                .map(str::to_string)
                .chain(combinations(spec.id))
                .collect(),
        })
        .collect();
    RuleSet {
        version: RULE_SET_VERSION,
        rules,
    }
}
