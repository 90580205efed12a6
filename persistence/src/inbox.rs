//! Reads of the staff inbox: the tabs, their counts and search. Every query starts from
//! [`tab_part_query`], which applies who may see what (the caller's organization, and only Support's
//! conversations for support agents) from the same [`StaffActor`] the writes use; the closed
//! tab's count, kept apart, applies the same rule to its per-team counts ([`counts`]).

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::expression::BoxableExpression;
use diesel::helper_types::AsSelect;
use diesel::prelude::*;
use diesel::query_builder::{AstPass, Query, QueryFragment, QueryId};
use diesel::sql_types::{BigInt, Bool};
use domain::conversation::Status;
use domain::routing::Team;

use crate::conversations::{page, ActivityKey, ConversationRow, Page, StaffActor};
use crate::db::MultiBackend;
use crate::fragment::fragment;
use crate::schema::{closed_conversation_counts, conversations};
use crate::search::{self, SearchTerms};
use crate::{DbConnection, StoreError};

/// The inbox tabs of the Clinician Platform.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Open, and assigned to or claimed by the caller.
    Assigned,
    /// Open care-team conversations nobody is assigned to.
    MyClinic,
    /// Open conversations with Support.
    Support,
    Closed,
}

impl Tab {
    /// Open tabs list urgent conversations first; the closed tab lists by activity alone.
    fn lists_urgent_first(self) -> bool {
        self != Tab::Closed
    }

    /// Every conversation of a tab has this status.
    fn status(self) -> Status {
        match self {
            Tab::Closed => Status::Closed,
            Tab::Assigned | Tab::MyClinic | Tab::Support => Status::Open,
        }
    }
}

/// What narrows a tab.
#[derive(Debug, Clone, Copy)]
pub struct InboxFilter<'a> {
    pub tab: Tab,
    /// Matches the conversation's message text (acknowledgments aside) or the patient's name;
    /// see [`crate::search::conversation_matches`].
    pub search: Option<&'a SearchTerms>,
    pub urgent: Option<bool>,
    pub patient_id: Option<&'a str>,
}

/// Open conversations of each tab the caller has, and the closed ones they may see.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Counts {
    pub assigned: i64,
    pub my_clinic: i64,
    pub support: i64,
    pub closed: i64,
    /// Open conversations the caller may see that hold a message they have not read.
    pub unread: i64,
}

type ConversationQuery = conversations::BoxedQuery<'static, MultiBackend>;

/// One index-ordered query of a tab. The assigned tab is two disjoint ones, one per index
/// (assigned to the caller; claimed by the caller but assigned to someone else or nobody): an
/// `OR` of the two columns can use no index's order, so every open conversation of the caller
/// would be read and sorted for each page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TabPart {
    AssignedToCaller,
    ClaimedByCaller,
    MyClinic,
    Support,
    Closed,
}

impl TabPart {
    /// A part that holds one person's open caseload (hundreds of conversations, not a clinic's
    /// tens of thousands), so a search reads it whole rather than first finding where to stop.
    fn is_caseload(self) -> bool {
        matches!(self, TabPart::AssignedToCaller | TabPart::ClaimedByCaller)
    }
}

/// The parts whose rows, together, are the tab.
fn tab_parts(tab: Tab) -> &'static [TabPart] {
    match tab {
        Tab::Assigned => &[TabPart::AssignedToCaller, TabPart::ClaimedByCaller],
        Tab::MyClinic => &[TabPart::MyClinic],
        Tab::Support => &[TabPart::Support],
        Tab::Closed => &[TabPart::Closed],
    }
}

