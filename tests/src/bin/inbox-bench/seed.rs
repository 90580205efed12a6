//! The benchmark's data: one new organization, "Bench Clinic", with the staff, patients and a
//! year of conversations a clinic of that size would have.
//!
//! Rows are written in bulk, not through the API, but as the app itself would have written them:
//! every conversation is played through the domain's routing and state machine — the same calls
//! `persistence::conversations` makes — and stored with persistence's own row types. Each staff
//! member who wrote in a conversation has read it up to their last message, as the Clinician
//! Platform marks a conversation read when it shows it. Left out are what the app keeps only
//! briefly or writes beside the inbox: the live-inbox log (pruned after a day), audit events,
//! credentials and webhook deliveries (the new organization has no webhook).

use std::error::Error;

use rand::rngs::StdRng;
use rand::{RngCore, SeedableRng};

use chrono::{Duration, NaiveDateTime};
use diesel::{QueryResult, RunQueryDsl};
use domain::acknowledgment::AcknowledgmentTexts;
use domain::conversation::{Actor, Conversation, Event, Status, Transition};
use domain::message::preview;
use domain::roles::Role;
use domain::routing::{RuleSet, Team, ValidatedRuleSet};
use persistence::accounts::{Patient, StaffMember};
use persistence::conversations::{message_kind, ConversationRow, EventRow, MessageRow};
use persistence::db::write_transaction;
use persistence::organizations::Organization;
use persistence::schema::{
    conversation_events, conversations, messages, organizations, patients, read_markers,
    staff_members,
};
use persistence::{new_id, now, DbConnection};

/// How much to seed; conversations = messages / 10, patients = max(messages / 100, 32).
pub struct Scale {
    pub messages: usize,
}

pub struct SeededPatient {
    pub id: String,
    /// Open conversations first; every patient has at least one.
    pub conversation_ids: Vec<String>,
}

pub struct SeededStaff {
    pub id: String,
    pub role: String,
}

pub struct Seeded {
    pub organization_id: String,
    pub patients: Vec<SeededPatient>,
    pub staff: Vec<SeededStaff>,
    /// Rows inserted, all tables together.
    pub rows: usize,
}

const ORGANIZATION_NAME: &str = "Bench Clinic";
const STAFF: [(Role, usize); 4] = [
    (Role::Clinician, 20),
    (Role::Coach, 6),
    (Role::Support, 6),
    (Role::Admin, 1),
];
const MESSAGES_PER_CONVERSATION: usize = 10;
const MESSAGES_PER_PATIENT: usize = 100;
const MIN_PATIENTS: usize = 32;
const ASSIGNED_CLINICIAN_PERCENT: u64 = 60;
const OPEN_PERCENT: usize = 30;
/// Open conversations that were closed and have a new, unanswered patient message; the others
/// are held by the staff member answering them.
const REOPENED_PERCENT: u64 = 40;
const INTERNAL_NOTE_PERCENT: u64 = 30;
const HISTORY_DAYS: i64 = 365;
/// Open conversations started recently; closed ones anywhere in the history.
const OPEN_WITHIN_DAYS: i64 = 30;
/// Patients joined before the history began or during it, but not in its last month.
const PATIENTS_JOINED_DAYS: (i64, i64) = (30, HISTORY_DAYS + 30);
/// Every run seeds the same clinic.
const RNG_SEED: u64 = 0x5eed_c11e_1c00_0001;

/// SQLite's limit on bind variables per statement (PostgreSQL's is 65535).
const MAX_BINDS: usize = 32766;
/// Columns of each row type, for the binds of a multi-row INSERT.
const PATIENT_COLUMNS: usize = 6;
const CONVERSATION_COLUMNS: usize = 20;
const MESSAGE_COLUMNS: usize = 9;
const EVENT_COLUMNS: usize = 7;
const READ_MARKER_COLUMNS: usize = 3;
/// Conversations generated before their rows are written: bounds memory at any scale.
const CONVERSATIONS_PER_BATCH: usize = 1000;

/// A multi-row INSERT. `DbConnection` has no batch insert, so it runs on the backend's own
/// connection. (On SQLite, Diesel splits it into one statement per row, since `None` fields stand
/// for column defaults there; still one transaction, and fast enough.)
macro_rules! insert {
    ($conn:expr, $table:expr, $rows:expr) => {
        match $conn {
            DbConnection::Postgresql(pg) => diesel::insert_into($table).values($rows).execute(pg),
            DbConnection::Sqlite(sqlite) => {
                diesel::insert_into($table).values($rows).execute(sqlite)
            }
        }
    };
}

/// Seeds one new organization in one transaction; the database must be migrated.
pub fn seed(conn: &mut DbConnection, scale: &Scale) -> Result<Seeded, Box<dyn Error>> {
    let rules = RuleSet::default_rules().validate()?;
    let mut rng = Rng(StdRng::seed_from_u64(RNG_SEED));
    write_transaction(conn, |conn| {
        let (clinic, mut rows) = Clinic::create(conn, &mut rng, scale, rules)?;
        let plans = plan(&mut rng, scale, clinic.patients.len());
        let mut open = vec![Vec::new(); clinic.patients.len()];
        let mut closed = vec![Vec::new(); clinic.patients.len()];
        for chunk in plans.chunks(CONVERSATIONS_PER_BATCH) {
            let mut batch = Batch::default();
            for plan in chunk {
                let (id, status) = clinic.play(&mut rng, plan, &mut batch)?;
                match status {
                    Status::Open => open[plan.patient].push(id),
                    Status::Closed => closed[plan.patient].push(id),
                }
            }
            rows += batch.write(conn)?;
        }
        let patients = clinic
            .patients
            .iter()
            .zip(open.into_iter().zip(closed))
            .map(|(patient, (mut open, closed))| {
                open.extend(closed);
                SeededPatient {
                    id: patient.id.clone(),
                    conversation_ids: open,
                }
            })
            .collect();
        Ok(Seeded {
            organization_id: clinic.organization_id,
            patients,
            staff: clinic.staff,
            rows,
        })
    })
}

