//! Text a client sends that the two databases would not treat alike: PostgreSQL refuses a
//! NUL character in text (and the driver's error would surface as INTERNAL), SQLite stores
//! it. Every string of a request, in the document's arguments or in its variables, is
//! checked before execution so both backends answer the same `BAD_USER_INPUT`.

use std::collections::HashMap;

use async_graphql::Name;
use async_graphql::Positioned;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use async_graphql_value::Value as GqlValue;
use serde_json::{Map, Value};

/// Where a string with a NUL character sits, as an argument path such as `input.title`.
pub fn find_nul(
    document: &ExecutableDocument,
    variables: Option<&Map<String, Value>>,
) -> Option<String> {
    let mut scan = Scan::default();
    let mut sets: Vec<&Positioned<SelectionSet>> = Vec::new();
    for (_, operation) in document.operations.iter() {
        for definition in &operation.node.variable_definitions {
            if let Some(default) = &definition.node.default_value {
                let value = default.node.clone().into_value();
                scan.value(&value, definition.node.name.node.to_string());
            }
        }
        for directive in &operation.node.directives {
            scan.arguments(&directive.node.arguments);
        }
        sets.push(&operation.node.selection_set);
    }
    for fragment in document.fragments.values() {
        sets.push(&fragment.node.selection_set);
    }
    // Each definition is scanned once, spreads are not followed: a string's place is the
    // same wherever its fragment is spread.
    while let Some(set) = sets.pop() {
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    scan.arguments(&field.node.arguments);
                    for directive in &field.node.directives {
                        scan.arguments(&directive.node.arguments);
                    }
                    sets.push(&field.node.selection_set);
                }
                Selection::InlineFragment(fragment) => {
                    for directive in &fragment.node.directives {
                        scan.arguments(&directive.node.arguments);
                    }
                    sets.push(&fragment.node.selection_set);
                }
                Selection::FragmentSpread(spread) => {
                    for directive in &spread.node.directives {
                        scan.arguments(&directive.node.arguments);
                    }
                }
            }
        }
    }
    if scan.found.is_some() {
        return scan.found;
    }
    let variables = variables?;
    for (name, value) in variables {
        // A variable's strings are named by the argument it is passed to, as a literal
        // would be; a variable no argument uses keeps its own name.
        let base = scan
            .variable_places
            .get(name.as_str())
            .cloned()
            .unwrap_or_else(|| name.clone());
        let mut stack: Vec<(&Value, String)> = vec![(value, base)];
        while let Some((value, path)) = stack.pop() {
            match value {
                Value::String(text) if text.contains('\0') => return Some(path),
                Value::Array(items) => stack.extend(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| (item, format!("{path}.{i}"))),
                ),
                Value::Object(entries) => stack.extend(
                    entries
                        .iter()
                        .map(|(key, item)| (item, format!("{path}.{key}"))),
                ),
                _ => {}
            }
        }
    }
    None
}

#[derive(Default)]
struct Scan {
    found: Option<String>,
    /// The argument path where each variable is first used.
    variable_places: HashMap<String, String>,
}

impl Scan {
    fn arguments(&mut self, arguments: &[(Positioned<Name>, Positioned<GqlValue>)]) {
        for (name, value) in arguments {
            self.value(&value.node, name.node.to_string());
        }
    }

    fn value(&mut self, value: &GqlValue, path: String) {
        let mut stack: Vec<(&GqlValue, String)> = vec![(value, path)];
        while let Some((value, path)) = stack.pop() {
            match value {
                GqlValue::String(text) if text.contains('\0') => {
                    self.found.get_or_insert(path);
                }
                GqlValue::Variable(name) => {
                    self.variable_places.entry(name.to_string()).or_insert(path);
                }
                GqlValue::List(items) => stack.extend(
                    items
                        .iter()
                        .enumerate()
                        .map(|(i, item)| (item, format!("{path}.{i}"))),
                ),
                GqlValue::Object(entries) => stack.extend(
                    entries
                        .iter()
                        .map(|(key, item)| (item, format!("{path}.{key}"))),
                ),
                _ => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::find_nul;

    fn at(query: &str, variables: serde_json::Value) -> Option<String> {
        let document = async_graphql::parser::parse_query(query).unwrap();
        find_nul(&document, variables.as_object())
    }

    #[test]
    fn a_nul_is_named_by_its_argument_path() {
        assert_eq!(
            at(
                r#"{ regency(code: "31\u0000") { name } }"#,
                serde_json::json!({})
            ),
            Some("code".into())
        );
        assert_eq!(
            at(
                r#"mutation { reportDispute(input: { title: "a", reporter: { name: "b\u0000" } }) { dispute { id } } }"#,
                serde_json::json!({})
            ),
            Some("input.reporter.name".into())
        );
        assert_eq!(
            at(
                "mutation($i: ReportDisputeInput!) { reportDispute(input: $i) { dispute { id } } }",
                serde_json::json!({ "i": { "title": "x\u{0}y" } })
            ),
            Some("input.title".into())
        );
        assert_eq!(
            at(
                "query($c: [String!]) { a(codes: $c) }",
                serde_json::json!({ "c": ["ok", "\u{0}"] })
            ),
            Some("codes.1".into())
        );
        assert_eq!(
            at(
                r#"{ regency(code: "31") { name } }"#,
                serde_json::json!({ "x": "fine" })
            ),
            None
        );
    }
}
