//! The closed vocabularies live in the `vocabulary` crate, below the entities, so the
//! database rows, the policy and the API share one set of types.

pub use vocabulary::*;