/// A seeded generator, so that every run seeds the same clinic, with the draws the seeder makes.
struct Rng(StdRng);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0.next_u64()
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn number(&mut self, low: usize, high: usize) -> usize {
        low + self.below(high - low + 1)
    }

    fn minutes(&mut self, low: i64, high: i64) -> Duration {
        Duration::seconds(low * 60 + (self.next() % ((high - low) as u64 * 60)) as i64)
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Ending {
    Closed,
    /// Open, claimed by whoever answered it.
    Held,
    Reopened,
}

impl Ending {
    fn min_messages(self) -> usize {
        match self {
            Ending::Closed | Ending::Held => 3,
            Ending::Reopened => 5,
        }
    }
}

struct Plan {
    patient: usize,
    ending: Ending,
    /// Acknowledgments included.
    messages: usize,
}

/// Which patient has which conversations, how each ends and how long it is. Conversations are
/// never fewer than patients, since each patient needs an open one.
fn plan(rng: &mut Rng, scale: &Scale, patients: usize) -> Vec<Plan> {
    let conversations = (scale.messages / MESSAGES_PER_CONVERSATION).max(patients);
    let open = (conversations * OPEN_PERCENT / 100).max(patients);
    let (per_conversation, extra) = (
        scale.messages / conversations,
        scale.messages % conversations,
    );
    let mut plans: Vec<Plan> = (0..conversations)
        .map(|i| {
            let ending = if i >= open {
                Ending::Closed
            } else if rng.chance(REOPENED_PERCENT) {
                Ending::Reopened
            } else {
                Ending::Held
            };
            Plan {
                // The first `patients` conversations give each patient an open one; the lower of
                // two draws then makes some patients write far more often than others.
                patient: if i < patients {
                    i
                } else {
                    rng.below(patients).min(rng.below(patients))
                },
                ending,
                messages: per_conversation + usize::from(i < extra),
            }
        })
        .collect();
    // Threads differ in length; moving messages between neighbours keeps the total.
    for pair in plans.chunks_exact_mut(2) {
        let spare = pair[1]
            .messages
            .saturating_sub(pair[1].ending.min_messages());
        let moved = rng.below(4).min(spare);
        pair[0].messages += moved;
        pair[1].messages -= moved;
    }
    for plan in &mut plans {
        plan.messages = plan.messages.max(plan.ending.min_messages());
    }
    plans
}

struct Clinic {
    organization_id: String,
    staff: Vec<SeededStaff>,
    clinicians: Vec<String>,
    coaches: Vec<String>,
    support: Vec<String>,
    patients: Vec<Patient>,
    rules: ValidatedRuleSet,
    acknowledgments: AcknowledgmentTexts,
    now: NaiveDateTime,
}

impl Clinic {
    /// Inserts the organization, its staff and its patients; returns them with the row count.
    fn create(
        conn: &mut DbConnection,
        rng: &mut Rng,
        scale: &Scale,
        rules: ValidatedRuleSet,
    ) -> QueryResult<(Clinic, usize)> {
        let now = now();
        let created_at = now - Duration::days(PATIENTS_JOINED_DAYS.1 + 5);
        let organization = Organization {
            id: new_id(),
            name: ORGANIZATION_NAME.to_owned(),
            routing_rules: None,
            acknowledgment_texts: None,
            created_at,
        };
        let mut rows = diesel::insert_into(organizations::table)
            .values(&organization)
            .execute(conn)?;
        let first_names: Vec<&str> = FIRST_NAMES.split_whitespace().collect();
        let last_names: Vec<&str> = LAST_NAMES.split_whitespace().collect();
        let members: Vec<StaffMember> = STAFF
            .iter()
            .flat_map(|&(role, count)| std::iter::repeat_n(role, count))
            .map(|role| {
                let name = format!("{} {}", rng.pick(&first_names), rng.pick(&last_names));
                StaffMember {
                    id: new_id(),
                    organization_id: organization.id.clone(),
                    display_name: match role {
                        Role::Clinician => format!("Dr. {name}"),
                        _ => name,
                    },
                    role: role.as_str().to_owned(),
                    active: true,
                    created_at: created_at + rng.minutes(60, 3 * 24 * 60),
                }
            })
            .collect();
        rows += insert!(conn, staff_members::table, &members)?;
        let ids_of = |role: Role| -> Vec<String> {
            members
                .iter()
                .filter(|member| member.role == role.as_str())
                .map(|member| member.id.clone())
                .collect()
        };
        let (clinicians, coaches, support) = (
            ids_of(Role::Clinician),
            ids_of(Role::Coach),
            ids_of(Role::Support),
        );
        let patients: Vec<Patient> = (0..(scale.messages / MESSAGES_PER_PATIENT).max(MIN_PATIENTS))
            .map(|i| Patient {
                id: new_id(),
                organization_id: organization.id.clone(),
                display_name: format!("{} {}", rng.pick(&first_names), rng.pick(&last_names)),
                external_id: Some(format!("MRN-{:06}", i + 1)),
                assigned_clinician_id: rng
                    .chance(ASSIGNED_CLINICIAN_PERCENT)
                    .then(|| clinicians[rng.below(clinicians.len())].clone()),
                created_at: now
                    - rng.minutes(
                        PATIENTS_JOINED_DAYS.0 * 24 * 60,
                        PATIENTS_JOINED_DAYS.1 * 24 * 60,
                    ),
            })
            .collect();
        rows += in_statements(&patients, PATIENT_COLUMNS, |rows| {
            insert!(conn, patients::table, rows)
        })?;
        let clinic = Clinic {
            organization_id: organization.id,
            staff: members
                .into_iter()
                .map(|member| SeededStaff {
                    id: member.id,
                    role: member.role,
                })
                .collect(),
            clinicians,
            coaches,
            support,
            patients,
            rules,
            acknowledgments: AcknowledgmentTexts::default(),
            now,
        };
        Ok((clinic, rows))
    }

    /// Someone of the team the conversation is with; for the care team usually the patient's own
    /// clinician.
    fn team_member(&self, rng: &mut Rng, row: &ConversationRow) -> String {
        let pool = match (row.team == Team::Support.as_str(), &row.assigned_to) {
            (true, _) => &self.support,
            (false, Some(clinician)) if rng.chance(85) => return clinician.clone(),
            (false, _) if rng.chance(70) => &self.clinicians,
            (false, _) => &self.coaches,
        };
        pool[rng.below(pool.len())].clone()
    }

    /// Plays one conversation into `batch`; returns its id and final status.
    fn play(
        &self,
        rng: &mut Rng,
        plan: &Plan,
        batch: &mut Batch,
    ) -> Result<(String, Status), Box<dyn Error>> {
        let patient = &self.patients[plan.patient];
        let mut subject = Subject::new(rng, patient);
        let steps = script(rng, plan);
        let span = steps.iter().map(|&(_, gap)| gap).sum::<Duration>();
        let window = match plan.ending {
            Ending::Closed => HISTORY_DAYS,
            Ending::Held | Ending::Reopened => OPEN_WITHIN_DAYS,
        };
        let latest = self.now - span - Duration::minutes(1);
        let earliest = (self.now - Duration::days(window))
            .max(patient.created_at + Duration::hours(1))
            .min(latest);
        let room = u64::try_from((latest - earliest).num_seconds()).unwrap_or(0) + 1;
        let mut at = earliest + Duration::seconds((rng.next() % room) as i64);
        let mut thread = Thread::start(self, patient, subject.opening(rng), at, batch)?;
        for &(step, gap) in &steps[1..] {
            at += gap;
            match step {
                Step::Patient => {
                    let body = if thread.row.status == Status::Closed.as_str() {
                        subject.opening(rng)
                    } else {
                        subject.follow_up(rng)
                    };
                    thread.patient_writes(body, at)?;
                }
                Step::Staff => {
                    let by = thread.responder(rng);
                    thread.staff_replies(&by, subject.reply(rng), at)?;
                }
                Step::Note => {
                    let by = match &thread.row.claimed_by {
                        Some(holder) if rng.chance(60) => holder.clone(),
                        _ => self.team_member(rng, &thread.row),
                    };
                    let notes = if thread.row.team == Team::Support.as_str() {
                        SUPPORT_NOTES
                    } else {
                        CARE_NOTES
                    };
                    let template = rng.pick(notes);
                    let body = subject.fill(rng, template);
                    thread.note(&by, body, at);
                }
                Step::Close => {
                    let by = thread.responder(rng);
                    thread.close(&by, at)?;
                }
            }
        }
        Ok(thread.finish())
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Step {
    /// A patient message, acknowledged when the domain says so.
    Patient,
    Staff,
    Note,
    Close,
}

/// The steps of a conversation with the time before each: the patient opens, staff and patient
/// take turns, a staff member sometimes leaves a note before replying, and the ending follows.
fn script(rng: &mut Rng, plan: &Plan) -> Vec<(Step, Duration)> {
    // The opening message and its acknowledgment, and the reopening pair.
    let mut turns = plan.messages - 2;
    if plan.ending == Ending::Reopened {
        turns -= 2;
    }
    let with_note = turns >= 3 && rng.chance(INTERNAL_NOTE_PERCENT);
    if with_note {
        turns -= 1;
    }
    let mut steps = vec![Step::Patient];
    steps.extend((0..turns).map(|turn| {
        if turn % 2 == 0 {
            Step::Staff
        } else {
            Step::Patient
        }
    }));
    if with_note {
        let replies = steps.iter().filter(|&&step| step == Step::Staff).count();
        let before = rng.below(replies);
        if let Some(at) = steps
            .iter()
            .enumerate()
            .filter(|(_, &step)| step == Step::Staff)
            .nth(before)
            .map(|(at, _)| at)
        {
            steps.insert(at, Step::Note);
        }
    }
    match plan.ending {
        Ending::Held => {}
        Ending::Closed => steps.push(Step::Close),
        Ending::Reopened => steps.extend([Step::Close, Step::Patient]),
    }
    let mut previous = None;
    steps
        .into_iter()
        .map(|step| {
            let gap = match (previous, step) {
                (None, _) => Duration::zero(),
                (Some(Step::Close), _) => rng.minutes(2 * 24 * 60, 45 * 24 * 60),
                (_, Step::Close) => rng.minutes(10, 3 * 24 * 60),
                (Some(Step::Note), _) => rng.minutes(5, 90),
                (_, Step::Note) => rng.minutes(5, 120),
                (_, Step::Staff) => rng.minutes(10, 8 * 60),
                (_, Step::Patient) => rng.minutes(20, 30 * 60),
            };
            previous = Some(step);
            (step, gap)
        })
        .collect()
}

/// One conversation being played: its row as it stands, its messages and events so far in the
/// batch. Each method is the storage side of the `persistence::conversations` write it names.
struct Thread<'a> {
    clinic: &'a Clinic,
    patient: &'a Patient,
    row: ConversationRow,
    /// One per staff member who wrote in it.
    read_markers: Vec<ReadMarker>,
    batch: &'a mut Batch,
}

/// A row of `read_markers` as `persistence::read_markers::mark_read` stores it.
#[derive(diesel::Insertable)]
#[diesel(table_name = read_markers)]
struct ReadMarker {
    principal_id: String,
    conversation_id: String,
    last_read_at: NaiveDateTime,
}

impl<'a> Thread<'a> {
    /// `start_by_patient`.
    fn start(
        clinic: &'a Clinic,
        patient: &'a Patient,
        body: String,
        at: NaiveDateTime,
        batch: &'a mut Batch,
    ) -> Result<Self, Box<dyn Error>> {
        let decision = clinic.rules.route(&body);
        let transition =
            Conversation::start_by_patient(&decision, patient.assigned_clinician_id.as_deref());
        let state = &transition.conversation;
        let row = ConversationRow {
            id: new_id(),
            organization_id: patient.organization_id.clone(),
            patient_id: patient.id.clone(),
            team: state.team.as_str().to_owned(),
            status: state.status.as_str().to_owned(),
            urgent: state.urgent,
            category: Some(decision.category.as_str().to_owned()),
            matched_rules: serde_json::to_string(&decision.matched_rules)?,
            assigned_to: state.assigned_to.clone(),
            claimed_by: None,
            claimed_at: None,
            last_activity_at: at,
            last_message_at: at,
            last_message_preview: preview(&body),
            unanswered_since: Some(at),
            created_at: at,
            closed_at: None,
            newest_message_at: at,
            newest_message_author_id: Some(patient.id.clone()),
            newest_other_message_at: None,
        };
        let mut thread = Thread {
            clinic,
            patient,
            row,
            read_markers: Vec::new(),
            batch,
        };
        thread.record(&transition.events, Some(&patient.id), at)?;
        thread.patient_message(body, &transition, at);
        Ok(thread)
    }

    /// `post_by_patient`.
    fn patient_writes(&mut self, body: String, at: NaiveDateTime) -> Result<(), Box<dyn Error>> {
        let decision = self.clinic.rules.route(&body);
        let transition = self
            .row
            .state()?
            .receive_patient_message(&decision, self.patient.assigned_clinician_id.as_deref());
        let rerouted = transition.events.iter().any(|event| {
            matches!(
                event,
                Event::Routed { .. } | Event::Escalated { .. } | Event::FlaggedUrgent { .. }
            )
        });
        if rerouted {
            self.row.category = Some(decision.category.as_str().to_owned());
            self.row.matched_rules = serde_json::to_string(&decision.matched_rules)?;
        }
        self.row.last_activity_at = at;
        self.row.last_message_at = at;
        self.row.last_message_preview = preview(&body);
        self.row.unanswered_since = self.row.unanswered_since.or(Some(at));
        let patient_id = self.patient.id.clone();
        self.apply(&transition, Some(&patient_id), at)?;
        self.patient_message(body, &transition, at);
        Ok(())
    }

    /// `post_by_staff`, a reply: it claims an unclaimed conversation.
    fn staff_replies(
        &mut self,
        staff_id: &str,
        body: String,
        at: NaiveDateTime,
    ) -> Result<(), Box<dyn Error>> {
        let state = self.row.state()?;
        let transition = match state.staff_reply(staff_id)? {
            Some(transition) => transition,
            None => Transition {
                conversation: state,
                events: Vec::new(),
                acknowledgment: None,
            },
        };
        self.row.last_message_at = at;
        self.row.last_message_preview = preview(&body);
        self.row.unanswered_since = None;
        self.apply(&transition, Some(staff_id), at)?;
        self.message(message_kind::STAFF, Some(staff_id), body, None, at);
        self.read_up_to(staff_id, at);
        Ok(())
    }

    /// `post_by_staff`, an internal note: of the conversation row, only what the unread count
    /// reads changes.
    fn note(&mut self, staff_id: &str, body: String, at: NaiveDateTime) {
        self.message(message_kind::INTERNAL_NOTE, Some(staff_id), body, None, at);
        self.read_up_to(staff_id, at);
    }

    /// `mark_read`: the Clinician Platform marks a conversation read when it shows it, so a
    /// staff member who writes in it has read it up to their message.
    fn read_up_to(&mut self, staff_id: &str, at: NaiveDateTime) {
        match self
            .read_markers
            .iter_mut()
            .find(|marker| marker.principal_id == staff_id)
        {
            Some(marker) => marker.last_read_at = at,
            None => self.read_markers.push(ReadMarker {
                principal_id: staff_id.to_owned(),
                conversation_id: self.row.id.clone(),
                last_read_at: at,
            }),
        }
    }

    /// `close`.
    fn close(&mut self, staff_id: &str, at: NaiveDateTime) -> Result<(), Box<dyn Error>> {
        let actor = Actor {
            id: staff_id,
            is_admin: false,
        };
        if let Some(transition) = self.row.state()?.close(actor)? {
            self.apply(&transition, Some(staff_id), at)?;
        }
        Ok(())
    }

    /// Adds the conversation as it now stands to the batch; returns its id and status.
    fn finish(self) -> (String, Status) {
        let status = Status::parse(&self.row.status).unwrap_or(Status::Open);
        let id = self.row.id.clone();
        self.batch.conversations.push(self.row);
        self.batch.read_markers.extend(self.read_markers);
        (id, status)
    }

    /// Whoever holds the conversation, or else someone of its team.
    fn responder(&self, rng: &mut Rng) -> String {
        match &self.row.claimed_by {
            Some(holder) => holder.clone(),
            None => self.clinic.team_member(rng, &self.row),
        }
    }

    /// `persistence::conversations::apply`.
    fn apply(
        &mut self,
        transition: &Transition,
        actor_id: Option<&str>,
        at: NaiveDateTime,
    ) -> Result<(), Box<dyn Error>> {
        self.row.take_state(&transition.conversation, at);
        self.record(&transition.events, actor_id, at)
    }

    /// `persistence::conversations::insert_events`.
    fn record(
        &mut self,
        events: &[Event],
        actor_id: Option<&str>,
        at: NaiveDateTime,
    ) -> Result<(), Box<dyn Error>> {
        for event in events {
            self.batch
                .events
                .push(EventRow::of(&self.row, event, actor_id, at)?);
        }
        Ok(())
    }

    /// `store_patient_message`: the message, sent with an idempotency key as the apps do, and
    /// the acknowledgment the transition calls for.
    fn patient_message(&mut self, body: String, transition: &Transition, at: NaiveDateTime) {
        let patient_id = self.patient.id.clone();
        let id = self.message(message_kind::PATIENT, Some(&patient_id), body, None, at);
        if let Some(kind) = transition.acknowledgment {
            let text = self.clinic.acknowledgments.text(kind).to_owned();
            let at = at + Duration::microseconds(1);
            self.message(message_kind::ACKNOWLEDGMENT, None, text, Some(id), at);
        }
    }

    fn message(
        &mut self,
        kind: &str,
        author_id: Option<&str>,
        body: String,
        in_reply_to: Option<String>,
        at: NaiveDateTime,
    ) -> String {
        let message = MessageRow {
            id: new_id(),
            conversation_id: self.row.id.clone(),
            organization_id: self.row.organization_id.clone(),
            kind: kind.to_owned(),
            author_id: author_id.map(str::to_owned),
            body,
            client_message_id: (kind == message_kind::PATIENT).then(new_id),
            in_reply_to,
            created_at: at,
        };
        self.row.take_message(&message);
        let id = message.id.clone();
        self.batch.messages.push(message);
        id
    }
}

#[derive(Default)]
struct Batch {
    conversations: Vec<ConversationRow>,
    messages: Vec<MessageRow>,
    events: Vec<EventRow>,
    read_markers: Vec<ReadMarker>,
}

impl Batch {
    /// Conversations first: messages and events refer to them. An acknowledgment always comes
    /// after the message it answers, in the same statement or a later one.
    fn write(&self, conn: &mut DbConnection) -> QueryResult<usize> {
        let conversations = in_statements(&self.conversations, CONVERSATION_COLUMNS, |rows| {
            insert!(conn, conversations::table, rows)
        })?;
        let messages = in_statements(&self.messages, MESSAGE_COLUMNS, |rows| {
            insert!(conn, messages::table, rows)
        })?;
        let events = in_statements(&self.events, EVENT_COLUMNS, |rows| {
            insert!(conn, conversation_events::table, rows)
        })?;
        let read_markers = in_statements(&self.read_markers, READ_MARKER_COLUMNS, |rows| {
            insert!(conn, read_markers::table, rows)
        })?;
        Ok(conversations + messages + events + read_markers)
    }
}

/// Inserts `rows` with as few multi-row statements as the bind limit allows.
fn in_statements<T>(
    rows: &[T],
    columns: usize,
    mut insert: impl FnMut(&[T]) -> QueryResult<usize>,
) -> QueryResult<usize> {
    rows.chunks(MAX_BINDS / columns)
        .map(&mut insert)
        .sum::<QueryResult<usize>>()
}

/// What patients and staff write about one topic.
struct Topic {
    /// Share of conversations, in percent.
    share: u64,
    /// Also what reopens a closed conversation.
    openings: &'static [&'static str],
    follow_ups: &'static [&'static str],
    /// The answer to the opening of the same position (modulo the length).
    first_replies: &'static [&'static str],
    later_replies: &'static [&'static str],
}

