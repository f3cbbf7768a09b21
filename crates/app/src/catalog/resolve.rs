//! Turning a draft's references to categories, brands, manufacturers and collections
//! into links: an existing entity, or a new one added to the change being decided.
//!
//! The 00K document's rule: when the identifier in a related entity's data (its `id`
//! or `externalId`) names one that exists, the product is linked to it and the rest of
//! the data is ignored; otherwise the entity is created from the data. With
//! `verify_categories` / `verify_brands` an unknown one fails the row instead. An
//! entity sent with a name only links the one of that name (categories: among the
//! siblings under the same parent), so importing the same file twice creates nothing
//! twice. Lookups are cached for the whole change, and a row that fails takes back the
//! entities it added ([`Resolver::checkpoint`], [`Resolver::rollback`]).

use std::collections::HashMap;

use entreposto_domain::search::fold;
use entreposto_domain::{slugify, BrandRef, CategoryRef, PartyRef, Scope};
use entreposto_store::{CatalogChange, EntityFilter, Link, NewBrand, NewCategory, NewParty, Store};

use crate::Result;

/// Which entity table a party reference is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Party {
    Brand,
    Manufacturer,
    Collection,
}

impl Party {
    fn noun(self) -> &'static str {
        match self {
            Party::Brand => "brand",
            Party::Manufacturer => "manufacturer",
            Party::Collection => "collection",
        }
    }
}

/// A lookup key of the caches: by our id, by external id, or by folded name (for
/// categories, under a parent).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Key {
    Id(i64),
    External(String),
    Name(Option<Link>, String),
}

/// How many of each new entity the change held at a checkpoint.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Checkpoint([usize; 4]);

pub(crate) struct Resolver<'a> {
    store: &'a dyn Store,
    scope: &'a Scope,
    pub verify_categories: bool,
    pub verify_brands: bool,
    categories: HashMap<Key, Option<Link>>,
    parties: HashMap<(Party, Key), Option<Link>>,
    /// Existing brands' manufacturers, for a product that links a brand only.
    brand_makers: HashMap<i64, Option<i64>>,
}

/// Why a reference cannot be resolved: the row (or request) fails with this.
pub(crate) type Refusal = String;

impl<'a> Resolver<'a> {
    pub fn new(
        store: &'a dyn Store,
        scope: &'a Scope,
        verify_categories: bool,
        verify_brands: bool,
    ) -> Self {
        Resolver {
            store,
            scope,
            verify_categories,
            verify_brands,
            categories: HashMap::new(),
            parties: HashMap::new(),
            brand_makers: HashMap::new(),
        }
    }

    /// Readies the caches for a new change: links to entities the last change created
    /// (by their index in it) and entities found missing go, existing entities stay.
    /// An import keeps one resolver for all of a job's steps, so a step after the
    /// first looks up nothing its job has seen. An entity deleted since is caught by
    /// the write (its link is checked there, and the step is decided again after
    /// [`Resolver::forget`]); one created since is found, as the miss was not kept.
    pub fn next_change(&mut self) {
        let existing = |v: &Option<Link>| matches!(v, Some(Link::Existing(_)));
        self.categories
            .retain(|k, v| existing(v) && !matches!(k, Key::Name(Some(Link::New(_)), _)));
        self.parties.retain(|_, v| existing(v));
    }

    /// Forgets every lookup (after a write refused what they decided).
    pub fn forget(&mut self) {
        self.categories.clear();
        self.parties.clear();
        self.brand_makers.clear();
    }

    pub fn checkpoint(&self, change: &CatalogChange) -> Checkpoint {
        Checkpoint([
            change.new_categories.len(),
            change.new_manufacturers.len(),
            change.new_brands.len(),
            change.new_collections.len(),
        ])
    }

    /// Takes back what was added to `change` since `at`, and forgets cached links to it.
    pub fn rollback(&mut self, change: &mut CatalogChange, at: Checkpoint) {
        let [c, m, b, k] = at.0;
        change.new_categories.truncate(c);
        change.new_manufacturers.truncate(m);
        change.new_brands.truncate(b);
        change.new_collections.truncate(k);
        let stale =
            |link: &Option<Link>, len: usize| matches!(link, Some(Link::New(n)) if *n >= len);
        self.categories.retain(|k, v| {
            !stale(v, c) && !matches!(k, Key::Name(Some(Link::New(n)), _) if *n >= c)
        });
        self.parties.retain(|(party, _), v| {
            let len = match party {
                Party::Manufacturer => m,
                Party::Brand => b,
                Party::Collection => k,
            };
            !stale(v, len)
        });
    }

