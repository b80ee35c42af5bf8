//! Reading a piece of `Cargo.lock` exactly as cargo writes it, without a TOML parser.
//!
//! The toml crate takes ~10 µs per package (it tokenises, builds a document, then
//! deserialises), most of an audit of 10,000 packages. Cargo writes a fixed shape: a
//! header (comments, `version = N`), then `[[package]]` tables of `key = "string"` lines
//! and a `dependencies = [` list of ` "string",` lines. This module recognises that shape
//! and nothing else: a line in any other form, a string with an escape, a quote or a
//! control character, a key given twice, a missing name or version — anything where
//! TOML's reading could differ or fail — makes it return `None`, and the caller parses
//! the piece with toml. So it never accepts text toml would reject, and what it reads is
//! what toml reads (a test compares both on real lockfiles and on damaged ones).

use std::borrow::Cow;

use super::cargo::{Deps, Entry, PACKAGE_HEADER, Piece};

/// Reads `piece` (starting at byte `start`, on line `line` of the file, with the offsets
/// of its `\n`s in the file) when it has cargo's shape; `None` sends it to toml.
pub(super) fn read<'a>(
    piece: &'a str,
    start: usize,
    line: u32,
    newlines: &[usize],
) -> Option<Piece<'a>> {
    let mut lines = Lines {
        text: piece,
        start,
        at: 0,
        newlines: newlines.iter(),
    };
    if !piece.starts_with(PACKAGE_HEADER) {
        return header(lines, start);
    }
    if lines.next()?.1 != PACKAGE_HEADER {
        return None;
    }
    let mut name = None;
    let mut version = None;
    let mut source = None;
    let mut checksum = None;
    let mut dependencies: Option<Deps<'_>> = None;
    while let Some((offset, text)) = lines.next() {
        if text.is_empty() {
            continue;
        }
        if text == "dependencies = [" {
            if dependencies.is_some() {
                return None;
            }
            // Checked here, read where the edges are resolved (no list built per package).
            let first = lines.at;
            let mut last = first;
            loop {
                let (offset, item) = lines.next()?;
                if item == "]" {
                    break;
                }
                plain_string(item.strip_prefix(' ')?.strip_suffix(',')?)?;
                last = offset + item.len() + 1;
            }
            dependencies = Some(Deps::Lines {
                text: &piece[first..last],
                offset: start + first,
            });
            continue;
        }
        // `key = value`: the key is a bare word, so the first space ends it.
        let space = text.bytes().position(|b| b == b' ')?;
        let (key, value) = (&text[..space], text[space..].strip_prefix(" = ")?);
        let slot = match key {
            "name" => &mut name,
            "version" => &mut version,
            "source" => &mut source,
            "checksum" => &mut checksum,
            _ => return None,
        };
        if slot.is_some() {
            return None;
        }
        *slot = Some((plain_string(value)?, start + offset + key.len() + 3));
    }
    let (name, _) = name?;
    Some(Piece {
        version: None,
        metadata: None,
        entries: vec![Entry {
            name,
            version: version?,
            source,
            checksum,
            dependencies: dependencies.unwrap_or(Deps::Listed(Vec::new())),
            line,
        }],
    })
}

/// The part before the first package: blank lines, comments, `version = N`.
fn header<'a>(lines: Lines<'a, '_>, start: usize) -> Option<Piece<'a>> {
    let mut version = None;
    for (offset, text) in lines {
        if text.is_empty() || (text.starts_with('#') && !text.bytes().any(is_control)) {
            continue;
        }
        let digit = text.strip_prefix("version = ")?;
        if version.is_some() || digit.len() != 1 || !matches!(digit.as_bytes()[0], b'1'..=b'9') {
            return None;
        }
        version = Some((i64::from(digit.as_bytes()[0] - b'0'), start + offset + 10));
    }
    Some(Piece {
        version,
        metadata: None,
        entries: Vec::new(),
    })
}

/// `"text"` with nothing TOML would decode or refuse inside: no quote, no backslash,
/// no control character. Its content is then the string.
fn plain_string(value: &str) -> Option<Cow<'_, str>> {
    let inner = value.strip_prefix('"')?.strip_suffix('"')?;
    inner
        .bytes()
        .all(|b| b != b'"' && b != b'\\' && !is_control(b))
        .then_some(Cow::Borrowed(inner))
}

/// TOML allows tab but no other control character in strings and comments.
fn is_control(b: u8) -> bool {
    (b < 0x20 && b != b'\t') || b == 0x7f
}

/// `\n`-separated lines with their offsets in the piece, cut where the file's list of
/// newlines says; a `\r` stays in its line (a control character: such a piece goes to
/// toml).
struct Lines<'a, 'n> {
    text: &'a str,
    /// The piece's offset in the file.
    start: usize,
    at: usize,
    newlines: std::slice::Iter<'n, usize>,
}

