//! Reconciliation's storage contract: channel terms, settlement orders with their
//! extract lines, conciliations (one per loaded statement) and the line listings the
//! ERP pages through.
//!
//! The backends persist what they are handed and decide nothing: the application layer
//! computes every line's expected values, released sums and verdict, and hands the
//! store whole lines to write. Writes are atomic per call. A conciliation is loaded in
//! steps: [`FinanceStore::begin_conciliation`] records it (refusing a period that
//! overlaps another of the channel's, and finding the same statement loaded before by
//! its digest), each [`ConciliationStep`] writes a batch of lines guarded by the
//! conciliation's cursor (a step whose `from_row` is not the stored cursor is `Stale`,
//! so a resumed or repeated load never applies a row twice), and
//! [`FinanceStore::close_conciliation`] marks it complete with its counts. Lines carry
//! a version that every write of a line moves (pushes, steps, ERP marks): a line
//! rewritten on what was read before another write moved it is `Stale`, so a push and
//! a step racing on one line cannot overwrite each other. Every table
//! carries the operator and seller; every query is scoped by them.

use async_trait::async_trait;
use entreposto_domain::Cents;
use entreposto_domain::{
    ChannelTerms, ExtractType, FinanceEvent, LineKey, Rate, Scope, SettlementOrder, Situation,
    Timestamp,
};

use crate::Result;

/// A stored extract line: the document's line, every field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtractLine {
    /// 0 in a [`LineWrite::New`] (the store assigns it).
    pub id: i64,
    pub seller_id: String,
    pub channel: String,
    pub key: LineKey,
    /// `None` for a released line nothing was expected for.
    pub plots_quantity: Option<u32>,
    pub plot_value: Option<Cents>,
    pub total_value: Option<Cents>,
    pub expected_value: Option<Cents>,
    pub expected_percent: Option<Rate>,
    pub expected_date: Option<Timestamp>,
    /// The first expected value, kept when a later change of the order moves it.
    pub original_value: Option<Cents>,
    /// Sum of every release on the line; `None` until the first.
    pub released_value: Option<Cents>,
    pub released_parts: u32,
    pub released_percent: Option<Rate>,
    /// The latest release's date.
    pub released_date: Option<Timestamp>,
    pub situation: Situation,
    pub partial: bool,
    pub observation: Option<String>,
    /// The conciliation that last released on the line.
    pub conciliation_id: Option<i64>,
    pub resolved_in_erp: bool,
    pub read: bool,
    /// Extra statement columns of the releases, as given (a JSON object's text), or
    /// `None`.
    pub extra: Option<String>,
    pub updated_at: Timestamp,
    /// The stored line's version (0 in a [`LineWrite::New`]): every write of the line
    /// moves it by one, marks included. A [`LineWrite::Update`] carries the version it
    /// was read at and is `Stale` if the line moved since.
    pub version: i64,
}

/// A line with the order (when the channel's order is known) and conciliation it
/// renders with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineView {
    pub line: ExtractLine,
    pub order: Option<SettlementOrder>,
    pub conciliation: Option<Conciliation>,
}

/// One loaded statement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conciliation {
    pub id: i64,
    pub seller_id: String,
    pub channel: String,
    /// SHA-256 of the statement's rows in canonical form (hex).
    pub digest: String,
    /// The period: the earliest and latest release dates, and when it was closed
    /// (`None` while loading).
    pub init_date: Timestamp,
    pub end_date: Timestamp,
    pub close_date: Option<Timestamp>,
    /// Valid rows, and how many rows the load refused.
    pub rows: u64,
    pub refused: u64,
    /// Rows applied so far (the step cursor): `rows` once closed.
    pub cursor: u64,
    /// Lines per situation once closed (WAITING is always 0), and partial ones.
    pub concilied: u64,
    pub divergent: u64,
    pub partial: u64,
    pub created_at: Timestamp,
}

/// What [`FinanceStore::begin_conciliation`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Begun {
    /// Recorded now, cursor 0.
    New(Conciliation),
    /// The same statement (same digest, seller and channel) was recorded before:
    /// closed (nothing to do) or still loading (resume from its cursor).
    Existing(Conciliation),
    /// Another of the channel's conciliations has a period that overlaps this one.
    Overlaps(Conciliation),
}