fn tab_part_query(staff: &StaffActor<'_>, part: TabPart) -> ConversationQuery {
    let open = || visible(staff).filter(conversations::status.eq(Status::Open.as_str()));
    match part {
        TabPart::AssignedToCaller => {
            open().filter(conversations::assigned_to.eq(staff.id.to_owned()))
        }
        // `assigned_to <> claimed_by`, not the caller's id: so PostgreSQL's planner can prove the
        // query within the part's own partial index (migration 11).
        TabPart::ClaimedByCaller => open()
            .filter(conversations::claimed_by.eq(staff.id.to_owned()))
            .filter(
                conversations::assigned_to
                    .is_null()
                    .or(conversations::assigned_to.ne(conversations::claimed_by)),
            ),
        TabPart::MyClinic => open()
            .filter(conversations::team.eq(Team::CareTeam.as_str()))
            .filter(conversations::assigned_to.is_null()),
        TabPart::Support => open().filter(conversations::team.eq(Team::Support.as_str())),
        TabPart::Closed => visible(staff).filter(conversations::status.eq(Status::Closed.as_str())),
    }
}

/// The conversations the caller may see.
fn visible(staff: &StaffActor<'_>) -> ConversationQuery {
    let mut query = conversations::table
        .filter(conversations::organization_id.eq(staff.organization_id.to_owned()))
        .into_boxed();
    if let Some(team) = staff.visible_team {
        query = query.filter(conversations::team.eq(team.as_str()));
    }
    query
}

/// The query narrowed by the filter's urgency and patient, and to the rows after the cursor.
fn narrow(
    mut query: ConversationQuery,
    filter: &InboxFilter<'_>,
    after_key: Option<&ActivityKey>,
) -> ConversationQuery {
    if let Some(urgent) = filter.urgent {
        query = query.filter(conversations::urgent.eq(urgent));
    }
    if let Some(patient_id) = filter.patient_id {
        query = query.filter(conversations::patient_id.eq(patient_id.to_owned()));
    }
    match after_key {
        Some(key) => query.filter(key.rows_after(filter.tab.lists_urgent_first())),
        None => query,
    }
}

/// A row's place in a tab: urgency, last activity and id.
trait Placed {
    fn place(&self) -> (bool, NaiveDateTime, &str);
}

impl Placed for ConversationRow {
    fn place(&self) -> (bool, NaiveDateTime, &str) {
        (self.urgent, self.last_activity_at, &self.id)
    }
}

impl Placed for ActivityKey {
    fn place(&self) -> (bool, NaiveDateTime, &str) {
        (self.urgent, self.last_activity_at, &self.id)
    }
}

/// Sorts rows in the tab's order (see [`in_tab_order`]), first listed first.
fn sort_in_tab_order<T: Placed>(tab: Tab, rows: &mut [T]) {
    fn place_in(tab: Tab, row: &impl Placed) -> (bool, NaiveDateTime, &str) {
        let (urgent, last_activity_at, id) = row.place();
        (tab.lists_urgent_first() && urgent, last_activity_at, id)
    }
    rows.sort_unstable_by(|a, b| place_in(tab, b).cmp(&place_in(tab, a)));
}

/// The query in the tab's order: open tabs list urgent first, then most recent activity; the
/// closed tab by activity alone. Ids break ties.
fn in_tab_order(query: ConversationQuery, tab: Tab) -> ConversationQuery {
    match tab {
        Tab::Closed => query.order((
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        )),
        _ => query.order((
            conversations::urgent.desc(),
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        )),
    }
}

/// The first `limit` rows of the query in the tab's order.
fn first_rows(
    conn: &mut DbConnection,
    query: ConversationQuery,
    tab: Tab,
    limit: i64,
) -> Result<Vec<ConversationRow>, StoreError> {
    Ok(in_tab_order(query, tab)
        .select(ConversationRow::as_select())
        .limit(limit)
        .load(conn)?)
}

