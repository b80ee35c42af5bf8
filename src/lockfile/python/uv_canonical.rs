//! Reading a piece of `uv.lock` exactly as uv writes it, without a TOML parser.
//!
//! toml spends ~30 M instructions on a 500 KB lockfile (it tokenises every wheel's inline
//! table, builds a document, then deserialises it), most of an audit. uv writes a narrow
//! shape: `key = value` lines under `[[package]]` and `[package.*]` headers, with values
//! that are plain strings, integers, single-line inline tables and arrays. This module
//! reads that shape and nothing else: a comment, an escape, a quoted or dotted key, a
//! `\r`, a non-ASCII byte, a key or table given twice, a value of a type serde would
//! refuse, a missing name or source — anything where TOML's reading could differ or fail —
//! makes it return `None`, and the caller reads the piece with toml. So it never accepts
//! text toml would reject, and what it reads is what toml reads (the tests compare both on
//! real lockfiles and on damaged ones).

use std::borrow::Cow;
use std::collections::BTreeMap;

use super::uv::{Dep, Entry, SourceSpec};
use crate::lockfile::cargo::PACKAGE_HEADER;

/// Nesting deeper than this is left to toml (uv writes at most three levels).
const MAX_DEPTH: u8 = 8;

/// What the top of the file (before the first `[[package]]`) holds.
#[derive(Debug, PartialEq)]
pub(super) struct Header<'a> {
    pub version: u32,
    pub members: Vec<Cow<'a, str>>,
}

/// Reads the part before the first package: `version = N`, other top-level keys and
/// tables, `[manifest]` with its `members`.
pub(super) fn header(piece: &str) -> Option<Header<'_>> {
    let mut version = None;
    let mut members = Vec::new();
    let mut cursor = Cursor { text: piece, at: 0 };
    cursor.tables("", |c, event| match event {
        Event::Header(path) => {
            let first = first_key(path);
            // A package before the first `[[package]]` line, or `members` as a table:
            // neither is uv's, and toml's reading of them is toml's business.
            if first == "package"
                || (first == "manifest"
                    && first_key(below(path, "manifest").unwrap_or("")) == "members")
            {
                return None;
            }
            Some(())
        }
        Event::Value("", "version") => {
            version = Some(u32::try_from(c.integer()?).ok()?);
            Some(())
        }
        Event::Value("", "package" | "manifest") => None,
        Event::Value("manifest", "members") => c.array(|c| {
            members.push(Cow::Borrowed(c.string()?));
            Some(())
        }),
        Event::Value(..) => c.skip(0),
    })?;
    Some(Header {
        version: version?,
        members,
    })
}

/// Keys of a package serde reads; anything else is skipped (but still checked).
const PACKAGE_KEYS: &[&str] = &[
    "name",
    "version",
    "source",
    "dependencies",
    "optional-dependencies",
    "dev-dependencies",
    "sdist",
    "wheels",
];