/// What one conversation is about. Its messages keep to it, so that a word such as "knee" turns
/// up in a few conversations' worth of messages rather than everywhere; within it, follow-ups and
/// replies go round their lists from a random start, so a thread does not repeat itself.
struct Subject {
    topic: &'static Topic,
    first_name: String,
    part: &'static str,
    exercise: &'static str,
    other_exercise: &'static str,
    medication: &'static str,
    start: usize,
    /// The opening written last, which the first reply answers.
    opening: usize,
    follow_ups: usize,
    replies: usize,
}

impl Subject {
    fn new(rng: &mut Rng, patient: &Patient) -> Subject {
        let mut roll = rng.next() % 100;
        let topic = TOPICS
            .iter()
            .find(|topic| {
                let hit = roll < topic.share;
                roll = roll.saturating_sub(topic.share);
                hit
            })
            .unwrap_or(&TOPICS[0]);
        Subject {
            topic,
            first_name: patient
                .display_name
                .split(' ')
                .next()
                .unwrap_or_default()
                .to_owned(),
            part: rng.pick(BODY_PARTS),
            exercise: rng.pick(EXERCISES),
            other_exercise: rng.pick(EXERCISES),
            medication: rng.pick(MEDICATIONS),
            start: rng.below(PERMUTATION_RANGE),
            opening: 0,
            follow_ups: 0,
            replies: 0,
        }
    }