/// One page of a tab, after `after` (keyset pagination: a conversation that gets new activity
/// moves to the top and is not listed twice, and the others keep their places).
pub fn list(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
    filter: &InboxFilter<'_>,
    after_key: Option<&ActivityKey>,
    limit: i64,
) -> Result<Page<ConversationRow>, StoreError> {
    if filter.search.is_some_and(SearchTerms::is_empty) {
        return Ok(Page {
            items: Vec::new(),
            next: None,
        });
    }
    let backend = conn.backend();
    let tab_search = match filter.search {
        Some(terms) if search::collects_from_indexes(backend) => Some(TabSearch::new(
            conn, staff, filter, after_key, backend, terms,
        )?),
        _ => None,
    };
    let mut rows = Vec::new();
    // The last row that can make the page (with the one that tells whether another follows),
    // once the parts read so far have filled it: a later part needs only the rows listed before
    // it. The claimed part of a clinician's assigned tab then reads the stretch of time the
    // assigned part's page covers, not a page of its own that the merge would mostly drop.
    let mut last_candidate: Option<ActivityKey> = None;
    for &part in tab_parts(filter.tab) {
        let part_query = || {
            let part_rows = narrow(tab_part_query(staff, part), filter, after_key);
            match &last_candidate {
                Some(key) => part_rows.filter(key.rows_before(filter.tab.lists_urgent_first())),
                None => part_rows,
            }
        };
        rows.extend(match (&tab_search, filter.search) {
            (Some(tab_search), _) => tab_search.first_matches(conn, part, part_query, limit + 1)?,
            (None, Some(terms)) => {
                let matching = part_query().filter(search::conversation_matches(
                    backend,
                    terms,
                    filter.tab.status().into(),
                ));
                first_rows(conn, matching, filter.tab, limit + 1)?
            }
            (None, None) => first_rows(conn, part_query(), filter.tab, limit + 1)?,
        });
        sort_in_tab_order(filter.tab, &mut rows);
        let candidates = usize::try_from(limit + 1).unwrap_or(usize::MAX);
        if rows.len() >= candidates {
            rows.truncate(candidates);
            last_candidate = rows.last().map(ActivityKey::of);
        }
    }
    Ok(page(rows, limit))
}

/// Rows of a tab a search walks, in the tab's order, before it turns to the search indexes.
const SEARCH_WALK_LIMIT: i64 = 1_000;

/// Older matches a search collects from the search indexes to sort. A word this common past the
/// walked rows (a topic of years ago) is walked for instead: it is dense there, so the walk is
/// short, and collecting every match would hold one row per match in memory.
const OLDER_MATCHES_LIMIT: i64 = 10_000;

/// Below this many (conversation, word) entries of the organization's open conversations, a
/// search collects the matches of its words instead of walking the tab for them. Walking for
/// a word in a share `s` of conversations tests about `page / s` rows; collecting reads `s` of
/// the organization's open conversations. At 30,000 open conversations and a page of 51 the
/// two cost the same near `s` = 4 %, about 1,200 conversations. A caseload is walked whatever
/// its words, but for words this rare the walk reads it whole, and tests each row against the
/// words' entries read once (see [`search::Tested::Open`]).
const RARE_WORD_ENTRIES: i64 = 1_200;

/// A search of one tab, on a database whose search indexes can list a rare word's matches
/// ([`search::collects_from_indexes`]).
struct TabSearch<'a> {
    staff: &'a StaffActor<'a>,
    tab: Tab,
    backend: crate::Backend,
    terms: &'a SearchTerms,
    /// Whether the words are in so few open conversations of the organization that collecting
    /// their matches costs less than walking an open tab for them, and a caseload's walk tests
    /// its rows against their entries (see [`RARE_WORD_ENTRIES`]). Asked once for all the parts
    /// of a tab.
    words_are_rare: bool,
    /// In the closed tab, the one lexeme the words make, when they make one and nothing but
    /// the tab narrows the search: its matches are then read from the closed word table in the
    /// tab's order ([`search::closed_candidates`]).
    closed_lexeme: Option<String>,
    after_key: Option<&'a ActivityKey>,
}

