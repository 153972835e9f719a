//! Static checks on a parsed document that async-graphql does not make itself: aliases,
//! root fields and directives (depth and complexity are the schema's own limits).

use async_graphql::Positioned;
use async_graphql::parser::types::{ExecutableDocument, Selection, SelectionSet};

/// The configured ceilings.
#[derive(Clone, Copy, Debug)]
pub struct DocumentLimits {
    pub max_aliases: usize,
    pub max_root_fields: usize,
    pub max_directives: usize,
}

#[derive(Default)]
struct Counts {
    aliases: usize,
    directives: usize,
}

fn walk(set: &Positioned<SelectionSet>, counts: &mut Counts, depth: usize) {
    // Fragments cannot nest deeper than the schema's depth limit allows; this bound only
    // stops a pathological document from recursing without end.
    if depth > 64 {
        return;
    }
    for selection in &set.node.items {
        match &selection.node {
            Selection::Field(field) => {
                counts.aliases += usize::from(field.node.alias.is_some());
                counts.directives += field.node.directives.len();
                walk(&field.node.selection_set, counts, depth + 1);
            }
            Selection::InlineFragment(fragment) => {
                counts.directives += fragment.node.directives.len();
                walk(&fragment.node.selection_set, counts, depth + 1);
            }
            Selection::FragmentSpread(spread) => counts.directives += spread.node.directives.len(),
        }
    }
}

/// A message naming the first ceiling the document exceeds, if any.
pub fn check(document: &ExecutableDocument, limits: DocumentLimits) -> Option<String> {
    let mut counts = Counts::default();
    for (_, operation) in document.operations.iter() {
        let roots = operation.node.selection_set.node.items.len();
        if roots > limits.max_root_fields {
            return Some(format!(
                "an operation has {roots} root fields; at most {} are allowed",
                limits.max_root_fields
            ));
        }
        counts.directives += operation.node.directives.len();
        walk(&operation.node.selection_set, &mut counts, 0);
    }
    for fragment in document.fragments.values() {
        counts.directives += fragment.node.directives.len();
        walk(&fragment.node.selection_set, &mut counts, 0);
    }
    if counts.aliases > limits.max_aliases {
        return Some(format!(
            "the document has {} aliases; at most {} are allowed",
            counts.aliases, limits.max_aliases
        ));
    }
    if counts.directives > limits.max_directives {
        return Some(format!(
            "the document has {} directives; at most {} are allowed",
            counts.directives, limits.max_directives
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: DocumentLimits = DocumentLimits {
        max_aliases: 2,
        max_root_fields: 2,
        max_directives: 1,
    };

    fn verdict(query: &str) -> Option<String> {
        check(&async_graphql::parser::parse_query(query).unwrap(), LIMITS)
    }

    #[test]
    fn each_ceiling_is_enforced_and_fragments_count() {
        assert_eq!(
            verdict("{ a: provinces { code } b: provinces { code } }"),
            None
        );
        assert!(
            verdict("{ a: provinces { code } b: provinces { code } c: provinces { code } }")
                .unwrap()
                .contains("root fields")
        );
        assert!(
            verdict("{ p: provinces { a: code b: name } }")
                .unwrap()
                .contains("aliases")
        );
        assert!(
            verdict(
                "query { provinces { ...F } } fragment F on Province { x: code y: code z: code }"
            )
            .unwrap()
            .contains("aliases")
        );
        assert!(
            verdict("{ provinces { code @skip(if: false) name @include(if: true) } }")
                .unwrap()
                .contains("directives")
        );
    }
}
