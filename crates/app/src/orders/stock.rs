//! What reserving an order's items takes from the seller's catalog, decided from the
//! products as read: a simple product gives its ordered units, a kit its components'
//! units times the quantity ordered, each taken from the product's locations in id
//! order. A product that sells without stock or on pre-sale (any location so marked)
//! reserves nothing, nor does a SKU the catalog lacks or a group (it is sold through
//! its variations). If any product cannot give all its units, the order reserves
//! nothing at all and the first such SKU is named: an order is never half reserved.
//! The store applies the moves only if no quantity goes below zero, so a plan made on
//! stock that moved meanwhile is refused and made again. A cancellation returns the
//! reservation to the products as they are then ([`returns`]).

use std::collections::HashMap;

use entreposto_domain::{sellable, OrderItem, Product, ProductKind, StockMove};

/// A SKU the catalog cannot give all the ordered units of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Short {
    pub sku: String,
    pub needed: i64,
    pub available: i64,
}

impl std::fmt::Display for Short {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SKU '{}' is short ({} of {} units in stock)",
            self.sku, self.available, self.needed
        )
    }
}

/// The SKUs whose products a plan needs: the items', then (once those are known) the
/// components of the kits among them.
pub fn item_skus(items: &[OrderItem]) -> Vec<String> {
    let mut skus: Vec<String> = Vec::new();
    for i in items {
        if !skus.contains(&i.sku) {
            skus.push(i.sku.clone());
        }
    }
    skus
}

pub fn component_skus(items: &[OrderItem], products: &HashMap<String, Product>) -> Vec<String> {
    let mut skus: Vec<String> = Vec::new();
    for i in items {
        if let Some(p) = products.get(&i.sku) {
            if p.data.kind == ProductKind::Kit {
                for part in &p.data.fields.parts {
                    if !products.contains_key(&part.sku) && !skus.contains(&part.sku) {
                        skus.push(part.sku.clone());
                    }
                }
            }
        }
    }
    skus
}

/// The stock moves that reserve `items` (negative deltas), or the first short SKU.
/// `products` holds every product of the items and of their kits' components that
/// the catalog has, by SKU.
pub fn plan(
    items: &[OrderItem],
    products: &HashMap<String, Product>,
) -> Result<Vec<StockMove>, Short> {
    // Units per simple product, in the order the items first name them.
    let mut needs: Vec<(&Product, i64)> = Vec::new();
    for item in items {
        let Some(p) = products.get(&item.sku) else {
            continue;
        };
        match p.data.kind {
            ProductKind::Simple => push_need(&mut needs, p, item.quantity),
            ProductKind::Kit => {
                for part in &p.data.fields.parts {
                    if let Some(c) = products.get(&part.sku) {
                        if c.data.kind == ProductKind::Simple {
                            push_need(
                                &mut needs,
                                c,
                                item.quantity.saturating_mul(part.quantity.max(1)),
                            );
                        }
                    }
                }
            }
            ProductKind::Group => {}
        }
    }
    let mut moves = Vec::new();
    for (p, units) in needs {
        let levels = &p.data.fields.stock;
        if sellable(levels).is_none() {
            continue;
        }
        let mut by_location: Vec<_> = levels.iter().collect();
        by_location.sort_by_key(|l| l.location.id);
        let mut remaining = units;
        for l in by_location {
            let take = remaining.min(l.sellable().unwrap_or(0));
            if take > 0 {
                moves.push(StockMove {
                    product_id: p.id,
                    location_id: l.location.id,
                    delta: -take,
                });
                remaining -= take;
            }
        }
        if remaining > 0 {
            return Err(Short {
                sku: p.data.sku.clone(),
                needed: units,
                available: units - remaining,
            });
        }
    }
    Ok(moves)
}

/// The moves that return `reserved` to the catalog as `products` now are: each unit
/// back where it was taken from; to the product's lowest location when that location
/// is gone (a write replaced the product's stock levels); nowhere when the product
/// itself was deleted (there is nothing to return it to).
pub fn returns(reserved: &[StockMove], products: &[Product]) -> Vec<StockMove> {
    let mut back: Vec<StockMove> = Vec::new();
    for m in reserved {
        let Some(p) = products.iter().find(|p| p.id == m.product_id) else {
            continue;
        };
        let levels = &p.data.fields.stock;
        let location = if levels.iter().any(|l| l.location.id == m.location_id) {
            m.location_id
        } else {
            match levels.iter().map(|l| l.location.id).min() {
                Some(id) => id,
                None => continue,
            }
        };
        match back
            .iter_mut()
            .find(|b| b.product_id == m.product_id && b.location_id == location)
        {
            Some(b) => b.delta -= m.delta,
            None => back.push(StockMove {
                product_id: m.product_id,
                location_id: location,
                delta: -m.delta,
            }),
        }
    }
    back
}