impl<'a> TabSearch<'a> {
    fn new(
        conn: &mut DbConnection,
        staff: &'a StaffActor<'a>,
        filter: &InboxFilter<'_>,
        after_key: Option<&'a ActivityKey>,
        backend: crate::Backend,
        terms: &'a SearchTerms,
    ) -> Result<TabSearch<'a>, StoreError> {
        let tab = filter.tab;
        let words_are_rare = tab.status() == Status::Open
            && search::open_word_entries(conn, staff.organization_id, terms, RARE_WORD_ENTRIES)?
                < RARE_WORD_ENTRIES;
        let only_the_tab_narrows = filter.urgent.is_none() && filter.patient_id.is_none();
        let closed_lexeme = if tab == Tab::Closed && only_the_tab_narrows {
            search::single_english_lexeme(conn, terms)?
        } else {
            None
        };
        Ok(TabSearch {
            staff,
            tab,
            backend,
            terms,
            words_are_rare,
            closed_lexeme,
            after_key,
        })
    }

    /// The first `wanted` matches among `part_rows` (the rows of `part`, narrowed and after the
    /// cursor), in no particular order.
    ///
    /// Walking the tab's index and testing each row's document finds a page of a common word at
    /// once, but for a rare word or a patient's name PostgreSQL walked the whole tab (12,000 open
    /// care-team conversations for `password` at 1 M messages, 26–45 ms): its planner prices the
    /// test of a document far below the 1.5–2 µs it takes. So the walk stops at the part's first
    /// [`SEARCH_WALK_LIMIT`] rows, and when they hold less than a page the older matches are
    /// collected from the search indexes by a query with no order, and sorted here (or, past
    /// [`OLDER_MATCHES_LIMIT`] of them, walked for after all). An open part's walk carries its
    /// bound, and finds its last row, in its own statement ([`first_walked_matches`]); a closed
    /// part's is the key of its 1,000th row ([`walk_bound`]). A caseload is walked whole:
    /// finding its 1,000th row would read it all to find none.
    ///
    /// Words that few open conversations hold skip the walk: their matches are collected at
    /// once. For `password` (in 288 of 30,000 open conversations) walking My Clinic's newest
    /// 1,000 rows took 5–6 ms and collecting its matches takes 1.5–2 ms. Not in a caseload,
    /// whose walk is bounded by its size: there the planner took the collection's list of ids
    /// as a condition on the index of the caller's claims of the time, (claimed_by, status,
    /// urgent, last_activity_at, id), and so read the whole caseload from it once per id (570
    /// ids for `password` on a database the benchmark's sends had touched: 24 ms, where the walk
    /// takes 1.8 ms). A caseload's walk for rare words tests its rows against their entries read
    /// once instead ([`search::Tested::Open`]): the walk keeps the caseload's index and order,
    /// and only the test of each row changes.
    ///
    /// A closed-tab search for one word reads neither: the word's newest closed conversations
    /// are one range of the closed word table's index (migration 13). Several words, or a
    /// filter the table does not hold, take the walk, whose GIN indexes intersect words.
    fn first_matches(
        &self,
        conn: &mut DbConnection,
        part: TabPart,
        part_rows: impl Fn() -> ConversationQuery,
        wanted: i64,
    ) -> Result<Vec<ConversationRow>, StoreError> {
        let tab = self.tab;
        let matching = || part_rows().filter(self.condition(part));
        if let Some(lexeme) = &self.closed_lexeme {
            let candidates = search::closed_candidates(
                self.staff.organization_id,
                self.staff.visible_team,
                lexeme,
                self.after_key,
                self.terms,
                wanted,
            );
            return first_rows(conn, matching().filter(candidates), tab, wanted);
        }
        if self.words_are_rare && !part.is_caseload() {
            if let Some(keys) = self.match_keys(conn, matching())? {
                return first_of(conn, tab, keys, wanted);
            }
        }
        let (mut rows, oldest_walked) = if part.is_caseload() {
            (first_rows(conn, matching(), tab, wanted)?, None)
        } else if tab.status() == Status::Open {
            first_walked_matches(conn, part_rows(), self.condition(part), tab, wanted)?
        } else {
            let oldest_walked = walk_bound(conn, part_rows(), tab)?;
            let rows = match &oldest_walked {
                None => first_rows(conn, matching(), tab, wanted)?,
                Some(oldest_walked) => {
                    let mut rows = Vec::new();
                    for range in oldest_walked.ranges_up_to(tab.lists_urgent_first()) {
                        let missing = wanted - i64::try_from(rows.len()).unwrap_or(i64::MAX);
                        if missing <= 0 {
                            break;
                        }
                        rows.extend(first_rows(conn, matching().filter(range), tab, missing)?);
                    }
                    rows
                }
            };
            (rows, oldest_walked)
        };
        let missing = wanted - i64::try_from(rows.len()).unwrap_or(i64::MAX);
        let Some(oldest_walked) = oldest_walked.filter(|_| missing > 0) else {
            return Ok(rows);
        };
        let older = || matching().filter(oldest_walked.rows_after(tab.lists_urgent_first()));
        match self.match_keys(conn, older())? {
            Some(keys) => rows.extend(first_of(conn, tab, keys, missing)?),
            None => rows.extend(first_rows(conn, older(), tab, missing)?),
        }
        Ok(rows)
    }

    /// Whether a conversation of the part matches the search.
    fn condition(&self, part: TabPart) -> search::Condition<conversations::table> {
        let tested = match self.tab.status() {
            Status::Open if self.words_are_rare && part.is_caseload() => search::Tested::Open {
                rare_in: Some(self.staff.organization_id),
            },
            status => status.into(),
        };
        search::conversation_matches(self.backend, self.terms, tested)
    }

    /// The order keys of every row of `matches`, or `None` when there are more than
    /// [`OLDER_MATCHES_LIMIT`].
    ///
    /// The planner serves this unordered query from search indexes: closed conversations' own
    /// (migration 6), and for open ones, which every send rewrites, the table of their words
    /// (migration 9) and the index of patients' names.
    fn match_keys(
        &self,
        conn: &mut DbConnection,
        matches: ConversationQuery,
    ) -> Result<Option<Vec<ActivityKey>>, StoreError> {
        let matches = match self.tab {
            Tab::Closed => matches,
            _ => matches.filter(search::open_candidates(
                self.staff.organization_id,
                self.terms,
            )),
        };
        let keys: Vec<ActivityKey> = matches
            .select(ActivityKey::as_select())
            .limit(OLDER_MATCHES_LIMIT + 1)
            .load(conn)?;
        let too_many = keys.len() > usize::try_from(OLDER_MATCHES_LIMIT).unwrap_or(usize::MAX);
        Ok((!too_many).then_some(keys))
    }
}

