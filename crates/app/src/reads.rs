//! The reads the edge may make without a use case: lookups and listings that decide
//! nothing, scoped like every store query.
//!
//! The edge gets a [`Reads`] instead of the store itself, so a dialect can read what
//! it renders but cannot write except through a use case of this crate: the store's
//! write half (saving a change, upserting an order, issuing a credential) is not
//! reachable from a handler at all.

use std::sync::Arc;
use std::time::Instant;

use crate::page_marks::PageMarks;

use std::collections::HashMap;

use entreposto_domain::{
    group_stock, kit_stock, sellable, Brand, Category, Collection, Manufacturer, Order, Product,
    ProductKind, Scope, Seller, Subject, Ticket, TicketMessage,
};
use entreposto_store::{
    CatalogLinks, EntityFilter, ImportJob, OrderFilter, OrderView, ProductFilter, ProductKey,
    Result, RowError, Store, TicketDetail, TicketFilter,
};

/// Read-only access to the store, with the order listings' remembered page positions
/// ([`crate::page_marks`]).
#[derive(Clone)]
pub struct Reads(pub(crate) Arc<dyn Store>, Arc<PageMarks>);

impl Reads {
    pub fn new(store: Arc<dyn Store>) -> Reads {
        Reads(store, Arc::default())
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        self.0.backend()
    }

    /// The seller `id` if it belongs to `operator_id`.
    pub async fn get_seller(&self, operator_id: &str, id: &str) -> Result<Seller> {
        self.0.get_seller(operator_id, id).await
    }

    pub async fn get_order(&self, scope: &Scope, id: i64) -> Result<Order> {
        self.0.get_order(scope, id).await
    }

    /// The order `id` in `scope` with its progress (state, history, invoice, ...).
    pub async fn get_order_view(&self, scope: &Scope, id: i64) -> Result<OrderView> {
        self.0.get_order_view(scope, id).await
    }

    /// A page of orders with their progress, newest placement first; a deep page is
    /// read from a position a recent page of the same listing recorded near it.
    pub async fn list_order_views(
        &self,
        scope: &Scope,
        filter: &OrderFilter,
    ) -> Result<Vec<OrderView>> {
        let from = self.1.nearest(scope, filter, Instant::now());
        let views = self.0.list_order_views(scope, &from).await?;
        if let (Some(first), Some(last)) = (views.first(), views.last()) {
            let at = |v: &OrderView| (v.order.data.placed_at, v.order.id);
            self.1.record(
                scope,
                filter,
                at(first),
                at(last),
                views.len(),
                Instant::now(),
            );
        }
        Ok(views)
    }

    /// How many orders match `filter` (its paging fields are ignored).
    pub async fn count_order_views(&self, scope: &Scope, filter: &OrderFilter) -> Result<u64> {
        self.0.count_order_views(scope, filter).await
    }

    /// Orders of the scope with this marketplace order id (any channel), oldest first.
    pub async fn find_orders_by_marketplace_id(
        &self,
        scope: &Scope,
        marketplace_order_id: &str,
    ) -> Result<Vec<Order>> {
        self.0
            .find_orders_by_marketplace_id(scope, marketplace_order_id)
            .await
    }

    pub async fn list_subjects(&self, operator_id: &str) -> Result<Vec<Subject>> {
        self.0.list_subjects(operator_id).await
    }

    pub async fn get_ticket(&self, scope: &Scope, id: i64) -> Result<Ticket> {
        self.0.get_ticket(scope, id).await
    }

    pub async fn get_ticket_by_code(&self, scope: &Scope, code: &str) -> Result<Ticket> {
        self.0.get_ticket_by_code(scope, code).await
    }

    /// The ticket `id` in `scope` with its order and messages.
    pub async fn get_ticket_detail(&self, scope: &Scope, id: i64) -> Result<TicketDetail> {
        self.0.get_ticket_detail(scope, id).await
    }

    /// Messages of a ticket in `scope`, oldest first.
    pub async fn list_messages(&self, scope: &Scope, ticket_id: i64) -> Result<Vec<TicketMessage>> {
        self.0.list_messages(scope, ticket_id).await
    }

    /// Messages of a page of tickets, by ticket then oldest first.
    pub async fn list_messages_of(
        &self,
        scope: &Scope,
        ticket_ids: &[i64],
    ) -> Result<Vec<TicketMessage>> {
        self.0.list_messages_of(scope, ticket_ids).await
    }

    pub async fn list_tickets(&self, scope: &Scope, filter: &TicketFilter) -> Result<Vec<Ticket>> {
        self.0.list_tickets(scope, filter).await
    }

    /// How many tickets match `filter` (its paging fields are ignored).
    pub async fn count_tickets(&self, scope: &Scope, filter: &TicketFilter) -> Result<u64> {
        self.0.count_tickets(scope, filter).await
    }

    pub async fn get_product(&self, scope: &Scope, key: &ProductKey) -> Result<Product> {
        self.0.get_product(scope, key).await
    }

    pub async fn list_products(
        &self,
        scope: &Scope,
        filter: &ProductFilter,
    ) -> Result<Vec<Product>> {
        self.0.list_products(scope, filter).await
    }

    /// How many products match `filter` (its paging fields are ignored).
    pub async fn count_products(&self, scope: &Scope, filter: &ProductFilter) -> Result<u64> {
        self.0.count_products(scope, filter).await
    }