    /// The link for a category reference, creating it (and its parents) in `change`
    /// when it does not exist and verification is off.
    pub async fn category(
        &mut self,
        r: &CategoryRef,
        change: &mut CatalogChange,
    ) -> Result<std::result::Result<Link, Refusal>> {
        // Parents first: a name-only category is looked up among its parent's children.
        let parent = match &r.parent {
            Some(p) => match Box::pin(self.category(p, change)).await? {
                Ok(l) => Some(l),
                Err(e) => return Ok(Err(format!("parent: {e}"))),
            },
            None => None,
        };
        if let Some(id) = r.id {
            if let Some(found) = self.category_by(Key::Id(id)).await? {
                return Ok(Ok(found));
            }
        }
        if let Some(ext) = &r.external_id {
            if let Some(found) = self.category_by(Key::External(ext.clone())).await? {
                return Ok(Ok(found));
            }
        }
        let name_key = r.name.as_deref().map(fold);
        if !r.is_link() {
            if let Some(key) = &name_key {
                if let Some(found) = self.category_by(Key::Name(parent, key.clone())).await? {
                    return Ok(Ok(found));
                }
            }
        }
        if self.verify_categories {
            return Ok(Err(format!(
                "category {} does not exist",
                describe_category(r)
            )));
        }
        let Some(name) = &r.name else {
            return Ok(Err(format!(
                "category {} does not exist and has no name to create it with",
                describe_category(r)
            )));
        };
        let key = name_key.unwrap_or_default();
        // A sibling of the same name may exist or be new in this change already.
        if let Some(found) = self.category_by(Key::Name(parent, key.clone())).await? {
            if r.external_id.is_none() {
                return Ok(Ok(found));
            }
            return Ok(Err(format!(
                "a category named '{name}' already exists under the same parent"
            )));
        }
        change.new_categories.push(NewCategory {
            parent,
            name: name.clone(),
            description: r.description.clone(),
            slug: r.slug.clone().unwrap_or_else(|| slugify(name)),
            keywords: r.keywords.clone(),
            image_source: r.image_source.clone(),
            external_id: r.external_id.clone(),
        });
        let link = Link::New(change.new_categories.len() - 1);
        self.categories.insert(Key::Name(parent, key), Some(link));
        if let Some(ext) = &r.external_id {
            self.categories
                .insert(Key::External(ext.clone()), Some(link));
        }
        Ok(Ok(link))
    }

    async fn category_by(&mut self, key: Key) -> Result<Option<Link>> {
        if let Some(hit) = self.categories.get(&key) {
            return Ok(*hit);
        }
        let found = match &key {
            Key::Id(id) => first(
                self.store
                    .list_categories(
                        self.scope,
                        &EntityFilter {
                            id: Some(*id),
                            ..Default::default()
                        },
                    )
                    .await?,
            )
            .map(|c| c.id),
            Key::External(e) => first(
                self.store
                    .list_categories(
                        self.scope,
                        &EntityFilter {
                            external_id: Some(e.clone()),
                            ..Default::default()
                        },
                    )
                    .await?,
            )
            .map(|c| c.id),
            Key::Name(Some(Link::New(_)), _) => None,
            Key::Name(parent, name) => {
                let parent = match parent {
                    Some(Link::Existing(id)) => Some(*id),
                    _ => None,
                };
                self.store
                    .find_sibling_category(self.scope, parent, name)
                    .await?
                    .map(|c| c.id)
            }
        };
        let link = found.map(Link::Existing);
        self.categories.insert(key, link);
        Ok(link)
    }

    /// The brand link and the manufacturer link of a product's `brand`.
    pub async fn brand(
        &mut self,
        r: &BrandRef,
        change: &mut CatalogChange,
    ) -> Result<std::result::Result<(Link, Option<Link>), Refusal>> {
        let maker = match &r.manufacturer {
            Some(m) => match self.party(Party::Manufacturer, m, change, None).await? {
                Ok(l) => Some(l),
                Err(e) => return Ok(Err(e)),
            },
            None => None,
        };
        let brand = match self.party(Party::Brand, &r.info, change, maker).await? {
            Ok(l) => l,
            Err(e) => return Ok(Err(e)),
        };
        // A product linking an existing brand without naming a manufacturer takes the
        // brand's own.
        let maker = match (maker, brand) {
            (Some(m), _) => Some(m),
            (None, Link::Existing(id)) => self.maker_of(id).await?.map(Link::Existing),
            (None, Link::New(n)) => change.new_brands[n].manufacturer,
        };
        Ok(Ok((brand, maker)))
    }

    pub async fn collection(
        &mut self,
        r: &PartyRef,
        change: &mut CatalogChange,
    ) -> Result<std::result::Result<Link, Refusal>> {
        self.party(Party::Collection, r, change, None).await
    }