/// The key of the last row a search walks in `rows` (a part of `tab`, narrowed and after the
/// cursor), or `None` when the part holds fewer rows than a walk takes.
fn walk_bound(
    conn: &mut DbConnection,
    rows: ConversationQuery,
    tab: Tab,
) -> Result<Option<ActivityKey>, StoreError> {
    Ok(in_tab_order(rows, tab)
        .select(key_in_tab_order(tab))
        .offset(SEARCH_WALK_LIMIT - 1)
        .first(conn)
        .optional()?)
}

/// The first `limit` rows that meet `condition` among the first [`SEARCH_WALK_LIMIT`] rows of
/// `rows` (a part of an open tab, narrowed and after the cursor), in the tab's order; and when
/// they are fewer than `limit` and the walk reached its bound, the key of the last row walked,
/// for the older matches behind it. One statement, whose walk stops at whichever bound it meets
/// first.
///
/// Bounding the walk by the key of its last row instead ([`walk_bound`]) reads the part's
/// index up to that row before the walk starts, and on a table that sends keep writing, each
/// entry's row too: at 1 M messages 0.1 ms for My Clinic's newest 1,000 just after a `VACUUM`,
/// 0.9 ms after the benchmark's sends, where the walk for a common word tests 80–300 rows in
/// 0.3–1 ms (BENCHMARKS.md item 33). Here the bound is a `LIMIT` of the rows walked, which
/// PostgreSQL reads only as far as the matches need; the condition is computed in the
/// subquery's select list, as each walked row comes, so that it stays outside the `LIMIT`.
/// The last walked row is numbered in the same statement, not looked up after it: a
/// conversation entering or leaving the part in between would move that row by one, listing a
/// match twice or skipping one. A closed part keeps its key-bounded ranges: the planner may
/// serve those from the closed conversations' GIN indexes, which intersect several words, where
/// a walk would test each row's whole document.
fn first_walked_matches(
    conn: &mut DbConnection,
    rows: ConversationQuery,
    condition: search::Condition<conversations::table>,
    tab: Tab,
    limit: i64,
) -> Result<(Vec<ConversationRow>, Option<ActivityKey>), StoreError> {
    let walked = in_tab_order(rows, tab)
        .select((
            ConversationRow::as_select(),
            fragment::<Bool>("(")
                .then_expression(condition)
                .sql(") AS matched"),
            fragment::<BigInt>("row_number() OVER (ORDER BY ")
                .then_expression(tab_order(tab))
                .sql(") AS walked"),
        ))
        .limit(SEARCH_WALK_LIMIT);
    let listed: Vec<(ConversationRow, bool, i64)> = WalkedMatches {
        row: ConversationRow::as_select(),
        walked: Box::new(walked),
        order: tab_order(tab),
        limit,
    }
    .load(conn)?;
    let mut last_walked = None;
    let mut matches = Vec::with_capacity(listed.len());
    for (row, matched, walked) in listed {
        if walked == SEARCH_WALK_LIMIT {
            last_walked = Some(ActivityKey::of(&row));
        }
        if matched {
            matches.push(row);
        }
    }
    let walk_found_enough = i64::try_from(matches.len()).unwrap_or(i64::MAX) >= limit;
    Ok((matches, last_walked.filter(|_| !walk_found_enough)))
}