    /// What rendering `products` needs besides them: the entities they link to, the
    /// stock of each kit and group (it follows from their parts), and the kits and
    /// groups each product is part of. A few reads for the whole page.
    pub async fn catalog_view(&self, scope: &Scope, products: Vec<Product>) -> Result<CatalogView> {
        let links = self.0.links_of(scope, &products).await?;
        let skus: Vec<String> = products.iter().map(|p| p.data.sku.clone()).collect();
        let mut containers: HashMap<String, Vec<(String, ProductKind)>> = HashMap::new();
        for (part, container, kind) in self.0.containers_of(scope, &skus).await? {
            containers.entry(part).or_default().push((container, kind));
        }
        let part_keys: Vec<ProductKey> = products
            .iter()
            .filter(|p| p.data.kind != ProductKind::Simple)
            .flat_map(|p| p.data.fields.parts.iter())
            .map(|part| ProductKey::Sku(part.sku.clone()))
            .collect();
        let parts = if part_keys.is_empty() {
            Vec::new()
        } else {
            self.0.find_products(scope, &part_keys).await?
        };
        let part_stock: HashMap<&str, Option<i64>> = parts
            .iter()
            .map(|p| (p.data.sku.as_str(), sellable(&p.data.fields.stock)))
            .collect();
        let stock_of = |sku: &str| part_stock.get(sku).copied().unwrap_or(Some(0));
        let derived_stock = products
            .iter()
            .filter_map(|p| {
                let parts = &p.data.fields.parts;
                match p.data.kind {
                    ProductKind::Simple => None,
                    ProductKind::Kit => Some((p.id, kit_stock(parts, stock_of))),
                    ProductKind::Group => Some((p.id, group_stock(parts, stock_of))),
                }
            })
            .collect();
        Ok(CatalogView {
            products,
            links,
            derived_stock,
            containers,
        })
    }

    pub async fn list_categories(
        &self,
        scope: &Scope,
        filter: &EntityFilter,
    ) -> Result<Vec<Category>> {
        self.0.list_categories(scope, filter).await
    }

    pub async fn list_brands(&self, scope: &Scope, filter: &EntityFilter) -> Result<Vec<Brand>> {
        self.0.list_brands(scope, filter).await
    }

    pub async fn list_manufacturers(
        &self,
        scope: &Scope,
        filter: &EntityFilter,
    ) -> Result<Vec<Manufacturer>> {
        self.0.list_manufacturers(scope, filter).await
    }

    /// The scope's seller's change feed (see [`crate::notifications::feeds`]).
    pub async fn get_change_feed(&self, scope: &Scope) -> Result<entreposto_store::ChangeFeed> {
        self.0.get_change_feed(scope).await
    }

    pub async fn get_import_job(&self, scope: &Scope, id: &str) -> Result<ImportJob> {
        self.0.get_import_job(scope, id).await
    }

    pub async fn list_import_jobs(&self, scope: &Scope, limit: u32) -> Result<Vec<ImportJob>> {
        self.0.list_import_jobs(scope, limit).await
    }

    pub async fn import_errors(&self, scope: &Scope, id: &str) -> Result<Vec<RowError>> {
        self.0.import_errors(scope, id).await
    }

    /// The products an import job wrote, by row.
    pub async fn import_products(&self, scope: &Scope, id: &str) -> Result<Vec<Product>> {
        self.0.import_products(scope, id).await
    }

    /// The operator's webhook endpoints, oldest first.
    pub async fn list_webhooks(
        &self,
        operator_id: &str,
    ) -> Result<Vec<entreposto_domain::WebhookEndpoint>> {
        self.0.list_endpoints(operator_id).await
    }

    /// The webhook endpoint `id` of `operator_id`.
    pub async fn get_webhook(
        &self,
        operator_id: &str,
        id: &str,
    ) -> Result<entreposto_domain::WebhookEndpoint> {
        self.0.get_endpoint(operator_id, id).await
    }

    /// A webhook endpoint by id alone: for admin commands, never for a request.
    pub async fn find_webhook(&self, id: &str) -> Result<entreposto_domain::WebhookEndpoint> {
        self.0.find_endpoint(id).await
    }

    /// An endpoint's delivery log, newest first.
    pub async fn list_webhook_deliveries(
        &self,
        operator_id: &str,
        endpoint_id: &str,
        filter: &entreposto_store::webhooks::DeliveryFilter,
    ) -> Result<Vec<entreposto_store::webhooks::Delivery>> {
        self.0
            .list_deliveries(operator_id, endpoint_id, filter)
            .await
    }
}

/// A page of products with what rendering them needs (see [`Reads::catalog_view`]).
#[derive(Debug, Clone, Default)]
pub struct CatalogView {
    pub products: Vec<Product>,
    pub links: CatalogLinks,
    /// Sellable units of each kit and group of the page, by product id; `None` for no
    /// limit (its parts sell without stock).
    pub derived_stock: HashMap<i64, Option<i64>>,
    /// The kits and groups each product of the page is part of, by its SKU.
    pub containers: HashMap<String, Vec<(String, ProductKind)>>,
}

impl CatalogView {
    pub fn category(&self, id: i64) -> Option<&Category> {
        self.links.categories.iter().find(|c| c.id == id)
    }

    pub fn brand(&self, id: i64) -> Option<&Brand> {
        self.links.brands.iter().find(|b| b.id == id)
    }

    pub fn manufacturer(&self, id: i64) -> Option<&Manufacturer> {
        self.links.manufacturers.iter().find(|m| m.id == id)
    }

    pub fn collection(&self, id: i64) -> Option<&Collection> {
        self.links.collections.iter().find(|c| c.id == id)
    }
}