    fn opening(&mut self, rng: &mut Rng) -> String {
        self.opening = rng.below(self.topic.openings.len());
        self.fill(rng, self.topic.openings[self.opening])
    }

    fn follow_up(&mut self, rng: &mut Rng) -> String {
        self.follow_ups += 1;
        let follow_ups = self.topic.follow_ups;
        let template = if rng.chance(20) {
            rng.pick(PATIENT_THANKS)
        } else {
            follow_ups[(self.start + self.follow_ups) % follow_ups.len()]
        };
        self.fill(rng, template)
    }

    fn reply(&mut self, rng: &mut Rng) -> String {
        self.replies += 1;
        let template = if self.replies == 1 {
            let first = self.topic.first_replies;
            first[self.opening % first.len()]
        } else {
            let later = self.topic.later_replies;
            later[(self.start + self.replies) % later.len()]
        };
        self.fill(rng, template)
    }

    /// Replaces each `{name}` of `template` with the subject's word of that name, or a fresh
    /// draw from the list or number range of that name.
    fn fill(&self, rng: &mut Rng, template: &str) -> String {
        let mut text = String::with_capacity(template.len() + 40);
        let mut rest = template;
        while let Some((before, after)) = rest.split_once('{') {
            text.push_str(before);
            let Some((name, after)) = after.split_once('}') else {
                rest = after;
                break;
            };
            match name {
                "first" => text.push_str(&self.first_name),
                "part" => text.push_str(self.part),
                "exercise" => text.push_str(self.exercise),
                "other" => text.push_str(self.other_exercise),
                "medication" => text.push_str(self.medication),
                _ => {
                    if let Some(&(_, words)) = WORDS.iter().find(|(word, _)| *word == name) {
                        text.push_str(rng.pick(words));
                    } else if let Some(&(_, (low, high))) =
                        NUMBERS.iter().find(|(number, _)| *number == name)
                    {
                        text.push_str(&rng.number(low, high).to_string());
                    }
                }
            }
            rest = after;
        }
        text.push_str(rest);
        // An empty greeting leaves a leading space and a lower-case start.
        let text = text.trim_start();
        let mut chars = text.chars();
        chars
            .next()
            .map(|first| first.to_uppercase().chain(chars).collect())
            .unwrap_or_default()
    }
}