/// The tab's order ([`in_tab_order`]) as SQL, for where Diesel's DSL cannot place it.
fn tab_order(tab: Tab) -> Box<dyn QueryFragment<MultiBackend> + Send> {
    match tab {
        Tab::Closed => Box::new((
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        )),
        _ => Box::new((
            conversations::urgent.desc(),
            conversations::last_activity_at.desc(),
            conversations::id.desc(),
        )),
    }
}

/// `SELECT` the row, whether it matched and its place in the walk `FROM` the walked rows
/// `WHERE` they matched or are the walk's last, in the tab's order, at most `limit` of them:
/// the last walked row comes after every other, so it takes a place only once the walk is
/// done. Ordered by the tab's columns, not by the place: the walked rows come in that order,
/// so PostgreSQL needs no sort, which would read all of them first. Diesel's DSL has no
/// subquery in `FROM`.
struct WalkedMatches {
    row: AsSelect<ConversationRow, MultiBackend>,
    walked: Box<dyn QueryFragment<MultiBackend> + Send>,
    order: Box<dyn QueryFragment<MultiBackend> + Send>,
    limit: i64,
}

impl QueryFragment<MultiBackend> for WalkedMatches {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql("SELECT ");
        self.row.walk_ast(out.reborrow())?;
        out.push_sql(", conversations.matched, conversations.walked FROM (");
        self.walked.walk_ast(out.reborrow())?;
        out.push_sql(") AS conversations WHERE conversations.matched OR conversations.walked = ");
        out.push_bind_param::<BigInt, _>(&SEARCH_WALK_LIMIT)?;
        out.push_sql(" ORDER BY ");
        self.order.walk_ast(out.reborrow())?;
        out.push_sql(" LIMIT ");
        out.push_bind_param::<BigInt, _>(&self.limit)
    }
}

