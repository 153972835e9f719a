//! The subscription root. Each subscriber's stream reads the instance's feed of committed
//! changes (ids only) and projects every change for that subscriber through the same
//! policy as queries: the dispute row through `policy::visible_disputes` (with the
//! agency's current jurisdiction), its fields through the field rules, the event through
//! the timeline's audience rules, and each sensitive read into the access log before the
//! push leaves (the transport writes the context's reads first).

use std::sync::Arc;
use std::time::Duration;

use async_graphql::futures_util::Stream;
use async_graphql::{Context, ErrorExtensions, SimpleObject, Subscription};
use tokio::sync::broadcast::error::RecvError;

use crate::auth::policy::{self, Action, DisputeFacts};
use crate::domain::changes::{Change, ScopedChange};
use crate::domain::disputes::{self, DisputeFilter, StatsDimension};
use crate::domain::projection;
use crate::error::{AppError, ErrorCode, IntoGql};
use crate::graphql::context::RequestContext;
use crate::graphql::dispute_query::DisputeFilterInput;
use crate::graphql::types::dispute::{Dispute, DisputeEvent, DisputeStats};

/// Pushes of `disputeStatsUpdated` are at least this far apart.
const STATS_INTERVAL: Duration = Duration::from_secs(1);

/// A change of a dispute the subscriber sees.
#[derive(SimpleObject)]
pub struct DisputeUpdate {
    /// The dispute as the subscriber sees it now; `version` lets a client detect a gap
    /// (each change adds one).
    pub dispute: Dispute,
    /// The timeline event that changed it, or null when the subscriber may not see that
    /// event (an intelligence note, a classification, a note for other roles).
    pub event: Option<DisputeEvent>,
}

/// Real-time updates (WebSocket `graphql-transport-ws` on `/graphql`, or Server-Sent
/// Events). When changes may have been missed (this instance lost its notification
/// connection, or the subscriber fell behind), the stream ends with an error whose
/// `extensions.code` is `RESET`: refetch, then subscribe again.
#[derive(Default)]
pub struct Subscription;

fn context(ctx: &Context<'_>) -> async_graphql::Result<Arc<RequestContext>> {
    ctx.data::<Arc<RequestContext>>().cloned().map_err(|_| {
        async_graphql::ErrorExtensions::extend(&AppError::Internal(anyhow::anyhow!(
            "request context missing"
        )))
    })
}

fn reset() -> async_graphql::Error {
    async_graphql::Error::new(
        "changes may have been missed; refetch what you show, then subscribe again",
    )
    .extend_with(|_, ext| ext.set("code", ErrorCode::Reset.as_str()))
}

async fn update(
    rc: &RequestContext,
    filter: &DisputeFilter,
    row: i32,
    seq: i32,
) -> Result<Option<DisputeUpdate>, AppError> {
    // The agency's jurisdiction as it is now, not as it was when the socket opened.
    let viewer = rc
        .auth()
        .refresh(&rc.viewer)
        .await
        .map_err(|err| match err {
            crate::auth::viewer::AuthFailure::Internal(err) => err,
            crate::auth::viewer::AuthFailure::Token(_) => {
                AppError::forbidden("the token is no longer valid")
            }
        })?;
    // Everything the read depends on: who (role and agency, whose jurisdiction the cache
    // holds) and the filter. Subscribers sharing it share one read of the change.
    let scope = format!(
        "{row}:{seq}|{:?}|{:?}|{filter:?}",
        viewer.role, viewer.agency_code
    );
    let shared = rc
        .changes()?
        .scoped(scope, async {
            let Some(dispute) = disputes::changed(&rc.db().conn, &viewer, filter, row).await?
            else {
                return Ok(ScopedChange {
                    dispute: None,
                    escalations: Vec::new(),
                    event: None,
                });
            };
            let escalations = rc
                .loaders()
                .escalations_by_dispute
                .load_one(dispute.id())
                .await
                .map_err(AppError::from)?
                .unwrap_or_default();
            let event = rc
                .loaders()
                .events_by_dispute
                .load_one(dispute.id())
                .await
                .map_err(AppError::from)?
                .unwrap_or_default()
                .into_iter()
                .find(|e| e.seq == seq);
            Ok(ScopedChange {
                dispute: Some(dispute),
                escalations,
                event,
            })
        })
        .await?;
    let Some(dispute) = shared.dispute.clone() else {
        return Ok(None);
    };
    let facts = DisputeFacts {
        escalated_to: shared.escalations.iter().map(|e| e.target).collect(),
    };
    // Projected for this subscriber, whose own context logs what it reads.
    let event = match shared.event.clone() {
        Some(event) => projection::event(&viewer, &dispute, &facts, event, rc)?,
        None => None,
    };
    let dispute_ref = dispute.public_id().to_owned();
    Ok(Some(DisputeUpdate {
        dispute: Dispute::new(dispute),
        event: event.map(|event| DisputeEvent::new(event, &dispute_ref)),
    }))
}

