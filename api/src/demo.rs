//! Demo data of `inbox serve --demo` (the accounts of the API contract), created only on an
//! empty database and never without the flag.

use domain::roles::Role;
use persistence::accounts::{self, NewPatient, NewStaffMember};
use persistence::db::write_transaction;
use persistence::{organizations, DbConnection, StoreError};

pub const DEMO_PASSWORD: &str = "demo-pass";

struct DemoStaff {
    email: &'static str,
    role: Role,
    name: &'static str,
}

struct DemoPatient {
    email: &'static str,
    name: &'static str,
    /// Email of the assigned clinician, if any.
    clinician: Option<&'static str>,
}

struct DemoOrganization {
    name: &'static str,
    staff: &'static [DemoStaff],
    patients: &'static [DemoPatient],
}

const DEMO: &[DemoOrganization] = &[
    DemoOrganization {
        name: "Demo Clinic",
        staff: &[
            DemoStaff {
                email: "admin@demo.test",
                role: Role::Admin,
                name: "Avery Admin",
            },
            DemoStaff {
                email: "rivera@demo.test",
                role: Role::Clinician,
                name: "Dr. Dana Rivera",
            },
            DemoStaff {
                email: "patel@demo.test",
                role: Role::Clinician,
                name: "Dr. Ravi Patel",
            },
            DemoStaff {
                email: "kim@demo.test",
                role: Role::Coach,
                name: "Jordan Kim",
            },
            DemoStaff {
                email: "support@demo.test",
                role: Role::Support,
                name: "Sam Support",
            },
        ],
        patients: &[
            DemoPatient {
                email: "alice@demo.test",
                name: "Alice Moreno",
                clinician: Some("rivera@demo.test"),
            },
            DemoPatient {
                email: "bob@demo.test",
                name: "Bob Nguyen",
                clinician: None,
            },
        ],
    },
    DemoOrganization {
        name: "Other Clinic",
        staff: &[DemoStaff {
            email: "doc@other.test",
            role: Role::Clinician,
            name: "Dr. Olivia Other",
        }],
        patients: &[DemoPatient {
            email: "carol@other.test",
            name: "Carol Smith",
            clinician: Some("doc@other.test"),
        }],
    },
];

/// What `--demo` did.
#[derive(Debug, PartialEq, Eq)]
pub enum DemoOutcome {
    Created,
    AlreadyPresent,
    /// The database holds other data; nothing was added.
    NotEmpty,
}

/// One printed line per demo account.
pub fn account_lines() -> Vec<String> {
    DEMO.iter()
        .flat_map(|organization| {
            let staff = organization.staff.iter().map(move |member| {
                (
                    organization.name,
                    member.email,
                    member.role.as_str(),
                    member.name.to_owned(),
                )
            });
            let patients = organization.patients.iter().map(move |patient| {
                let name = match patient.clinician {
                    Some(clinician) => {
                        format!("{} (assigned clinician: {clinician})", patient.name)
                    }
                    None => format!("{} (no assigned clinician)", patient.name),
                };
                (organization.name, patient.email, "patient", name)
            });
            staff.chain(patients)
        })
        .map(|(organization, email, role, name)| {
            format!("  {organization:<13} {email:<20} {role:<10} {name}")
        })
        .collect()
}

/// Creates the demo organizations and accounts if the database is empty. `hash` turns the demo
/// password into a stored hash (one call per account: each gets its own salt).
pub fn seed(
    conn: &mut DbConnection,
    hash: impl Fn(&str) -> Result<String, StoreError>,
) -> Result<DemoOutcome, StoreError> {
    write_transaction(conn, |conn| seed_in_transaction(conn, &hash))
}

fn seed_in_transaction(
    conn: &mut DbConnection,
    hash: &impl Fn(&str) -> Result<String, StoreError>,
) -> Result<DemoOutcome, StoreError> {
    if organizations::count(conn)? > 0 {
        let demo_present = accounts::find_credential_by_email(conn, "admin@demo.test")?.is_some();
        return Ok(if demo_present {
            DemoOutcome::AlreadyPresent
        } else {
            DemoOutcome::NotEmpty
        });
    }
    for demo in DEMO {
        let organization = organizations::create(conn, demo.name)?;
        let mut clinician_ids = Vec::new();
        for member in demo.staff {
            let created = accounts::create_staff_member(
                conn,
                &NewStaffMember {
                    organization_id: &organization.id,
                    display_name: member.name,
                    role: member.role,
                    email: member.email,
                    password_hash: &hash(DEMO_PASSWORD)?,
                },
            )?;
            clinician_ids.push((member.email, created.id));
        }
        for patient in demo.patients {
            let clinician_id = patient.clinician.and_then(|email| {
                clinician_ids
                    .iter()
                    .find(|(candidate, _)| *candidate == email)
                    .map(|(_, id)| id.as_str())
            });
            accounts::create_patient(
                conn,
                &NewPatient {
                    organization_id: &organization.id,
                    display_name: patient.name,
                    external_id: None,
                    assigned_clinician_id: clinician_id,
                    email: patient.email,
                    password_hash: &hash(DEMO_PASSWORD)?,
                },
            )?;
        }
    }
    Ok(DemoOutcome::Created)
}