/// The settlement order to write with its lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OrderSettlement {
    pub order: SettlementOrder,
    /// Every line of the order, each `New` or `Update` of a line read before.
    pub lines: Vec<LineWrite>,
    /// The verdicts the write decided, by index in `lines` (a released line the
    /// order's change made conciliated or divergent).
    pub events: Vec<(usize, FinanceEvent)>,
}

/// A line to write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineWrite {
    New(ExtractLine),
    /// Replaces the stored line `line.id` (whole), if it is still at `line.version`;
    /// else the whole write is `Stale` (the line moved, or went, since it was read).
    Update(ExtractLine),
}

impl LineWrite {
    /// The line as the store keeps it once this write is applied at `now` under `id`
    /// (the new line's assigned one): what a backend answers for the write.
    pub fn written(&self, id: i64, now: Timestamp) -> ExtractLine {
        let (version, l) = match self {
            LineWrite::New(l) => (0, l),
            LineWrite::Update(l) => (l.version + 1, l),
        };
        ExtractLine {
            id,
            updated_at: now,
            version,
            ..l.clone()
        }
    }
}

/// Whose lines one write is: every line it is handed must be of this seller and
/// channel (and order, when one is named), or the write is refused whole. A backend
/// checks each line with [`LineOwner::check`] before writing any.
#[derive(Debug, Clone, Copy)]
pub struct LineOwner<'a> {
    pub operator: &'a str,
    pub seller: &'a str,
    pub channel: &'a str,
    pub order_code: Option<&'a str>,
}

impl LineOwner<'_> {
    /// The line `w` writes, if it is this owner's.
    pub fn check<'w>(&self, w: &'w LineWrite) -> Result<&'w ExtractLine> {
        let (LineWrite::New(l) | LineWrite::Update(l)) = w;
        if l.seller_id != self.seller
            || l.channel != self.channel
            || self.order_code.is_some_and(|code| code != l.key.order_code)
        {
            return Err(crate::StoreError::Other(format!(
                "line {} ({} {} {}) is not of the seller's {} {}",
                l.id,
                l.key.order_code,
                crate::finance_json::kind_code(l.key.kind),
                l.key.plot_number,
                self.channel,
                self.order_code.unwrap_or("")
            )));
        }
        Ok(l)
    }
}

/// One batch of a statement's rows, decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConciliationStep {
    pub conciliation_id: i64,
    /// The stored cursor this step was decided on; `Stale` if it moved.
    pub from_row: u64,
    /// The cursor after this step.
    pub to_row: u64,
    pub lines: Vec<LineWrite>,
    /// The verdict each released line got, by index in `lines`.
    pub events: Vec<(usize, FinanceEvent)>,
    pub now: Timestamp,
}

/// Which listing (see the Koncili dialect).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// Lines some conciliation released on.
    Concilieds,
    /// Those not yet resolved in the ERP.
    Unresolveds,
}

/// A listing's filter; lines in id order, paged by offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineFilter {
    pub listing: Listing,
    /// `released_date` in [from, to].
    pub from: Option<Timestamp>,
    pub to: Option<Timestamp>,
    pub conciliation_id: Option<i64>,
    pub channel: Option<String>,
    pub only_unread: bool,
    pub offset: u64,
    pub limit: u32,
}

/// What a resolve or read batch did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Marked {
    /// Ids of the scope's lines, now marked (already marked ones included).
    pub applied: Vec<i64>,
    /// Ids that are not lines of the scope (unknown, or another seller's).
    pub unknown: Vec<i64>,
}

/// One month of one channel (UTC months, by the line's expected date, or its release
/// date when nothing was expected).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MonthSummary {
    pub channel: String,
    /// `yyyy-MM`.
    pub month: String,
    /// SALE and SHIP lines expected, released.
    pub expected: Cents,
    pub released: Cents,
    /// COMISSION lines: expected, released.
    pub commission_expected: Cents,
    pub commission_released: Cents,
    pub divergent_count: u64,
    /// Sum of |released − expected| over divergent lines.
    pub divergent_amount: Cents,
}