/// Real-time updates over WebSocket (`graphql-transport-ws` on `/graphql`) or Server-Sent
/// Events. A stream that may have missed changes ends with an error whose
/// `extensions.code` is `RESET`: refetch, then subscribe again.
#[Subscription]
impl Subscription {
    /// Each time a dispute the caller may see is reported or changes (not for PUBLIC).
    async fn dispute_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which disputes; omitted, all the caller may see.")] filter: Option<
            DisputeFilterInput,
        >,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<DisputeUpdate>>> {
        let rc = context(ctx)?;
        policy::permit(&rc.viewer, Action::ListDisputes).gql()?;
        let filter: DisputeFilter = filter.unwrap_or_default().into();
        filter.check(&rc.viewer).gql()?;
        let mut changes = rc.changes().gql()?.subscribe();
        Ok(async_stream::stream! {
            loop {
                match changes.recv().await {
                    Ok(Change::Dispute { row, seq }) => {
                        match update(&rc, &filter, row, seq).await {
                            Ok(Some(update)) => yield Ok(update),
                            Ok(None) => {}
                            Err(err) => {
                                yield Err(err).gql();
                                break;
                            }
                        }
                    }
                    Ok(Change::Reset) | Err(RecvError::Lagged(_)) => {
                        yield Err(reset());
                        break;
                    }
                    Err(RecvError::Closed) => break,
                }
            }
        })
    }

    /// The caller's statistics over the filter: now, then whenever they change, at most
    /// once a second (PUBLIC's are k-anonymous, as in `disputeStats`).
    async fn dispute_stats_updated(
        &self,
        ctx: &Context<'_>,
        #[graphql(desc = "Which disputes; omitted, all the caller may see.")] filter: Option<
            DisputeFilterInput,
        >,
    ) -> async_graphql::Result<impl Stream<Item = async_graphql::Result<DisputeStats>>> {
        let rc = context(ctx)?;
        let filter: DisputeFilter = filter.unwrap_or_default().into();
        filter.check(&rc.viewer).gql()?;
        let mut changes = rc.changes().gql()?.subscribe();
        Ok(async_stream::stream! {
            let mut last: Option<Vec<(String, i64)>> = None;
            loop {
                let now = match rc.published_stats_now(&filter, StatsDimension::Status).await {
                    Ok(now) => now,
                    Err(err) => {
                        yield Err(err).gql();
                        break;
                    }
                };
                if last.as_ref() != Some(&now) {
                    last = Some(now);
                    yield Ok(DisputeStats::now(filter.clone()));
                }
                let pushed = tokio::time::Instant::now();
                match changes.recv().await {
                    Ok(Change::Dispute { .. }) => {}
                    Ok(Change::Reset) | Err(RecvError::Lagged(_)) => {
                        yield Err(reset());
                        break;
                    }
                    Err(RecvError::Closed) => break,
                }
                tokio::time::sleep_until(pushed + STATS_INTERVAL).await;
                // Whatever arrived meanwhile is covered by the next count.
                while let Ok(change) = changes.try_recv() {
                    if change == Change::Reset {
                        yield Err(reset());
                        return;
                    }
                }
            }
        })
    }
}
