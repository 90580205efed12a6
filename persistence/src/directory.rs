//! The organization's people, as staff look them up and admins manage them: patient search and
//! records, staff members. Every query is scoped to one organization; a row of another is not
//! found.

use std::collections::HashMap;

use diesel::dsl::sql;
use diesel::expression::BoxableExpression;
use diesel::prelude::*;
use diesel::sql_types::{Bool, Text};
use domain::conversation::Status;
use domain::roles::Role;
use domain::routing::Team;

use crate::accounts::{self, NewPatient, NewStaffMember, Patient, StaffMember};
use crate::db::{write_transaction, MultiBackend};
use crate::schema::{conversations, credentials, patients, staff_members};
use crate::search::{self, SearchTerms};
use crate::{DbConnection, StoreError};

/// Why a directory write was refused.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// Patients can be assigned only to an active clinician of their organization.
    #[error("the assigned clinician is not an active clinician of the organization")]
    NotAnActiveClinician,
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<diesel::result::Error> for DirectoryError {
    fn from(error: diesel::result::Error) -> Self {
        DirectoryError::Store(error.into())
    }
}

/// A page of a list ordered by name; `next_after` is the id of the last row when more follow.
#[derive(Debug, Clone)]
pub struct NamePage<T> {
    pub items: Vec<T>,
    pub next_after: Option<String>,
}

fn name_page<T>(mut rows: Vec<T>, limit: i64, id: impl Fn(&T) -> &str) -> NamePage<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_after = rows.last().filter(|_| more).map(|row| id(row).to_owned());
    NamePage {
        items: rows,
        next_after,
    }
}

/// Rows after `(name, id)` in name order. The cursor names only the id (no names in URLs); the
/// key is read back from the row.
fn after_name<QS>(
    table: &str,
    (name, id): (String, String),
) -> Box<dyn BoxableExpression<QS, MultiBackend, SqlType = Bool>> {
    Box::new(
        sql::<Bool>(&format!("({table}.display_name, {table}.id) > ("))
            .bind::<Text, _>(name)
            .sql(", ")
            .bind::<Text, _>(id)
            .sql(")"),
    )
}

/// What a patient search looks for: the words in the name (each a prefix), or an exact external
/// id.
#[derive(Debug, Clone, Copy)]
pub struct PatientQuery<'a> {
    pub terms: &'a SearchTerms,
    pub external_id: Option<&'a str>,
}

