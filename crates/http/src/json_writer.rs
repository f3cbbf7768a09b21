//! A compact JSON serializer for the hot read responses, writing the bytes serde_json
//! writes, faster.
//!
//! Profiling an Omnik case put a fifth of its instructions in serialization: serde_json
//! escapes every string, field names included, one byte at a time. This serializer
//! writes a struct's field names as they are (they are Rust identifiers or our own
//! renames, never in need of escaping) and checks strings eight bytes at a time for
//! the three things JSON escapes (`"`, `\` and control characters), copying clean runs
//! whole. Escapes, numbers, `null`s and nesting follow serde_json's compact output
//! exactly; the tests hold it to serde_json on values and on the response shapes.
//! It holds the crate's only unsafe code (`append`); `[http] fast_json = false`
//! (`HttpOptions::fast_json`) writes those responses with serde_json instead.

use std::fmt::Display;

use serde::ser::{self, Serialize};

/// Appends `value` as compact JSON to `out`.
pub fn to_writer<T: Serialize + ?Sized>(out: &mut Vec<u8>, value: &T) -> Result<(), Error> {
    value.serialize(&mut Writer { out })
}

#[derive(Debug)]
pub struct Error(String);

impl Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: Display>(msg: T) -> Error {
        Error(msg.to_string())
    }
}

pub struct Writer<'o> {
    out: &'o mut Vec<u8>,
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// Whether any of the eight bytes in `w` is `"`, `\` or below 0x20.
#[inline(always)]
fn needs_escape(w: u64) -> bool {
    let zero = |v: u64| v.wrapping_sub(LO) & !v & HI;
    let control = w.wrapping_sub(LO * 0x20) & !w & HI;
    (control | zero(w ^ (LO * b'"' as u64)) | zero(w ^ (LO * b'\\' as u64))) != 0
}

/// serde_json's escape for byte `b`, or 0 when it is written as it is.
#[inline(always)]
fn escape_of(b: u8) -> u8 {
    match b {
        b'"' => b'"',
        b'\\' => b'\\',
        0x08 => b'b',
        0x09 => b't',
        0x0a => b'n',
        0x0c => b'f',
        0x0d => b'r',
        0x00..=0x1f => b'u',
        _ => 0,
    }
}

/// The eight bytes of `b` from `i` as one word.
#[inline(always)]
fn word_at(b: &[u8], i: usize) -> u64 {
    let mut w = [0_u8; 8];
    w.copy_from_slice(&b[i..i + 8]);
    u64::from_le_bytes(w)
}

/// Whether any byte of `b` needs an escape. Words are checked whole; the last partial
/// word is checked as the overlapping final eight bytes, and a string shorter than
/// eight bytes as two overlapping halves (bytes checked twice do no harm).
#[inline(always)]
fn any_escape(b: &[u8]) -> bool {
    let n = b.len();
    if n >= 8 {
        let mut i = 0;
        while i + 8 <= n {
            if needs_escape(word_at(b, i)) {
                return true;
            }
            i += 8;
        }
        i < n && needs_escape(word_at(b, n - 8))
    } else if n >= 4 {
        let half = |i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as u64;
        needs_escape(half(0) | half(n - 4) << 32)
    } else {
        b.iter().any(|&c| escape_of(c) != 0)
    }
}

