//! Organizations: the tenant boundary. Every other row carries its organization's id.

use chrono::NaiveDateTime;
use diesel::prelude::*;

use crate::schema::organizations;
use crate::{new_id, now, DbConnection, StoreError};

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = organizations)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub routing_rules: Option<String>,
    pub acknowledgment_texts: Option<String>,
    pub created_at: NaiveDateTime,
}

pub fn create(conn: &mut DbConnection, name: &str) -> Result<Organization, StoreError> {
    let organization = Organization {
        id: new_id(),
        name: name.to_owned(),
        routing_rules: None,
        acknowledgment_texts: None,
        created_at: now(),
    };
    diesel::insert_into(organizations::table)
        .values(&organization)
        .execute(conn)?;
    Ok(organization)
}

pub fn find(conn: &mut DbConnection, id: &str) -> Result<Organization, StoreError> {
    Ok(organizations::table
        .find(id)
        .select(Organization::as_select())
        .first(conn)?)
}

pub fn count(conn: &mut DbConnection) -> Result<i64, StoreError> {
    Ok(organizations::table.count().get_result(conn)?)
}

/// Replaces the organization's routing rules (JSON, already validated); `None` restores the
/// shipped defaults.
pub fn set_routing_rules(
    conn: &mut DbConnection,
    id: &str,
    rules: Option<&str>,
) -> Result<(), StoreError> {
    let changed = diesel::update(organizations::table.find(id))
        .set(organizations::routing_rules.eq(rules))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}

/// Replaces the organization's acknowledgment texts (JSON, already validated).
pub fn set_acknowledgment_texts(
    conn: &mut DbConnection,
    id: &str,
    texts: Option<&str>,
) -> Result<(), StoreError> {
    let changed = diesel::update(organizations::table.find(id))
        .set(organizations::acknowledgment_texts.eq(texts))
        .execute(conn)?;
    if changed == 0 {
        return Err(StoreError::NotFound);
    }
    Ok(())
}
