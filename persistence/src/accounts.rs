//! People who sign in: staff members and patients, their credentials, and refresh tokens.

use chrono::NaiveDateTime;
use diesel::prelude::*;
use domain::roles::Role;

use crate::db::write_transaction;
use crate::schema::{credentials, patients, refresh_tokens, staff_members};
use crate::{new_id, now, DbConnection, StoreError};

const STAFF: &str = "staff";
const PATIENT: &str = "patient";

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = staff_members)]
pub struct StaffMember {
    pub id: String,
    pub organization_id: String,
    pub display_name: String,
    pub role: String,
    pub active: bool,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = patients)]
pub struct Patient {
    pub id: String,
    pub organization_id: String,
    pub display_name: String,
    pub external_id: Option<String>,
    pub assigned_clinician_id: Option<String>,
    pub created_at: NaiveDateTime,
}

#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = credentials)]
pub struct Credential {
    pub principal_id: String,
    pub principal_kind: String,
    pub organization_id: String,
    pub email: String,
    pub password_hash: String,
    pub created_at: NaiveDateTime,
}

/// What a caller is, as the token and `/v1/me` describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub id: String,
    pub organization_id: String,
    pub role: Role,
    pub display_name: String,
}

pub struct NewStaffMember<'a> {
    pub organization_id: &'a str,
    pub display_name: &'a str,
    pub role: Role,
    pub email: &'a str,
    pub password_hash: &'a str,
}

pub struct NewPatient<'a> {
    pub organization_id: &'a str,
    pub display_name: &'a str,
    pub external_id: Option<&'a str>,
    pub assigned_clinician_id: Option<&'a str>,
    pub email: &'a str,
    pub password_hash: &'a str,
}

/// Emails are compared case-insensitively by storing them lower-cased.
pub fn normalize_email(email: &str) -> String {
    email.trim().to_lowercase()
}

fn insert_credential(
    conn: &mut DbConnection,
    principal_id: &str,
    principal_kind: &str,
    organization_id: &str,
    email: &str,
    password_hash: &str,
) -> Result<(), StoreError> {
    diesel::insert_into(credentials::table)
        .values(Credential {
            principal_id: principal_id.to_owned(),
            principal_kind: principal_kind.to_owned(),
            organization_id: organization_id.to_owned(),
            email: normalize_email(email),
            password_hash: password_hash.to_owned(),
            created_at: now(),
        })
        .execute(conn)?;
    Ok(())
}

pub fn create_staff_member(
    conn: &mut DbConnection,
    new: &NewStaffMember<'_>,
) -> Result<StaffMember, StoreError> {
    let member = StaffMember {
        id: new_id(),
        organization_id: new.organization_id.to_owned(),
        display_name: new.display_name.to_owned(),
        role: new.role.as_str().to_owned(),
        active: true,
        created_at: now(),
    };
    write_transaction(conn, |conn| {
        diesel::insert_into(staff_members::table)
            .values(&member)
            .execute(conn)?;
        insert_credential(
            conn,
            &member.id,
            STAFF,
            &member.organization_id,
            new.email,
            new.password_hash,
        )
    })?;
    Ok(member)
}

pub fn create_patient(
    conn: &mut DbConnection,
    new: &NewPatient<'_>,
) -> Result<Patient, StoreError> {
    let patient = Patient {
        id: new_id(),
        organization_id: new.organization_id.to_owned(),
        display_name: new.display_name.to_owned(),
        external_id: new.external_id.map(str::to_owned),
        assigned_clinician_id: new.assigned_clinician_id.map(str::to_owned),
        created_at: now(),
    };
    write_transaction(conn, |conn| {
        diesel::insert_into(patients::table)
            .values(&patient)
            .execute(conn)?;
        insert_credential(
            conn,
            &patient.id,
            PATIENT,
            &patient.organization_id,
            new.email,
            new.password_hash,
        )
    })?;
    Ok(patient)
}

pub fn find_credential_by_email(
    conn: &mut DbConnection,
    email: &str,
) -> Result<Option<Credential>, StoreError> {
    Ok(credentials::table
        .filter(credentials::email.eq(normalize_email(email)))
        .select(Credential::as_select())
        .first(conn)
        .optional()?)
}

