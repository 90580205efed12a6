//! Read markers: how far each person has read each conversation, for unread counts. A message is
//! unread by someone when they may see it, did not write it, and it came after their marker.

use std::collections::HashMap;

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::conversation::Status;

use crate::conversations::{message_kind, StaffActor};
use crate::db::write_transaction;
use crate::schema::{conversations, messages, read_markers};
use crate::{DbConnection, StoreError};

/// Who reads: patients never see internal notes, so those never count as unread for them; staff
/// are not asked to read the automatic acknowledgments.
#[derive(Debug, Clone, Copy)]
pub struct Reader<'a> {
    pub id: &'a str,
    pub is_patient: bool,
}

/// Marks everything in the conversation up to `at` as read by `reader_id`.
pub fn mark_read(
    conn: &mut DbConnection,
    reader_id: &str,
    conversation_id: &str,
    at: NaiveDateTime,
) -> Result<(), StoreError> {
    // Delete-then-insert in one transaction: an upsert both backends run the same way.
    write_transaction(conn, |conn| {
        diesel::delete(
            read_markers::table
                .filter(read_markers::principal_id.eq(reader_id))
                .filter(read_markers::conversation_id.eq(conversation_id)),
        )
        .execute(conn)?;
        diesel::insert_into(read_markers::table)
            .values((
                read_markers::principal_id.eq(reader_id),
                read_markers::conversation_id.eq(conversation_id),
                read_markers::last_read_at.eq(at),
            ))
            .execute(conn)?;
        Ok(())
    })
}

/// Unread messages of each of these conversations (absent: none), in one grouped query.
///
/// The join names the conversations on the markers' side too. PostgreSQL does not carry the
/// messages' `conversation_id = ANY(…)` over to the markers, so it read every marker the reader
/// ever left (3,584 for a clinician at 1 M messages: 8 of the statement's 10.6 ms under
/// `EXPLAIN ANALYZE`) to hash-join a page's fifty; named, it probes the markers' key for those
/// fifty (BENCHMARKS.md, item 28).
pub fn unread_counts(
    conn: &mut DbConnection,
    reader: Reader<'_>,
    conversation_ids: &[String],
) -> Result<HashMap<String, i64>, StoreError> {
    if conversation_ids.is_empty() {
        return Ok(HashMap::new());
    }
    let mut query = messages::table
        .left_join(
            read_markers::table.on(read_markers::conversation_id
                .eq(messages::conversation_id)
                .and(read_markers::principal_id.eq(reader.id.to_owned()))
                .and(read_markers::conversation_id.eq_any(conversation_ids.to_vec()))),
        )
        .filter(messages::conversation_id.eq_any(conversation_ids.to_vec()))
        .filter(
            messages::author_id
                .is_null()
                .or(messages::author_id.ne(reader.id.to_owned())),
        )
        .filter(
            read_markers::last_read_at.is_null().or(messages::created_at
                .nullable()
                .gt(read_markers::last_read_at.nullable())),
        )
        .group_by(messages::conversation_id)
        .select((messages::conversation_id, diesel::dsl::count_star()))
        .into_boxed();
    query = query.filter(messages::kind.ne(if reader.is_patient {
        message_kind::INTERNAL_NOTE
    } else {
        message_kind::ACKNOWLEDGMENT
    }));
    Ok(query.load::<(String, i64)>(conn)?.into_iter().collect())
}

/// How many open conversations the staff member may see hold a message they have not read.
///
/// One row per conversation, no messages: the conversation keeps its newest message's time and
/// author and the newest time of anyone else's ([`ConversationRow::newest_message_at`]), so the
/// newest message the staff member did not write is one of those two. Asking each
/// conversation's messages instead (an `EXISTS` that stopped at the first unread one) took
/// 66–155 ms at 1 M messages (30,000 open conversations) on the instances measured, for every
/// `GET /v1/inbox/counts` and every live stream's counts; read from the conversations alone it
/// takes a tenth of that (BENCHMARKS.md, item 26).
///
/// [`ConversationRow::newest_message_at`]: crate::conversations::ConversationRow::newest_message_at
pub fn unread_conversations(
    conn: &mut DbConnection,
    staff: &StaffActor<'_>,
) -> Result<i64, StoreError> {
    let others_wrote_newest = conversations::newest_message_author_id
        .is_null()
        .or(conversations::newest_message_author_id.ne(staff.id.to_owned()));
    let newest_unread = read_markers::last_read_at
        .is_null()
        .or(conversations::newest_message_at
            .nullable()
            .gt(read_markers::last_read_at.nullable()));
    let newest_other_unread = conversations::newest_other_message_at.is_not_null().and(
        read_markers::last_read_at
            .is_null()
            .or(conversations::newest_other_message_at.gt(read_markers::last_read_at.nullable())),
    );
    let holds_unread_message =
        others_wrote_newest
            .and(newest_unread)
            .or(conversations::newest_message_author_id
                .eq(staff.id.to_owned())
                .and(newest_other_unread));
    let mut query = conversations::table
        .left_join(
            read_markers::table.on(read_markers::conversation_id
                .eq(conversations::id)
                .and(read_markers::principal_id.eq(staff.id.to_owned()))),
        )
        .filter(conversations::organization_id.eq(staff.organization_id.to_owned()))
        .filter(conversations::status.eq(Status::Open.as_str()))
        .filter(holds_unread_message)
        .count()
        .into_boxed();
    if let Some(team) = staff.visible_team {
        query = query.filter(conversations::team.eq(team.as_str()));
    }
    Ok(query.get_result(conn)?)
}