    async fn maker_of(&mut self, brand: i64) -> Result<Option<i64>> {
        if let Some(m) = self.brand_makers.get(&brand) {
            return Ok(*m);
        }
        let m = first(
            self.store
                .list_brands(
                    self.scope,
                    &EntityFilter {
                        id: Some(brand),
                        ..Default::default()
                    },
                )
                .await?,
        )
        .and_then(|b| b.manufacturer_id);
        self.brand_makers.insert(brand, m);
        Ok(m)
    }

    async fn party(
        &mut self,
        party: Party,
        r: &PartyRef,
        change: &mut CatalogChange,
        maker: Option<Link>,
    ) -> Result<std::result::Result<Link, Refusal>> {
        let mut keys = Vec::new();
        if let Some(id) = r.id {
            keys.push(Key::Id(id));
        }
        if let Some(e) = &r.external_id {
            keys.push(Key::External(e.clone()));
        }
        let name_key = r.name.as_deref().map(fold);
        if let Some(n) = &name_key {
            keys.push(Key::Name(None, n.clone()));
        }
        for key in &keys {
            if let Some(found) = self.party_by(party, key.clone()).await? {
                return Ok(Ok(found));
            }
        }
        let verify = self.verify_brands && party != Party::Collection;
        if verify {
            return Ok(Err(format!(
                "{} {} does not exist",
                party.noun(),
                describe_party(r)
            )));
        }
        let Some(name) = &r.name else {
            return Ok(Err(format!(
                "{} {} does not exist and has no name to create it with",
                party.noun(),
                describe_party(r)
            )));
        };
        let new = NewParty {
            name: name.clone(),
            external_id: r.external_id.clone(),
            image_source: r.image_source.clone(),
        };
        let link = match party {
            Party::Brand => {
                change.new_brands.push(NewBrand {
                    party: new,
                    manufacturer: maker,
                });
                Link::New(change.new_brands.len() - 1)
            }
            Party::Manufacturer => {
                change.new_manufacturers.push(new);
                Link::New(change.new_manufacturers.len() - 1)
            }
            Party::Collection => {
                change.new_collections.push(new);
                Link::New(change.new_collections.len() - 1)
            }
        };
        for key in keys {
            if !matches!(key, Key::Id(_)) {
                self.parties.insert((party, key), Some(link));
            }
        }
        Ok(Ok(link))
    }

    async fn party_by(&mut self, party: Party, key: Key) -> Result<Option<Link>> {
        if let Some(hit) = self.parties.get(&(party, key.clone())) {
            return Ok(*hit);
        }
        let filter = match &key {
            Key::Id(id) => EntityFilter {
                id: Some(*id),
                ..Default::default()
            },
            Key::External(e) => EntityFilter {
                external_id: Some(e.clone()),
                ..Default::default()
            },
            Key::Name(_, n) => EntityFilter {
                name: Some(n.clone()),
                ..Default::default()
            },
        };
        // Listings match names by containment: keep the exact (folded) name only.
        let exact = |name: &str| match &key {
            Key::Name(_, n) => fold(name) == *n,
            _ => true,
        };
        let found = match party {
            Party::Brand => {
                let brands = self.store.list_brands(self.scope, &filter).await?;
                let hit = brands.into_iter().find(|b| exact(&b.name));
                if let Some(b) = &hit {
                    self.brand_makers.insert(b.id, b.manufacturer_id);
                }
                hit.map(|b| b.id)
            }
            Party::Manufacturer => self
                .store
                .list_manufacturers(self.scope, &filter)
                .await?
                .into_iter()
                .find(|m| exact(&m.name))
                .map(|m| m.id),
            Party::Collection => self
                .store
                .list_collections(self.scope, &filter)
                .await?
                .into_iter()
                .find(|c| exact(&c.name))
                .map(|c| c.id),
        };
        let link = found.map(Link::Existing);
        self.parties.insert((party, key), link);
        Ok(link)
    }
}

fn first<T>(v: Vec<T>) -> Option<T> {
    v.into_iter().next()
}

fn describe_category(r: &CategoryRef) -> String {
    describe(r.id, r.external_id.as_deref(), r.name.as_deref())
}

fn describe_party(r: &PartyRef) -> String {
    describe(r.id, r.external_id.as_deref(), r.name.as_deref())
}

fn describe(id: Option<i64>, ext: Option<&str>, name: Option<&str>) -> String {
    match (id, ext, name) {
        (Some(id), _, _) => format!("id {id}"),
        (None, Some(e), _) => format!("externalId '{e}'"),
        (None, None, Some(n)) => format!("'{n}'"),
        _ => "(unnamed)".into(),
    }
}
