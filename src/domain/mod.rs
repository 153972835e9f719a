//! What Posko does, independent of GraphQL and HTTP: functions over the database that take
//! the viewer and validated input and return `AppResult`.

pub mod audit;
pub mod calendar;
pub mod changes;
pub mod clocks;
pub mod directory;
pub mod disputes;
pub mod hotspots;
pub mod paging;
pub mod projection;
pub mod reference;
pub mod reference_cache;
pub mod reference_snapshot;
pub mod report;
pub mod tally;
pub mod timeline;
pub mod types;
pub mod visible;
pub mod workflow;
