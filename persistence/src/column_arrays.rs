//! Multi-row writes on PostgreSQL whose text does not depend on the number of rows: each column
//! is bound as one array and `unnest` turns the arrays back into rows. Diesel caches such a
//! statement by its text, so PostgreSQL parses and plans it once per connection, where a
//! multi-row `VALUES` list (`insert_into(..).values(&vec)`) is a new statement for every row
//! count and Diesel never prepares it: parsing and planning a batch of patient sends' four
//! `VALUES` inserts cost PostgreSQL about 0.6 ms of the batch's 3.9 ms (BENCHMARKS.md item 31).
//!
//! SQLite has no arrays; there a statement is a function call, not a round trip, and Diesel's
//! inserts stay.

use chrono::NaiveDateTime;
use diesel::expression::AsExpression;
use diesel::pg::Pg;
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::Array;
use diesel::{Column, QueryResult, RunQueryDsl, Table};

type Values<'a> = Box<dyn QueryFragment<Pg> + 'a>;

/// Rows of table `T`, one array per column, to write with one statement: an
/// [`insert`](ColumnArrays::insert) or an [`update`](ColumnArrays::update) by key.
pub(crate) struct ColumnArrays<'a, T> {
    table: T,
    columns: Vec<(&'static str, Values<'a>)>,
    /// Arrays that are no column, by name, with the `SET` assignment an update makes of each.
    derived: Vec<(&'static str, &'static str)>,
}

pub(crate) struct ArrayStatement<'a, T> {
    rows: ColumnArrays<'a, T>,
    kind: StatementKind,
}

enum StatementKind {
    Insert,
    UpdateByKey,
}

impl<'a, T: Table> ColumnArrays<'a, T> {
    pub(crate) fn of(table: T) -> Self {
        ColumnArrays {
            table,
            columns: Vec::new(),
            derived: Vec::new(),
        }
    }

    /// Adds `column`, one value per row, in the rows' order.
    pub(crate) fn column<C, V>(mut self, _column: C, values: impl Iterator<Item = V>) -> Self
    where
        C: Column<Table = T>,
        C::SqlType: 'static,
        Vec<V>: AsExpression<Array<C::SqlType>>,
        <Vec<V> as AsExpression<Array<C::SqlType>>>::Expression: QueryFragment<Pg> + 'a,
    {
        let array = AsExpression::<Array<C::SqlType>>::as_expression(values.collect::<Vec<V>>());
        self.columns.push((C::NAME, Box::new(array)));
        self
    }

    /// Adds an array that is no column of the table, `name` among the rows, which an
    /// [`update`](ColumnArrays::update) reads in `assignment` (SQL such as `column = … "rows".name
    /// …`) instead of setting a column of that name.
    pub(crate) fn derived<S, V>(
        mut self,
        name: &'static str,
        values: impl Iterator<Item = V>,
        assignment: &'static str,
    ) -> Self
    where
        S: 'static,
        Vec<V>: AsExpression<Array<S>>,
        <Vec<V> as AsExpression<Array<S>>>::Expression: QueryFragment<Pg> + 'a,
    {
        let array = AsExpression::<Array<S>>::as_expression(values.collect::<Vec<V>>());
        self.columns.push((name, Box::new(array)));
        self.derived.push((name, assignment));
        self
    }

    /// `INSERT INTO table (columns) SELECT * FROM unnest(arrays)`, which inserts the rows in the
    /// arrays' order (a lone function scan), as a `VALUES` list does: the live log's ids, from
    /// a sequence, follow the order its events were recorded in.
    pub(crate) fn insert(self) -> ArrayStatement<'a, T> {
        ArrayStatement {
            rows: self,
            kind: StatementKind::Insert,
        }
    }

    /// `UPDATE table SET column = rows.column, … FROM unnest(arrays) AS rows(columns) WHERE
    /// table.key = rows.key`: each row (found by its key, which must be one of the columns)
    /// takes every other column given. An `UPDATE` of its own sets every row to the same values,
    /// and an upsert (`INSERT … ON CONFLICT DO UPDATE`) runs the table's insert triggers for
    /// every row first (on conversations, a patient-name lookup each).
    pub(crate) fn update(self) -> ArrayStatement<'a, T> {
        ArrayStatement {
            rows: self,
            kind: StatementKind::UpdateByKey,
        }
    }

    fn push_arrays<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        out.push_sql("unnest(");
        for (index, (_, values)) in self.columns.iter().enumerate() {
            if index > 0 {
                out.push_sql(", ");
            }
            values.walk_ast(out.reborrow())?;
        }
        out.push_sql(")");
        Ok(())
    }

    fn push_names<'b>(&'b self, out: &mut AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        for (index, (name, _)) in self.columns.iter().enumerate() {
            if index > 0 {
                out.push_sql(", ");
            }
            out.push_identifier(name)?;
        }
        Ok(())
    }
}

