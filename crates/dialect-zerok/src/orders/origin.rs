//! The document's `order_origin` vocabulary and the marketplaces (our order's
//! `channel`) each word names.
//!
//! 00K says where an order came from with a closed list of words (`mercadolivre`,
//! `b2w_americanas`, `cnova_extra`, ...), two of them groups (`b2w`: Americanas,
//! Shoptime, Submarino and Sou Barato; `cnova`: Extra, Casas Bahia, Ponto Frio,
//! Cdiscount and Barateiro). The hub keeps the marketplace's name as the channel the
//! marketplace pushed (`Lojas Americanas`, `Mercado Livre`), so each word maps onto the
//! channel names below, and an order's `origin` number is the position (from 1) in
//! the document's list of the most specific word its channel falls under (null for a
//! channel none names, such as `Magalu`). `ecommerce` (the store's own shop) and
//! `sistema` (typed in by hand) name no marketplace: the hub only has orders
//! marketplaces pushed, so those filters match nothing. Channel names compare folded
//! (case, accents, spaces and punctuation ignored), so `marketplace=mercado-livre`
//! finds the `Mercado Livre` channel.

use entreposto_domain::search::fold;

/// The document's list, in its order (an order's `origin` is a position in it, from 1),
/// with the channels each word names.
pub const ORIGINS: [(&str, &[&str]); 17] = [
    ("ecommerce", &[]),
    ("mercadolivre", &["Mercado Livre"]),
    ("sistema", &[]),
    ("b2w_shoptime", &["Shoptime"]),
    ("b2w_submarino", &["Submarino"]),
    ("b2w_americanas", &["Lojas Americanas"]),
    (
        "cnova",
        &[
            "Extra",
            "Casas Bahia",
            "Ponto Frio",
            "Cdiscount",
            "Barateiro",
        ],
    ),
    ("b2w_sou_barato", &["Sou Barato"]),
    ("wallmart", &["Walmart"]),
    ("cnova_extra", &["Extra"]),
    ("cnova_casas_bahia", &["Casas Bahia"]),
    ("cnova_ponto_frio", &["Ponto Frio"]),
    ("cnova_cdiscount", &["Cdiscount"]),
    ("cnova_barateiro", &["Barateiro"]),
    ("cnova_ehub", &["Cnova eHub"]),
    (
        "b2w",
        &["Lojas Americanas", "Shoptime", "Submarino", "Sou Barato"],
    ),
    ("mercadoshops", &["Mercado Shops"]),
];

/// The words of the list.
pub fn words() -> impl Iterator<Item = &'static str> {
    ORIGINS.iter().map(|(w, _)| *w)
}

/// A name folded for comparison: lower case, no accents, letters and digits only.
pub fn key(name: &str) -> String {
    fold(name).chars().filter(|c| c.is_alphanumeric()).collect()
}

/// The channels an `order_origin` word names (empty for `ecommerce` and `sistema`),
/// or `None` when it is no word of the list.
pub fn channels_of(word: &str) -> Option<&'static [&'static str]> {
    let w = word.trim().to_ascii_lowercase();
    ORIGINS.iter().find(|(o, _)| *o == w).map(|(_, c)| *c)
}

/// The channel name a `marketplace` filter value means: a channel of the list whose
/// folded name it is (`mercado-livre`, `MERCADO LIVRE`), else the value as given.
pub fn channel_named(value: &str) -> String {
    let k = key(value);
    ORIGINS
        .iter()
        .flat_map(|(_, c)| c.iter())
        .find(|c| key(c) == k)
        .map_or_else(|| value.trim().to_string(), |c| c.to_string())
}

/// The `origin` number of an order of `channel`: the position from 1 of the most
/// specific word naming it (a group only when no single word does).
pub fn origin_number(channel: &str) -> Option<u8> {
    let k = key(channel);
    let mut group = None;
    for (i, (_, channels)) in ORIGINS.iter().enumerate() {
        if channels.iter().any(|c| key(c) == k) {
            if channels.len() == 1 {
                return Some(i as u8 + 1);
            }
            group.get_or_insert(i as u8 + 1);
        }
    }
    group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_positions_of_the_most_specific_word() {
        assert_eq!(origin_number("Mercado Livre"), Some(2));
        assert_eq!(origin_number("LOJAS AMERICANAS"), Some(6));
        assert_eq!(origin_number("Casas Bahia"), Some(11));
        assert_eq!(origin_number("Magalu"), None);
        for (i, w) in words().enumerate() {
            for c in channels_of(w).unwrap() {
                let n = origin_number(c).unwrap() as usize;
                assert!(n == i + 1 || channels_of(w).unwrap().len() > 1, "{w} {c}");
            }
        }
    }

    #[test]
    fn filter_words_and_marketplace_names() {
        assert_eq!(channels_of("b2w").unwrap().len(), 4);
        assert_eq!(channels_of(" MercadoLivre ").unwrap(), ["Mercado Livre"]);
        assert!(channels_of("ecommerce").unwrap().is_empty());
        assert!(channels_of("amazon").is_none());
        assert_eq!(channel_named("mercado-livre"), "Mercado Livre");
        assert_eq!(channel_named("lojasamericanas"), "Lojas Americanas");
        assert_eq!(channel_named(" Magalu "), "Magalu");
    }
}