/// Bounds the random start of a thread's turn through its lists (any multiple of their lengths).
const PERMUTATION_RANGE: usize = 840;

/// Three quarters care team (clinical and care-plan questions), a quarter Support, a few of those
/// emergencies. Routing, not this table, decides where each conversation goes.
const TOPICS: [Topic; 9] = [
    Topic {
        share: 38,
        openings: &[
            "{greeting} my {part} has been {ache} {since}. It gets worse {worse}. {question}",
            "{greeting} I've had {pain} in my {part} {since}, mostly {worse}. I tried \
            {self_care} but it only helps for a bit. {question}",
            "{greeting} after the {exercise} yesterday my {part} felt {ache} and it's still like \
            that today. Pain is about {level} out of 10. {question}",
            "{greeting} quick question about my {part}: there's {pain} {worse}. {question}",
        ],
        follow_ups: &[
            "Thanks. I tried {self_care} and it helped a little.",
            "It's still {ache} in the morning but better later in the day.",
            "Ok, I'll skip the {exercise} for a few days then.",
            "Today it's about a {level} out of 10.",
            "A bit better today, I could do the {exercise} without much pain.",
            "The {part} still clicks a bit when I {move} but it doesn't hurt.",
        ],
        first_replies: &[
            "Thanks for letting me know, {first}. Some soreness in the {part} is common when the \
            load goes up. Try {self_care} for 15 minutes after the exercises and do half the \
            reps for a few days.",
            "Hi {first}, that sounds like the {part} is a bit irritated. Please pause the \
            {exercise} until the end of the week and keep the gentle stretches. Let me know how \
            it feels after the weekend.",
            "I've adjusted your program: the {exercise} are replaced by {other}, which put less \
            load on the {part}.",
            "Thanks, {first}. If the swelling gets worse or the {part} turns red and warm, \
            please call the clinic so we can see you sooner. Otherwise keep moving gently.",
        ],
        later_replies: &[
            "It's fine to keep walking as long as the pain stays below 4 out of 10 and settles \
            by the next morning.",
            "Glad to hear it's improving! Keep going with the plan and message us if anything \
            changes.",
            "Keep the {exercise} at the lower reps for now, we'll review at your next session.",
            "Good to hear. If it flares up again, go back to the easier version for a couple of \
            days.",
        ],
    },
    Topic {
        share: 20,
        openings: &[
            "{greeting} I finished week {week} of my program and the {exercise} feel too easy \
            now. Can we make them harder?",
            "{greeting} how many reps should I do of the {exercise}? The handout says 3 sets of \
            10 but I can only manage {reps}.",
            "{greeting} I'm away next week. Should I keep doing my exercises every day or is \
            every other day enough?",
            "{greeting} my {part} is feeling much better. What's the next step in my plan?",
            "{greeting} can we swap the {exercise} for something else? They bother my {part}.",
            "{greeting} I keep forgetting to do the {exercise} in the evening. Would mornings \
            work just as well for my routine?",
        ],
        follow_ups: &[
            "Great, I'll try the new ones tomorrow.",
            "I did {sets} sets today and it felt fine.",
            "Should I use the lighter band or the heavier one?",
            "The {other} are harder than I expected but ok.",
            "Do I still do the stretches on rest days?",
        ],
        first_replies: &[
            "Great progress, {first}! I've moved you to the next phase: 3 sets of 12 and a \
            slightly heavier band.",
            "Aim for 2 sets of {reps} to start with, and add a set once that feels easy.",
            "Every other day is enough while you travel. Keep the walks going.",
            "Great to hear, {first}! Next up is the second phase of your plan: I've added \
            {other} to your program.",
            "Sure, I've swapped the {exercise} for {other}. You'll see the change in the app \
            tonight.",
            "Mornings work just as well. Doing them regularly matters more than the time of day.",
        ],
        later_replies: &[
            "You're welcome! Keep it up.",
            "Use the lighter band for the first two weeks, then switch.",
            "Yes, gentle stretching on rest days is great.",
            "Nice work, {first}. Let me know when the {other} get easier too.",
        ],
    },
    Topic {
        share: 9,
        openings: &[
            "{greeting} can I take {medication} together with my blood pressure medication?",
            "{greeting} I'm almost out of {medication}. Could you send a new prescription to my \
            pharmacy?",
            "{greeting} since starting {medication} I feel {side_effect} in the afternoon. Is \
            that a side effect?",
            "{greeting} should I take {medication} before or after the exercises?",
        ],
        follow_ups: &[
            "Thanks, I'll call the pharmacy tomorrow.",
            "Ok, I'll take it with food from now on.",
            "The {part} feels better since I take it in the morning.",
            "Which pharmacy did you send it to?",
        ],
        first_replies: &[
            "Yes, {medication} is fine with your other medication, but take it with food.",
            "I've sent the prescription to your pharmacy, it should be ready tomorrow.",
            "That is a known side effect and usually settles after a week or two. If it doesn't, \
            we'll review the dose at your next visit.",
            "Take it about 30 minutes before the exercises so it works when you need it.",
        ],
        later_replies: &[
            "It went to the pharmacy on file, the one on Main Street.",
            "You're welcome, let us know how it goes.",
            "Good to hear, {first}. Keep the same schedule for now.",
        ],
    },
    Topic {
        share: 8,
        openings: &[
            "{greeting} just wanted to say thank you, my {part} is so much better than a month \
            ago!",
            "{greeting} thank you for the session today, the new stretches really help.",
            "{greeting} happy holidays to the whole team, and thanks for all the help this year.",
            "{greeting} I walked {miles} miles this weekend without any pain. Thanks for \
            everything!",
        ],
        follow_ups: &["Thank you, will do!", "You too!", "Thanks again."],
        first_replies: &[
            "Thank you, {first}! That's great to hear.",
            "Glad the stretches help, {first}!",
            "Thanks, {first}, and happy holidays to you too!",
            "That's wonderful news, keep it up!",
        ],
        later_replies: &["You're welcome!", "Take care, {first}."],
    },
    Topic {
        share: 8,
        openings: &[
            "{greeting} the app keeps crashing when I open the exercise videos.",
            "{greeting} the videos won't load on my phone, I just see a spinning circle.",
            "{greeting} my headset won't turn on even after charging it overnight.",
            "{greeting} I don't get the reminder notifications anymore since the last update.",
            "{greeting} the app is really slow on my tablet and sometimes freezes in the middle \
            of an exercise.",
            "{greeting} the exercise tracker doesn't count my reps anymore.",
        ],
        follow_ups: &[
            "I reinstalled the app but it's still doing the same thing.",
            "I'm on an iPhone 12 with the latest update.",
            "That worked, the videos play again. Thanks!",
            "It worked for a day and now it's frozen again.",
            "I restarted the phone and it seems fine now.",
        ],
        first_replies: &[
            "Sorry about the trouble with the app, {first}. Please update to the latest version \
            from the app store and restart your phone.",
            "Sorry about that, {first}. Please restart your phone and make sure the app is up to \
            date, then try the videos again.",
            "Please hold the power button for 10 seconds until the light blinks, then charge the \
            headset for an hour.",
            "Please check that notifications are turned on for the app in your phone's settings, \
            then sign out and back in.",
            "Thanks for reporting this. Please update to the latest version, which is faster on \
            older tablets.",
            "Thanks for reporting this. Could you send a screenshot of the tracker? That helps \
            our engineers find the cause.",
        ],
        later_replies: &[
            "We found the issue: it was a bug in the last release. A fix is out now, please \
            update the app.",
            "Glad it works again! Let us know if it happens another time.",
            "Thanks for checking. Which version of the app do you have? It's under Settings > \
            About.",
        ],
    },
    Topic {
        share: 4,
        openings: &[
            "{greeting} I forgot my password and the reset email never arrives.",
            "{greeting} I can't log in, it says my account is locked.",
            "{greeting} how do I change the email address on my account?",
            "{greeting} my daughter helps me with my exercises. Can she get access to my account?",
            "{greeting} I have a new phone number. How do I update it in my profile?",
        ],
        follow_ups: &[
            "Found it in the spam folder, thanks!",
            "I still get the same error when I sign in.",
            "Done, thank you for the help.",
            "The new email is on my profile now.",
        ],
        first_replies: &[
            "I've sent a new password reset link to the email on file. It's valid for 30 \
            minutes, please check the spam folder too.",
            "I've unlocked your account, you can sign in again now.",
            "You can change your email under Profile > Account. Let me know if you don't see the \
            option.",
            "Yes, we can add her as a caregiver. Please send her name and email and I'll set it \
            up.",
            "I've updated your profile. You'll get a text to confirm the new number.",
        ],
        later_replies: &[
            "Great, glad it's sorted!",
            "Could you try once more and tell me the exact error message?",
        ],
    },
    Topic {
        share: 6,
        openings: &[
            "{greeting} I was charged twice for my {month} session.",
            "{greeting} does my insurance cover the virtual visits?",
            "{greeting} I got a bill for ${amount} but I thought my copay was ${copay}.",
            "{greeting} can I set up a payment plan for my outstanding balance?",
            "{greeting} I need a receipt for my HSA for the last three months.",
        ],
        follow_ups: &[
            "Thanks, I see the refund on my card now.",
            "My insurance is Blue Cross, the member number is on the card.",
            "Ok, I'll wait for the statement.",
            "Could you send the receipt by mail instead?",
        ],
        first_replies: &[
            "I checked your account: the second charge was a pending authorization and will drop \
            off within 3 to 5 business days.",
            "Virtual visits are covered by most plans. I've checked yours and you only pay your \
            usual copay.",
            "You're right, the copay was applied incorrectly. I've corrected it and you'll get \
            an updated statement.",
            "A payment plan is no problem. I've set up {payments} monthly payments of ${copay}.",
            "I've emailed you the receipts for the last three months.",
        ],
        later_replies: &[
            "You're welcome! Anything else I can help with?",
            "I've added a note to your account so it won't happen again.",
        ],
    },
    Topic {
        share: 4,
        openings: &[
            "{greeting} can I move my appointment on {weekday} to the afternoon?",
            "{greeting} I need to cancel my session tomorrow, something came up at work.",
            "{greeting} do you have any openings next week for a follow-up visit?",
            "{greeting} I'm running late for my {time} appointment, about 15 minutes.",
            "{greeting} is it possible to switch my sessions to {weekday} mornings?",
        ],
        follow_ups: &[
            "{weekday} at {time} works for me.",
            "Thanks, see you then!",
            "Could we do a bit later, after 4?",
        ],
        first_replies: &[
            "No problem, I've moved your appointment to {weekday} at {time}. You'll get a \
            reminder the day before.",
            "I've cancelled tomorrow's session. Would you like to book another one now?",
            "We have openings on {weekday} at {time} or on {weekday} at {time}. Which works \
            better?",
            "Thanks for letting us know, we'll see you when you get here.",
            "Done, your sessions are in the morning from next week on. You'll get the new times \
            by email.",
        ],
        later_replies: &[
            "Perfect, you're booked. See you then!",
            "Sure, I've moved it to {time}.",
        ],
    },
    Topic {
        share: 3,
        openings: &[
            "I have chest pain and pressure that started an hour ago.",
            "I'm having trouble breathing since this morning and it's getting worse.",
            "I had a bad fall on the stairs and can't put any weight on my ankle.",
            "My face feels droopy on one side and my speech sounds strange.",
            "My {part} is very swollen and I have a high fever since last night.",
            "I think I took a double dose of {medication} by mistake.",
        ],
        follow_ups: &[
            "Ok, my husband is driving me to urgent care now.",
            "I'm at the hospital, they are doing some tests.",
            "Thank you for calling me so quickly.",
            "Feeling better now, the doctor said it wasn't serious.",
        ],
        first_replies: &[
            "{first}, I'm calling you now. If you feel worse, call 911 right away.",
            "Please don't wait: call 911 or go to the nearest emergency room now. I'm letting \
            your clinician know.",
        ],
        later_replies: &[
            "Thanks for the update, {first}. We're glad you're being seen. Your clinician will \
            follow up tomorrow.",
            "I've let your clinician know. Please keep us posted.",
            "Glad you're feeling better. Your clinician will call you tomorrow to check in.",
        ],
    },
];