/// The active principal with this id; deactivated staff are not found, so their tokens stop
/// being honoured at the next refresh.
pub fn find_principal(conn: &mut DbConnection, id: &str) -> Result<Principal, StoreError> {
    if let Some(member) = staff_members::table
        .find(id)
        .filter(staff_members::active.eq(true))
        .select(StaffMember::as_select())
        .first(conn)
        .optional()?
    {
        let role = Role::parse(&member.role).ok_or_else(|| {
            StoreError::Corrupt(format!(
                "staff member {} has role {}",
                member.id, member.role
            ))
        })?;
        return Ok(Principal {
            id: member.id,
            organization_id: member.organization_id,
            role,
            display_name: member.display_name,
        });
    }
    let patient = patients::table
        .find(id)
        .select(Patient::as_select())
        .first(conn)?;
    Ok(Principal {
        id: patient.id,
        organization_id: patient.organization_id,
        role: Role::Patient,
        display_name: patient.display_name,
    })
}

/// A refresh token as stored: only its hash.
pub struct NewRefreshToken<'a> {
    pub family_id: &'a str,
    pub principal_id: &'a str,
    pub token_hash: &'a str,
    pub expires_at: NaiveDateTime,
}

pub fn insert_refresh_token(
    conn: &mut DbConnection,
    token: &NewRefreshToken<'_>,
) -> Result<(), StoreError> {
    diesel::insert_into(refresh_tokens::table)
        .values((
            refresh_tokens::id.eq(new_id()),
            refresh_tokens::family_id.eq(token.family_id),
            refresh_tokens::principal_id.eq(token.principal_id),
            refresh_tokens::token_hash.eq(token.token_hash),
            refresh_tokens::expires_at.eq(token.expires_at),
            refresh_tokens::created_at.eq(now()),
        ))
        .execute(conn)?;
    Ok(())
}

/// What presenting a refresh token did.
#[derive(Debug, PartialEq, Eq)]
pub enum RefreshOutcome {
    /// The token was live and is now spent; the caller issues the next one in `family_id`.
    Rotated {
        principal_id: String,
        family_id: String,
    },
    /// The token had already been spent: someone holds a copy. Its whole family is revoked.
    Reused { principal_id: String },
    /// Unknown, expired or revoked.
    Invalid,
}

/// Spends a refresh token. The spend is one conditional update, so two concurrent uses of the
/// same token cannot both rotate; the loser is treated as reuse and revokes the family.
pub fn spend_refresh_token(
    conn: &mut DbConnection,
    token_hash: &str,
) -> Result<RefreshOutcome, StoreError> {
    write_transaction(conn, |conn| {
        let at = now();
        let spent = diesel::update(
            refresh_tokens::table
                .filter(refresh_tokens::token_hash.eq(token_hash))
                .filter(refresh_tokens::used_at.is_null())
                .filter(refresh_tokens::revoked_at.is_null())
                .filter(refresh_tokens::expires_at.gt(at)),
        )
        .set(refresh_tokens::used_at.eq(at))
        .execute(conn)?;
        let stored: Option<(String, String, Option<NaiveDateTime>)> = refresh_tokens::table
            .filter(refresh_tokens::token_hash.eq(token_hash))
            .select((
                refresh_tokens::principal_id,
                refresh_tokens::family_id,
                refresh_tokens::used_at,
            ))
            .first(conn)
            .optional()?;
        match (spent, stored) {
            (1, Some((principal_id, family_id, _))) => Ok(RefreshOutcome::Rotated {
                principal_id,
                family_id,
            }),
            (_, Some((principal_id, family_id, Some(_)))) => {
                diesel::update(
                    refresh_tokens::table
                        .filter(refresh_tokens::family_id.eq(&family_id))
                        .filter(refresh_tokens::revoked_at.is_null()),
                )
                .set(refresh_tokens::revoked_at.eq(at))
                .execute(conn)?;
                Ok(RefreshOutcome::Reused { principal_id })
            }
            _ => Ok(RefreshOutcome::Invalid),
        }
    })
}

/// Display names of staff members and patients by id, for showing authors and assignees.
pub fn display_names(
    conn: &mut DbConnection,
    ids: &[String],
) -> Result<std::collections::HashMap<String, String>, StoreError> {
    if ids.is_empty() {
        return Ok(Default::default());
    }
    // One statement for both kinds of people: a list names patients and staff together, and a
    // round trip is much of what a short read costs.
    let query = staff_members::table
        .filter(staff_members::id.eq_any(ids))
        .select((staff_members::id, staff_members::display_name))
        .union_all(
            patients::table
                .filter(patients::id.eq_any(ids))
                .select((patients::id, patients::display_name)),
        );
    let names: Vec<(String, String)> = on_backend!(conn, |conn| query.load(conn))?;
    Ok(names.into_iter().collect())
}
