//! The cost of a request, measured on the parsed document and the variables before
//! async-graphql validates or executes anything.
//!
//! async-graphql's validation (and its depth, complexity and recursion checks) follows
//! fragment spreads afresh at every spread, so a few hundred bytes of fragments that each
//! spread the previous one four times expand to billions of fields and hold a core. Here
//! each fragment's cost is computed once and reused wherever it is spread, so the check is
//! linear in the document's size whatever it expands to, and a document that passes it
//! expands to at most `max_fields` fields, which bounds every later walk.

use std::collections::HashMap;

use async_graphql::Positioned;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};
use serde_json::{Map, Value};

/// The configured ceilings on a document.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    /// Fields of the document with every fragment expanded where it is spread.
    pub max_fields: usize,
    /// Deepest chain of fields, through fragments, outside introspection.
    pub max_depth: usize,
    /// Deepest chain under a root `__schema` or `__type` (client tools' standard
    /// introspection query nests `ofType` nine times).
    pub max_introspection_depth: usize,
    pub max_aliases: usize,
    pub max_root_fields: usize,
    pub max_directives: usize,
    pub max_operations: usize,
}

/// The configured ceilings on a request's variables.
#[derive(Clone, Copy, Debug)]
pub struct VariableLimits {
    /// Nesting of lists and objects inside one variable.
    pub max_depth: usize,
    /// Values of every variable together, each list item and object entry counted.
    pub max_values: usize,
}

/// Why a request is refused before validation.
#[derive(Debug, PartialEq, Eq)]
pub enum Refusal {
    /// Over a ceiling: `QUERY_TOO_COMPLEX`.
    TooComplex(String),
    /// Not a valid document (a spread of an unknown fragment, a fragment cycle):
    /// `BAD_USER_INPUT`, as validation would have answered.
    Invalid(String),
}

/// Spreads nested deeper than this are refused outright: no useful document comes close,
/// and it bounds the recursion of the walk below independently of the limits configured.
const MAX_SPREAD_NESTING: usize = 64;
/// Selection sets nested deeper than this (fields, inline fragments) are refused for the
/// same reason; the parser's own recursion limit is higher.
const MAX_SELECTION_NESTING: usize = 128;

/// Where a selection set sits, which decides which depth allowance its fields use.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
enum Place {
    /// An operation's own selection set, where `__schema` and `__type` start introspection.
    Root,
    Normal,
    Introspection,
}

/// The cost of a selection set with its fragments expanded. Counts saturate, so a bomb
/// reports `u64::MAX` rather than overflowing.
#[derive(Clone, Copy, Debug, Default)]
struct Cost {
    fields: u64,
    /// Fields directly in this set (through spreads and inline fragments).
    top_fields: u64,
    aliases: u64,
    directives: u64,
    depth: u64,
    introspection_depth: u64,
}

impl Cost {
    fn add(&mut self, other: Cost) {
        self.fields = self.fields.saturating_add(other.fields);
        self.top_fields = self.top_fields.saturating_add(other.top_fields);
        self.aliases = self.aliases.saturating_add(other.aliases);
        self.directives = self.directives.saturating_add(other.directives);
        self.depth = self.depth.max(other.depth);
        self.introspection_depth = self.introspection_depth.max(other.introspection_depth);
    }
}

enum Memo {
    InProgress,
    Done(Cost),
}

struct Walk<'a> {
    document: &'a ExecutableDocument,
    memo: HashMap<(&'a str, Place), Memo>,
}