const FIRST_NAMES: &str =
    "Olivia Liam Emma Noah Ava Elijah Sophia James Isabella William Mia Benjamin Charlotte \
    Lucas Amelia Henry Harper Theodore Evelyn Jack Abigail Levi Emily Alexander Ella Jackson \
    Elizabeth Mateo Camila Daniel Luna Michael Sofia Mason Avery Sebastian Mila Ethan Aria \
    Logan Scarlett Owen Penelope Samuel Layla Jacob Chloe Asher Victoria Aiden Madison John \
    Eleanor Joseph Grace Wyatt Nora David Riley Leo Zoey Luke Hannah Julian Hazel Hudson \
    Lily Grayson Ellie Matthew Violet Ezra Lillian Gabriel Zoe Carter Stella Isaac Aurora \
    Maria Priya Wei Fatima Kenji Aisha Carlos Ngozi Dmitri Leila Rahul";

const LAST_NAMES: &str =
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez \
    Lopez Gonzalez Wilson Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson \
    White Harris Sanchez Clark Ramirez Lewis Robinson Walker Young Allen King Wright Scott \
    Torres Nguyen Hill Flores Green Adams Nelson Baker Hall Rivera Campbell Mitchell Carter \
    Roberts Gomez Phillips Evans Turner Diaz Parker Cruz Edwards Collins Reyes Stewart \
    Morris Morales Murphy Cook Rogers Gutierrez Ortiz Morgan Cooper Peterson Bailey Reed \
    Kelly Howard Ramos Kim Cox Ward Richardson Patel Okafor Kowalski Nakamura Haddad \
    Johansson Ivanova Osei Chen Silva";

