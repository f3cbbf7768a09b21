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

pub use statement::{for_each_row, StatementFormat, StatementSource};

use std::collections::HashMap;
use std::io::Read;

use entreposto_domain::{
    expected_lines, judge, unexpected_observation, Cents, ChannelTerms, ExtractType, FieldError,
    FinanceEvent, LineFacts, LineKey, Rate, Released, Scope, SettlementOrder, SettlementStatus,
    Situation, StatementRow, Timestamp, Tolerance,
};
use entreposto_store::{
    Begun, Conciliation, ConciliationStep, ExtractLine, LineFilter, LineView, LineWrite, Marked,
    MonthSummary, OrderSettlement, OrderView, StoreError,
};
use sha2::{Digest, Sha256};

use crate::{backoff, App, AppError, Result, ATTEMPTS};

/// Rows per conciliation step.
pub const STEP_ROWS: usize = 5_000;

/// Refused rows a load reports (it counts them all).
const REFUSED_KEPT: usize = 100;

/// Ids a resolve or read batch takes at most.
const MAX_BATCH_IDS: usize = 100;

/// Rows the reading thread hands the load at a time.
const CHUNK_ROWS: usize = 1_000;

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
        Ok(self
            .store
            .get_channel_terms(scope, channel)
            .await?
            .unwrap_or_else(|| ChannelTerms::preset(channel)))
    }

    /// Validates and stores the terms; re-judges nothing already released (a change
    /// of terms applies to lines decided after it).
    pub async fn set_channel_terms(
        &self,
        scope: &Scope,
        terms: ChannelTerms,
    ) -> Result<ChannelTerms> {
        seller_of(scope)?;
        let mut terms = terms;
        terms.channel = terms.channel.trim().to_string();
        terms.validate()?;
        self.store
            .put_channel_terms(scope, &terms, self.now())
            .await?;
        Ok(terms)
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
        let seller = seller_of(scope)?;
        if order.operator_id != scope.operator_id || order.seller_id != seller {
            return Err(AppError::Invalid(FieldError::new(
                "seller",
                "the order belongs to another seller than the caller's",
            )));
        }
        order.validate()?;
        let terms = self.channel_terms(scope, &order.channel).await?;
        // Two pushes of one new order (two changes of a lifecycle order, an integrator
        // retrying) may both write its first lines: the loser's keys are taken, and it
        // merges again into what the winner wrote. A line that moved since it was read
        // (a statement step released on it, an ERP marked it) is `Stale`: the push
        // merges again into the line as it is now, so the release or mark stays.
        for attempt in 1..=ATTEMPTS {
            let now = self.now();
            let found = self
                .store
                .get_settlement(scope, &order.channel, &order.order_code)
                .await?;
            let same_order = found.as_ref().is_some_and(|(o, _)| *o == order);
            let stored = match found {
                Some((_, lines)) => lines,
                // A first push: a statement may have released on the code already, and
                // those lines are this order's now.
                None => self
                    .store
                    .order_lines(scope, &order.channel, &order.order_code, None)
                    .await?
                    .into_iter()
                    .map(|v| v.line)
                    .collect(),
            };
            let lines = settle(&order, &terms, stored.clone(), now);
            // The order as stored and every line as it was (a lifecycle order's
            // tracking code or ERP mark, an integrator pushing the same body again):
            // nothing to write.
            if same_order && unchanged(&lines, &stored) {
                return Ok(stored);
            }
            let new = lines.iter().any(|l| matches!(l, LineWrite::New(_)));
            let before: HashMap<i64, Situation> =
                stored.iter().map(|l| (l.id, l.situation)).collect();
            let s = OrderSettlement {
                events: verdict_events(&lines, |l| before.get(&l.id).copied()),
                order: order.clone(),
                lines,
            };
            match self.store.save_settlement(scope, &s, now).await {
                Err(StoreError::Conflict(_)) if new && attempt < ATTEMPTS => continue,
                Err(StoreError::Stale) if attempt < ATTEMPTS => backoff(attempt).await,
                saved => return Ok(saved?),
            }
        }
        Err(StoreError::Stale.into())
    }

    /// Koncili `DELETE /externalapi/order/{orderCode}/{channelName}`: the order goes;
    /// its released lines stay, judged as released with nothing expected.
    pub async fn delete_settlement(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
    ) -> Result<()> {
        seller_of(scope)?;
        let tolerance = self.channel_terms(scope, channel).await?.tolerance;
        // A released line that moved since it was read (a step, a mark) is `Stale`:
        // the delete reads the lines again, so what moved them stays.
        for attempt in 1..=ATTEMPTS {
            let Some((_, lines)) = self
                .store
                .get_settlement(scope, channel, order_code)
                .await?
            else {
                return Err(AppError::NotFound);
            };
            let now = self.now();
            let before: HashMap<i64, Situation> =
                lines.iter().map(|l| (l.id, l.situation)).collect();
            let kept: Vec<LineWrite> = lines
                .into_iter()
                .filter(|l| l.released_parts > 0)
                .map(|mut l| {
                    // Released money stays on record; what was expected goes with the
                    // order (its first expected value stays, as everywhere).
                    l.plots_quantity = None;
                    l.plot_value = None;
                    l.total_value = None;
                    l.expected_value = None;
                    l.expected_percent = None;
                    l.expected_date = None;
                    l.updated_at = now;
                    judge_line(&mut l, false, false, &tolerance);
                    LineWrite::Update(l)
                })
                .collect();
            let events = verdict_events(&kept, |l| before.get(&l.id).copied());
            match self
                .store
                .delete_settlement(scope, channel, order_code, &kept, &events, now)
                .await
            {
                Err(StoreError::Stale) if attempt < ATTEMPTS => backoff(attempt).await,
                done => return Ok(done?),
            }
        }
        Err(StoreError::Stale.into())
    }

    /// Follows an order of the lifecycle (called by the order use cases after each
    /// saved change): from INVOICED on, its settlement order is pushed; before, nothing.
    pub async fn follow_order_settlement(&self, scope: &Scope, order_id: i64) -> Result<()> {
        let view = self.store.get_order_view(scope, order_id).await?;
        self.follow_view(&view).await
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
        self.load_statement_in_steps(scope, channel, source, progress, STEP_ROWS)
            .await
    }

    /// At most 100 ids.
    pub async fn resolve_lines(&self, scope: &Scope, ids: &[i64]) -> Result<Marked> {
        check_ids(ids)?;
        Ok(self.store.resolve_lines(scope, ids, self.now()).await?)
    }

    /// At most 100 ids.
    pub async fn mark_lines_read(&self, scope: &Scope, ids: &[i64]) -> Result<Marked> {
        check_ids(ids)?;
        Ok(self.store.mark_lines_read(scope, ids, self.now()).await?)
    }
}

