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
    let visible = || {
        let mut query = conversations::table
            .filter(conversations::organization_id.eq(staff.organization_id.to_owned()))
            .into_boxed();
        if let Some(team) = staff.visible_team {
            query = query.filter(conversations::team.eq(team.as_str()));
        }
        query
    };
    let open = || conversations::status.eq(Status::Open.as_str());
    match tab {
        Tab::Assigned => vec![
            visible()
                .filter(open())
                .filter(conversations::assigned_to.eq(staff.id.to_owned())),
            visible()
                .filter(open())
                .filter(conversations::claimed_by.eq(staff.id.to_owned()))
                .filter(
                    conversations::assigned_to
                        .is_null()
                        .or(conversations::assigned_to.ne(staff.id.to_owned())),
                ),
        ],
        Tab::MyClinic => vec![visible()
            .filter(open())
            .filter(conversations::team.eq(Team::CareTeam.as_str()))
            .filter(conversations::assigned_to.is_null())],
        Tab::Support => vec![visible()
            .filter(open())
            .filter(conversations::team.eq(Team::Support.as_str()))],
        Tab::Closed => vec![visible().filter(conversations::status.eq(Status::Closed.as_str()))],
    }
}

/// Rows after `key` in the tab's order: open tabs list urgent first, then most recent activity;
/// the closed tab by activity alone.
fn after(query: ConversationQuery, tab: Tab, key: &ActivityKey) -> ConversationQuery {
    let earlier = conversations::last_activity_at.lt(key.last_activity_at).or(
        conversations::last_activity_at
            .eq(key.last_activity_at)
            .and(conversations::id.lt(key.id.clone())),
    );
    match tab {
        Tab::Closed => query.filter(earlier),
        _ if key.urgent => query.filter(
            conversations::urgent
                .eq(false)
                .or(conversations::urgent.eq(true).and(earlier)),
        ),
        _ => query.filter(conversations::urgent.eq(false).and(earlier)),
    }
}

/// The tab's order: open tabs list urgent first, then most recent activity; the closed tab by
/// activity alone. Ids break ties.
fn tab_order(tab: Tab, row: &ConversationRow) -> (bool, NaiveDateTime, &str) {
    let urgent_first = tab != Tab::Closed && row.urgent;
    (urgent_first, row.last_activity_at, row.id.as_str())
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
    let mut rows = Vec::new();
    for mut query in tab_queries(staff, filter.tab) {
        if let Some(terms) = filter.search {
            query = query.filter(search::conversation_matches(backend, terms));
        }
        if let Some(urgent) = filter.urgent {
            query = query.filter(conversations::urgent.eq(urgent));
        }
        if let Some(patient_id) = filter.patient_id {
            query = query.filter(conversations::patient_id.eq(patient_id.to_owned()));
        }
        if let Some(key) = after_key {
            query = after(query, filter.tab, key);
        }
        query = match filter.tab {
            Tab::Closed => query.order((
                conversations::last_activity_at.desc(),
                conversations::id.desc(),
            )),
            _ => query.order((
                conversations::urgent.desc(),
                conversations::last_activity_at.desc(),
                conversations::id.desc(),
            )),
        };
        rows.extend(
            query
                .select(ConversationRow::as_select())
                .limit(limit + 1)
                .load(conn)?,
        );
    }
    rows.sort_by(|a, b| tab_order(filter.tab, b).cmp(&tab_order(filter.tab, a)));
    Ok(page(rows, limit))
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