/// Reads a piece that starts with the line `[[package]]` (on line `line` of the file).
pub(super) fn package(piece: &str, line: u32) -> Option<Entry<'_>> {
    let body = piece.strip_prefix(PACKAGE_HEADER)?.strip_prefix('\n')?;
    let mut cursor = Cursor {
        text: piece,
        at: piece.len() - body.len(),
    };
    let mut name = None;
    let mut version = None;
    let mut source = None;
    let mut dependencies = Vec::new();
    let mut optional_dependencies = BTreeMap::new();
    let mut dev_dependencies = BTreeMap::new();
    let mut sdist = None;
    let mut wheels = Vec::new();
    cursor.tables("package", |c, event| match event {
        Event::Header(path) => {
            let rest = below(path, "package")?;
            let known = PACKAGE_KEYS.contains(&first_key(rest));
            // The two dependency tables are read below; any other known key written as a
            // table is not uv's shape.
            (!known || rest == "optional-dependencies" || rest == "dev-dependencies").then_some(())
        }
        Event::Value("package", key) => {
            match key {
                "name" => name = Some(Cow::Borrowed(c.string()?)),
                "version" => version = Some(Cow::Borrowed(c.string()?)),
                "source" => source = Some(c.source()?),
                "dependencies" => c.array(|c| {
                    dependencies.push(c.dep()?);
                    Some(())
                })?,
                "sdist" => sdist = Some(c.artifact_hash()?),
                "wheels" => c.array(|c| {
                    wheels.push(c.artifact_hash()?);
                    Some(())
                })?,
                "optional-dependencies" | "dev-dependencies" => return None,
                _ => c.skip(0)?,
            }
            Some(())
        }
        Event::Value(
            table @ ("package.optional-dependencies" | "package.dev-dependencies"),
            key,
        ) => {
            let mut list = Vec::new();
            c.array(|c| {
                list.push(c.dep()?);
                Some(())
            })?;
            let groups = if table == "package.optional-dependencies" {
                &mut optional_dependencies
            } else {
                &mut dev_dependencies
            };
            // Keys are unique within a table (checked by `tables`), so nothing is replaced.
            groups.insert(Cow::Borrowed(key), list);
            Some(())
        }
        Event::Value(..) => c.skip(0),
    })?;
    let hashes = sdist
        .into_iter()
        .chain(wheels)
        .flatten()
        .map(Cow::Borrowed)
        .collect();
    Some(Entry {
        name: name?,
        version,
        source: source?,
        dependencies,
        optional_dependencies,
        dev_dependencies,
        hashes,
        line,
    })
}

/// What [`Cursor::tables`] reports: a `[table]` header (its dotted path), or a `key =`
/// in a table, with the cursor at its value, which the handler must read.
enum Event<'a> {
    Header(&'a str),
    Value(&'a str, &'a str),
}

/// The first key of a dotted path.
fn first_key(path: &str) -> &str {
    path.split('.').next().unwrap_or(path)
}

/// The rest of `path` below table `parent` (`""` being the root), if it is below it.
fn below<'p>(path: &'p str, parent: &str) -> Option<&'p str> {
    if parent.is_empty() {
        return Some(path);
    }
    path.strip_prefix(parent)?.strip_prefix('.')
}

/// A table defined in the piece: its header's path and the keys given in it.
struct Table<'a> {
    path: &'a str,
    keys: Vec<&'a str>,
}

/// Bytes that stand for themselves in a basic string: printable ASCII and tab, but not
/// `"` or `\`. Anything else (an escape, a control character, a non-ASCII byte) is left to
/// toml.
const PLAIN: [bool; 256] = {
    let mut plain = [false; 256];
    let mut b = 0x20;
    while b < 0x7f {
        plain[b] = b != b'"' as usize && b != b'\\' as usize;
        b += 1;
    }
    plain[b'\t' as usize] = true;
    plain
};

/// Whether all eight bytes are printable ASCII other than `"` and `\` (a tab counts as
/// not plain here; the byte loop takes it).
fn all_plain(word: u64) -> bool {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGH: u64 = 0x8080_8080_8080_8080;
    // A byte below `n` (n <= 0x80) sets its high bit in `(w - n) & !w`; a zero byte is one
    // below 1. Borrows can flag a byte after a real hit, never without one.
    let below = |w: u64, n: u64| w.wrapping_sub(ONES * n) & !w & HIGH;
    let zero_at = |w: u64| below(w, 1);
    let special = below(word, 0x20)
        | zero_at(word ^ (ONES * u64::from(b'"')))
        | zero_at(word ^ (ONES * u64::from(b'\\')))
        | zero_at(word ^ (ONES * 0x7f))
        | (word & HIGH);
    special == 0
}

