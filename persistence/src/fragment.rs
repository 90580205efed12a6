//! SQL text with bound values, for what Diesel's DSL cannot spell (full-text search): like
//! `diesel::dsl::sql`, but fragments compose, so that a search's word lookup is written once and
//! used by every statement that needs it.
//!
//! A statement holding a fragment is planned for its values each time, never prepared once and
//! cached: PostgreSQL plans a cached statement generically after five runs, for any word, and a
//! search's plan depends on how common its words are. Caching them was tried (BENCHMARKS.md item
//! 17): searches went from p95 110 ms to 2 s.

use std::borrow::Cow;
use std::marker::PhantomData;

use diesel::expression::{
    is_aggregate, AppearsOnTable, AsExpression, Expression, SelectableExpression,
    TypedExpressionType, ValidGrouping,
};
use diesel::query_builder::{AstPass, QueryFragment, QueryId};
use diesel::sql_types::SqlType;
use diesel::QueryResult;

use crate::db::MultiBackend;

type Piece = Box<dyn QueryFragment<MultiBackend> + Send>;

/// An expression of SQL type `ST`, written as text and bound values in turn.
pub struct Fragment<ST> {
    pieces: Vec<Piece>,
    sql_type: PhantomData<ST>,
}

/// Starts a fragment with `text`; values go in [`Fragment::bind`].
pub fn fragment<ST>(text: impl Into<Cow<'static, str>>) -> Fragment<ST> {
    Fragment {
        pieces: Vec::new(),
        sql_type: PhantomData,
    }
    .sql(text)
}

impl<ST> Fragment<ST> {
    pub fn sql(mut self, text: impl Into<Cow<'static, str>>) -> Self {
        self.pieces.push(Box::new(Text(text.into())));
        self
    }

    pub fn bind<BindType, Value>(mut self, value: Value) -> Self
    where
        BindType: SqlType + TypedExpressionType,
        Value: AsExpression<BindType>,
        Value::Expression: QueryFragment<MultiBackend> + Send + 'static,
    {
        self.pieces.push(Box::new(value.as_expression()));
        self
    }

    /// This fragment followed by `other`, of whatever SQL type.
    pub fn then<Other>(mut self, other: Fragment<Other>) -> Self {
        self.pieces.extend(other.pieces);
        self
    }

    /// This fragment followed by an expression of Diesel's DSL.
    pub fn then_expression(
        mut self,
        expression: impl QueryFragment<MultiBackend> + Send + 'static,
    ) -> Self {
        self.pieces.push(Box::new(expression));
        self
    }
}

struct Text(Cow<'static, str>);

impl QueryFragment<MultiBackend> for Text {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.push_sql(&self.0);
        Ok(())
    }
}

impl<ST> QueryFragment<MultiBackend> for Fragment<ST> {
    fn walk_ast<'b>(&'b self, mut out: AstPass<'_, 'b, MultiBackend>) -> QueryResult<()> {
        out.unsafe_to_cache_prepared();
        for piece in &self.pieces {
            piece.walk_ast(out.reborrow())?;
        }
        Ok(())
    }
}

impl<ST: TypedExpressionType> Expression for Fragment<ST> {
    type SqlType = ST;
}

/// No static id: a fragment's text is known only once it is built.
impl<ST> QueryId for Fragment<ST> {
    type QueryId = ();
    const HAS_STATIC_QUERY_ID: bool = false;
}

impl<ST, QS> AppearsOnTable<QS> for Fragment<ST> where Self: Expression {}

impl<ST, QS> SelectableExpression<QS> for Fragment<ST> where Self: AppearsOnTable<QS> {}

impl<ST, GroupBy> ValidGrouping<GroupBy> for Fragment<ST> {
    type IsAggregate = is_aggregate::Never;
}

#[cfg(test)]
mod tests {
    use diesel::query_builder::QueryFragment;
    use diesel::sql_types::{Bool, Text};
    use diesel::ExpressionMethods;

    use super::*;

    /// Like `sql()`, and unlike Diesel's own expressions, a fragment keeps its statement out of
    /// the statement cache on both backends.
    #[test]
    fn statements_with_fragments_are_planned_each_time() {
        let composed = fragment::<Bool>("(a, b) > (")
            .bind::<Text, _>("x")
            .sql(", ")
            .then(fragment::<Bool>("lower(").bind::<Text, _>("y").sql(")"))
            .sql(")");
        for backend in [
            MultiBackend::Postgresql(diesel::pg::Pg),
            MultiBackend::Sqlite(diesel::sqlite::Sqlite),
        ] {
            assert!(!composed.is_safe_to_cache_prepared(&backend).unwrap());
            let typed = crate::schema::conversations::id.eq("x");
            assert!(typed.is_safe_to_cache_prepared(&backend).unwrap());
        }
    }
}