impl<'a> Walk<'a> {
    fn set(
        &mut self,
        set: &'a Positioned<SelectionSet>,
        place: Place,
        nesting: usize,
        spreads: usize,
    ) -> Result<Cost, Refusal> {
        if nesting > MAX_SELECTION_NESTING {
            return Err(Refusal::TooComplex(format!(
                "selections nest more than {MAX_SELECTION_NESTING} deep"
            )));
        }
        let mut cost = Cost::default();
        for selection in &set.node.items {
            match &selection.node {
                Selection::Field(field) => {
                    let field = &field.node;
                    let name = field.name.node.as_str();
                    let inner_place = match place {
                        Place::Root if name == "__schema" || name == "__type" => {
                            Place::Introspection
                        }
                        Place::Introspection => Place::Introspection,
                        Place::Root | Place::Normal => Place::Normal,
                    };
                    let inner =
                        self.set(&field.selection_set, inner_place, nesting + 1, spreads)?;
                    let (depth, introspection_depth) = match (place, inner_place) {
                        (_, Place::Introspection) => (
                            u64::from(place != Place::Introspection),
                            inner.introspection_depth.max(inner.depth) + 1,
                        ),
                        _ => (
                            inner.depth + 1,
                            match inner.introspection_depth {
                                0 => 0,
                                d => d + 1,
                            },
                        ),
                    };
                    cost.add(Cost {
                        fields: inner.fields.saturating_add(1),
                        top_fields: 1,
                        aliases: inner
                            .aliases
                            .saturating_add(u64::from(field.alias.is_some())),
                        directives: inner
                            .directives
                            .saturating_add(field.directives.len() as u64),
                        depth,
                        introspection_depth,
                    });
                }
                Selection::InlineFragment(fragment) => {
                    let mut inner =
                        self.set(&fragment.node.selection_set, place, nesting + 1, spreads)?;
                    inner.directives = inner
                        .directives
                        .saturating_add(fragment.node.directives.len() as u64);
                    cost.add(inner);
                }
                Selection::FragmentSpread(spread) => {
                    let mut inner = self.fragment(
                        spread.node.fragment_name.node.as_str(),
                        place,
                        nesting + 1,
                        spreads + 1,
                    )?;
                    inner.directives = inner
                        .directives
                        .saturating_add(spread.node.directives.len() as u64);
                    cost.add(inner);
                }
            }
        }
        Ok(cost)
    }

    /// A fragment's cost where it is spread: computed at its first spread, reused after.
    /// Nesting carries on through the spread, so the recursion stays within
    /// `MAX_SELECTION_NESTING` however fragments chain.
    fn fragment(
        &mut self,
        name: &'a str,
        place: Place,
        nesting: usize,
        spreads: usize,
    ) -> Result<Cost, Refusal> {
        match self.memo.get(&(name, place)) {
            Some(Memo::Done(cost)) => return Ok(*cost),
            Some(Memo::InProgress) => {
                return Err(Refusal::Invalid(format!(
                    "fragment \"{name}\" spreads itself"
                )));
            }
            None => {}
        }
        if spreads > MAX_SPREAD_NESTING {
            return Err(Refusal::TooComplex(format!(
                "fragment spreads nest more than {MAX_SPREAD_NESTING} deep"
            )));
        }
        let document = self.document;
        let Some((key, definition)) = document.fragments.get_key_value(name) else {
            return Err(Refusal::Invalid(format!("unknown fragment \"{name}\"")));
        };
        let key = key.as_str();
        self.memo.insert((key, place), Memo::InProgress);
        let mut cost = self.set(&definition.node.selection_set, place, nesting, spreads)?;
        cost.directives = cost
            .directives
            .saturating_add(definition.node.directives.len() as u64);
        self.memo.insert((key, place), Memo::Done(cost));
        Ok(cost)
    }
}

fn over(what: &str, count: u64, limit: usize) -> Option<Refusal> {
    (count > limit as u64).then(|| {
        Refusal::TooComplex(if count == u64::MAX {
            format!("the document has too many {what}; at most {limit} are allowed")
        } else {
            format!("the document has {count} {what}; at most {limit} are allowed")
        })
    })
}

/// Refuses a document text whose brackets nest deeper than any useful document, before it
/// is parsed: the parser recurses once per level, and a 32 KiB document of `[` could
/// otherwise nest thousands of levels deep. Brackets inside strings and comments do not
/// count.
pub fn check_text(text: &str) -> Result<(), Refusal> {
    let bytes = text.as_bytes();
    let mut depth = 0usize;
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 2;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
            }
            b'{' | b'[' | b'(' => {
                depth += 1;
                if depth > MAX_SELECTION_NESTING {
                    return Err(Refusal::TooComplex(format!(
                        "brackets nest more than {MAX_SELECTION_NESTING} deep"
                    )));
                }
            }
            b'}' | b']' | b')' => depth = depth.saturating_sub(1),
            _ => {}
        }
        i += 1;
    }
    Ok(())
}

