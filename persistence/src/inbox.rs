//! Reads of the staff inbox: the tabs, their counts and search. Every query starts from
//! [`tab_query`], which applies who may see what (the caller's organization, and only Support's
//! conversations for support agents) from the same [`StaffActor`] the writes use.

use std::collections::{HashMap, HashSet};

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::conversation::Status;
use domain::routing::Team;

use crate::conversations::{message_kind, page, ActivityKey, ConversationRow, Page, StaffActor};
use crate::db::MultiBackend;
use crate::schema::{conversations, messages};
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

/// The queries whose rows, together, are the tab. The assigned tab is two disjoint queries, one
/// per index (assigned to the caller; claimed by the caller but assigned to someone else or
/// nobody): an `OR` of the two columns can use no index's order, so every open conversation of
/// the caller would be read and sorted for each page.
fn tab_queries(staff: &StaffActor<'_>, tab: Tab) -> Vec<ConversationQuery> {
    let open = || conversations::status.eq(Status::Open.as_str());
    match tab {
        Tab::Assigned => vec![
            visible(staff)
                .filter(open())
                .filter(conversations::assigned_to.eq(staff.id.to_owned())),
            visible(staff)
                .filter(open())
                .filter(conversations::claimed_by.eq(staff.id.to_owned()))
                .filter(
                    conversations::assigned_to
                        .is_null()
                        .or(conversations::assigned_to.ne(staff.id.to_owned())),
                ),
        ],
        Tab::MyClinic => vec![visible(staff)
            .filter(open())
            .filter(conversations::team.eq(Team::CareTeam.as_str()))
            .filter(conversations::assigned_to.is_null())],
        Tab::Support => vec![visible(staff)
            .filter(open())
            .filter(conversations::team.eq(Team::Support.as_str()))],
        Tab::Closed => vec![closed_tab(staff)],
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

fn closed_tab(staff: &StaffActor<'_>) -> ConversationQuery {
    visible(staff).filter(conversations::status.eq(Status::Closed.as_str()))
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
        Some(key) => after(query, filter.tab, key),
        None => query,
    }
}

/// Rows after `key` in the tab's order: open tabs list urgent first, then most recent activity;
/// the closed tab by activity alone.
fn after(query: ConversationQuery, tab: Tab, key: &ActivityKey) -> ConversationQuery {
    match tab {
        Tab::Closed => query.filter(earlier_than(key)),
        _ if key.urgent => query.filter(
            conversations::urgent
                .eq(false)
                .or(conversations::urgent.eq(true).and(earlier_than(key))),
        ),
        _ => query.filter(conversations::urgent.eq(false).and(earlier_than(key))),
    }
}

/// Rows before `key` in the order of activity: less recently active, or as recently with a
/// smaller id.
fn earlier_than(key: &ActivityKey) -> search::Condition<conversations::table> {
    Box::new(
        conversations::last_activity_at.lt(key.last_activity_at).or(
            conversations::last_activity_at
                .eq(key.last_activity_at)
                .and(conversations::id.lt(key.id.clone())),
        ),
    )
}

/// The tab's order: open tabs list urgent first, then most recent activity; the closed tab by
/// activity alone. Ids break ties.
fn tab_order(tab: Tab, row: &ConversationRow) -> (bool, NaiveDateTime, &str) {
    let urgent_first = tab != Tab::Closed && row.urgent;
    (urgent_first, row.last_activity_at, row.id.as_str())
}

/// The query in the tab's order (see [`tab_order`]).
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
    let backend = search::backend_of(conn);
    let mut rows = match filter.search {
        Some(terms) if filter.tab == Tab::Closed && search::indexes_closed(backend) => {
            let closed = || narrow(closed_tab(staff), filter, after_key);
            search_closed(conn, closed, backend, terms, limit)?
        }
        _ => {
            let mut rows = Vec::new();
            for query in tab_queries(staff, filter.tab) {
                let mut query = narrow(query, filter, after_key);
                if let Some(terms) = filter.search {
                    query = query.filter(search::conversation_matches(backend, terms));
                }
                rows.extend(
                    in_tab_order(query, filter.tab)
                        .select(ConversationRow::as_select())
                        .limit(limit + 1)
                        .load(conn)?,
                );
            }
            rows
        }
    };
    rows.sort_by(|a, b| tab_order(filter.tab, b).cmp(&tab_order(filter.tab, a)));
    Ok(page(rows, limit))
}

/// Rows of the closed tab a search walks, newest first, before it turns to the search indexes.
const CLOSED_WALK_LIMIT: i64 = 1_000;

/// Older matches a search collects from the search indexes to sort. A word this common past the
/// walked rows (a topic of years ago) is walked for instead: it is dense there, so the walk is
/// short, and collecting every match would hold one row per match in memory.
const OLDER_MATCHES_LIMIT: i64 = 10_000;