#[async_trait]
pub trait FinanceStore: Send + Sync {
    /// The seller's stored terms for `channel` (exact name), if any.
    async fn get_channel_terms(&self, scope: &Scope, channel: &str)
        -> Result<Option<ChannelTerms>>;
    /// Stores (replaces) the seller's terms for `terms.channel`.
    async fn put_channel_terms(
        &self,
        scope: &Scope,
        terms: &ChannelTerms,
        now: Timestamp,
    ) -> Result<()>;
    /// Channel names the seller has terms, settlement orders or lines for, sorted.
    async fn list_channels(&self, scope: &Scope) -> Result<Vec<String>>;

    /// The settlement order and its lines (by type, then installment), if the channel
    /// has it. `None` when it has no such order, even if lines of that code exist (a
    /// statement released on the code before the order was pushed): those are read with
    /// [`FinanceStore::order_lines`] or [`FinanceStore::lines_for_keys`], and an order
    /// pushed later must update them rather than write new lines on their keys.
    async fn get_settlement(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
    ) -> Result<Option<(SettlementOrder, Vec<ExtractLine>)>>;
    /// Writes the order (insert or replace by seller, channel, code) and its lines,
    /// atomically.
    async fn save_settlement(
        &self,
        scope: &Scope,
        s: &OrderSettlement,
        now: Timestamp,
    ) -> Result<Vec<ExtractLine>>;
    /// Removes the order; its lines with nothing released go with it, the others are
    /// handed back rewritten by the caller (`lines`, updates, with the verdicts
    /// `events` names by index in `lines`) in the same transaction. `NotFound` if the
    /// channel has no such order.
    async fn delete_settlement(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
        lines: &[LineWrite],
        events: &[(usize, FinanceEvent)],
        now: Timestamp,
    ) -> Result<()>;

    /// The lines of these keys in the channel (for a statement step), in any order.
    async fn lines_for_keys(
        &self,
        scope: &Scope,
        channel: &str,
        keys: &[LineKey],
    ) -> Result<Vec<ExtractLine>>;
    /// The orders of these codes in the channel, for lines being created.
    async fn settlements_for_codes(
        &self,
        scope: &Scope,
        channel: &str,
        codes: &[String],
    ) -> Result<Vec<SettlementOrder>>;

    /// See the module note. `c.id` is ignored on input.
    async fn begin_conciliation(&self, scope: &Scope, c: &Conciliation) -> Result<Begun>;
    async fn apply_conciliation_step(&self, scope: &Scope, step: &ConciliationStep) -> Result<()>;
    /// Counts the conciliation's lines per situation, stores them and the close date,
    /// with `events` (`statement.loaded`); closing a closed one answers it as it was
    /// closed and writes nothing.
    async fn close_conciliation(
        &self,
        scope: &Scope,
        id: i64,
        now: Timestamp,
        events: &[FinanceEvent],
    ) -> Result<Conciliation>;
    async fn get_conciliation(&self, scope: &Scope, id: i64) -> Result<Conciliation>;
    /// Newest first.
    async fn list_conciliations(
        &self,
        scope: &Scope,
        channel: Option<&str>,
    ) -> Result<Vec<Conciliation>>;

    async fn get_line(&self, scope: &Scope, id: i64) -> Result<LineView>;
    /// An order's lines by type then installment; `kind` narrows to one type.
    async fn order_lines(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
        kind: Option<ExtractType>,
    ) -> Result<Vec<LineView>>;
    async fn list_lines(&self, scope: &Scope, filter: &LineFilter) -> Result<Vec<LineView>>;
    async fn count_lines(&self, scope: &Scope, filter: &LineFilter) -> Result<u64>;
    /// Sets `resolved_in_erp` on the scope's lines among `ids`.
    async fn resolve_lines(&self, scope: &Scope, ids: &[i64], now: Timestamp) -> Result<Marked>;
    /// Sets `read` likewise.
    async fn mark_lines_read(&self, scope: &Scope, ids: &[i64], now: Timestamp) -> Result<Marked>;
    /// Months in [from, to] (`yyyy-MM`), per channel (one channel if named).
    async fn month_summaries(
        &self,
        scope: &Scope,
        channel: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<MonthSummary>>;
}