impl Query for WalkedMatches {
    type SqlType = (
        <AsSelect<ConversationRow, MultiBackend> as Expression>::SqlType,
        Bool,
        BigInt,
    );
}

/// No static id: the walked rows' statement is built for each search.
impl QueryId for WalkedMatches {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<Conn> RunQueryDsl<Conn> for WalkedMatches {}

/// A row's [`ActivityKey`] as far as the tab orders by it. The closed tab does not order by
/// urgency, and its index does not hold it: selecting `urgent` made the search walk's probe for
/// its 1,000th row read each row's heap page too (1,041 buffers), where the index alone serves
/// it.
fn key_in_tab_order(
    tab: Tab,
) -> (
    Box<dyn BoxableExpression<conversations::table, MultiBackend, SqlType = Bool>>,
    conversations::last_activity_at,
    conversations::id,
) {
    let urgent: Box<dyn BoxableExpression<_, _, SqlType = Bool>> = if tab.lists_urgent_first() {
        Box::new(conversations::urgent)
    } else {
        Box::new(false.into_sql::<Bool>())
    };
    (urgent, conversations::last_activity_at, conversations::id)
}

/// The rows of the first `count` keys in the tab's order.
fn first_of(
    conn: &mut DbConnection,
    tab: Tab,
    mut keys: Vec<ActivityKey>,
    count: i64,
) -> Result<Vec<ConversationRow>, StoreError> {
    sort_in_tab_order(tab, &mut keys);
    keys.truncate(usize::try_from(count).unwrap_or(usize::MAX));
    let ids: Vec<String> = keys.into_iter().map(|key| key.id).collect();
    Ok(conversations::table
        .filter(conversations::id.eq_any(ids))
        .select(ConversationRow::as_select())
        .load(conn)?)
}

pub fn counts(conn: &mut DbConnection, staff: &StaffActor<'_>) -> Result<Counts, StoreError> {
    let mut count = |tab| -> Result<i64, StoreError> {
        let mut total = 0;
        for &part in tab_parts(tab) {
            total += tab_part_query(staff, part)
                .count()
                .get_result::<i64>(&mut *conn)?;
        }
        Ok(total)
    };
    Ok(Counts {
        assigned: count(Tab::Assigned)?,
        my_clinic: count(Tab::MyClinic)?,
        support: count(Tab::Support)?,
        closed: closed_count(conn, staff)?,
        unread: crate::read_markers::unread_conversations(conn, staff)?,
    })
}

/// The closed tab's count, from the counts the triggers of migration 27 keep: counting the tab
/// reads one index entry per closed conversation the clinic ever had.
fn closed_count(conn: &mut DbConnection, staff: &StaffActor<'_>) -> Result<i64, StoreError> {
    let (care_team, support) = closed_conversation_counts::table
        .find(staff.organization_id)
        .select((
            closed_conversation_counts::care_team,
            closed_conversation_counts::support,
        ))
        .first::<(i64, i64)>(conn)
        .optional()?
        .unwrap_or_default();
    Ok(match staff.visible_team {
        None => care_team + support,
        Some(Team::CareTeam) => care_team,
        Some(Team::Support) => support,
    })
}

/// For each of these conversations that has a message with one of the words, an excerpt of the
/// latest such message (see [`search::excerpt_of`]), by conversation id.
pub fn snippets(
    conn: &mut DbConnection,
    terms: &SearchTerms,
    conversation_ids: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    if terms.is_empty() || conversation_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = conn.backend();
    Ok(conversations::table
        .filter(conversations::id.eq_any(conversation_ids))
        .select((conversations::id, search::latest_match_text(backend, terms)))
        .load::<(String, Option<String>)>(conn)?
        .into_iter()
        .filter_map(|(conversation_id, text)| {
            Some((conversation_id, search::excerpt_of(backend, terms, text?)))
        })
        .collect())
}