/// Repeated entries are the common complaints of a physical-therapy practice.
const BODY_PARTS: &[&str] = &[
    "knee",
    "knee",
    "knee",
    "lower back",
    "lower back",
    "lower back",
    "shoulder",
    "shoulder",
    "neck",
    "neck",
    "hip",
    "hip",
    "ankle",
    "wrist",
    "elbow",
    "hamstring",
    "calf",
    "foot",
    "upper back",
    "heel",
    "thigh",
    "hand",
];

const EXERCISES: &[&str] = &[
    "bridges",
    "clamshells",
    "wall squats",
    "heel raises",
    "hamstring stretches",
    "straight leg raises",
    "band rows",
    "cat-cow stretches",
    "chin tucks",
    "step-ups",
    "mini squats",
    "pendulum swings",
    "side planks",
    "bird dogs",
    "calf stretches",
    "glute bridges",
    "shoulder rolls",
    "wall push-ups",
    "sit-to-stands",
    "band pull-aparts",
];

const MEDICATIONS: &[&str] = &[
    "ibuprofen",
    "naproxen",
    "acetaminophen",
    "the muscle relaxant",
    "gabapentin",
    "meloxicam",
    "the anti-inflammatory",
    "the new medication",
];

const GREETINGS: &[&str] = &[
    "Hi,",
    "Hello,",
    "Hi there,",
    "Good morning,",
    "Hey,",
    "",
    "",
    "Hi again,",
];

