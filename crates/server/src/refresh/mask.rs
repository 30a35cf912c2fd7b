//! Masking: personal values replaced by deterministic stand-ins of the same shape.
//!
//! Which properties are personal is declared per schema in the catalog (`personal.json`); a
//! resource's masked properties are those declared by any schema its records are served
//! through, nested ones included. Each run of letters or digits in a value is replaced by a
//! run of the same length and kind (letters keep their case and their vowel/consonant pattern,
//! digits stay digits, punctuation stays), chosen by an HMAC of the run under a key of the
//! tenant. So the same input always gives the same output (filters and joins on these values
//! still work), a phone number still looks like one, and without the key the originals cannot
//! be recovered by trying a dictionary.

use std::collections::{HashMap, HashSet};

use fieldgate_catalog::{Catalog, OpKind};
use hmac::{Hmac, Mac};
use serde_json::Value;
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

/// Property names and stand-ins are looked up for every key and every run of every document
/// masked: a fast hash instead of SipHash, which took a fifth of a masked refresh.
type Fast = foldhash::fast::RandomState;
type Names = HashSet<String, Fast>;

const VOWELS: &[u8] = b"aeiou";
const CONSONANTS: &[u8] = b"bcdfghjklmnprstvwz";

/// Masks the documents of one tenant's dataset.
pub struct Masker {
    mac: HmacSha256,
    fields: HashMap<String, Personal>,
    /// Stand-ins made so far: names and streets repeat a lot.
    made: Made,
}

/// A resource's personal property names, and which (length, first byte) pairs they come in:
/// most keys of a document are ruled out by those two alone, before any hashing.
struct Personal {
    names: Names,
    shapes: [u64; 64],
}

impl Personal {
    fn new(names: Names) -> Self {
        let mut shapes = [0u64; 64];
        for name in &names {
            let (row, bit) = Self::shape(name);
            shapes[row] |= bit;
        }
        Self { names, shapes }
    }

    fn shape(key: &str) -> (usize, u64) {
        let first = key.as_bytes().first().copied().unwrap_or(0);
        (key.len().min(63), 1 << (first & 63))
    }

    fn contains(&self, key: &str) -> bool {
        let (row, bit) = Self::shape(key);
        self.shapes[row] & bit != 0 && self.names.contains(key)
    }
}

/// Stand-ins already made, in shards so the threads masking a copy rarely wait on one
/// another. Plain maps under a lock: a lookup here runs several times per document, and an
/// evicting cache's bookkeeping cost more than the HMAC it saves. A shard that grows past its
/// share is emptied; what is dropped is made again, identically.
struct Made {
    shards: Vec<std::sync::Mutex<HashMap<String, String, Fast>>>,
    hasher: Fast,
}

impl Made {
    const SHARDS: usize = 16;
    const PER_SHARD: usize = 32_768;

    fn new() -> Self {
        Self {
            shards: (0..Self::SHARDS).map(|_| Default::default()).collect(),
            hasher: Default::default(),
        }
    }

    /// Appends the stand-in of `run` to `out`, making it first if it is not known.
    fn push(&self, run: &str, out: &mut String, make: impl FnOnce() -> String) {
        use std::hash::BuildHasher;
        let shard = &self.shards[self.hasher.hash_one(run) as usize % Self::SHARDS];
        if let Some(found) = shard.lock().expect("a masking thread panicked").get(run) {
            out.push_str(found);
            return;
        }
        let made = make();
        out.push_str(&made);
        let mut map = shard.lock().expect("a masking thread panicked");
        if map.len() >= Self::PER_SHARD {
            map.clear();
        }
        map.insert(run.to_string(), made);
    }
}

impl Masker {
    /// `key` is the tenant's masking key (derived from the master key, never stored).
    pub fn new(catalog: &Catalog, key: &[u8]) -> Self {
        Self {
            mac: HmacSha256::new_from_slice(key).expect("any key length works"),
            fields: personal_by_resource(catalog)
                .into_iter()
                .map(|(resource, names)| (resource, Personal::new(names.into_iter().collect())))
                .collect(),
            made: Made::new(),
        }
    }

    /// The personal properties of a resource's records, if it has any.
    pub fn fields(&self, resource: &str) -> Option<&Names> {
        self.personal(resource).map(|p| &p.names)
    }

    fn personal(&self, resource: &str) -> Option<&Personal> {
        self.fields.get(resource).filter(|f| !f.names.is_empty())
    }

    /// The document with its personal values replaced, or `None` when it holds none.
    pub fn mask_doc(&self, resource: &str, doc: &str) -> Option<String> {
        let fields = self.personal(resource)?;
        self.mask_text(doc, fields)
    }