/// Reconciliation's reads (on [`crate::Reads`]).
impl crate::Reads {
    pub async fn finance_channels(&self, scope: &Scope) -> Result<Vec<String>> {
        Ok(self.0.list_channels(scope).await?)
    }
    pub async fn extract_line(&self, scope: &Scope, id: i64) -> Result<LineView> {
        Ok(self.0.get_line(scope, id).await?)
    }
    pub async fn order_extract(
        &self,
        scope: &Scope,
        channel: &str,
        order_code: &str,
        kind: Option<ExtractType>,
    ) -> Result<Vec<LineView>> {
        Ok(self.0.order_lines(scope, channel, order_code, kind).await?)
    }
    /// (count, page): limit at most 100.
    pub async fn extract_listing(
        &self,
        scope: &Scope,
        filter: &LineFilter,
    ) -> Result<(u64, Vec<LineView>)> {
        if !(1..=100).contains(&filter.limit) {
            return Err(AppError::Invalid(FieldError::new(
                "limit",
                format!("must be between 1 and 100 (got {})", filter.limit),
            )));
        }
        if let (Some(from), Some(to)) = (filter.from, filter.to) {
            if from > to {
                return Err(AppError::Invalid(FieldError::new(
                    "endDate",
                    "is before initDate",
                )));
            }
        }
        let count = self.0.count_lines(scope, filter).await?;
        let page = self.0.list_lines(scope, filter).await?;
        Ok((count, page))
    }
    pub async fn conciliations(
        &self,
        scope: &Scope,
        channel: Option<&str>,
    ) -> Result<Vec<Conciliation>> {
        Ok(self.0.list_conciliations(scope, channel).await?)
    }
    pub async fn conciliation(&self, scope: &Scope, id: i64) -> Result<Conciliation> {
        Ok(self.0.get_conciliation(scope, id).await?)
    }
    pub async fn month_summaries(
        &self,
        scope: &Scope,
        channel: Option<&str>,
        from: &str,
        to: &str,
    ) -> Result<Vec<MonthSummary>> {
        check_month("from", from)?;
        check_month("to", to)?;
        if from > to {
            return Err(AppError::Invalid(FieldError::new("to", "is before from")));
        }
        Ok(self.0.month_summaries(scope, channel, from, to).await?)
    }
}

