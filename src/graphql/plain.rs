//! Lists whose selection asks only for plain data, answered without async-graphql's
//! per-field machinery.
//!
//! async-graphql resolves each selected field of each object as a boxed future, runs the
//! object's futures through a `FuturesUnordered` (one more allocation each) and merges the
//! results into its map: on a page of 50 disputes, 400 fields, that machinery was about
//! 40 % of the server's CPU (BENCHMARKS.md, session 10). Most fields of a page are data the
//! object already holds (a title, a status, a time), so a list whose selection asks only
//! for those builds its values in one pass.
//!
//! Anything else leaves the whole list to async-graphql, unchanged: a fragment, a field
//! with arguments or directives, a response key given twice, an empty selection, or a
//! field its type does not answer here. So loaders still batch across the list, errors
//! keep their paths, and what a plain field answers is checked against async-graphql's
//! own answer for every plain field (`tests/api/plain_lists.rs`).
//!
//! No field that the policy decides is plain: the objects are the policy's own types
//! (`VisibleDispute`, `VisibleEvent`), and a protected field (a reporter, a note's actor,
//! an intelligence note) is resolved by async-graphql through `projection`, as before.

use std::borrow::Cow;
use std::sync::Arc;

use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{Field, Selection, SelectionSet};
use async_graphql::registry::Registry;
use async_graphql::resolver_utils::resolve_list;
use async_graphql::{ContextSelectionSet, OutputType, Positioned, ServerResult, Value};

use crate::domain::reference_snapshot::ReferenceSnapshot;
use crate::graphql::context::RequestContext;

/// One field's answer from data the object holds.
pub enum Plain<'a> {
    /// A scalar or enum value (or null).
    Leaf(Value),
    /// An object (or null) whose own selection is answered the same way.
    Object(Option<&'a dyn PlainObject>),
}

/// An output type that answers some of its fields from data it holds.
pub trait PlainObject: Send + Sync {
    /// The GraphQL type name (`__typename`).
    fn graphql_type_name(&self) -> &'static str;

    /// The field named `name` (its schema name), or `None` when this type leaves that
    /// field to its resolver. Fields that take arguments are never asked.
    fn plain_field<'a>(&'a self, name: &str, reference: &'a ReferenceSnapshot)
    -> Option<Plain<'a>>;
}

impl<T: PlainObject> PlainObject for &T {
    fn graphql_type_name(&self) -> &'static str {
        T::graphql_type_name(self)
    }

    fn plain_field<'a>(
        &'a self,
        name: &str,
        reference: &'a ReferenceSnapshot,
    ) -> Option<Plain<'a>> {
        T::plain_field(self, name, reference)
    }
}

/// A list (`[T!]!` in the schema, as `Vec<T>`) answered in one pass when its selection is
/// plain, by async-graphql otherwise.
pub struct PlainList<T>(pub Vec<T>);

impl<T: OutputType + PlainObject> OutputType for PlainList<T> {
    fn type_name() -> Cow<'static, str> {
        Vec::<T>::type_name()
    }

    fn qualified_type_name() -> String {
        Vec::<T>::qualified_type_name()
    }

    fn create_type_info(registry: &mut Registry) -> String {
        Vec::<T>::create_type_info(registry)
    }

    async fn resolve(
        &self,
        ctx: &ContextSelectionSet<'_>,
        field: &Positioned<Field>,
    ) -> ServerResult<Value> {
        if let Some(list) = answer_plainly(ctx, &self.0) {
            return Ok(list);
        }
        resolve_list(ctx, field, &self.0, Some(self.0.len())).await
    }
}

fn answer_plainly<T: PlainObject>(ctx: &ContextSelectionSet<'_>, items: &[T]) -> Option<Value> {
    let reference = ctx.data::<Arc<RequestContext>>().ok()?.reference();
    let selection = &ctx.item.node;
    let mut list = Vec::with_capacity(items.len());
    for item in items {
        list.push(plain_object(item, selection, &reference)?);
    }
    Some(Value::List(list))
}

