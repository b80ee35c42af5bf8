//! Loading YAML lockfiles safely. Lockfiles never use anchors and aliases, and an alias
//! is where YAML's exponential "billion laughs" expansion hides, so a document with any
//! alias is refused before it is built; nesting depth is capped by the parser.

use std::collections::HashMap;

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::Marker;
use yaml_rust2::{Yaml, YamlLoader};

use super::ParseError;

struct AliasFinder(Option<Marker>);

impl MarkedEventReceiver for AliasFinder {
    fn on_event(&mut self, ev: Event, mark: Marker) {
        if matches!(ev, Event::Alias(_)) && self.0.is_none() {
            self.0 = Some(mark);
        }
    }
}

fn located(marker: &Marker, message: String) -> ParseError {
    // The scanner's lines count from 1 and its columns from 0.
    ParseError::new(marker.line().max(1), marker.col() + 1, message)
}

/// Parses one YAML document; `what` names the format for messages.
pub(crate) fn load(text: &str, what: &str) -> Result<Yaml, ParseError> {
    let mut finder = AliasFinder(None);
    Parser::new_from_str(text)
        .load(&mut finder, true)
        .map_err(|e| located(e.marker(), format!("invalid {what}: {}", e.info())))?;
    if let Some(mark) = finder.0 {
        return Err(located(
            &mark,
            format!("invalid {what}: YAML aliases are not used by lockfiles and are refused"),
        ));
    }
    let mut docs = YamlLoader::load_from_str(text)
        .map_err(|e| located(e.marker(), format!("invalid {what}: {}", e.info())))?;
    match docs.len() {
        0 => Ok(Yaml::Hash(Default::default())),
        1 => Ok(docs.remove(0)),
        _ => Err(ParseError::new(
            1,
            1,
            format!("invalid {what}: more than one YAML document"),
        )),
    }
}

/// The 1-based line where each mapping key first starts a line (after indentation), for
/// locations: built in one pass, because looking each package up with a search from the
/// top was quadratic. A quoted key is kept as written between its quotes (undecoded).
pub(crate) struct KeyLines<'a> {
    first: HashMap<&'a str, u32>,
}

impl<'a> KeyLines<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        let mut first = HashMap::new();
        for (i, line) in text.lines().enumerate() {
            let t = line.trim_start();
            let key = match t.as_bytes().first() {
                Some(&q @ (b'\'' | b'"')) => {
                    let close = [q as char, ':'];
                    let close: String = close.iter().collect();
                    t[1..].find(&close).map(|end| &t[1..1 + end])
                }
                _ => plain_key(t),
            };
            if let Some(key) = key {
                first.entry(key).or_insert(i as u32 + 1);
            }
        }
        KeyLines { first }
    }

    pub(crate) fn get(&self, key: &str) -> Option<u32> {
        self.first.get(key).copied()
    }
}

/// A plain key ends at the first `:` followed by a space or the end of the line.
fn plain_key(line: &str) -> Option<&str> {
    let bytes = line.as_bytes();
    (0..bytes.len())
        .find(|&i| bytes[i] == b':' && bytes.get(i + 1).is_none_or(|b| b.is_ascii_whitespace()))
        .map(|i| &line[..i])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_are_refused_before_expansion() {
        let bomb = "a: &a [x, x]\nb: &b [*a, *a]\nc: &c [*b, *b]\n";
        let err = load(bomb, "pnpm-lock.yaml").unwrap_err();
        assert!(err.message.contains("aliases"), "{err:?}");
        assert_eq!(err.line, 2);
    }

    #[test]
    fn key_lines_find_the_first_line_each_key_starts() {
        let text = "a:\n  b: 1\n  'c@1': x\n  \"d:e\":\n  /f@1(g@2):\nb: 2\nu:v: 3\n";
        let lines = KeyLines::new(text);
        assert_eq!(lines.get("a"), Some(1));
        assert_eq!(lines.get("b"), Some(2), "the first occurrence");
        assert_eq!(lines.get("c@1"), Some(3));
        assert_eq!(lines.get("d:e"), Some(4));
        assert_eq!(lines.get("/f@1(g@2)"), Some(5));
        assert_eq!(lines.get("u:v"), Some(7), "a colon inside a plain key");
        assert_eq!(lines.get("u"), None);
        assert_eq!(lines.get("zz"), None);
    }

    #[test]
    fn syntax_errors_are_located() {
        let err = load("a: 1\nb: [1, 2\nc: 3\n", "x").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }
}