impl App {
    /// [`App::follow_order_settlement`] on a view already read (the order use cases
    /// hold the one they saved).
    pub(crate) async fn follow_view(&self, view: &OrderView) -> Result<()> {
        let Some(order) = SettlementOrder::from_lifecycle(&view.order, &view.progress) else {
            return Ok(());
        };
        let scope = Scope::seller(&order.operator_id, &order.seller_id);
        self.push_settlement(&scope, order).await.map(|_| ())
    }

    /// [`App::load_statement`] in steps of `step_rows` valid rows (tests take small
    /// steps to reach the step boundaries with few rows).
    pub(crate) async fn load_statement_in_steps(
        &self,
        scope: &Scope,
        channel: &str,
        source: &dyn StatementSource,
        progress: &(dyn Fn(u64, u64) + Send + Sync),
        step_rows: usize,
    ) -> Result<LoadSummary> {
        let seller = seller_of(scope)?.to_string();
        let channel = channel.trim();
        if channel.is_empty() {
            return Err(AppError::Invalid(FieldError::new("channel", "is required")));
        }
        let format = source.format();

        // Pass 1: every row validated, nothing kept but the refused ones (up to
        // REFUSED_KEPT), the digest and the period.
        let input = open(source)?;
        let survey = tokio::task::spawn_blocking(move || survey(format, input))
            .await
            .map_err(|e| AppError::Internal(format!("statement survey: {e}")))??;
        let now = self.now();
        let record = Conciliation {
            id: 0,
            seller_id: seller.clone(),
            channel: channel.to_string(),
            digest: survey.digest.clone(),
            init_date: survey.init,
            end_date: survey.end,
            close_date: None,
            rows: survey.rows,
            refused: survey.refused,
            cursor: 0,
            concilied: 0,
            divergent: 0,
            partial: 0,
            created_at: now,
        };
        let mut conc = match self.store.begin_conciliation(scope, &record).await? {
            Begun::Existing(c) if c.close_date.is_some() => {
                return Ok(LoadSummary {
                    conciliation: c,
                    unchanged: true,
                    refused: survey.kept,
                })
            }
            // Recorded now, or an earlier load of this statement stopped half way:
            // go on from its cursor.
            Begun::Existing(c) | Begun::New(c) => c,
            Begun::Overlaps(other) => {
                return Err(AppError::Conflict(format!(
                    "the statement's period ({} to {}) overlaps conciliation {} of channel {} \
                     ({} to {}); periods of a channel do not overlap",
                    survey.init.to_rfc3339_utc(),
                    survey.end.to_rfc3339_utc(),
                    other.id,
                    other.channel,
                    other.init_date.to_rfc3339_utc(),
                    other.end_date.to_rfc3339_utc(),
                )))
            }
        };
        let tolerance = self.channel_terms(scope, channel).await?.tolerance;
        progress(conc.cursor, conc.rows);

        // Pass 2: a blocking thread reads and validates again, handing the valid rows
        // over in chunks through a channel of two, so at most a step and three chunks
        // of rows are held at any time.
        let input = open(source)?;
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<(u64, StatementRow)>>(2);
        let reader = tokio::task::spawn_blocking(move || valid_rows(format, input, tx));
        let mut load = Load {
            app: self,
            scope,
            channel,
            seller: &seller,
            tolerance,
            cursor: conc.cursor,
            pending: Vec::with_capacity(step_rows.min(STEP_ROWS)),
        };
        let applied: Result<Option<Conciliation>> = async {
            while let Some(chunk) = rx.recv().await {
                for (index, row) in chunk {
                    // Rows before the cursor were applied by an earlier (or a
                    // concurrent) load of this statement.
                    if index < load.cursor {
                        continue;
                    }
                    load.pending.push((index, row));
                    if load.pending.len() >= step_rows {
                        if let Some(closed) = load.apply(&mut conc).await? {
                            return Ok(Some(closed));
                        }
                        progress(load.cursor, conc.rows);
                    }
                }
            }
            if let Some(closed) = load.apply(&mut conc).await? {
                return Ok(Some(closed));
            }
            Ok(None)
        }
        .await;
        // Stops the reader if the load ended early.
        drop(rx);
        let read = reader
            .await
            .map_err(|e| AppError::Internal(format!("statement reader: {e}")))?;
        if let Some(closed) = applied? {
            // Another load of the same statement finished it meanwhile.
            return Ok(LoadSummary {
                conciliation: closed,
                unchanged: false,
                refused: survey.kept,
            });
        }
        let valid = read?;
        if valid != survey.rows {
            return Err(AppError::Conflict(format!(
                "the statement changed between its two reads ({} valid rows, then {valid})",
                survey.rows
            )));
        }
        let closed = self
            .store
            .close_conciliation(scope, conc.id, self.now(), &[FinanceEvent::StatementLoaded])
            .await?;
        progress(closed.rows, closed.rows);
        Ok(LoadSummary {
            conciliation: closed,
            unchanged: false,
            refused: survey.kept,
        })
    }
}