/// The object's answer to `selection`, or `None` when any of it is not plain.
fn plain_object(
    object: &dyn PlainObject,
    selection: &SelectionSet,
    reference: &ReferenceSnapshot,
) -> Option<Value> {
    // async-graphql answers an empty selection (every field skipped) with null.
    if selection.items.is_empty() {
        return None;
    }
    let mut answer = IndexMap::with_capacity(selection.items.len());
    for item in &selection.items {
        let Selection::Field(field) = &item.node else {
            return None;
        };
        let field = &field.node;
        if !field.arguments.is_empty() || !field.directives.is_empty() {
            return None;
        }
        let name = field.name.node.as_str();
        let value = if name == "__typename" {
            Value::String(object.graphql_type_name().to_owned())
        } else {
            match object.plain_field(name, reference)? {
                Plain::Leaf(value) => value,
                Plain::Object(None) => Value::Null,
                Plain::Object(Some(child)) => {
                    plain_object(child, &field.selection_set.node, reference)?
                }
            }
        };
        // A key given twice is merged by async-graphql's rules; leave it to them.
        if answer
            .insert(field.response_key().node.clone(), value)
            .is_some()
        {
            return None;
        }
    }
    Some(Value::Object(answer))
}

/// Plain values of the kinds the types hold.
pub(crate) fn text(value: &str) -> Plain<'static> {
    Plain::Leaf(Value::String(value.to_owned()))
}

pub(crate) fn optional_text(value: Option<&str>) -> Plain<'static> {
    Plain::Leaf(value.map_or(Value::Null, |text| Value::String(text.to_owned())))
}

pub(crate) fn scalar(value: impl async_graphql::ScalarType) -> Plain<'static> {
    Plain::Leaf(value.to_value())
}

pub(crate) fn enumeration(value: impl async_graphql::EnumType) -> Plain<'static> {
    Plain::Leaf(async_graphql::resolver_utils::enum_value(value))
}

#[cfg(test)]
mod tests {
    use async_graphql::parser::parse_query;
    use async_graphql::parser::types::{DocumentOperations, Selection};
    use serde_json::json;

    use super::*;

    /// An object whose `a` and `child` are plain and whose `loaded` is not.
    struct Probe;

    impl PlainObject for Probe {
        fn graphql_type_name(&self) -> &'static str {
            "Probe"
        }

        fn plain_field<'a>(&'a self, name: &str, _: &'a ReferenceSnapshot) -> Option<Plain<'a>> {
            Some(match name {
                "a" => text("x"),
                "none" => optional_text(None),
                "child" => Plain::Object(Some(self)),
                "missing" => Plain::Object(None),
                _ => return None,
            })
        }
    }

    /// The answer of `Probe` to the selection under the document's first field.
    fn answer(document: &str) -> Option<serde_json::Value> {
        answer_value(document).map(|value| value.into_json().expect("JSON"))
    }

    fn answer_value(document: &str) -> Option<Value> {
        let document = parse_query(document).expect("the test document parses");
        let DocumentOperations::Single(operation) = document.operations else {
            panic!("one operation");
        };
        let Selection::Field(list) = &operation.node.selection_set.node.items[0].node else {
            panic!("a field first");
        };
        let reference = ReferenceSnapshot::default();
        plain_object(&Probe, &list.node.selection_set.node, &reference)
    }

    #[test]
    fn plain_fields_answer_in_selection_order_with_aliases_typename_and_nesting() {
        assert_eq!(
            answer("{ list { a b: a __typename none missing { a } child { c: a child { a } } } }"),
            Some(json!({
                "a": "x", "b": "x", "__typename": "Probe", "none": null, "missing": null,
                "child": { "c": "x", "child": { "a": "x" } }
            }))
        );
        let Some(Value::Object(keys)) = answer_value("{ list { none b: a a } }") else {
            panic!("an object");
        };
        let keys: Vec<&str> = keys.keys().map(|key| key.as_str()).collect();
        assert_eq!(keys, ["none", "b", "a"]);
    }

    #[test]
    fn anything_but_plain_fields_is_left_to_async_graphql() {
        for document in [
            "{ list { a loaded } }",
            "{ list { a child { loaded } } }",
            "{ list { a(first: 1) } }",
            "{ list { a @custom } }",
            "{ list { a a } }",
            "{ list { a child { a } child { a } } }",
            "{ list { ...F } } fragment F on Probe { a }",
            "{ list { a ... on Probe { a } } }",
            "{ list { child { ... { a } } } }",
        ] {
            assert_eq!(answer(document), None, "{document}");
        }
    }
}