impl<'a, T> ArrayStatement<'a, T> {
    pub(crate) fn execute(self, conn: &mut diesel::PgConnection) -> QueryResult<usize>
    where
        Self: QueryFragment<Pg>,
    {
        RunQueryDsl::execute(self, conn)
    }
}

impl<T> QueryFragment<Pg> for ArrayStatement<'_, T>
where
    T: Table + QueryFragment<Pg>,
    T::PrimaryKey: Column,
{
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, Pg>) -> QueryResult<()> {
        let rows = &self.rows;
        match self.kind {
            StatementKind::Insert => {
                if !rows.derived.is_empty() {
                    return Err(diesel::result::Error::QueryBuilderError(
                        "an insert writes columns only".into(),
                    ));
                }
                out.push_sql("INSERT INTO ");
                rows.table.walk_ast(out.reborrow())?;
                out.push_sql(" (");
                rows.push_names(&mut out)?;
                out.push_sql(") SELECT * FROM ");
                rows.push_arrays(&mut out)?;
            }
            StatementKind::UpdateByKey => {
                let key = <T::PrimaryKey as Column>::NAME;
                out.push_sql("UPDATE ");
                rows.table.walk_ast(out.reborrow())?;
                out.push_sql(" SET ");
                let is_derived =
                    |name: &str| rows.derived.iter().any(|(derived, _)| *derived == name);
                let updated = rows
                    .columns
                    .iter()
                    .filter(|(name, _)| *name != key && !is_derived(name));
                for (index, (name, _)) in updated.enumerate() {
                    if index > 0 {
                        out.push_sql(", ");
                    }
                    out.push_identifier(name)?;
                    out.push_sql(" = \"rows\".");
                    out.push_identifier(name)?;
                }
                for (_, assignment) in &rows.derived {
                    out.push_sql(", ");
                    out.push_sql(assignment);
                }
                out.push_sql(" FROM ");
                rows.push_arrays(&mut out)?;
                out.push_sql(" AS \"rows\" (");
                rows.push_names(&mut out)?;
                out.push_sql(") WHERE ");
                rows.table.walk_ast(out.reborrow())?;
                out.push_sql(".");
                out.push_identifier(key)?;
                out.push_sql(" = \"rows\".");
                out.push_identifier(key)?;
            }
        }
        Ok(())
    }
}

/// No static id: the statement cache keys it by its text (and bind types), which names the
/// table and columns but not the number of rows.
impl<T> QueryId for ArrayStatement<'_, T> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<T, Conn> RunQueryDsl<Conn> for ArrayStatement<'_, T> {}

/// Row types written many at a time, as arrays on PostgreSQL: every column they hold.
pub(crate) trait ArrayRows: Sized {
    type Table: Table;

    fn columns(rows: &[Self]) -> ColumnArrays<'_, Self::Table>;
}

/// A field as bound in its column's array: text borrowed, the rest copied.
pub(crate) trait ColumnValue {
    type Bound<'a>
    where
        Self: 'a;

    fn bound(&self) -> Self::Bound<'_>;
}

impl ColumnValue for String {
    type Bound<'a> = &'a str;

    fn bound(&self) -> &str {
        self
    }
}

impl ColumnValue for Option<String> {
    type Bound<'a> = Option<&'a str>;

    fn bound(&self) -> Option<&str> {
        self.as_deref()
    }
}

macro_rules! copied_column_values {
    ($($copied:ty),+) => {
        $(impl ColumnValue for $copied {
            type Bound<'a> = $copied;

            fn bound(&self) -> $copied {
                *self
            }
        })+
    };
}

copied_column_values!(bool, NaiveDateTime, Option<NaiveDateTime>);