    /// Rewrites the personal strings of JSON text in one pass, copying everything else as it
    /// is: a string under a personal property, or in an array under one, gets its stand-in;
    /// an object's members are judged by their own names.
    fn mask_text(&self, doc: &str, fields: &Personal) -> Option<String> {
        let b = doc.as_bytes();
        let mut out = String::new();
        let mut copied = 0;
        // Open containers: whether each is an object, and whether an array's items are
        // personal.
        let mut stack: Vec<(bool, bool)> = Vec::new();
        let (mut expect_key, mut personal) = (false, false);
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'{' => {
                    stack.push((true, false));
                    (expect_key, personal) = (true, false);
                }
                b'[' => {
                    stack.push((false, personal));
                    expect_key = false;
                }
                b'}' | b']' => {
                    stack.pop();
                    expect_key = false;
                    personal = matches!(stack.last(), Some((false, true)));
                }
                b',' => match stack.last() {
                    Some((true, _)) => (expect_key, personal) = (true, false),
                    Some((false, items)) => personal = *items,
                    None => {}
                },
                b'"' => {
                    let end = string_end(b, i)?;
                    let text = &doc[i..end];
                    if expect_key && matches!(stack.last(), Some((true, _))) {
                        personal = if text.contains('\\') {
                            let key: String = serde_json::from_str(text).ok()?;
                            fields.contains(&key)
                        } else {
                            fields.contains(&text[1..text.len() - 1])
                        };
                        expect_key = false;
                    } else if personal && text.len() > 2 {
                        if out.capacity() == 0 {
                            out.reserve(doc.len() + 16);
                        }
                        out.push_str(&doc[copied..i]);
                        copied = end;
                        let raw = &text[1..text.len() - 1];
                        if raw.contains('\\') {
                            let value: String = serde_json::from_str(text).ok()?;
                            out.push_str(&serde_json::to_string(&self.stand_in(&value)).ok()?);
                        } else {
                            // Without escapes the text is the value, and its stand-in (letters
                            // and digits for letters and digits, the rest kept) needs none.
                            out.push('"');
                            self.stand_in_into(raw, &mut out);
                            out.push('"');
                        }
                    }
                    i = end;
                    continue;
                }
                _ => {}
            }
            i += 1;
        }
        (copied > 0).then(|| {
            out.push_str(&doc[copied..]);
            out
        })
    }

    /// The same masking on a parsed document: the reference the text pass is tested against.
    #[cfg(test)]
    fn mask_value(&self, value: &mut Value, fields: &Names, personal: bool) -> bool {
        match value {
            Value::String(s) if personal && !s.is_empty() => {
                *s = self.stand_in(s);
                true
            }
            Value::Array(items) => items
                .iter_mut()
                .fold(false, |c, v| self.mask_value(v, fields, personal) | c),
            Value::Object(map) => map.iter_mut().fold(false, |c, (k, v)| {
                self.mask_value(v, fields, fields.contains(k)) | c
            }),
            _ => false,
        }
    }

    /// The stand-in of one value: each run of letters or digits replaced, the rest kept.
    pub fn stand_in(&self, value: &str) -> String {
        let mut out = String::with_capacity(value.len());
        self.stand_in_into(value, &mut out);
        out
    }

    fn stand_in_into(&self, value: &str, out: &mut String) {
        let mut run_start = None;
        for (at, c) in value.char_indices() {
            match (c.is_alphanumeric(), run_start) {
                (true, None) => run_start = Some(at),
                (true, Some(_)) => {}
                (false, start) => {
                    if let Some(start) = start {
                        self.token(&value[start..at], out);
                        run_start = None;
                    }
                    out.push(c);
                }
            }
        }
        if let Some(start) = run_start {
            self.token(&value[start..], out);
        }
    }

    fn token(&self, run: &str, out: &mut String) {
        self.made.push(run, out, || self.make_token(run))
    }

    fn make_token(&self, run: &str) -> String {
        for salt in 0u8.. {
            let mut bytes = Vec::new();
            let mut block = 0u8;
            while bytes.len() < run.chars().count() {
                let mut mac = self.mac.clone();
                mac.update(&[salt, block]);
                mac.update(run.as_bytes());
                bytes.extend_from_slice(&mac.finalize().into_bytes());
                block += 1;
            }
            let made: String = run
                .chars()
                .zip(bytes)
                .map(|(c, b)| replace_char(c, b))
                .collect();
            // A stand-in never equals what it stands for.
            if !made.eq_ignore_ascii_case(run) {
                return made;
            }
        }
        unreachable!("some salt gives a different token")
    }
}

/// The index just past the string starting at `start` (a `"`), escapes skipped.
fn string_end(b: &[u8], start: usize) -> Option<usize> {
    // Most of a document is the text inside strings: jump between quotes and backslashes.
    let mut j = start + 1;
    while j < b.len() {
        j += memchr::memchr2(b'"', b'\\', &b[j..])?;
        match b[j] {
            b'"' => return Some(j + 1),
            _ => j += 2,
        }
    }
    None
}

fn replace_char(c: char, b: u8) -> char {
    if c.is_ascii_digit() {
        return (b'0' + b % 10) as char;
    }
    if c.is_numeric() {
        return (b'0' + b % 10) as char;
    }
    let vowel = "aeiouyAEIOUY".contains(c);
    let pool = if vowel { VOWELS } else { CONSONANTS };
    let letter = pool[b as usize % pool.len()] as char;
    if c.is_uppercase() {
        letter.to_ascii_uppercase()
    } else {
        letter
    }
}