struct Cursor<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    fn eat(&mut self, b: u8) -> Option<()> {
        (self.peek()? == b).then(|| self.at += 1)
    }

    /// TOML's white space: space and tab.
    fn spaces(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.at += 1;
        }
    }

    /// White space and newlines, as allowed between an array's items.
    fn blanks(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n')) {
            self.at += 1;
        }
    }

    fn end_of_line(&mut self) -> Option<()> {
        match self.peek() {
            None => Some(()),
            Some(b'\n') => {
                self.at += 1;
                Some(())
            }
            Some(_) => None,
        }
    }

    /// A bare key.
    fn key(&mut self) -> Option<&'a str> {
        let start = self.at;
        while matches!(
            self.peek(),
            Some(b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'_' | b'-')
        ) {
            self.at += 1;
        }
        if self.at == start {
            return None;
        }
        self.text.get(start..self.at)
    }

    /// A basic string of plain bytes; its content is then the string. `"""` fails in the
    /// caller: the empty string is followed by a quote, not a delimiter.
    fn string(&mut self) -> Option<&'a str> {
        self.eat(b'"')?;
        let start = self.at;
        let bytes = self.text.as_bytes();
        // Eight bytes at a time while none needs a look (URLs and hashes are long), then
        // byte by byte.
        while let Some(word) = bytes.get(self.at..self.at + 8) {
            let mut eight = [0; 8];
            eight.copy_from_slice(word);
            if !all_plain(u64::from_le_bytes(eight)) {
                break;
            }
            self.at += 8;
        }
        while PLAIN[usize::from(*bytes.get(self.at)?)] {
            self.at += 1;
        }
        self.eat(b'"')?;
        self.text.get(start..self.at - 1)
    }

    /// A decimal integer as uv writes it: no sign, no leading zero, no `_`, and small
    /// enough for any integer type (so no date, float or overflow).
    fn integer(&mut self) -> Option<u64> {
        let start = self.at;
        while matches!(self.peek(), Some(b'0'..=b'9')) {
            self.at += 1;
        }
        let digits = self.text.get(start..self.at)?;
        if digits.is_empty() || digits.len() > 18 || (digits.len() > 1 && digits.starts_with('0')) {
            return None;
        }
        self.delimited()?;
        digits.parse().ok()
    }

    /// A value ends at white space, a newline, `,`, `]`, `}` or the end.
    fn delimited(&self) -> Option<()> {
        matches!(
            self.peek(),
            None | Some(b' ' | b'\t' | b'\n' | b',' | b']' | b'}')
        )
        .then_some(())
    }

    fn boolean(&mut self) -> Option<()> {
        let rest = self.text.get(self.at..)?;
        let word = ["true", "false"]
            .into_iter()
            .find(|w| rest.starts_with(w))?;
        self.at += word.len();
        self.delimited()
    }

    /// Checks a value of a key serde ignores: it must still be valid TOML.
    fn skip(&mut self, depth: u8) -> Option<()> {
        match self.peek()? {
            b'"' => self.string().map(drop),
            b'0'..=b'9' => self.integer().map(drop),
            b't' | b'f' => self.boolean(),
            b'[' if depth < MAX_DEPTH => self.array(|c| c.skip(depth + 1)),
            b'{' if depth < MAX_DEPTH => self.inline_table(|c, _| c.skip(depth + 1)),
            _ => None,
        }
    }

    /// `[ item, item, ]`, over lines or not; `item` reads each.
    fn array(&mut self, mut item: impl FnMut(&mut Self) -> Option<()>) -> Option<()> {
        self.eat(b'[')?;
        loop {
            self.blanks();
            if self.eat(b']').is_some() {
                return Some(());
            }
            item(self)?;
            self.blanks();
            match self.peek()? {
                b',' => self.at += 1,
                b']' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `{ key = value, ... }` on one line, each key once; `field` reads each value.
    fn inline_table(
        &mut self,
        mut field: impl FnMut(&mut Self, &'a str) -> Option<()>,
    ) -> Option<()> {
        self.eat(b'{')?;
        self.spaces();
        if self.eat(b'}').is_some() {
            return Some(());
        }
        let mut keys = [""; 8];
        let mut count = 0;
        loop {
            let key = self.key()?;
            if count == keys.len() || keys[..count].contains(&key) {
                return None;
            }
            keys[count] = key;
            count += 1;
            self.spaces();
            self.eat(b'=')?;
            self.spaces();
            field(self, key)?;
            self.spaces();
            match self.peek()? {
                b',' => {
                    self.at += 1;
                    self.spaces();
                }
                b'}' => {
                    self.at += 1;
                    return Some(());
                }
                _ => return None,
            }
        }
    }

    /// `{ key = "value" }`, the only shape of source uv writes.
    fn source(&mut self) -> Option<SourceSpec<'a>> {
        let mut only = None;
        let mut count = 0;
        self.inline_table(|c, key| {
            count += 1;
            only = Some((key, c.string()?));
            Some(())
        })?;
        let (key, value) = only.filter(|_| count == 1)?;
        Some(SourceSpec::One(Cow::Borrowed(key), Cow::Borrowed(value)))
    }

    /// `{ name = "...", version = "...", source = {...}, extra = [...], ... }`.
    fn dep(&mut self) -> Option<Dep<'a>> {
        let mut name = None;
        let mut version = None;
        let mut source = None;
        let mut extra = Vec::new();
        self.inline_table(|c, key| {
            match key {
                "name" => name = Some(Cow::Borrowed(c.string()?)),
                "version" => version = Some(Cow::Borrowed(c.string()?)),
                "source" => source = Some(c.source()?),
                "extra" => c.array(|c| {
                    extra.push(Cow::Borrowed(c.string()?));
                    Some(())
                })?,
                _ => c.skip(1)?,
            }
            Some(())
        })?;
        Some(Dep {
            name: name?,
            version,
            source,
            extra,
        })
    }

    /// An sdist or wheel table: its `hash`, if it has one.
    fn artifact_hash(&mut self) -> Option<Option<&'a str>> {
        let mut hash = None;
        self.inline_table(|c, key| {
            if key == "hash" {
                hash = Some(c.string()?);
            } else {
                c.skip(1)?;
            }
            Some(())
        })?;
        Some(hash)
    }

    /// The lines of a piece from the cursor on: blank lines, `[dotted.header]` lines and
    /// `key = value` lines, in tables below `root`. Checks what TOML requires of tables
    /// (no key or table defined twice, no table over a key's value) and, to be sure toml
    /// reads it the same, that no table is opened after one below it.
    fn tables(
        &mut self,
        root: &'a str,
        mut on: impl FnMut(&mut Self, Event<'a>) -> Option<()>,
    ) -> Option<()> {
        let mut tables = vec![Table {
            path: root,
            keys: Vec::new(),
        }];
        while let Some(b) = self.peek() {
            if b == b'\n' {
                self.at += 1;
                continue;
            }
            if b == b'[' {
                self.at += 1;
                let start = self.at;
                loop {
                    self.key()?;
                    if self.eat(b'.').is_none() {
                        break;
                    }
                }
                let path = self.text.get(start..self.at)?;
                self.eat(b']')?;
                self.end_of_line()?;
                below(path, root)?;
                for table in &tables {
                    // Defined twice, or opened after a table below it.
                    if table.path == path || below(table.path, path).is_some() {
                        return None;
                    }
                    // Over a key of an enclosing table.
                    if let Some(rest) = below(path, table.path)
                        && table.keys.contains(&first_key(rest))
                    {
                        return None;
                    }
                }
                on(self, Event::Header(path))?;
                tables.push(Table {
                    path,
                    keys: Vec::new(),
                });
                continue;
            }
            let key = self.key()?;
            self.spaces();
            self.eat(b'=')?;
            self.spaces();
            let table = tables.last()?;
            let path = table.path;
            if table.keys.contains(&key)
                || tables
                    .iter()
                    .any(|t| below(t.path, path).is_some_and(|rest| first_key(rest) == key))
            {
                return None;
            }
            on(self, Event::Value(path, key))?;
            tables.last_mut()?.keys.push(key);
            self.spaces();
            self.end_of_line()?;
        }
        Some(())
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::lockfile::python::uv::{
        header_with_toml, package_with_toml, parse, piece_starts, read_in_pieces, read_with_toml,
        resolve,
    };

    const REAL: &[&str] = &[
        include_str!("../../../fixtures/bench/python-large/uv.lock"),
        include_str!("../../../fixtures/python/uv/uv.lock"),
        include_str!("../../../fixtures/python/uv-editable/uv.lock"),
        include_str!("../../../fixtures/python/uv-workspace/uv.lock"),
    ];

    /// The pieces of `text` and the line each starts on.
    fn split(text: &str) -> Vec<(&str, u32)> {
        let starts = piece_starts(text);
        starts
            .iter()
            .enumerate()
            .map(|(k, &(start, line))| {
                let end = starts.get(k + 1).map_or(text.len(), |n| n.0);
                (&text[start..end], line)
            })
            .collect()
    }

    /// Whenever this reader accepts a piece, toml reads it the same way.
    fn agrees(piece: &str, line: u32, first: bool) -> Result<bool, TestCaseError> {
        let accepted = if first {
            header(piece).map(|ours| {
                let toml = header_with_toml(piece);
                (toml.as_ref() == Some(&ours), format!("{ours:?} / {toml:?}"))
            })
        } else {
            package(piece, line).map(|ours| {
                let toml = package_with_toml(piece, line);
                (toml.as_ref() == Some(&ours), format!("{ours:?} / {toml:?}"))
            })
        };
        let Some((same, both)) = accepted else {
            return Ok(false);
        };
        prop_assert!(
            piece.parse::<toml::Table>().is_ok(),
            "accepted what toml refuses: {piece:?}"
        );
        prop_assert!(same, "read differently from toml: {piece:?}: {both}");
        Ok(true)
    }

    /// The whole result, errors included, is what toml's reading of the whole file gives.
    fn same_as_toml(text: &str) -> Result<(), TestCaseError> {
        if let Some(pieces) = read_in_pieces(text) {
            let whole = read_with_toml(text);
            prop_assert!(whole.is_ok(), "pieces read what toml refuses: {text:?}");
            prop_assert_eq!(Ok(pieces), whole, "{:?}", text);
        }
        let reference = read_with_toml(text).and_then(|lock| resolve(&lock));
        prop_assert_eq!(
            format!("{:?}", parse(text)),
            format!("{reference:?}"),
            "{:?}",
            text
        );
        Ok(())
    }

    #[test]
    fn reads_every_piece_uv_wrote_as_toml_does() {
        for text in REAL {
            for (k, (piece, line)) in split(text).into_iter().enumerate() {
                assert!(agrees(piece, line, k == 0).unwrap(), "not taken: {piece:?}");
            }
            same_as_toml(text).unwrap();
            let crlf = text.replace('\n', "\r\n");
            same_as_toml(&crlf).unwrap();
            assert!(
                read_in_pieces(&crlf).is_some(),
                "CRLF pieces go to toml one by one"
            );
        }
    }

    #[test]
    fn anything_else_goes_to_toml() {
        let plain = "[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { registry = \"r\" }\n";
        for odd in [
            // Strings toml would decode, or refuse.
            "[[package]]\nname = \"a\\u0062\"\nsource = { registry = \"r\" }\n",
            "[[package]]\nname = 'a'\nsource = { registry = \"r\" }\n",
            "[[package]]\nname = \"\"\"a\"\"\"\nsource = { registry = \"r\" }\n",
            "[[package]]\nname = \"a\u{1}\"\nsource = { registry = \"r\" }\n",
            "[[package]]\nname = \"é\"\nsource = { registry = \"r\" }\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nsdist = { hash = \"sha256:\\\"\" }\n",
            // Keys and tables given twice, or a table over a key.
            "[[package]]\nname = \"a\"\nname = \"b\"\nsource = { registry = \"r\" }\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\", registry = \"s\" }\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\n[package.metadata]\n[package.metadata]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\n[package.metadata]\nx = 1\n[package.metadata.x]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\n[package.metadata.x]\n[package.metadata]\nx = 1\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nmetadata = {}\n[package.metadata]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\n[package]\n",
            // What serde reads, in a shape other than uv's or of another type.
            "[[package]]\nname = \"a\"\n[package.source]\nregistry = \"r\"\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\noptional-dependencies = {}\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\n[package.dev-dependencies.dev]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\", subdirectory = \"s\" }\n",
            "[[package]]\nname = \"a\"\nsource = { registry = 1 }\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\ndependencies = [\"b\"]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\ndependencies = [{ version = \"1\" }]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nwheels = { hash = \"h\" }\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nsdist = { hash = 1 }\n",
            "[[package]]\nname = \"a\"\n",
            "[[package]]\nsource = { registry = \"r\" }\n",
            // Syntax beyond what uv writes.
            "[[package]]\nname = \"a\" # comment\nsource = { registry = \"r\" }\n",
            "[[package]]\r\nname = \"a\"\r\nsource = { registry = \"r\" }\r\n",
            "[[package]] \nname = \"a\"\nsource = { registry = \"r\" }\n",
            "[[package]]\n name = \"a\"\nsource = { registry = \"r\" }\n",
            "[[package]]\nname.x = \"a\"\nsource = { registry = \"r\" }\n",
            "[[package]]\n\"name\" = \"a\"\nsource = { registry = \"r\" }\n",
            "[[package]]\nname = \"a\"\nsource = {\n registry = \"r\" }\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\", }\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nsize = 01\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nsize = 1_0\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nsize = 1.5\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nat = 1979-05-27\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nsize = 99999999999999999999\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nx = [1,,2]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nx = [[[[[[[[[[1]]]]]]]]]]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\n[[package.x]]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\n[manifest]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\n[ package.metadata ]\n",
        ] {
            assert!(package(odd, 1).is_none(), "{odd:?}");
        }
        for odd in [
            "revision = 3\n",
            "version = 1\nversion = 1\n",
            "version = -1\n",
            "version = 4294967296\n",
            "version = \"1\"\n",
            "version = 1\n[package.x]\n",
            "version = 1\npackage = []\n",
            "version = 1\n[[package]] # a package in the header\n",
            "version = 1\n[manifest]\nmembers = [\"a\", 1]\n",
            "version = 1\n[manifest.members]\n",
            "version = 1\nmanifest = { members = [] }\n",
            "\u{feff}version = 1\n",
        ] {
            assert!(header(odd).is_none(), "{odd:?}");
        }
        assert!(package(plain, 1).is_some());
        assert!(header("version = 1\n").is_some());
    }

    /// The pieces are read apart only when toml, reading the whole file, would agree.
    #[test]
    fn files_pieces_cannot_describe_are_read_whole() {
        let head = "version = 1\n\n";
        let package = "[[package]]\nname = \"a\"\nversion = \"1\"\nsource = { registry = \"r\" }\n";
        for text in [
            // A `[[package]]` line inside a multi-line string: not a package.
            format!("{head}x = \"\"\"\n[[package]]\nname = \"evil\"\n\"\"\"\n"),
            // A top-level table after a package, and one defined twice.
            format!("{head}{package}\n[manifest]\nmembers = [\"a\"]\n"),
            format!("{head}[manifest]\n{package}\n[manifest]\n"),
            // Packages before the first `[[package]]` line, or without a header at all.
            package.to_string(),
            format!(
                "{head}[[package]] # first\nname = \"b\"\nsource = {{ registry = \"r\" }}\n{package}"
            ),
            // Malformed: the error must be toml's, where toml finds it.
            format!("{head}{package}dependencies = [\n"),
            format!("{head}{package}{package}name = 3\n"),
        ] {
            assert!(read_in_pieces(&text).is_none(), "{text:?}");
            same_as_toml(&text).unwrap();
        }
        let err = parse(&format!("{head}{package}{package}name = 3\n")).unwrap_err();
        assert_eq!(
            (err.line, err.message.as_str()),
            (11, "invalid uv.lock: duplicate key")
        );
    }

    #[test]
    fn what_uv_writes_and_toml_reads_alike_is_taken() {
        for piece in [
            "[[package]]\nname = \"a\"\nsource = { git = \"https://example.invalid/a?rev=1#abc\" }\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nsdist = { url = \"u\" }\nwheels = [{ hash = \"h\" }, {}]\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nmarker = \"a\tb\"\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\nx = [true, false, 0, \"\", [], {}]\n\n\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\n[package.metadata.requires-dev]\ndev = []\n",
            "[[package]]\nname = \"a\"\nsource = { registry = \"r\" }\ndependencies = [\n    { name = \"b\", version = \"1\", source = { registry = \"r\" }, extra = [\"x\"] },\n]\n[package.optional-dependencies]\nx = [{ name = \"c\" }]\ny = []\n",
        ] {
            assert!(agrees(piece, 7, false).unwrap(), "not taken: {piece:?}");
        }
    }

    const INSERTS: &[&str] = &[
        "\"",
        "\\",
        "\r",
        "\t",
        " ",
        "#",
        "=",
        "[",
        "]",
        "{",
        "}",
        ",",
        ".",
        "'",
        "a",
        "0",
        "-",
        "\u{7f}",
        "\u{1}",
        "é",
        "\n",
        "\n\n",
        "\"\"",
        "\"\"\"",
        " = ",
        "1_0",
        "true",
        "\\u0041",
        "[package.metadata]\n",
        "[manifest]\n",
        "\n[[package]]\n",
        "name = \"x\"\n",
        "source = { registry = \"r\" }\n",
        "dependencies = [\n",
        "{ name = \"idna\" }",
    ];

    fn damage(text: &str, at: prop::sample::Index, insert: &str, delete: usize) -> String {
        let mut cut = at.index(text.len() + 1);
        while !text.is_char_boundary(cut) {
            cut -= 1;
        }
        let mut end = (cut + delete).min(text.len());
        while !text.is_char_boundary(end) {
            end += 1;
        }
        format!("{}{insert}{}", &text[..cut], &text[end..])
    }

    proptest! {
        /// Damage anywhere in a real piece: accepted only when toml reads it the same.
        #[test]
        fn damaged_pieces_are_read_as_toml_reads_them_or_left_to_it(
            file in 0usize..REAL.len(),
            which in 0usize..64,
            at in any::<prop::sample::Index>(),
            insert in prop::sample::select(INSERTS),
            delete in 0usize..4,
        ) {
            let pieces = split(REAL[file]);
            let k = which % pieces.len();
            let (piece, line) = pieces[k];
            agrees(&damage(piece, at, insert, delete), line, k == 0)?;
        }

        /// Damage anywhere in a whole file: the same packages, or the same error, as when
        /// toml reads all of it.
        #[test]
        fn damaged_files_read_as_toml_reads_them(
            file in 1usize..REAL.len(),
            at in any::<prop::sample::Index>(),
            insert in prop::sample::select(INSERTS),
            delete in 0usize..4,
        ) {
            same_as_toml(&damage(REAL[file], at, insert, delete))?;
        }
    }
}
