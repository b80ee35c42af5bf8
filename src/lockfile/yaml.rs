//! Loading YAML lockfiles safely. Lockfiles never use anchors and aliases, and an alias
//! is where YAML's exponential "billion laughs" expansion hides, so a document with any
//! alias is refused before it is built; nesting depth is capped by the parser.

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

/// The 1-based line where `key:` first starts a line (after indentation), for locations.
pub(crate) fn key_line(text: &str, key: &str) -> Option<u32> {
    let quoted = format!("'{key}':");
    let double = format!("\"{key}\":");
    let plain = format!("{key}:");
    text.lines()
        .position(|line| {
            let t = line.trim_start();
            t.starts_with(&plain) || t.starts_with(&quoted) || t.starts_with(&double)
        })
        .map(|i| i as u32 + 1)
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
    fn syntax_errors_are_located() {
        let err = load("a: 1\nb: [1, 2\nc: 3\n", "x").unwrap_err();
        assert!(err.line >= 2, "{err:?}");
    }
}