const ACHES: &[&str] = &[
    "sore",
    "stiff",
    "achy",
    "tight",
    "swollen",
    "tender",
    "really sore",
    "a bit stiff",
    "painful",
];

const PAINS: &[&str] = &[
    "a dull ache",
    "a sharp pain",
    "some swelling",
    "a clicking feeling",
    "stiffness",
    "a pinching feeling",
    "soreness",
    "a throbbing pain",
];

const SINCE: &[&str] = &[
    "since yesterday",
    "for about a week",
    "since Monday",
    "for the last few days",
    "since my last session",
    "on and off for two weeks",
    "since the weekend",
    "for a couple of days",
];

const WORSE_WHEN: &[&str] = &[
    "when I climb stairs",
    "when I get out of the car",
    "after sitting at my desk for a while",
    "after my evening walk",
    "first thing in the morning",
    "at night in bed",
    "when I bend down to pick something up",
    "when I reach overhead",
    "after gardening",
    "after standing for a long time",
    "when I go for a run",
    "after carrying the groceries",
];

const MOVES: &[&str] = &["bend it", "stretch", "walk fast", "turn", "lift something"];

const SELF_CARE: &[&str] = &[
    "ice",
    "a heating pad",
    "ibuprofen",
    "resting it",
    "the foam roller",
    "a warm bath",
    "gentle stretching",
    "the brace",
];

const QUESTIONS: &[&str] = &[
    "Is that normal?",
    "Should I keep doing the exercises?",
    "Should I be worried?",
    "Is it ok to keep walking on it?",
    "Can I still go to the gym?",
    "What do you recommend?",
    "Is this part of the healing process?",
    "Should I rest for a few days?",
];

const SIDE_EFFECTS: &[&str] = &["drowsy", "a bit nauseous", "dizzy", "tired"];

const MONTHS: &[&str] = &[
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

const WEEKDAYS: &[&str] = &["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"];

const TIMES: &[&str] = &[
    "8:30", "9:15", "10:00", "11:45", "1:30", "2:15", "3:00", "4:45",
];

const PATIENT_THANKS: &[&str] = &[
    "Thank you!",
    "Perfect, thanks so much.",
    "Got it, thanks for the quick answer.",
    "Ok, will do. Thanks!",
    "Great, thank you.",
];

const CARE_NOTES: &[&str] = &[
    "Reviewed with the clinical lead: keep the current plan, re-check in two weeks.",
    "Patient prefers messages over phone calls.",
    "Called the patient, no answer. Left a voicemail.",
    "Pain pattern in the {part} sounds mechanical, no red flags. Progress as planned.",
    "Patient mentioned a trip next month, plan paused for two weeks.",
];

const SUPPORT_NOTES: &[&str] = &[
    "Escalated the video playback issue to engineering, ticket #{ticket}.",
    "Refund submitted in the billing system, reference {ticket}.",
    "Called the patient, no answer. Left a voicemail.",
    "Identity confirmed over the phone before changing the account.",
];

/// The lists a `{name}` in a template draws from.
const WORDS: &[(&str, &[&str])] = &[
    ("greeting", GREETINGS),
    ("ache", ACHES),
    ("pain", PAINS),
    ("since", SINCE),
    ("worse", WORSE_WHEN),
    ("move", MOVES),
    ("self_care", SELF_CARE),
    ("question", QUESTIONS),
    ("side_effect", SIDE_EFFECTS),
    ("month", MONTHS),
    ("weekday", WEEKDAYS),
    ("time", TIMES),
];

/// The ranges a `{name}` in a template draws a number from.
const NUMBERS: &[(&str, (usize, usize))] = &[
    ("level", (1, 6)),
    ("week", (2, 8)),
    ("reps", (4, 10)),
    ("sets", (2, 4)),
    ("miles", (2, 9)),
    ("amount", (60, 240)),
    ("copay", (10, 40)),
    ("payments", (3, 6)),
    ("ticket", (1000, 9999)),
];