/// Appends `bytes` to `out`. Most field names and values are short, and a `memcpy`
/// call for each was a visible part of rendering a case: up to 16 bytes are copied
/// with two overlapping moves instead.
#[inline(always)]
fn append(out: &mut Vec<u8>, bytes: &[u8]) {
    let n = bytes.len();
    if n > 16 {
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(16);
    let len = out.len();
    // SAFETY: `reserve(16)` leaves room for at least 16 bytes after `len`, and n <= 16:
    // every write lands in `len..len + n` of that room (the two moves of a size class
    // overlap rather than run past `n`), every read in `bytes`, and those `n` bytes are
    // all written before `set_len` covers them.
    unsafe {
        let src = bytes.as_ptr();
        let dst = out.as_mut_ptr().add(len);
        if n >= 8 {
            let a = src.cast::<u64>().read_unaligned();
            let b = src.add(n - 8).cast::<u64>().read_unaligned();
            dst.cast::<u64>().write_unaligned(a);
            dst.add(n - 8).cast::<u64>().write_unaligned(b);
        } else if n >= 4 {
            let a = src.cast::<u32>().read_unaligned();
            let b = src.add(n - 4).cast::<u32>().read_unaligned();
            dst.cast::<u32>().write_unaligned(a);
            dst.add(n - 4).cast::<u32>().write_unaligned(b);
        } else if n > 0 {
            *dst = *src;
            *dst.add(n / 2) = *src.add(n / 2);
            *dst.add(n - 1) = *src.add(n - 1);
        }
        out.set_len(len + n);
    }
}

/// `s` as a JSON string, quotes included. Nearly every string we write needs no
/// escape: those are checked once and copied whole.
pub fn write_str(out: &mut Vec<u8>, s: &str) {
    let bytes = s.as_bytes();
    out.reserve(bytes.len() + 2);
    out.push(b'"');
    if any_escape(bytes) {
        write_escaped(out, bytes);
    } else {
        append(out, bytes);
    }
    out.push(b'"');
}

/// The inside of a string with something to escape.
#[cold]
fn write_escaped(out: &mut Vec<u8>, bytes: &[u8]) {
    let mut start = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Skip clean eight-byte words.
        if i + 8 <= bytes.len() && !needs_escape(word_at(bytes, i)) {
            i += 8;
            continue;
        }
        let b = bytes[i];
        let esc = escape_of(b);
        if esc == 0 {
            i += 1;
            continue;
        }
        out.extend_from_slice(&bytes[start..i]);
        if esc == b'u' {
            const HEX: &[u8; 16] = b"0123456789abcdef";
            out.extend_from_slice(&[
                b'\\',
                b'u',
                b'0',
                b'0',
                HEX[(b >> 4) as usize],
                HEX[(b & 0xf) as usize],
            ]);
        } else {
            out.extend_from_slice(&[b'\\', esc]);
        }
        i += 1;
        start = i;
    }
    out.extend_from_slice(&bytes[start..]);
}

/// The `serialize_<integer>` methods of a serializer, each running `$body` with `$v`.
macro_rules! integers {
    ($self:ident, $v:ident => $body:expr) => {
        integers!(@each $self, $v, $body, serialize_i8: i8, serialize_i16: i16,
            serialize_i32: i32, serialize_i64: i64, serialize_i128: i128, serialize_u8: u8,
            serialize_u16: u16, serialize_u32: u32, serialize_u64: u64, serialize_u128: u128);
    };
    (@each $self:ident, $v:ident, $body:expr, $($name:ident: $ty:ty),*) => {$(
        fn $name($self, $v: $ty) -> Result<()> {
            $body
        }
    )*};
}

impl<'o> Writer<'o> {
    /// Writes `open` and starts a compound that `close` ends.
    fn open<'a>(&'a mut self, open: &[u8], close: &'static [u8]) -> Compound<'a, 'o> {
        self.out.extend_from_slice(open);
        Compound {
            w: self,
            first: true,
            close,
        }
    }

    /// An enum variant holding a compound: `{"Variant":` then `open`.
    fn open_variant<'a>(
        &'a mut self,
        variant: &str,
        open: &[u8],
        close: &'static [u8],
    ) -> Compound<'a, 'o> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        self.open(open, close)
    }

    fn int(&mut self, v: impl itoa::Integer) {
        self.out
            .extend_from_slice(itoa::Buffer::new().format(v).as_bytes());
    }
}

/// A struct, map, sequence or tuple being written: whether its first element is.
pub struct Compound<'a, 'o> {
    w: &'a mut Writer<'o>,
    first: bool,
    /// The closing bytes (`]`, `}`, or `}}` / `]}` for an enum variant).
    close: &'static [u8],
}

impl Compound<'_, '_> {
    fn comma(&mut self) {
        if !self.first {
            self.w.out.push(b',');
        }
        self.first = false;
    }
}