/// Refuses a document over any ceiling, or whose fragments cannot be expanded.
pub fn check(document: &ExecutableDocument, limits: DocumentLimits) -> Result<(), Refusal> {
    let operations = document.operations.iter().count();
    if operations > limits.max_operations {
        return Err(Refusal::TooComplex(format!(
            "the document has {operations} operations; at most {} are allowed",
            limits.max_operations
        )));
    }
    let mut walk = Walk {
        document,
        memo: HashMap::new(),
    };
    let mut total = Cost::default();
    for (_, operation) in document.operations.iter() {
        let mut cost = walk.set(&operation.node.selection_set, Place::Root, 0, 0)?;
        cost.directives = cost
            .directives
            .saturating_add(operation.node.directives.len() as u64);
        if cost.top_fields > limits.max_root_fields as u64 {
            return Err(Refusal::TooComplex(format!(
                "an operation has {} root fields; at most {} are allowed",
                cost.top_fields, limits.max_root_fields
            )));
        }
        if cost.depth > limits.max_depth as u64 {
            return Err(Refusal::TooComplex(format!(
                "the document nests {} fields deep; at most {} are allowed",
                cost.depth, limits.max_depth
            )));
        }
        if cost.introspection_depth > limits.max_introspection_depth as u64 {
            return Err(Refusal::TooComplex(format!(
                "the introspection nests {} fields deep; at most {} are allowed",
                cost.introspection_depth, limits.max_introspection_depth
            )));
        }
        total.add(cost);
    }
    // Validation also walks each fragment definition once, spread or not.
    let unreached: Vec<&str> = document
        .fragments
        .keys()
        .map(|name| name.as_str())
        .filter(|name| {
            ![Place::Root, Place::Normal, Place::Introspection]
                .iter()
                .any(|place| walk.memo.contains_key(&(*name, *place)))
        })
        .collect();
    for name in unreached {
        total.add(walk.fragment(name, Place::Normal, 0, 0)?);
    }
    if let Some(refusal) = over(
        "fields (fragments expanded)",
        total.fields,
        limits.max_fields,
    )
    .or_else(|| over("aliases", total.aliases, limits.max_aliases))
    .or_else(|| over("directives", total.directives, limits.max_directives))
    {
        return Err(refusal);
    }
    Ok(())
}