fn push_need<'a>(needs: &mut Vec<(&'a Product, i64)>, p: &'a Product, units: i64) {
    match needs.iter_mut().find(|(q, _)| q.id == p.id) {
        Some((_, n)) => *n = n.saturating_add(units),
        None => needs.push((p, units)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entreposto_domain::{
        Cents, Location, ProductData, ProductFields, ProductPart, StockLevel, StockStatus,
        Timestamp,
    };

    fn level(location: i64, quantity: i64, status: Option<StockStatus>) -> StockLevel {
        StockLevel {
            location: Location {
                id: location,
                name: None,
            },
            quantity,
            minimum: 0,
            status,
        }
    }

    fn product(id: i64, sku: &str, kind: ProductKind, stock: Vec<StockLevel>) -> Product {
        Product {
            id,
            operator_id: "op".into(),
            seller_id: "s".into(),
            version: 1,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            data: ProductData {
                sku: sku.into(),
                kind,
                fields: ProductFields {
                    stock,
                    ..Default::default()
                },
                category_ids: vec![],
                brand_id: None,
                manufacturer_id: None,
                collection_ids: vec![],
            },
        }
    }

    fn item(sku: &str, quantity: i64) -> OrderItem {
        OrderItem {
            sku: sku.into(),
            name: "Produto".into(),
            quantity,
            unit_price: Cents(100),
            marketplace_item_id: None,
            freight: None,
        }
    }

    fn catalog(products: Vec<Product>) -> HashMap<String, Product> {
        products
            .into_iter()
            .map(|p| (p.data.sku.clone(), p))
            .collect()
    }

    fn mv(product_id: i64, location_id: i64, delta: i64) -> StockMove {
        StockMove {
            product_id,
            location_id,
            delta,
        }
    }

    #[test]
    fn units_come_from_locations_in_id_order() {
        let c = catalog(vec![product(
            1,
            "A",
            ProductKind::Simple,
            vec![level(5, 10, None), level(0, 2, None)],
        )]);
        assert_eq!(
            plan(&[item("A", 3), item("A", 1)], &c),
            Ok(vec![mv(1, 0, -2), mv(1, 5, -2)])
        );
    }

    #[test]
    fn a_kit_reserves_its_components_times_the_quantity() {
        let mut kit = product(3, "KIT", ProductKind::Kit, vec![]);
        kit.data.fields.parts = vec![
            ProductPart {
                sku: "A".into(),
                kind: ProductKind::Simple,
                quantity: 2,
            },
            ProductPart {
                sku: "B".into(),
                kind: ProductKind::Simple,
                quantity: 1,
            },
        ];
        let c = catalog(vec![
            kit,
            product(1, "A", ProductKind::Simple, vec![level(0, 10, None)]),
            product(2, "B", ProductKind::Simple, vec![level(0, 10, None)]),
        ]);
        let items = [item("KIT", 3), item("B", 1)];
        assert_eq!(component_skus(&items, &c), Vec::<String>::new());
        assert_eq!(plan(&items, &c), Ok(vec![mv(1, 0, -6), mv(2, 0, -4)]));
    }

    #[test]
    fn short_stock_names_the_sku_and_reserves_nothing() {
        let c = catalog(vec![
            product(1, "A", ProductKind::Simple, vec![level(0, 10, None)]),
            product(
                2,
                "B",
                ProductKind::Simple,
                vec![level(0, 5, Some(StockStatus::NoStock)), level(1, 1, None)],
            ),
        ]);
        assert_eq!(
            plan(&[item("A", 1), item("B", 2)], &c),
            Err(Short {
                sku: "B".into(),
                needed: 2,
                available: 1
            })
        );
    }

    #[test]
    fn a_reservation_goes_back_where_it_can() {
        let products = vec![
            product(
                1,
                "A",
                ProductKind::Simple,
                vec![level(0, 0, None), level(3, 0, None)],
            ),
            product(
                2,
                "B",
                ProductKind::Simple,
                vec![level(4, 0, None), level(6, 0, None)],
            ),
        ];
        let reserved = [
            mv(1, 3, -2),
            mv(1, 0, -1),
            mv(2, 5, -1),
            mv(2, 4, -2),
            mv(9, 0, -7),
        ];
        assert_eq!(
            returns(&reserved, &products),
            vec![mv(1, 3, 2), mv(1, 0, 1), mv(2, 4, 3)],
            "B's location 5 is gone: its unit goes to location 4; product 9 is deleted"
        );
    }

    #[test]
    fn unlimited_and_unknown_products_reserve_nothing() {
        let c = catalog(vec![
            product(
                1,
                "PRE",
                ProductKind::Simple,
                vec![level(0, 0, None), level(1, 0, Some(StockStatus::PreSale))],
            ),
            product(
                2,
                "FREE",
                ProductKind::Simple,
                vec![level(0, 0, Some(StockStatus::SellWithoutStock))],
            ),
        ]);
        assert_eq!(
            plan(&[item("PRE", 5), item("FREE", 5), item("NOPE", 5)], &c),
            Ok(vec![])
        );
    }
}