/// A statement load's second pass: the rows read but not yet applied, contiguous
/// from the cursor.
struct Load<'a> {
    app: &'a App,
    scope: &'a Scope,
    channel: &'a str,
    seller: &'a str,
    tolerance: Tolerance,
    cursor: u64,
    /// (index among the valid rows, row).
    pending: Vec<(u64, StatementRow)>,
}

impl Load<'_> {
    /// Applies the pending rows as one step from the cursor. A step refused `Stale`
    /// (another load of the statement moved the cursor, or one of its lines moved
    /// since it was read: a push of its order, an ERP mark) reads the conciliation
    /// again, drops the rows it already has and decides the rest anew. `Some` when the
    /// conciliation was closed meanwhile.
    async fn apply(&mut self, conc: &mut Conciliation) -> Result<Option<Conciliation>> {
        let mut attempt = 0;
        while !self.pending.is_empty() {
            attempt += 1;
            let now = self.app.now();
            let lines = self.decide(conc.id, now).await?;
            let step = ConciliationStep {
                // Every line of a step received a release: each has a verdict.
                events: verdict_events(&lines, |_| None),
                conciliation_id: conc.id,
                from_row: self.cursor,
                to_row: self.cursor + self.pending.len() as u64,
                lines,
                now,
            };
            match self
                .app
                .store
                .apply_conciliation_step(self.scope, &step)
                .await
            {
                Ok(()) => {
                    self.cursor = step.to_row;
                    self.pending.clear();
                }
                Err(StoreError::Stale) => {
                    let fresh = self.app.store.get_conciliation(self.scope, conc.id).await?;
                    if fresh.close_date.is_some() {
                        return Ok(Some(fresh));
                    }
                    if fresh.cursor < self.cursor {
                        return Err(AppError::Internal(format!(
                            "conciliation {}: its cursor moved back from {} to {}",
                            conc.id, self.cursor, fresh.cursor
                        )));
                    }
                    if attempt >= ATTEMPTS {
                        return Err(AppError::Conflict(format!(
                            "conciliation {} kept moving under this load; retry",
                            conc.id
                        )));
                    }
                    self.cursor = fresh.cursor;
                    *conc = fresh;
                    let cursor = self.cursor;
                    self.pending.retain(|(i, _)| *i >= cursor);
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(None)
    }

    /// The lines the pending rows write: their releases summed per key onto the
    /// stored line (or a new one for a key nothing is expected for), each judged.
    async fn decide(&self, conciliation_id: i64, now: Timestamp) -> Result<Vec<LineWrite>> {
        let mut keys: Vec<LineKey> = Vec::new();
        let mut batches: HashMap<LineKey, Batch> = HashMap::new();
        for (_, row) in &self.pending {
            let key = row.key();
            match batches.get_mut(&key) {
                Some(b) => b.add(row),
                None => {
                    let mut b = Batch::default();
                    b.add(row);
                    keys.push(key.clone());
                    batches.insert(key, b);
                }
            }
        }
        let store = &self.app.store;
        let mut stored: HashMap<LineKey, ExtractLine> = store
            .lines_for_keys(self.scope, self.channel, &keys)
            .await?
            .into_iter()
            .map(|l| (l.key.clone(), l))
            .collect();
        // The order is read only where the line alone cannot tell the verdict: a key
        // with no line or nothing expected (is the order known?), and a line expecting
        // zero (is the order cancelled?). A line expecting more than zero belongs to
        // an order that is not cancelled, since a cancelled order's lines are all
        // written at zero.
        let mut codes: Vec<String> = keys
            .iter()
            .filter(|k| {
                stored
                    .get(*k)
                    .is_none_or(|l| matches!(l.expected_value, None | Some(Cents(0))))
            })
            .map(|k| k.order_code.clone())
            .collect();
        codes.sort_unstable();
        codes.dedup();
        let cancelled: HashMap<String, bool> = if codes.is_empty() {
            HashMap::new()
        } else {
            store
                .settlements_for_codes(self.scope, self.channel, &codes)
                .await?
                .into_iter()
                .map(|o| (o.order_code, o.status == SettlementStatus::Canceled))
                .collect()
        };
        let mut writes = Vec::with_capacity(keys.len());
        for key in keys {
            let batch = batches.remove(&key).unwrap_or_default();
            let (mut line, new) = match stored.remove(&key) {
                Some(line) => (line, false),
                None => (blank_line(self.seller, self.channel, key, now), true),
            };
            batch.release_onto(&mut line);
            line.conciliation_id = Some(conciliation_id);
            line.updated_at = now;
            let order = cancelled.get(&line.key.order_code).copied();
            let known = order.is_some() || line.expected_value.is_some();
            judge_line(&mut line, order.unwrap_or(false), known, &self.tolerance);
            writes.push(if new {
                LineWrite::New(line)
            } else {
                LineWrite::Update(line)
            });
        }
        Ok(writes)
    }
}

/// The releases of one key within a step.
#[derive(Debug, Default)]
struct Batch {
    value: Cents,
    parts: u32,
    /// The latest release's percentage among those that carry one, and its date.
    percent: Option<(Timestamp, Rate)>,
    last_at: Option<Timestamp>,
    extra: Vec<(String, String)>,
}

impl Batch {
    fn add(&mut self, row: &StatementRow) {
        self.value = self.value + row.value;
        self.parts += 1;
        if let Some(p) = row.percent {
            if self.percent.is_none_or(|(at, _)| row.released_at >= at) {
                self.percent = Some((row.released_at, p));
            }
        }
        self.last_at = self.last_at.max(Some(row.released_at));
        self.extra.extend(row.extra.iter().cloned());
    }

    /// Adds these releases to what the line had received.
    fn release_onto(self, line: &mut ExtractLine) {
        line.released_value = Some(line.released_value.unwrap_or_default() + self.value);
        line.released_parts += self.parts;
        if let Some((at, p)) = self.percent {
            if line.released_date.is_none_or(|d| at >= d) || line.released_percent.is_none() {
                line.released_percent = Some(p);
            }
        }
        line.released_date = line.released_date.max(self.last_at);
        line.extra = merge_extra(line.extra.as_deref(), &self.extra);
    }
}

/// The statement's extra columns on a line: a JSON object of the columns its
/// releases carried, a later release's value replacing an earlier one's.
fn merge_extra(stored: Option<&str>, new: &[(String, String)]) -> Option<String> {
    if new.is_empty() {
        return stored.map(str::to_string);
    }
    let mut map: serde_json::Map<String, serde_json::Value> = stored
        .and_then(|s| serde_json::from_str(s).ok())
        .unwrap_or_default();
    for (name, text) in new {
        map.insert(name.clone(), serde_json::Value::String(text.clone()));
    }
    Some(serde_json::Value::Object(map).to_string())
}

/// A line with nothing expected and nothing released yet.
fn blank_line(seller: &str, channel: &str, key: LineKey, now: Timestamp) -> ExtractLine {
    ExtractLine {
        id: 0,
        seller_id: seller.to_string(),
        channel: channel.to_string(),
        key,
        plots_quantity: None,
        plot_value: None,
        total_value: None,
        expected_value: None,
        expected_percent: None,
        expected_date: None,
        original_value: None,
        released_value: None,
        released_parts: 0,
        released_percent: None,
        released_date: None,
        situation: entreposto_domain::Situation::Waiting,
        partial: false,
        observation: None,
        conciliation_id: None,
        resolved_in_erp: false,
        read: false,
        extra: None,
        updated_at: now,
        version: 0,
    }
}

/// The event of each line that has releases and whose verdict, conciliated or
/// divergent, is not the one it had `before` (`None`: a new verdict), by index.
fn verdict_events(
    lines: &[LineWrite],
    before: impl Fn(&ExtractLine) -> Option<Situation>,
) -> Vec<(usize, FinanceEvent)> {
    lines
        .iter()
        .enumerate()
        .filter_map(|(i, w)| {
            let (LineWrite::New(l) | LineWrite::Update(l)) = w;
            let event = match l.situation {
                _ if l.released_parts == 0 => return None,
                Situation::Concilied => FinanceEvent::LineConciliated,
                Situation::Divergent => FinanceEvent::LineDivergent,
                Situation::Waiting => return None,
            };
            (before(l) != Some(l.situation)).then_some((i, event))
        })
        .collect()
}

/// Decides `line`'s verdict from what it expects and has received.
fn judge_line(line: &mut ExtractLine, cancelled: bool, order_known: bool, tolerance: &Tolerance) {
    let released = Released {
        value: line.released_value.unwrap_or_default(),
        parts: line.released_parts,
        percent: line.released_percent,
        last_at: line.released_date,
    };
    let facts = LineFacts {
        kind: line.key.kind,
        expected: line.expected_value,
        expected_percent: line.expected_percent,
        cancelled,
        released,
    };
    let mut verdict = judge(&facts, tolerance);
    if line.expected_value.is_none() && line.released_parts > 0 {
        verdict.observation = Some(unexpected_observation(
            &line.key,
            order_known,
            released.value,
        ));
    }
    line.situation = verdict.situation;
    line.partial = verdict.partial;
    line.observation = verdict.observation;
}

/// The order's lines under `terms`, merged into the stored ones by key: a line keeps
/// its id, its releases and its first expected value; one no longer expected expects
/// zero (a line a statement created, expecting nothing, stays so); every line is
/// judged again.
fn settle(
    order: &SettlementOrder,
    terms: &ChannelTerms,
    stored: Vec<ExtractLine>,
    now: Timestamp,
) -> Vec<LineWrite> {
    let cancelled = order.status == SettlementStatus::Canceled;
    let mut stored: HashMap<LineKey, ExtractLine> =
        stored.into_iter().map(|l| (l.key.clone(), l)).collect();
    let mut out = Vec::new();
    for e in expected_lines(order, terms) {
        let key = LineKey {
            order_code: order.order_code.clone(),
            kind: e.kind,
            plot_number: e.plot_number,
        };
        let (mut line, new) = match stored.remove(&key) {
            Some(line) => (line, false),
            None => (blank_line(&order.seller_id, &order.channel, key, now), true),
        };
        line.plots_quantity = Some(e.plots_quantity);
        line.plot_value = Some(e.plot_value);
        line.total_value = Some(order.total);
        line.expected_value = Some(e.value);
        line.expected_percent = e.percent;
        line.expected_date = Some(e.due);
        line.original_value = line.original_value.or(Some(e.value));
        line.updated_at = now;
        judge_line(&mut line, cancelled, true, &terms.tolerance);
        out.push(if new {
            LineWrite::New(line)
        } else {
            LineWrite::Update(line)
        });
    }
    let mut gone: Vec<ExtractLine> = stored.into_values().collect();
    gone.sort_by(|a, b| a.key.cmp(&b.key));
    for mut line in gone {
        if line.expected_value.is_some() {
            line.expected_value = Some(Cents::ZERO);
        }
        line.total_value = Some(order.total);
        line.updated_at = now;
        judge_line(&mut line, cancelled, true, &terms.tolerance);
        out.push(LineWrite::Update(line));
    }
    out
}

/// Whether `lines` rewrite `stored` line for line with nothing but the write time.
fn unchanged(lines: &[LineWrite], stored: &[ExtractLine]) -> bool {
    lines.len() == stored.len()
        && lines.iter().zip(stored).all(|(w, s)| match w {
            LineWrite::Update(l) => {
                ExtractLine {
                    updated_at: s.updated_at,
                    version: s.version,
                    ..l.clone()
                } == *s
            }
            LineWrite::New(_) => false,
        })
}

/// What pass 1 learns of a statement: its valid and refused rows (the first
/// refused ones kept), its digest and its period.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Survey {
    pub rows: u64,
    pub refused: u64,
    pub kept: Vec<RefusedRow>,
    pub digest: String,
    pub init: Timestamp,
    pub end: Timestamp,
}

/// Checks a statement without loading it (`entreposto recon load --dry-run`): pass 1
/// alone, every row parsed and validated, nothing written. Blocking: it reads the
/// whole source.
pub fn check_statement(source: &dyn StatementSource) -> Result<Survey> {
    survey(source.format(), open(source)?)
}

fn open(source: &dyn StatementSource) -> Result<Box<dyn Read + Send>> {
    source.open().map_err(|e| {
        AppError::Invalid(FieldError::new("statement", format!("cannot be read: {e}")))
    })
}

/// Pass 1: validates every row, keeping the first refused ones, the SHA-256 of the
/// valid rows in canonical form and their period.
fn survey(format: StatementFormat, input: Box<dyn Read + Send>) -> Result<Survey> {
    let mut hasher = Sha256::new();
    let mut rows = 0u64;
    let mut refused = 0u64;
    let mut kept = Vec::new();
    let mut period: Option<(Timestamp, Timestamp)> = None;
    for_each_row(format, input, |n, fields| {
        match StatementRow::parse(n, fields) {
            Ok(row) => {
                canonical(&mut hasher, &row);
                rows += 1;
                let at = row.released_at;
                period = Some(period.map_or((at, at), |(a, b)| (a.min(at), b.max(at))));
            }
            Err(error) => {
                refused += 1;
                if kept.len() < REFUSED_KEPT {
                    kept.push(RefusedRow { row: n, error });
                }
            }
        }
        Ok(())
    })?;
    let Some((init, end)) = period else {
        let why = match kept.first() {
            Some(r) => format!(
                "has no valid row ({refused} refused; row {}: {})",
                r.row, r.error
            ),
            None => "has no rows".to_string(),
        };
        return Err(AppError::Invalid(FieldError::new("statement", why)));
    };
    hasher.update(init.0.to_be_bytes());
    hasher.update(end.0.to_be_bytes());
    let digest = hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    Ok(Survey {
        rows,
        refused,
        kept,
        digest,
        init,
        end,
    })
}

/// A row's canonical form for the digest: every field, length-prefixed, so two
/// statements hash alike exactly when their valid rows say the same thing in the
/// same order (however the file spelled the numbers and dates).
fn canonical(h: &mut Sha256, row: &StatementRow) {
    fn text(h: &mut Sha256, s: &str) {
        h.update((s.len() as u64).to_be_bytes());
        h.update(s.as_bytes());
    }
    text(h, &row.order_code);
    text(h, row.kind.as_str());
    h.update(row.plot_number.to_be_bytes());
    h.update(row.value.0.to_be_bytes());
    match row.percent {
        Some(p) => {
            h.update([1]);
            h.update(p.0.to_be_bytes());
        }
        None => h.update([0]),
    }
    h.update(row.released_at.0.to_be_bytes());
    h.update((row.extra.len() as u64).to_be_bytes());
    for (name, value) in &row.extra {
        text(h, name);
        text(h, value);
    }
}

/// Pass 2's reader: the valid rows with their index among the valid rows, in chunks.
/// Returns how many valid rows it read (the load checks the count against pass 1).
fn valid_rows(
    format: StatementFormat,
    input: Box<dyn Read + Send>,
    tx: tokio::sync::mpsc::Sender<Vec<(u64, StatementRow)>>,
) -> Result<u64> {
    let mut valid = 0u64;
    let mut chunk = Vec::with_capacity(CHUNK_ROWS);
    let stopped = || FieldError::new("statement", "the load stopped");
    for_each_row(format, input, |n, fields| {
        if let Ok(row) = StatementRow::parse(n, fields) {
            chunk.push((valid, row));
            valid += 1;
            if chunk.len() >= CHUNK_ROWS {
                let full = std::mem::replace(&mut chunk, Vec::with_capacity(CHUNK_ROWS));
                tx.blocking_send(full).map_err(|_| stopped())?;
            }
        }
        Ok(())
    })?;
    if !chunk.is_empty() {
        tx.blocking_send(chunk).map_err(|_| stopped())?;
    }
    Ok(valid)
}

/// The seller a reconciliation call is about: every line, order and conciliation is
/// one seller's.
fn seller_of(scope: &Scope) -> Result<&str> {
    scope.seller_id.as_deref().ok_or_else(|| {
        AppError::Invalid(FieldError::new(
            "seller",
            "reconciliation is per seller: name the seller",
        ))
    })
}

fn check_ids(ids: &[i64]) -> Result<()> {
    if ids.is_empty() {
        return Err(AppError::Invalid(FieldError::new(
            "ids",
            "must list at least one line id",
        )));
    }
    if ids.len() > MAX_BATCH_IDS {
        return Err(AppError::Invalid(FieldError::new(
            "ids",
            format!(
                "at most {MAX_BATCH_IDS} line ids per call (got {})",
                ids.len()
            ),
        )));
    }
    Ok(())
}

/// `yyyy-MM`.
fn check_month(field: &str, month: &str) -> Result<()> {
    let b = month.as_bytes();
    let ok = b.len() == 7
        && b[4] == b'-'
        && b[..4].iter().chain(&b[5..]).all(u8::is_ascii_digit)
        && matches!(month[5..].parse::<u32>(), Ok(1..=12));
    if ok {
        Ok(())
    } else {
        Err(AppError::Invalid(FieldError::new(
            field,
            format!("'{month}' is not a month (yyyy-MM)"),
        )))
    }
}