/// Patients of the organization in name order, optionally matching `query`.
pub fn search_patients(
    conn: &mut DbConnection,
    organization_id: &str,
    query: Option<PatientQuery<'_>>,
    after_id: Option<&str>,
    limit: i64,
) -> Result<NamePage<Patient>, StoreError> {
    let mut select = patients::table
        .filter(patients::organization_id.eq(organization_id.to_owned()))
        .select(Patient::as_select())
        .order((patients::display_name.asc(), patients::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(query) = query {
        let by_name = (!query.terms.is_empty())
            .then(|| search::patient_name_matches(conn.backend(), query.terms));
        let by_external_id = query
            .external_id
            .map(|external_id| patients::external_id.eq(external_id.to_owned()));
        select = match (by_name, by_external_id) {
            (Some(by_name), Some(by_external_id)) => select.filter(by_name.or(by_external_id)),
            (Some(by_name), None) => select.filter(by_name),
            (None, Some(by_external_id)) => select.filter(by_external_id),
            (None, None) => {
                return Ok(NamePage {
                    items: Vec::new(),
                    next_after: None,
                })
            }
        };
    }
    if let Some(after_id) = after_id {
        let key = find_patient(conn, organization_id, after_id)
            .map(|patient| (patient.display_name, patient.id))?;
        select = select.filter(after_name("patients", key));
    }
    Ok(name_page(select.load(conn)?, limit, |patient| &patient.id))
}

pub fn find_patient(
    conn: &mut DbConnection,
    organization_id: &str,
    id: &str,
) -> Result<Patient, StoreError> {
    Ok(patients::table
        .find(id)
        .filter(patients::organization_id.eq(organization_id))
        .select(Patient::as_select())
        .first(conn)?)
}

fn check_clinician(
    conn: &mut DbConnection,
    organization_id: &str,
    clinician_id: Option<&str>,
) -> Result<(), DirectoryError> {
    let Some(clinician_id) = clinician_id else {
        return Ok(());
    };
    let found = staff_members::table
        .find(clinician_id)
        .filter(staff_members::organization_id.eq(organization_id))
        .filter(staff_members::role.eq(Role::Clinician.as_str()))
        .filter(staff_members::active.eq(true))
        .count()
        .get_result::<i64>(conn)?;
    if found == 1 {
        Ok(())
    } else {
        Err(DirectoryError::NotAnActiveClinician)
    }
}

/// Creates a patient and their login; the assigned clinician, if any, must be an active
/// clinician of the organization.
pub fn create_patient(
    conn: &mut DbConnection,
    new: &NewPatient<'_>,
) -> Result<Patient, DirectoryError> {
    write_transaction(conn, |conn| {
        check_clinician(conn, new.organization_id, new.assigned_clinician_id)?;
        Ok(accounts::create_patient(conn, new)?)
    })
}

/// Changes to a patient: `None` leaves a field as it is; `Some(None)` clears it.
#[derive(Debug, Clone, Copy, Default, AsChangeset)]
#[diesel(table_name = patients)]
pub struct PatientChanges<'a> {
    pub display_name: Option<&'a str>,
    pub external_id: Option<Option<&'a str>>,
    pub assigned_clinician_id: Option<Option<&'a str>>,
}

pub fn update_patient(
    conn: &mut DbConnection,
    organization_id: &str,
    id: &str,
    changes: &PatientChanges<'_>,
) -> Result<Patient, DirectoryError> {
    write_transaction(conn, |conn| {
        let current = find_patient(conn, organization_id, id)?;
        if let Some(clinician_id) = changes.assigned_clinician_id {
            check_clinician(conn, organization_id, clinician_id)?;
        }
        let changes_anything = changes.display_name.is_some()
            || changes.external_id.is_some()
            || changes.assigned_clinician_id.is_some();
        if !changes_anything {
            return Ok(current);
        }
        diesel::update(patients::table.find(id))
            .set(changes)
            .execute(conn)?;
        Ok(find_patient(conn, organization_id, id)?)
    })
}

/// Staff members of the organization in name order, deactivated ones included.
pub fn list_staff(
    conn: &mut DbConnection,
    organization_id: &str,
    after_id: Option<&str>,
    limit: i64,
) -> Result<NamePage<StaffMember>, StoreError> {
    let mut select = staff_members::table
        .filter(staff_members::organization_id.eq(organization_id.to_owned()))
        .select(StaffMember::as_select())
        .order((staff_members::display_name.asc(), staff_members::id.asc()))
        .limit(limit + 1)
        .into_boxed();
    if let Some(after_id) = after_id {
        let key = find_staff(conn, organization_id, after_id)
            .map(|member| (member.display_name, member.id))?;
        select = select.filter(after_name("staff_members", key));
    }
    Ok(name_page(select.load(conn)?, limit, |member| &member.id))
}

pub fn find_staff(
    conn: &mut DbConnection,
    organization_id: &str,
    id: &str,
) -> Result<StaffMember, StoreError> {
    Ok(staff_members::table
        .find(id)
        .filter(staff_members::organization_id.eq(organization_id))
        .select(StaffMember::as_select())
        .first(conn)?)
}

pub fn create_staff(
    conn: &mut DbConnection,
    new: &NewStaffMember<'_>,
) -> Result<StaffMember, StoreError> {
    accounts::create_staff_member(conn, new)
}

/// Sign-in emails by principal id.
pub fn emails(
    conn: &mut DbConnection,
    principal_ids: &[String],
) -> Result<HashMap<String, String>, StoreError> {
    Ok(credentials::table
        .filter(credentials::principal_id.eq_any(principal_ids))
        .select((credentials::principal_id, credentials::email))
        .load::<(String, String)>(conn)?
        .into_iter()
        .collect())
}

/// True when this email already signs someone in.
pub fn email_taken(conn: &mut DbConnection, email: &str) -> Result<bool, StoreError> {
    Ok(accounts::find_credential_by_email(conn, email)?.is_some())
}

#[derive(Debug, Clone, Copy, Default, AsChangeset)]
#[diesel(table_name = staff_members)]
pub struct StaffChanges<'a> {
    pub display_name: Option<&'a str>,
    pub role: Option<&'a str>,
    pub active: Option<bool>,
}

/// Changes a staff member. Whoever stops being an active clinician loses their patients and the
/// open conversations assigned to them (which then show under `my_clinic` for everyone), and a
/// deactivated member's claims are released, so that no conversation waits on someone who is
/// gone. A member moved to Support gives back the care-team conversations they held, which they
/// can no longer see.
pub fn update_staff(
    conn: &mut DbConnection,
    organization_id: &str,
    id: &str,
    changes: &StaffChanges<'_>,
) -> Result<StaffMember, StoreError> {
    write_transaction(conn, |conn| {
        find_staff(conn, organization_id, id)?;
        if changes.display_name.is_some() || changes.role.is_some() || changes.active.is_some() {
            diesel::update(staff_members::table.find(id))
                .set(changes)
                .execute(conn)?;
        }
        let member = find_staff(conn, organization_id, id)?;
        let role = Role::parse(&member.role);
        if !(member.active && role == Some(Role::Clinician)) {
            diesel::update(patients::table.filter(patients::assigned_clinician_id.eq(id)))
                .set(patients::assigned_clinician_id.eq(None::<String>))
                .execute(conn)?;
            diesel::update(
                conversations::table
                    .filter(conversations::assigned_to.eq(id))
                    .filter(conversations::status.eq(Status::Open.as_str())),
            )
            .set(conversations::assigned_to.eq(None::<String>))
            .execute(conn)?;
        }
        let released_teams: &[Team] = match (member.active, role.and_then(Role::team)) {
            (false, _) => &[Team::CareTeam, Team::Support],
            (true, Some(Team::Support)) => &[Team::CareTeam],
            (true, _) => &[],
        };
        if !released_teams.is_empty() {
            diesel::update(
                conversations::table
                    .filter(conversations::claimed_by.eq(id))
                    .filter(conversations::team.eq_any(released_teams.iter().map(Team::as_str))),
            )
            .set((
                conversations::claimed_by.eq(None::<String>),
                conversations::claimed_at.eq(None::<chrono::NaiveDateTime>),
            ))
            .execute(conn)?;
        }
        Ok(member)
    })
}