type Result<T, E = Error> = std::result::Result<T, E>;

impl<'a, 'o> ser::Serializer for &'a mut Writer<'o> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = Compound<'a, 'o>;
    type SerializeTuple = Compound<'a, 'o>;
    type SerializeTupleStruct = Compound<'a, 'o>;
    type SerializeTupleVariant = Compound<'a, 'o>;
    type SerializeMap = Compound<'a, 'o>;
    type SerializeStruct = Compound<'a, 'o>;
    type SerializeStructVariant = Compound<'a, 'o>;

    fn serialize_bool(self, v: bool) -> Result<()> {
        self.out
            .extend_from_slice(if v { b"true" } else { b"false" });
        Ok(())
    }
    integers!(self, v => { self.int(v); Ok(()) });
    fn serialize_f32(self, v: f32) -> Result<()> {
        // Floats are rare in our responses; serde_json's own formatting keeps them
        // byte for byte what it writes (`1.5e+300`, `null` for NaN).
        serde_json::to_writer(&mut *self.out, &v).map_err(|e| Error(e.to_string()))
    }
    fn serialize_f64(self, v: f64) -> Result<()> {
        // Floats are rare in our responses; serde_json's own formatting keeps them
        // byte for byte what it writes (`1.5e+300`, `null` for NaN).
        serde_json::to_writer(&mut *self.out, &v).map_err(|e| Error(e.to_string()))
    }
    fn serialize_char(self, v: char) -> Result<()> {
        write_str(self.out, v.encode_utf8(&mut [0; 4]));
        Ok(())
    }
    fn serialize_str(self, v: &str) -> Result<()> {
        write_str(self.out, v);
        Ok(())
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<()> {
        use ser::SerializeSeq;
        let mut seq = self.serialize_seq(Some(v.len()))?;
        for b in v {
            seq.serialize_element(b)?;
        }
        seq.end()
    }
    fn serialize_none(self) -> Result<()> {
        self.out.extend_from_slice(b"null");
        Ok(())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<()> {
        self.serialize_none()
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        self.serialize_none()
    }
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<()> {
        write_str(self.out, variant);
        Ok(())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<()> {
        self.out.push(b'{');
        write_str(self.out, variant);
        self.out.push(b':');
        value.serialize(&mut *self)?;
        self.out.push(b'}');
        Ok(())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Compound<'a, 'o>> {
        Ok(self.open(b"[", b"]"))
    }
    fn serialize_tuple(self, len: usize) -> Result<Compound<'a, 'o>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<Compound<'a, 'o>> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>> {
        Ok(self.open_variant(variant, b"[", b"]}"))
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Compound<'a, 'o>> {
        Ok(self.open(b"{", b"}"))
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Compound<'a, 'o>> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
        _: usize,
    ) -> Result<Compound<'a, 'o>> {
        Ok(self.open_variant(variant, b"{", b"}}"))
    }
}

impl Compound<'_, '_> {
    fn element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.comma();
        value.serialize(&mut *self.w)
    }
    fn finish(self) -> Result<()> {
        self.w.out.extend_from_slice(self.close);
        Ok(())
    }
    /// A field name: written as it is (see the module comment).
    fn field<T: Serialize + ?Sized>(&mut self, key: &'static str, value: &T) -> Result<()> {
        self.comma();
        let out = &mut *self.w.out;
        out.push(b'"');
        append(out, key.as_bytes());
        out.extend_from_slice(b"\":");
        value.serialize(&mut *self.w)
    }
}

/// The sequence-like traits: each element after a comma, then the closing bytes.
macro_rules! elements {
    ($($tr:ident :: $method:ident),*) => {$(
        impl ser::$tr for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn $method<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
                self.element(value)
            }
            fn end(self) -> Result<()> {
                self.finish()
            }
        }
    )*};
}

elements!(
    SerializeSeq::serialize_element,
    SerializeTuple::serialize_element,
    SerializeTupleStruct::serialize_field,
    SerializeTupleVariant::serialize_field
);

/// Structs and struct variants: named fields.
macro_rules! fields {
    ($($tr:ident),*) => {$(
        impl ser::$tr for Compound<'_, '_> {
            type Ok = ();
            type Error = Error;
            fn serialize_field<T: Serialize + ?Sized>(
                &mut self,
                key: &'static str,
                value: &T,
            ) -> Result<()> {
                self.field(key, value)
            }
            fn end(self) -> Result<()> {
                self.finish()
            }
        }
    )*};
}

fields!(SerializeStruct, SerializeStructVariant);

impl ser::SerializeMap for Compound<'_, '_> {
    type Ok = ();
    type Error = Error;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<()> {
        self.comma();
        key.serialize(MapKey(&mut *self.w))
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        self.w.out.push(b':');
        value.serialize(&mut *self.w)
    }
    fn end(self) -> Result<()> {
        self.finish()
    }
}

/// A map key: a string, or a number or bool written as a string (as serde_json does).
struct MapKey<'a, 'o>(&'a mut Writer<'o>);

fn key_must_be_a_string() -> Error {
    Error("key must be a string".into())
}

impl MapKey<'_, '_> {
    fn quoted(self, text: &str) -> Result<()> {
        write_str(self.0.out, text);
        Ok(())
    }
}

impl ser::Serializer for MapKey<'_, '_> {
    type Ok = ();
    type Error = Error;
    type SerializeSeq = ser::Impossible<(), Error>;
    type SerializeTuple = ser::Impossible<(), Error>;
    type SerializeTupleStruct = ser::Impossible<(), Error>;
    type SerializeTupleVariant = ser::Impossible<(), Error>;
    type SerializeMap = ser::Impossible<(), Error>;
    type SerializeStruct = ser::Impossible<(), Error>;
    type SerializeStructVariant = ser::Impossible<(), Error>;

    fn serialize_str(self, v: &str) -> Result<()> {
        self.quoted(v)
    }
    fn serialize_char(self, v: char) -> Result<()> {
        self.quoted(v.encode_utf8(&mut [0; 4]))
    }
    fn serialize_bool(self, v: bool) -> Result<()> {
        self.quoted(if v { "true" } else { "false" })
    }
    integers!(self, v => self.quoted(itoa::Buffer::new().format(v)));
    fn serialize_unit_variant(self, _: &'static str, _: u32, variant: &'static str) -> Result<()> {
        self.quoted(variant)
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<()> {
        value.serialize(self)
    }
    fn serialize_f32(self, _: f32) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_f64(self, _: f64) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_bytes(self, _: &[u8]) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_none(self) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, _: &T) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit(self) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: &T,
    ) -> Result<()> {
        Err(key_must_be_a_string())
    }
    fn serialize_seq(self, _: Option<usize>) -> Result<Self::SerializeSeq> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple(self, _: usize) -> Result<Self::SerializeTuple> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_struct(
        self,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant> {
        Err(key_must_be_a_string())
    }
    fn serialize_map(self, _: Option<usize>) -> Result<Self::SerializeMap> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct(self, _: &'static str, _: usize) -> Result<Self::SerializeStruct> {
        Err(key_must_be_a_string())
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant> {
        Err(key_must_be_a_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    fn ours<T: Serialize>(v: &T) -> String {
        let mut out = Vec::new();
        to_writer(&mut out, v).unwrap();
        String::from_utf8(out).unwrap()
    }

    /// Every string of up to three bytes from an alphabet of the interesting ones, at
    /// every offset of a longer clean run (so each lands in and across the 8-byte
    /// words), escapes exactly as serde_json escapes it.
    #[test]
    fn strings_escape_as_serde_json_does() {
        let alphabet = [
            "a", "\"", "\\", "\u{0}", "\u{8}", "\t", "\n", "\u{b}", "\u{c}", "\r", "\u{1f}", " ",
            "\u{7f}", "é", "\u{2028}", "📦", "/",
        ];
        for a in alphabet {
            for b in alphabet {
                for c in alphabet {
                    for pad in 0..10 {
                        let s = format!("{}{a}{b}{}{c}", "x".repeat(pad), "yz".repeat(pad));
                        assert_eq!(ours(&s), serde_json::to_string(&s).unwrap(), "{s:?}");
                    }
                }
            }
        }
    }

    /// The fast paths split strings by length (under 4, under 8, whole words and an
    /// overlapping last word, over 16 to copy): every length up to 40, clean and with
    /// one escape at every position, each after output of every alignment.
    #[test]
    fn every_length_and_escape_position_writes_as_serde_json_does() {
        for len in 0..=40 {
            let clean: String = (0..len).map(|i| (b'a' + (i % 26) as u8) as char).collect();
            let mut cases = vec![clean.clone()];
            for at in 0..len {
                for esc in ['"', '\\', '\n', '\u{1}'] {
                    let mut s = clean.clone().into_bytes();
                    s[at] = esc as u8;
                    cases.push(String::from_utf8(s).unwrap());
                }
            }
            for s in cases {
                for prefix in 0..8 {
                    let mut out = vec![b'-'; prefix];
                    write_str(&mut out, &s);
                    let want = format!(
                        "{}{}",
                        "-".repeat(prefix),
                        serde_json::to_string(&s).unwrap()
                    );
                    assert_eq!(String::from_utf8(out).unwrap(), want, "{s:?}");
                }
            }
        }
    }

    #[test]
    fn append_copies_every_length_exactly() {
        let src: Vec<u8> = (0..40).map(|i| i as u8 + 1).collect();
        for len in 0..=40 {
            for prefix in 0..8 {
                let mut out = vec![0xff; prefix];
                out.shrink_to_fit();
                append(&mut out, &src[..len]);
                assert_eq!(out.len(), prefix + len);
                assert!(out[..prefix].iter().all(|&b| b == 0xff));
                assert_eq!(&out[prefix..], &src[..len]);
            }
        }
    }

    #[derive(Serialize)]
    #[serde(rename_all = "camelCase")]
    struct Shape<'a> {
        plain: &'a str,
        optional: Option<&'a str>,
        missing: Option<u8>,
        #[serde(skip_serializing_if = "Option::is_none")]
        skipped: Option<u8>,
        numbers: (i64, u64, i8, f64, f64, f32),
        nested: Vec<Inner>,
        unit: (),
        kind: Kind,
        tagged: Vec<Kind>,
        map: std::collections::BTreeMap<i32, bool>,
        bytes: &'a [u8],
    }

    #[derive(Serialize)]
    struct Inner {
        flag: bool,
        ch: char,
    }

    #[derive(Serialize)]
    enum Kind {
        Plain,
        New(i32),
        Tuple(i32, &'static str),
        Fields { a: u8 },
    }

    #[test]
    fn values_and_shapes_serialize_as_serde_json_does() {
        let shape = Shape {
            plain: "São \"Paulo\"\n",
            optional: Some("x"),
            missing: None,
            skipped: None,
            numbers: (i64::MIN, u64::MAX, -1, 1.5e300, f64::NAN, 0.1),
            nested: vec![
                Inner {
                    flag: true,
                    ch: '"',
                },
                Inner {
                    flag: false,
                    ch: 'ç',
                },
            ],
            unit: (),
            kind: Kind::Plain,
            tagged: vec![Kind::New(-3), Kind::Tuple(1, "t"), Kind::Fields { a: 2 }],
            map: [(1, true), (-2, false)].into_iter().collect(),
            bytes: b"\x00\xff",
        };
        assert_eq!(ours(&shape), serde_json::to_string(&shape).unwrap());
        let value = serde_json::json!({
            "a": [1, -2.5, "três", null, true, {"b\"c": []}],
            "": {},
        });
        assert_eq!(ours(&value), serde_json::to_string(&value).unwrap());
    }

    #[test]
    fn a_map_key_that_is_not_a_string_is_an_error() {
        let map: std::collections::BTreeMap<Vec<u8>, u8> = [(vec![1], 1)].into_iter().collect();
        assert!(to_writer(&mut Vec::new(), &map).is_err());
        assert!(serde_json::to_string(&map).is_err());
    }
}