impl<'a> Iterator for Lines<'a, '_> {
    type Item = (usize, &'a str);

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.text.len() {
            return None;
        }
        let end = self
            .newlines
            .next()
            .map_or(self.text.len(), |&nl| nl - self.start);
        let item = (self.at, self.text.get(self.at..end)?);
        self.at = end + 1;
        Some(item)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::lockfile::cargo::{newlines, pieces, read_with_toml};

    const REAL: &[&str] = &[
        include_str!("../../Cargo.lock"),
        include_str!("../../fuzz/Cargo.lock"),
        include_str!("../../fixtures/bench/large/Cargo.lock"),
        include_str!("../../fixtures/cargo/workspace-dev/Cargo.lock"),
    ];

    /// The pieces of `text` with their offsets, lines and newlines.
    fn split(text: &str) -> Vec<(&str, usize, u32, Vec<usize>)> {
        let newlines = newlines(text);
        let starts = pieces(text, &newlines);
        starts
            .iter()
            .enumerate()
            .map(|(k, p)| {
                let end = starts.get(k + 1).map_or(text.len(), |n| n.start);
                let ends = newlines
                    .iter()
                    .copied()
                    .filter(|&nl| nl >= p.start && nl < end)
                    .collect();
                (&text[p.start..end], p.start, p.line, ends)
            })
            .collect()
    }

    /// Whenever this reader accepts a piece, toml reads it the same way.
    fn agrees(piece: &str, start: usize, line: u32) -> Result<bool, TestCaseError> {
        let ends: Vec<usize> = newlines(piece).into_iter().map(|nl| nl + start).collect();
        let Some(ours) = read(piece, start, line, &ends) else {
            return Ok(false);
        };
        let toml = read_with_toml(piece, start, line as usize);
        prop_assert!(
            toml.is_ok(),
            "accepted what toml refuses: {piece:?}: {toml:?}"
        );
        let toml = toml.unwrap();
        prop_assert_eq!(&ours.entries, &toml.entries, "{:?}", piece);
        prop_assert_eq!(ours.version, toml.version, "{:?}", piece);
        prop_assert!(toml.metadata.is_none());
        Ok(true)
    }

    #[test]
    fn reads_every_piece_cargo_wrote_as_toml_does() {
        for text in REAL {
            for (piece, start, line, _) in split(text) {
                assert!(agrees(piece, start, line).unwrap(), "not taken: {piece:?}");
            }
        }
    }

    #[test]
    fn anything_else_goes_to_toml() {
        let package = "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n";
        for odd in [
            "[[package]]\nname = \"a\\u0062\"\nversion = \"1.0.0\"\n",
            "[[package]]\nname = 'a'\nversion = \"1.0.0\"\n",
            "[[package]]\nname = \"a\"\nname = \"b\"\nversion = \"1.0.0\"\n",
            "[[package]]\nname = \"a\"\n",
            "[[package]]\nname = \"a\" # comment\nversion = \"1.0.0\"\n",
            "[[package]]\r\nname = \"a\"\r\nversion = \"1.0.0\"\r\n",
            "[[package]] \nname = \"a\"\nversion = \"1.0.0\"\n",
            "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\ndependencies = [\"b\"]\n",
            "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\nreplace = \"b 1.0.0\"\n",
            "[[package]]\nname = \"a\"\nversion = \"1.0.0\"\n\n[metadata]\n",
            "[[package]]\nname = \"a\\tb\"\nversion = \"1.0.0\"\n",
            "version = 03\n",
            "version = 4\nversion = 4\n",
            "# a comment with a \u{1} control character\n",
        ] {
            assert!(read(odd, 0, 1, &newlines(odd)).is_none(), "{odd:?}");
        }
        assert!(read(package, 0, 1, &newlines(package)).is_some());
    }

    proptest! {
        /// Damage anywhere in a real piece: accepted only when toml reads it the same.
        #[test]
        fn damaged_pieces_are_read_as_toml_reads_them_or_left_to_it(
            which in 0usize..40,
            at in any::<prop::sample::Index>(),
            insert in prop::sample::select(vec![
                "\"", "\\", "\r", "\t", " ", "#", "=", "[", "]", ",", "'", "a", "\u{7f}",
                "\u{1}", "é", "\n", "\n\n", "\"\"", " = ", "dependencies = [\n",
            ]),
            delete in 0usize..3,
        ) {
            let pieces = split(REAL[3]);
            let (piece, start, line, _) = &pieces[which % pieces.len()];
            let (piece, start, line) = (*piece, *start, *line);
            let mut cut = at.index(piece.len() + 1);
            while !piece.is_char_boundary(cut) {
                cut -= 1;
            }
            let mut end = (cut + delete).min(piece.len());
            while !piece.is_char_boundary(end) {
                end += 1;
            }
            let damaged = format!("{}{insert}{}", &piece[..cut], &piece[end..]);
            agrees(&damaged, start, line)?;
        }
    }
}