/// Implements [`ArrayRows`] for a row type whose fields are named as `table`'s columns, which
/// are listed: `array_rows!(MessageRow, messages { id, conversation_id, … })`.
macro_rules! array_rows {
    ($row:ty, $table:ident { $($column:ident),+ $(,)? }) => {
        impl $crate::column_arrays::ArrayRows for $row {
            type Table = $table::table;

            fn columns(rows: &[Self]) -> $crate::column_arrays::ColumnArrays<'_, $table::table> {
                use $crate::column_arrays::ColumnValue;
                // A field left out of the list would be written on SQLite (Diesel's derives take
                // every field) and not on PostgreSQL: this pattern makes it a compile error.
                let _every_field_listed = |row: &Self| {
                    let Self { $($column: _),+ } = row;
                };
                $crate::column_arrays::ColumnArrays::of($table::table)
                    $(.column($table::$column, rows.iter().map(|row| row.$column.bound())))+
            }
        }
    };
}
pub(crate) use array_rows;

#[cfg(test)]
mod tests {
    use diesel::debug_query;

    use super::*;
    use crate::conversations::ConversationRow;
    use crate::schema::conversations;

    /// The statement's text, and whether Diesel's statement cache may keep it.
    fn statement(statement: ArrayStatement<'_, conversations::table>) -> (String, bool) {
        let cacheable = statement.is_safe_to_cache_prepared(&Pg).unwrap();
        let text = debug_query::<Pg, _>(&statement).to_string();
        let sql = text.split(" -- binds").next().unwrap().to_owned();
        (sql, cacheable)
    }

    /// What makes these statements worth having: one text, which the statement cache may keep,
    /// whatever the number of rows.
    #[test]
    fn one_cacheable_statement_for_any_number_of_rows() {
        let rows: Vec<ConversationRow> = (0..3)
            .map(|_| ConversationRow::for_tests("organization"))
            .collect();
        // With a static id the cache would key all of them by one type, whatever their text.
        assert!(<ArrayStatement<'_, conversations::table> as QueryId>::query_id().is_none());
        for write in [ColumnArrays::insert, ColumnArrays::update] {
            let (one, one_cacheable) = statement(write(ConversationRow::columns(&rows[..1])));
            let (three, three_cacheable) = statement(write(ConversationRow::columns(&rows)));
            assert_eq!(one, three);
            assert!(one_cacheable && three_cacheable);
        }
    }

    #[test]
    fn an_insert_names_each_column_and_unnests_one_array_each() {
        let rows = [ConversationRow::for_tests("organization")];
        let (sql, _) = statement(ConversationRow::columns(&rows).insert());
        assert!(sql.starts_with(
            r#"INSERT INTO "conversations" ("id", "organization_id", "patient_id", "team""#
        ));
        assert!(sql.ends_with(r#""newest_other_message_at") SELECT * FROM unnest($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"#));
    }

    #[test]
    fn an_update_sets_every_column_but_the_key_and_finds_rows_by_it() {
        let rows = [ConversationRow::for_tests("organization")];
        let (sql, _) = statement(ConversationRow::columns(&rows).update());
        assert!(sql.starts_with(
            r#"UPDATE "conversations" SET "organization_id" = "rows"."organization_id", "#
        ));
        assert!(!sql.contains(r#""id" = "rows"."id","#));
        assert!(sql.contains(r#" FROM unnest($1, $2, "#));
        assert!(sql.contains(r#") AS "rows" ("id", "organization_id", "#));
        assert!(sql.ends_with(r#" WHERE "conversations"."id" = "rows"."id""#));
    }

    #[test]
    fn a_derived_array_is_read_by_its_assignment_and_set_as_no_column() {
        let rows = [ConversationRow::for_tests("organization")];
        let texts = ["my knee"];
        let (sql, _) = statement(
            ConversationRow::columns(&rows)
                .derived::<diesel::sql_types::Text, _>(
                    "sent_text",
                    texts.iter().copied(),
                    "lexemes_signature = length(\"rows\".sent_text)",
                )
                .update(),
        );
        assert!(sql.contains(r#", lexemes_signature = length("rows".sent_text) FROM unnest("#));
        assert!(!sql.contains(r#""sent_text" = "rows"."sent_text""#));
        assert!(sql.contains(r#", "sent_text") WHERE "#));
    }
}