/// Refuses variables nested too deep or holding too many values.
pub fn check_variables(
    variables: &Map<String, Value>,
    limits: VariableLimits,
) -> Result<(), Refusal> {
    // Iterative, so a deeply nested value cannot exhaust the stack.
    let mut values = 0usize;
    let mut stack: Vec<(&Value, usize)> = variables.values().map(|v| (v, 0)).collect();
    while let Some((value, depth)) = stack.pop() {
        values += 1;
        if values > limits.max_values {
            return Err(Refusal::TooComplex(format!(
                "the variables hold more than {} values",
                limits.max_values
            )));
        }
        let children: Box<dyn Iterator<Item = &Value>> = match value {
            Value::Array(items) => Box::new(items.iter()),
            Value::Object(entries) => Box::new(entries.values()),
            _ => continue,
        };
        if depth + 1 > limits.max_depth {
            return Err(Refusal::TooComplex(format!(
                "the variables nest more than {} deep",
                limits.max_depth
            )));
        }
        stack.extend(children.map(|child| (child, depth + 1)));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_fields: 50,
        max_depth: 4,
        max_introspection_depth: 6,
        max_aliases: 2,
        max_root_fields: 2,
        max_directives: 1,
        max_operations: 2,
    };

    fn verdict(query: &str) -> Result<(), Refusal> {
        check(&async_graphql::parser::parse_query(query).unwrap(), LIMITS)
    }

    fn refused(query: &str, word: &str) {
        match verdict(query) {
            Err(Refusal::TooComplex(message)) => {
                assert!(message.contains(word), "{query}: {message}")
            }
            other => panic!("{query}: {other:?}"),
        }
    }

    #[test]
    fn each_ceiling_is_enforced_and_fragments_count() {
        assert_eq!(
            verdict("{ a: provinces { code } b: provinces { code } }"),
            Ok(())
        );
        refused(
            "{ a: provinces { code } b: provinces { code } c: provinces { code } }",
            "root fields",
        );
        refused("{ p: provinces { a: code b: name } }", "aliases");
        refused(
            "query { provinces { ...F } } fragment F on Province { x: code y: code z: code }",
            "aliases",
        );
        refused(
            "{ provinces { code @skip(if: false) name @include(if: true) } }",
            "directives",
        );
        refused("{ a { b { c { d { e } } } } }", "nests 5");
        refused(
            "{ a { ...F } } fragment F on A { b { c { d { e } } } }",
            "nests 5",
        );
        refused("{ ...R } fragment R on Query { a b c }", "root fields");
        refused("query A { a } query B { a } query C { a }", "operations");
    }

    #[test]
    fn a_fragment_bomb_is_costed_once_per_fragment() {
        let mut query = String::from("query { ...F16 } fragment F0 on Query { __typename }");
        for n in 1..=16 {
            let p = n - 1;
            query.push_str(&format!(
                " fragment F{n} on Query {{ ...F{p} ...F{p} ...F{p} ...F{p} }}"
            ));
        }
        let started = std::time::Instant::now();
        refused(&query, "fields");
        assert!(started.elapsed() < std::time::Duration::from_millis(100));
    }

    #[test]
    fn bracket_nesting_is_bounded_before_parsing_outside_strings_and_comments() {
        assert!(
            check_text(&format!(
                "{{ a(x: {}1{}) }}",
                "[".repeat(200),
                "]".repeat(200)
            ))
            .is_err()
        );
        let quoted = format!(
            "{{ a(x: \"{0}\", y: \"\"\"{0}\\\"\"\"\"\"\") }} # {0}",
            "{[(".repeat(100)
        );
        assert_eq!(check_text(&quoted), Ok(()));
    }

    #[test]
    fn nesting_carries_through_spreads() {
        let level = |n: usize| {
            format!("{}x{}", "a { ".repeat(50), " }".repeat(50)).replace('x', &format!("...F{n}"))
        };
        let mut query = format!("{{ {} }}", level(0));
        for n in 0..3 {
            query.push_str(&format!(" fragment F{n} on A {{ {} }}", level(n + 1)));
        }
        query.push_str(" fragment F3 on A { b }");
        refused(&query, "nest more than");
    }

    #[test]
    fn cycles_and_unknown_fragments_are_invalid() {
        assert!(matches!(
            verdict("{ ...A } fragment A on Query { ...B } fragment B on Query { ...A }"),
            Err(Refusal::Invalid(_))
        ));
        assert!(matches!(verdict("{ ...Nope }"), Err(Refusal::Invalid(_))));
        assert!(matches!(
            verdict("{ a } fragment A on Query { ...A }"),
            Err(Refusal::Invalid(_))
        ));
    }

    #[test]
    fn introspection_has_its_own_depth_allowance_at_the_root_only() {
        let nested = |levels: usize| {
            format!(
                "{{ __schema {{ types {{ {}kind{} }} }} }}",
                "ofType { ".repeat(levels),
                " }".repeat(levels)
            )
        };
        assert_eq!(verdict(&nested(3)), Ok(()));
        refused(&nested(4), "introspection nests 7");
        refused("{ a { __type { b { c { d } } } } }", "nests 5");
    }

    #[test]
    fn variables_are_bounded_in_nesting_and_size() {
        let limits = VariableLimits {
            max_depth: 2,
            max_values: 5,
        };
        let map = |v: Value| v.as_object().unwrap().clone();
        assert_eq!(
            check_variables(&map(serde_json::json!({ "a": { "b": [1] } })), limits),
            Ok(())
        );
        assert!(check_variables(&map(serde_json::json!({ "a": [[[1]]] })), limits).is_err());
        assert!(
            check_variables(&map(serde_json::json!({ "a": [1, 2, 3, 4, 5] })), limits).is_err()
        );
    }
}