/// The first `limit + 1` matches of a search in the closed tab (`closed` builds the tab, narrowed
/// and after the cursor), in no particular order.
///
/// The closed tab grows without bound. Walking its index and testing each row's document finds a
/// page of a common word at once, but for a rare word or a patient's name PostgreSQL walked
/// thousands of rows (6,000 for `password` at 1 M messages, 12 ms), where starting from the GIN
/// indexes costs a quarter of that: its planner prices the test of a document far below the
/// 1.5 µs it takes. So the walk stops at the tab's newest [`CLOSED_WALK_LIMIT`] rows, and when
/// they hold less than a page the older matches are collected by a query with no order, which
/// only the GIN indexes serve well, and sorted here (or, past [`OLDER_MATCHES_LIMIT`] of them,
/// walked for after all).
fn search_closed(
    conn: &mut DbConnection,
    closed: impl Fn() -> ConversationQuery,
    backend: crate::Backend,
    terms: &SearchTerms,
    limit: i64,
) -> Result<Vec<ConversationRow>, StoreError> {
    let wanted = usize::try_from(limit + 1).unwrap_or(usize::MAX);
    let oldest_walked: Option<ActivityKey> = in_tab_order(closed(), Tab::Closed)
        .select((conversations::last_activity_at, conversations::id))
        .offset(CLOSED_WALK_LIMIT - 1)
        .first(conn)
        .optional()?
        .map(|(last_activity_at, id)| ActivityKey {
            urgent: false,
            last_activity_at,
            id,
        });
    let matching = || closed().filter(search::conversation_matches(backend, terms));
    let mut walk = matching();
    if let Some(oldest_walked) = &oldest_walked {
        // A range on the index's own column, so the walk stops there.
        walk = walk.filter(
            conversations::last_activity_at
                .ge(oldest_walked.last_activity_at)
                .and(diesel::dsl::not(earlier_than(oldest_walked))),
        );
    }
    let mut rows: Vec<ConversationRow> = in_tab_order(walk, Tab::Closed)
        .select(ConversationRow::as_select())
        .limit(limit + 1)
        .load(conn)?;
    let Some(oldest_walked) = oldest_walked else {
        return Ok(rows);
    };
    if rows.len() >= wanted {
        return Ok(rows);
    }
    let mut older: Vec<(NaiveDateTime, String)> = after(matching(), Tab::Closed, &oldest_walked)
        .select((conversations::last_activity_at, conversations::id))
        .limit(OLDER_MATCHES_LIMIT + 1)
        .load(conn)?;
    if older.len() > usize::try_from(OLDER_MATCHES_LIMIT).unwrap_or(usize::MAX) {
        rows.extend(
            in_tab_order(after(matching(), Tab::Closed, &oldest_walked), Tab::Closed)
                .select(ConversationRow::as_select())
                .limit(i64::try_from(wanted - rows.len()).unwrap_or(i64::MAX))
                .load(conn)?,
        );
        return Ok(rows);
    }
    older.sort_unstable_by(|a, b| b.cmp(a));
    older.truncate(wanted - rows.len());
    let older_ids: Vec<String> = older.into_iter().map(|(_, id)| id).collect();
    rows.extend(
        conversations::table
            .filter(conversations::id.eq_any(older_ids))
            .select(ConversationRow::as_select())
            .load(conn)?,
    );
    Ok(rows)
}

pub fn counts(conn: &mut DbConnection, staff: &StaffActor<'_>) -> Result<Counts, StoreError> {
    let mut count = |tab| -> Result<i64, StoreError> {
        let mut total = 0;
        for query in tab_queries(staff, tab) {
            total += query.count().get_result::<i64>(&mut *conn)?;
        }
        Ok(total)
    };
    Ok(Counts {
        assigned: count(Tab::Assigned)?,
        my_clinic: count(Tab::MyClinic)?,
        support: count(Tab::Support)?,
        closed: count(Tab::Closed)?,
        unread: crate::read_markers::unread_conversations(conn, staff)?,
    })
}

/// For each of these conversations that has a message with one of the words, an excerpt of the
/// latest such message, by conversation id. Only those excerpts are computed: highlighting is
/// the costly part.
pub fn snippets(
    conn: &mut DbConnection,
    terms: &SearchTerms,
    conversation_ids: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    if terms.is_empty() || conversation_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let backend = search::backend_of(conn);
    // Whether a message matches is selected, not filtered on: as a filter, PostgreSQL intersects
    // the messages of these conversations with every match in the database (its GIN index,
    // 16 k rows for a common word at 1 M messages) instead of testing these few hundred.
    let messages_of_listed: Vec<(String, String, bool)> = messages::table
        .filter(messages::conversation_id.eq_any(conversation_ids))
        .filter(messages::kind.ne(message_kind::ACKNOWLEDGMENT))
        .select((
            messages::conversation_id,
            messages::id,
            search::message_has_any_word(backend, terms).into_expression::<messages::table>(),
        ))
        .order((messages::created_at.desc(), messages::id.desc()))
        .load(conn)?;
    let mut seen = HashSet::new();
    let latest: Vec<String> = messages_of_listed
        .into_iter()
        .filter(|(conversation_id, _, matches)| *matches && seen.insert(conversation_id.clone()))
        .map(|(_, message_id, _)| message_id)
        .collect();
    Ok(messages::table
        .filter(messages::id.eq_any(latest))
        .select((
            messages::conversation_id,
            search::message_snippet(backend, terms),
        ))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}