/// For every resource, the personal properties declared by the schemas its records are shaped by,
/// following references into nested schemas.
pub fn personal_by_resource(catalog: &Catalog) -> HashMap<String, HashSet<String>> {
    let mut out: HashMap<String, HashSet<String>> = HashMap::new();
    for op in &catalog.operations {
        // A record is stored in the shape of the schemas it is served through, plus what a
        // create or update answered with (a customer's create response carries its contacts
        // and locations); the personal properties of all of them are masked.
        let schema = match op.kind {
            OpKind::Get | OpKind::Create | OpKind::Update => op.response_schema.as_deref(),
            OpKind::List | OpKind::Array | OpKind::Export => op.item_schema.as_deref(),
            _ => None,
        };
        let Some(schema) = schema else {
            continue;
        };
        let fields = out.entry(op.resource.clone()).or_default();
        let mut seen = HashSet::new();
        collect(
            catalog,
            &op.module,
            &Value::from(schema_ref(schema)),
            &mut seen,
            fields,
        );
    }
    out
}

fn schema_ref(name: &str) -> serde_json::Map<String, Value> {
    let mut map = serde_json::Map::new();
    map.insert("$ref".into(), Value::from(name));
    map
}

fn collect(
    catalog: &Catalog,
    module: &str,
    schema: &Value,
    seen: &mut HashSet<String>,
    out: &mut HashSet<String>,
) {
    if let Some(name) = schema.get("$ref").and_then(Value::as_str) {
        if seen.insert(name.to_string()) {
            out.extend(catalog.personal_fields(module, name).iter().cloned());
            if let Some(target) = catalog.schema(module, name) {
                collect(catalog, module, target, seen, out);
            }
        }
        return;
    }
    if let Some(props) = schema.get("properties").and_then(Value::as_object) {
        for prop in props.values() {
            collect(catalog, module, prop, seen, out);
        }
    }
    if let Some(items) = schema.get("items") {
        collect(catalog, module, items, seen, out);
    }
    for key in ["oneOf", "allOf", "anyOf"] {
        for option in schema
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            collect(catalog, module, option, seen, out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn masker() -> Masker {
        Masker::new(Catalog::get(), b"tenant key")
    }

    #[test]
    fn stand_ins_keep_the_shape_and_are_deterministic() {
        let m = masker();
        let phone = m.stand_in("(214) 555-0134");
        assert_eq!(phone.len(), "(214) 555-0134".len());
        assert!(phone.starts_with('(') && phone[5..].starts_with(' ') && phone.contains('-'));
        assert_ne!(phone, "(214) 555-0134");
        let email = m.stand_in("john.smith@example.com");
        assert_eq!(email.matches('@').count(), 1);
        assert!(!email.contains("john") && !email.contains("smith"));
        let name = m.stand_in("John Smith");
        assert_eq!(name, m.stand_in("John Smith"));
        assert!(name.chars().next().unwrap().is_uppercase());
        assert_ne!(
            Masker::new(Catalog::get(), b"another tenant").stand_in("John Smith"),
            name
        );
    }

    #[test]
    fn customers_mask_names_and_streets_but_not_ids() {
        let m = masker();
        let fields = m
            .fields("crm/customers")
            .expect("customers hold personal data");
        assert!(fields.contains("name") && fields.contains("street"));
        let doc = r#"{"id":7,"name":"Ann Lee","active":true,"address":{"street":"12 Oak St","zip":"75001"}}"#;
        let masked: Value =
            serde_json::from_str(&m.mask_doc("crm/customers", doc).unwrap()).unwrap();
        assert_eq!(masked["id"], 7);
        assert_eq!(masked["address"]["zip"], "75001");
        assert_ne!(masked["name"], "Ann Lee");
        assert_ne!(masked["address"]["street"], "12 Oak St");
        let no_text = r#"{"id":8,"name":null}"#;
        assert_eq!(m.mask_doc("crm/customers", no_text), None);
    }

    #[test]
    fn the_text_pass_masks_what_the_parsed_pass_masks() {
        let m = masker();
        let fields: Names = ["name", "email", "notes"]
            .map(String::from)
            .into_iter()
            .collect();
        let docs = [
            r#"{"id":1,"name":"Ann \"Q\" Lee","tags":["name","x"],"email":["a@b.co",{"name":"In Array","id":2}],"nested":{"name":"Deep","type":"name"},"notes":[["x y"],[]],"empty":{},"name2":"keep"}"#,
            r#"{ "name" : "Spaced Out" , "list" : [ { "notes" : "n\u00e9e" } ] , "n" : null }"#,
            r#"{"\u006eame":"Escaped Key","id":3}"#,
        ];
        for doc in docs {
            let mut reference: Value = serde_json::from_str(doc).unwrap();
            m.mask_value(&mut reference, &fields, false);
            let text = m
                .mask_text(doc, &Personal::new(fields.clone()))
                .expect("something to mask");
            assert_eq!(
                serde_json::from_str::<Value>(&text).unwrap(),
                reference,
                "{doc}"
            );
        }
        assert_eq!(
            m.mask_text(r#"{"id":1,"name":""}"#, &Personal::new(fields)),
            None
        );
    }
}
