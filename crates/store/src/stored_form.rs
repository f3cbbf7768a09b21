//! Serde glue for a backend's stored form of domain types, written once for every
//! backend and format version.
//!
//! The domain's types carry no serde layout; a backend declares its own (SQLite's
//! order body version 1, PostgreSQL's order JSON) as serde *remote* definitions of the
//! domain types, which encode a domain value in place and decode straight into one,
//! without an intermediate copy. Remote definitions need a way to say "this field is a
//! domain type in this same stored form", also inside an `Option` or a `Vec`: that is
//! what [`stored_form!`](macro@crate::stored_form) declares, a trait per form plus the
//! `#[serde(with)]` modules, and [`stored_form_impls!`](macro@crate::stored_form_impls)
//! implements the trait from the remote definitions. The layouts themselves stay in
//! the backends: this module knows no field.

/// Declares a stored form: a trait (how a domain type is written and read in it), a
/// writer wrapper (`Serialize`), a reader wrapper (`Deserialize`), and three modules
/// for `#[serde(with = "...")]` on a field holding such a type, an `Option` of one
/// (add `#[serde(default)]` so a missing key reads as `None`, as a plain `Option`
/// field would) and a `Vec` of them. The expansion uses the caller's `serde`.
#[macro_export]
macro_rules! stored_form {
    ($(#[$doc:meta])* $vis:vis trait $form:ident, writer $as:ident, reader $from:ident,
     with $one:ident $opt:ident $vec:ident) => {
        $(#[$doc])*
        $vis trait $form: Sized {
            fn serialize_form<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
            fn deserialize_form<'de, D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
        }

        /// Writes a domain value in this stored form.
        $vis struct $as<'a, T>(pub &'a T);

        impl<T: $form> ::serde::Serialize for $as<'_, T> {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                <T as $form>::serialize_form(self.0, s)
            }
        }

        /// Reads a domain value from this stored form. Transparent, so a `Vec` of
        /// these becomes a `Vec` of the values in place.
        #[repr(transparent)]
        $vis struct $from<T>(pub T);

        impl<'de, T: $form> ::serde::Deserialize<'de> for $from<T> {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                <T as $form>::deserialize_form(d).map($from)
            }
        }

        #[allow(dead_code)]
        mod $one {
            use super::$form;

            pub fn serialize<T: $form, S: ::serde::Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
                <T as $form>::serialize_form(v, s)
            }

            pub fn deserialize<'de, T: $form, D: ::serde::Deserializer<'de>>(d: D) -> Result<T, D::Error> {
                <T as $form>::deserialize_form(d)
            }
        }

        #[allow(dead_code)]
        mod $opt {
            use super::{$as, $form, $from};
            use ::serde::{Deserialize, Serialize};

            pub fn serialize<T: $form, S: ::serde::Serializer>(
                v: &Option<T>,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                v.as_ref().map($as).serialize(s)
            }

            pub fn deserialize<'de, T: $form, D: ::serde::Deserializer<'de>>(
                d: D,
            ) -> Result<Option<T>, D::Error> {
                Ok(Option::<$from<T>>::deserialize(d)?.map(|$from(v)| v))
            }
        }

        #[allow(dead_code)]
        mod $vec {
            use super::{$as, $form, $from};
            use ::serde::Deserialize;

            pub fn serialize<T: $form, S: ::serde::Serializer>(v: &[T], s: S) -> Result<S::Ok, S::Error> {
                s.collect_seq(v.iter().map($as))
            }

            pub fn deserialize<'de, T: $form, D: ::serde::Deserializer<'de>>(
                d: D,
            ) -> Result<Vec<T>, D::Error> {
                let stored = Vec::<$from<T>>::deserialize(d)?;
                Ok(stored.into_iter().map(|$from(v)| v).collect())
            }
        }
    };
}

/// Implements a [`stored_form!`](macro@crate::stored_form) trait: for each domain type by
/// its remote definition (`OrderData => StoredOrderV1`), and for newtypes over `i64`
/// (`Timestamp`, `Cents`) as the bare integer.
#[macro_export]
macro_rules! stored_form_impls {
    ($form:ident: $($domain:ty => $stored:ident),* $(,)?; i64 newtypes: $($int:ident),* $(,)?) => {
        $(
            impl $form for $domain {
                fn serialize_form<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    $stored::serialize(self, s)
                }
                fn deserialize_form<'de, D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    $stored::deserialize(d)
                }
            }
        )*
        $(
            impl $form for $int {
                fn serialize_form<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    ::serde::Serialize::serialize(&self.0, s)
                }
                fn deserialize_form<'de, D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    <i64 as ::serde::Deserialize>::deserialize(d).map($int)
                }
            }
        )*
    };
}
