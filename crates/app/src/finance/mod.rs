//! Reconciliation use cases: channel terms, settlement orders (pushed through Koncili,
//! or followed from the order lifecycle from INVOICED on), statement loads matched
//! against the expected lines, and the ERP's resolve and read marks.
//!
//! Every decision is made here, once: [`expected_lines`] for an order's lines (merged
//! into the stored ones so a line keeps its id, its releases and its first expected
//! value), [`judge`] for each line's verdict after a release or a change of the order.
//! A statement is read twice from its source, streamed, never held whole: the first
//! pass validates every row (collecting refused rows, the digest and the period), the
//! second applies the valid rows in steps of [`STEP_ROWS`], each step one atomic store
//! write guarded by the conciliation's cursor.

mod statement;

pub use statement::{StatementFormat, StatementSource};

use entreposto_domain::{ChannelTerms, ExtractType, FieldError, Scope, SettlementOrder};
use entreposto_store::{Conciliation, ExtractLine, LineFilter, LineView, Marked, MonthSummary};

use crate::{App, Result};

/// Rows per conciliation step.
pub const STEP_ROWS: usize = 5_000;

/// A refused statement row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedRow {
    pub row: u64,
    pub error: FieldError,
}

/// What a statement load did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoadSummary {
    pub conciliation: Conciliation,
    /// True when the same statement had been loaded before and nothing changed.
    pub unchanged: bool,
    /// The first 100 refused rows (the count is `conciliation.refused`).
    pub refused: Vec<RefusedRow>,
}

impl App {
    /// The seller's terms for `channel`: stored, or the channel's preset.
    pub async fn channel_terms(&self, scope: &Scope, channel: &str) -> Result<ChannelTerms> {
        todo!()
    }

    /// Validates and stores the terms; re-judges nothing already released (a change
    /// of terms applies to lines decided after it).
    pub async fn set_channel_terms(
        &self,
        scope: &Scope,
        terms: ChannelTerms,
    ) -> Result<ChannelTerms> {
        todo!()
    }

    /// Upserts a settlement order (Koncili `POST`/`PUT /externalapi/order`): validates
    /// it, computes its lines under the channel's terms and merges them into the
    /// stored ones (a cancelled order's lines go to zero, each keeping its
    /// `original_value`; every line with releases is judged again). Returns the lines.
    pub async fn push_settlement(
        &self,
        scope: &Scope,
        order: SettlementOrder,
    ) -> Result<Vec<ExtractLine>> {
        todo!()
    }

    /// Koncili `DELETE /externalapi/order/{orderCode}/{channelName}`: the order goes;
    /// its released lines stay, judged as released with nothing expected.
    pub async fn delete_settlement(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
    ) -> Result<()> {
        todo!()
    }

    /// Follows an order of the lifecycle (called by the order use cases after each
    /// saved change): from INVOICED on, its settlement order is pushed; before, nothing.
    pub async fn follow_order_settlement(&self, scope: &Scope, order_id: i64) -> Result<()> {
        todo!()
    }

    /// Loads a statement for `channel` from `source` (read twice; see the module
    /// note), reporting rows applied to `progress` as it goes.
    pub async fn load_statement(
        &self,
        scope: &Scope,
        channel: &str,
        source: &dyn StatementSource,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
    ) -> Result<LoadSummary> {
        todo!()
    }

    /// At most 100 ids.
    pub async fn resolve_lines(&self, scope: &Scope, ids: &[i64]) -> Result<Marked> {
        todo!()
    }

    /// At most 100 ids.
    pub async fn mark_lines_read(&self, scope: &Scope, ids: &[i64]) -> Result<Marked> {
        todo!()
    }
}

/// Reconciliation's reads (on [`crate::Reads`]).
impl crate::Reads {
    pub async fn finance_channels(&self, scope: &Scope) -> Result<Vec<String>> {
        todo!()
    }
    pub async fn extract_line(&self, scope: &Scope, id: i64) -> Result<LineView> {
        todo!()
    }
    pub async fn order_extract(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
        kind: Option<ExtractType>,
    ) -> Result<Vec<LineView>> {
        todo!()
    }
    /// (count, page): limit at most 100.
    pub async fn extract_listing(
        &self,
        scope: &Scope,
        filter: &LineFilter,
    ) -> Result<(u64, Vec<LineView>)> {
        todo!()
    }
    pub async fn conciliations(
        &self,
        scope: &Scope,
        channel: Option<&str>,
    ) -> Result<Vec<Conciliation>> {
        todo!()
    }
    pub async fn conciliation(&self, scope: &Scope, id: i64) -> Result<Conciliation> {
        todo!()
    }
    pub async fn month_summaries(
        &self,
        scope: &Scope,
        channel: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<MonthSummary>> {
        todo!()
    }
}
