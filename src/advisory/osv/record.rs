//! The OSV schema, as much as matching needs, and its conversion into an [`Advisory`]
//! for one package: ranges (`introduced`/`fixed`/`last_affected`/`limit` per the spec),
//! listed versions, aliases, severity, informational kinds. Pure: bytes in, values out.

use std::borrow::Cow;
use std::str::FromStr;

use serde::Deserialize;

use super::normalize;
use crate::advisory::version::Version;
use crate::advisory::{Advisory, Affected, Informational, Kind, Severity, names_malicious};
use crate::json::{Skip, Text};
use crate::package::Ecosystem;

// ---- the OSV schema, as much as matching needs -------------------------------------

// Strings are borrowed from the record's bytes where they have no escapes: PyPI and GHSA
// records list every affected version, and copying each one twice (parsed, then into
// the advisory) was a third of reading a record. Nothing is read into a `serde_json::Value`
// tree or a map per range event: what matching reads is typed, the rest is skipped.
#[derive(Deserialize)]
pub(super) struct OsvRecord<'a> {
    id: String,
    #[serde(default)]
    aliases: Vec<String>,
    #[serde(default)]
    withdrawn: Option<String>,
    #[serde(default, borrow)]
    summary: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    details: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    severity: Vec<OsvSeverity<'a>>,
    #[serde(default, borrow)]
    affected: Vec<OsvAffected<'a>>,
    #[serde(default, borrow)]
    references: Vec<OsvReference<'a>>,
    #[serde(default, borrow)]
    database_specific: Option<Specific<'a>>,
}

#[derive(Deserialize)]
struct OsvSeverity<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    score: Cow<'a, str>,
}

#[derive(Deserialize)]
struct OsvReference<'a> {
    #[serde(rename = "type", default, borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    url: Cow<'a, str>,
}

#[derive(Deserialize)]
struct OsvAffected<'a> {
    #[serde(borrow)]
    package: Option<RecordPackage<'a>>,
    #[serde(default, borrow)]
    ranges: Vec<OsvRange<'a>>,
    #[serde(default, borrow)]
    versions: Vec<Cow<'a, str>>,
    #[serde(default, borrow)]
    database_specific: Option<Specific<'a>>,
    #[serde(default, borrow)]
    severity: Vec<OsvSeverity<'a>>,
}

/// `affected[].package` as the index probe reads it (owned: it outlives the bytes).
#[derive(Deserialize)]
pub(super) struct OsvPackage {
    pub(super) ecosystem: String,
    pub(super) name: String,
}

/// `affected[].package` as a record read for matching has it.
#[derive(Deserialize)]
struct RecordPackage<'a> {
    #[serde(borrow)]
    ecosystem: Cow<'a, str>,
    #[serde(borrow)]
    name: Cow<'a, str>,
}

#[derive(Deserialize)]
struct OsvRange<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(default, borrow)]
    events: Vec<RawEvent<'a>>,
}

/// One range event, an object of string values. Matching reads its first key in sorted
/// order (a later duplicate of a key replaces the earlier value), which is what an event
/// read into a sorted map gave; an event with no keys is passed over.
struct RawEvent<'a>(Option<(Cow<'a, str>, Cow<'a, str>)>);

impl<'de: 'a, 'a> Deserialize<'de> for RawEvent<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = RawEvent<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut first: Option<(Cow<'a, str>, Cow<'a, str>)> = None;
                while let Some(Text(key)) = map.next_key::<Text<'a>>()? {
                    let Text(value) = map.next_value::<Text<'a>>()?;
                    match &mut first {
                        Some((k, v)) if *k == key => *v = value,
                        Some((k, _)) if *k < key => {}
                        _ => first = Some((key, value)),
                    }
                }
                Ok(RawEvent(first))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

/// Visitor methods that consume a number, boolean or null, and each other kind listed
/// (`str`, `seq`, `map`; arrays and objects are passed over with [`Skip`], under
/// serde_json's recursion limit), answering `$out`.
macro_rules! skip_other_values {
    ($out:expr $(, $kind:ident)*) => {
        fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
            Ok($out)
        }
        fn visit_unit<E>(self) -> Result<Self::Value, E> {
            Ok($out)
        }
        $(skip_other_values!(@ $out, $kind);)*
    };
    (@ $out:expr, str) => {
        fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
            Ok($out)
        }
    };
    (@ $out:expr, seq) => {
        fn visit_seq<A: serde::de::SeqAccess<'de>>(
            self,
            mut seq: A,
        ) -> Result<Self::Value, A::Error> {
            while seq.next_element::<Skip>()?.is_some() {}
            Ok($out)
        }
    };
    (@ $out:expr, map) => {
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            while map.next_entry::<Skip, Skip>()?.is_some() {}
            Ok($out)
        }
    };
}

/// What matching reads of a `database_specific` object: `informational` and `severity`.
/// Each is absent (`None`), or present as a string or as anything else (`Some(None)`):
/// a value that is there but not a string hides the record-wide one, as a lookup in the
/// parsed JSON did. Anything that is not an object holds neither; all else is skipped.
#[derive(Default)]
struct Specific<'a> {
    informational: Option<Option<Cow<'a, str>>>,
    severity: Option<Option<Cow<'a, str>>>,
}

impl<'a> Specific<'a> {
    fn get(&self, key: SpecificKey) -> Option<&Option<Cow<'a, str>>> {
        match key {
            SpecificKey::Informational => self.informational.as_ref(),
            SpecificKey::Severity => self.severity.as_ref(),
        }
    }
}

#[derive(Clone, Copy)]
enum SpecificKey {
    Informational,
    Severity,
}

/// Any JSON value: the string when it is one, `None` for anything else (passed over, not
/// kept).
struct MaybeText<'a>(Option<Cow<'a, str>>);

impl<'de: 'a, 'a> Deserialize<'de> for MaybeText<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = MaybeText<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_borrowed_str<E>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Borrowed(v))))
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Owned(v.to_string()))))
            }
            fn visit_string<E>(self, v: String) -> Result<Self::Value, E> {
                Ok(MaybeText(Some(Cow::Owned(v))))
            }
            skip_other_values!(MaybeText(None), seq, map);
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Specific<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = Specific<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any value")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut map: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Specific::default();
                while let Some(Text(key)) = map.next_key::<Text<'a>>()? {
                    let slot = match key.as_ref() {
                        "informational" => &mut out.informational,
                        "severity" => &mut out.severity,
                        _ => {
                            map.next_value::<Skip>()?;
                            continue;
                        }
                    };
                    *slot = Some(map.next_value::<MaybeText<'a>>()?.0);
                }
                Ok(out)
            }
            skip_other_values!(Specific::default(), str, seq);
        }
        d.deserialize_any(V(std::marker::PhantomData))
    }
}

// ---- ranges ------------------------------------------------------------------------

/// One OSV range event.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    Introduced(String),
    Fixed(String),
    LastAffected(String),
    Limit(String),
}

/// The versions of one package an OSV advisory affects.
#[derive(Clone, Debug)]
pub struct OsvAffectedVersions {
    pub ecosystem: Ecosystem,
    /// `SEMVER`/`ECOSYSTEM` ranges (GIT ranges name commits, not versions: skipped).
    pub ranges: Vec<Vec<Event>>,
    /// Explicitly listed versions.
    pub versions: Vec<String>,
}

impl OsvAffectedVersions {
    /// Is `version` affected? Exact listing first, then the ranges per the OSV spec:
    /// events sorted by version (stably: equal versions keep the order the data gives),
    /// `introduced` opens, `fixed` (at or above) and `last_affected` (strictly above)
    /// close, and `limit` caps the range.
    pub fn affects(&self, version: &str) -> bool {
        if self.versions.iter().any(|v| v == version) {
            return true;
        }
        let Some(v) = Version::parse(self.ecosystem, version) else {
            // Unordered, it can only be placed in a range that covers every version.
            return self.ranges.iter().any(|events| {
                !events.is_empty()
                    && events
                        .iter()
                        .all(|e| matches!(e, Event::Introduced(s) if s == "0"))
            });
        };
        self.ranges.iter().any(|events| self.in_range(&v, events))
    }

    fn in_range(&self, v: &Version, events: &[Event]) -> bool {
        let parse = |s: &str| Version::parse(self.ecosystem, s);
        let key = |e: &Event| match e {
            Event::Introduced(s) if s == "0" => None,
            Event::Introduced(s) | Event::Fixed(s) | Event::LastAffected(s) | Event::Limit(s) => {
                parse(s)
            }
        };
        let mut sorted: Vec<(Option<Version>, &Event)> =
            events.iter().map(|e| (key(e), e)).collect();
        // "0" (None) first; unparsable event versions make the range unusable.
        if sorted
            .iter()
            .any(|(k, e)| k.is_none() && !matches!(e, Event::Introduced(s) if s == "0"))
        {
            return false;
        }
        sorted.sort_by(|(a, _), (b, _)| match (a, b) {
            (None, None) => std::cmp::Ordering::Equal,
            (None, Some(_)) => std::cmp::Ordering::Less,
            (Some(_), None) => std::cmp::Ordering::Greater,
            (Some(a), Some(b)) => a.compare(b).unwrap_or(std::cmp::Ordering::Equal),
        });
        let cmp = |bound: &Option<Version>| bound.as_ref().and_then(|b| v.compare(b));
        let mut affected = false;
        for (bound, event) in &sorted {
            match event {
                Event::Introduced(_) => {
                    if bound.is_none() || cmp(bound).is_some_and(|o| o.is_ge()) {
                        affected = true;
                    }
                }
                Event::Fixed(_) => {
                    if cmp(bound).is_some_and(|o| o.is_ge()) {
                        affected = false;
                    }
                }
                Event::LastAffected(_) => {
                    if cmp(bound).is_some_and(|o| o.is_gt()) {
                        affected = false;
                    }
                }
                Event::Limit(_) => {}
            }
        }
        let under_limits = sorted
            .iter()
            .filter(|(_, e)| matches!(e, Event::Limit(_)))
            .all(|(bound, _)| cmp(bound).is_some_and(|o| o.is_lt()));
        affected && under_limits
    }
}

/// The CVSS score of a record: the newest version of CVSS whose vector parses (v4.0, then
/// v3.1, then v3.0; `cvss` scores v4.0 with the specification's lookup table). CVSS v2
/// vectors and other scales (`Ubuntu`) are not read: without a readable vector the record
/// falls back to a qualitative rating, or stays unscored.
fn score<'a, 'b: 'a>(severities: impl Iterator<Item = &'a OsvSeverity<'b>>) -> Option<cvss::Cvss> {
    let mut vectors: Vec<&OsvSeverity> = severities
        .filter(|s| matches!(s.kind.as_ref(), "CVSS_V4" | "CVSS_V3"))
        .collect();
    // `CVSS:4.0/...` before `CVSS:3.1/...` before `CVSS:3.0/...`.
    vectors.sort_by(|a, b| b.score.cmp(&a.score));
    vectors
        .iter()
        .find_map(|s| cvss::Cvss::from_str(s.score.trim()).ok())
}

/// A malicious-package report must say which package it is about: one that names none
/// would block nothing, so it is an error naming the record, never a silent skip.
pub(super) fn check_names_a_package(
    id: &str,
    aliases: &[String],
    packages: usize,
) -> Result<(), String> {
    let ids: Vec<String> = std::iter::once(id.to_string())
        .chain(aliases.iter().cloned())
        .collect();
    if packages == 0 && names_malicious(&ids) {
        return Err(format!(
            "{id}: a malicious-package record without `affected` packages: it names nothing to block"
        ));
    }
    Ok(())
}

/// Turns an OSV record into our advisory for one package (`None` when withdrawn or when
/// no entry names that package).
pub(super) fn convert(
    record: &OsvRecord<'_>,
    ecosystem: Ecosystem,
    wanted: &str,
) -> Option<Advisory> {
    if record.withdrawn.is_some() {
        return None;
    }
    let entries: Vec<&OsvAffected<'_>> = record
        .affected
        .iter()
        .filter(|a| {
            a.package.as_ref().is_some_and(|p| {
                p.ecosystem == ecosystem.osv_name() && normalize(ecosystem, &p.name) == wanted
            })
        })
        .collect();
    let first = entries.first()?;
    let mut ranges = Vec::new();
    let mut versions = Vec::new();
    let mut fixed = Vec::new();
    for entry in &entries {
        versions.extend(entry.versions.iter().map(|v| v.to_string()));
        for range in &entry.ranges {
            if range.kind != "SEMVER" && range.kind != "ECOSYSTEM" {
                continue;
            }
            let events: Vec<Event> = range
                .events
                .iter()
                .filter_map(|e| {
                    let (kind, value) = e.0.as_ref()?;
                    let value = value.to_string();
                    Some(match kind.as_ref() {
                        "introduced" => Event::Introduced(value),
                        "fixed" => {
                            fixed.push(format!(">={value}"));
                            Event::Fixed(value)
                        }
                        // The last affected version closes the range: the next one is
                        // the fix (NSWG's `patched_versions: ">0.7.0"`), not "unfixed".
                        "last_affected" => {
                            fixed.push(format!(">{value}"));
                            Event::LastAffected(value)
                        }
                        "limit" => Event::Limit(value),
                        _ => return None,
                    })
                })
                .collect();
            ranges.push(events);
        }
    }
    fixed.sort();
    fixed.dedup();

    let specific = |key: SpecificKey| {
        first
            .database_specific
            .as_ref()
            .and_then(|d| d.get(key))
            .or_else(|| record.database_specific.as_ref().and_then(|d| d.get(key)))
            .and_then(|v| v.as_deref())
    };
    let kind = match specific(SpecificKey::Informational) {
        _ if names_malicious(std::iter::once(&record.id).chain(&record.aliases)) => Kind::Malicious,
        Some("unmaintained") => Kind::Informational(Informational::Unmaintained),
        Some("unsound") => Kind::Informational(Informational::Unsound),
        Some("notice") => Kind::Informational(Informational::Notice),
        Some(other) => Kind::Informational(Informational::Other(other.to_string())),
        None => Kind::Vulnerability,
    };
    let cvss = score(first.severity.iter().chain(&record.severity));
    let severity = match &cvss {
        Some(c) => Some(match c.severity() {
            cvss::Severity::None => Severity::None,
            cvss::Severity::Low => Severity::Low,
            cvss::Severity::Medium => Severity::Medium,
            cvss::Severity::High => Severity::High,
            cvss::Severity::Critical => Severity::Critical,
        }),
        // GHSA's qualitative rating (LOW, MODERATE, HIGH, CRITICAL) where no vector is given.
        None => specific(SpecificKey::Severity).and_then(|s| s.parse().ok()),
    };
    let title = record
        .summary
        .as_deref()
        .filter(|s| !s.trim().is_empty())
        .map(str::to_string)
        .or_else(|| record.details.as_deref().map(headline))
        .unwrap_or_default();
    let url = record
        .references
        .iter()
        .find(|r| r.kind == "ADVISORY")
        .or_else(|| record.references.iter().find(|r| r.kind == "WEB"))
        .map(|r| r.url.to_string())
        .or_else(|| Some(format!("https://osv.dev/vulnerability/{}", record.id)));
    let mut aliases: Vec<String> = record
        .aliases
        .iter()
        .filter(|a| **a != record.id)
        .cloned()
        .collect();
    aliases.sort();
    aliases.dedup();
    Some(Advisory {
        id: record.id.clone(),
        aliases,
        ecosystem,
        package: first
            .package
            .as_ref()
            .map(|p| p.name.to_string())
            .unwrap_or_default(),
        kind,
        severity,
        cvss_score: cvss.as_ref().map(|c| c.score()),
        cvss_vector: cvss.map(|c| c.to_string()),
        title,
        url,
        fixed,
        affected: Affected::Osv(OsvAffectedVersions {
            ecosystem,
            ranges,
            versions,
        }),
        default_registry_only: false,
    })
}

/// A title for a record without a `summary`: the start of its `details`, whitespace
/// folded, cut at a word before [`HEADLINE_CHARS`] characters (PYSEC records carry only
/// `details`, some over a thousand characters on one line; a report shows a title).
fn headline(details: &str) -> String {
    let text = details.split_whitespace().collect::<Vec<_>>().join(" ");
    if text.chars().count() <= HEADLINE_CHARS {
        return text;
    }
    let cut: String = text.chars().take(HEADLINE_CHARS - 1).collect();
    let cut = match cut.rfind(' ') {
        Some(space) if space > HEADLINE_CHARS / 2 => &cut[..space],
        _ => cut.as_str(),
    };
    format!("{}…", cut.trim_end_matches([',', ';', ':', '.', ' ']))
}

/// The longest title [`headline`] makes, in characters.
const HEADLINE_CHARS: usize = 100;

#[cfg(test)]
mod tests {
    use super::*;

    fn affected(eco: Ecosystem, ranges: Vec<Vec<Event>>, versions: &[&str]) -> OsvAffectedVersions {
        OsvAffectedVersions {
            ecosystem: eco,
            ranges,
            versions: versions.iter().map(|v| v.to_string()).collect(),
        }
    }
    use Event::*;
    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn introduced_fixed_and_last_affected() {
        let a = affected(
            Ecosystem::Npm,
            vec![vec![Introduced(s("0")), Fixed(s("1.2.3"))]],
            &[],
        );
        assert!(a.affects("0.0.1") && a.affects("1.2.2") && a.affects("1.2.3-beta"));
        assert!(!a.affects("1.2.3") && !a.affects("2.0.0"));
        let a = affected(
            Ecosystem::Npm,
            vec![vec![Introduced(s("1.0.0")), LastAffected(s("1.4.0"))]],
            &[],
        );
        assert!(
            !a.affects("0.9.0") && a.affects("1.0.0") && a.affects("1.4.0") && !a.affects("1.4.1")
        );
    }

    #[test]
    fn several_intervals_in_one_range_keep_their_order_on_ties() {
        // The npm data's shape: `>= 5.2.1 <= 6.0.0 || >=6.0.0 <= 6.0.2`.
        let a = affected(
            Ecosystem::Npm,
            vec![vec![
                Introduced(s("5.2.1")),
                LastAffected(s("6.0.0")),
                Introduced(s("6.0.0")),
                LastAffected(s("6.0.2")),
            ]],
            &[],
        );
        for (v, want) in [
            ("5.2.0", false),
            ("5.2.1", true),
            ("6.0.0", true),
            ("6.0.1", true),
            ("6.0.2", true),
            ("6.0.3", false),
        ] {
            assert_eq!(a.affects(v), want, "{v}");
        }
        // Unsorted events are sorted first.
        let a = affected(
            Ecosystem::Cargo,
            vec![vec![
                Fixed(s("2.0.0")),
                Introduced(s("1.0.0")),
                Fixed(s("1.5.0")),
                Introduced(s("1.8.0")),
            ]],
            &[],
        );
        for (v, want) in [
            ("0.9.0", false),
            ("1.2.0", true),
            ("1.6.0", false),
            ("1.9.0", true),
            ("2.0.0", false),
        ] {
            assert_eq!(a.affects(v), want, "{v}");
        }
    }

    #[test]
    fn limits_and_explicit_versions() {
        let a = affected(
            Ecosystem::Cargo,
            vec![vec![Introduced(s("0")), Limit(s("1.0.0"))]],
            &[],
        );
        assert!(a.affects("0.5.0") && !a.affects("1.0.0") && !a.affects("1.5.0"));
        let a = affected(Ecosystem::PyPI, vec![], &["1.0", "1.1"]);
        assert!(a.affects("1.1") && !a.affects("1.2"));
    }

    #[test]
    fn pep440_and_go_ranges() {
        let a = affected(
            Ecosystem::PyPI,
            vec![vec![Introduced(s("0")), Fixed(s("2.0.1"))]],
            &[],
        );
        assert!(
            a.affects("2.0")
                && a.affects("2.0.1rc1")
                && a.affects("2.0.0.post1")
                && !a.affects("2.0.1")
                && !a.affects("2.1")
        );
        // Go OSV ranges are semver without the v; packages carry it.
        let a = affected(
            Ecosystem::Go,
            vec![vec![Introduced(s("0")), Fixed(s("0.7.0"))]],
            &[],
        );
        assert!(
            a.affects("v0.6.0")
                && a.affects("v0.0.0-20210226172049-e18ecbb05110")
                && !a.affects("v0.7.0")
        );
    }

    #[test]
    fn an_unparsable_version_matches_listings_and_all_version_ranges_only() {
        let a = affected(
            Ecosystem::Npm,
            vec![vec![Introduced(s("1.0.0"))]],
            &["weird"],
        );
        assert!(a.affects("weird"));
        assert!(!a.affects("also-weird"));
        let every = affected(Ecosystem::Npm, vec![vec![Introduced(s("0"))]], &[]);
        assert!(
            every.affects("also-weird"),
            "an advisory on every version covers it too"
        );
    }

    #[test]
    fn a_long_details_text_becomes_a_short_title() {
        assert_eq!(headline("Short.\n\nMore."), "Short. More.");
        let long = "word ".repeat(400);
        let title = headline(&long);
        assert!(title.chars().count() <= HEADLINE_CHARS, "{title}");
        assert!(title.ends_with("word…"), "{title}");
        // One unbroken token is cut too.
        assert_eq!(headline(&"x".repeat(500)).chars().count(), HEADLINE_CHARS);
    }

    /// `informational`, `severity` and each range event's first key and value.
    type Read = (
        Option<String>,
        Option<String>,
        Vec<Option<(String, String)>>,
    );

    /// What matching read of `database_specific` and of range events when a record was
    /// parsed into JSON values and sorted maps, for comparison with the typed reading.
    fn reference(json: &str) -> Read {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let first = &v["affected"][0];
        let specific = |key: &str| {
            first
                .get("database_specific")
                .and_then(|d| d.get(key))
                .or_else(|| v.get("database_specific").and_then(|d| d.get(key)))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let events = first["ranges"][0]["events"]
            .as_array()
            .map(|events| {
                events
                    .iter()
                    .map(|e| {
                        let map: std::collections::BTreeMap<String, String> =
                            serde_json::from_value(e.clone()).unwrap();
                        map.into_iter().next()
                    })
                    .collect()
            })
            .unwrap_or_default();
        (specific("informational"), specific("severity"), events)
    }

    #[test]
    fn typed_reading_matches_a_json_value_reading() {
        let specifics = [
            r#"{"severity": "HIGH"}"#,
            r#"{"severity": 5}"#,
            r#"{"severity": null}"#,
            r#"{"severity": ["HIGH"], "informational": {"a": 1}}"#,
            r#"{"severity": "LOW", "severity": "CRITICAL"}"#,
            r#"{"informational": "unsound", "cwe_ids": [[["x"]]], "n": 1.5e3}"#,
            r#"{"s\u0065verity": "MODERATE"}"#,
            r#"["severity", "HIGH"]"#,
            r#""HIGH""#,
            r#"7"#,
            r#"null"#,
            r#"{}"#,
        ];
        let events = [
            r#"[{"introduced": "0"}, {"fixed": "1.0"}]"#,
            r#"[{"fixed": "2.0", "introduced": "1.0"}]"#,
            r#"[{"limit": "3", "introduced": "1", "introduced": "2"}]"#,
            r#"[{}, {"last_affected": "1\u002e2"}]"#,
            r#"[{"zz": "1"}]"#,
        ];
        for (i, outer) in specifics.iter().enumerate() {
            for inner in specifics.iter().skip(i % 3).step_by(3) {
                for ev in events {
                    let json = format!(
                        r#"{{"id": "X-1", "database_specific": {outer}, "affected": [{{"package": {{"ecosystem": "npm", "name": "a"}}, "database_specific": {inner}, "ranges": [{{"type": "SEMVER", "events": {ev}}}]}}]}}"#
                    );
                    let r = record(&json);
                    let a = &r.affected[0];
                    let get = |key| {
                        a.database_specific
                            .as_ref()
                            .and_then(|d| d.get(key))
                            .or_else(|| r.database_specific.as_ref().and_then(|d| d.get(key)))
                            .and_then(|v| v.as_deref())
                            .map(str::to_string)
                    };
                    let typed_events: Vec<_> = a.ranges[0]
                        .events
                        .iter()
                        .map(|e| e.0.as_ref().map(|(k, v)| (k.to_string(), v.to_string())))
                        .collect();
                    assert_eq!(
                        (
                            get(SpecificKey::Informational),
                            get(SpecificKey::Severity),
                            typed_events
                        ),
                        reference(&json),
                        "{json}"
                    );
                }
            }
        }
        // An event value that is not a string is an error, as it was.
        assert!(
            serde_json::from_str::<OsvRecord>(
                r#"{"id": "X-1", "affected": [{"ranges": [{"type": "SEMVER", "events": [{"introduced": 0}]}]}]}"#
            )
            .is_err()
        );
    }

    fn record(json: &str) -> OsvRecord<'_> {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn withdrawn_cross_ecosystem_and_several_entries_per_package() {
        let r = record(
            r#"{"id": "X-1", "withdrawn": "2024-01-01T00:00:00Z", "affected": [
            {"package": {"ecosystem": "npm", "name": "a"}, "versions": ["1.0.0"]}]}"#,
        );
        assert!(convert(&r, Ecosystem::Npm, "a").is_none(), "withdrawn");
        // One record over two ecosystems, and two entries for one package: a union.
        let r = record(
            r#"{"id": "X-2", "affected": [
            {"package": {"ecosystem": "npm", "name": "a"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "1.0.0"}, {"fixed": "1.1.0"}]}]},
            {"package": {"ecosystem": "PyPI", "name": "A"}, "versions": ["3.0"]},
            {"package": {"ecosystem": "npm", "name": "a"}, "ranges": [{"type": "SEMVER", "events": [{"introduced": "2.0.0"}, {"last_affected": "2.1.0"}]}, {"type": "GIT", "repo": "r", "events": [{"introduced": "abc"}]}], "versions": ["5.0.0"]}
        ]}"#,
        );
        let npm = convert(&r, Ecosystem::Npm, "a").unwrap();
        let hits: Vec<bool> = ["1.0.5", "1.1.0", "2.1.0", "2.1.1", "5.0.0", "3.0.0"]
            .iter()
            .map(|v| npm.affects(&crate::package::Package::new(Ecosystem::Npm, "a", *v)))
            .collect();
        assert_eq!(hits, [true, false, true, false, true, false]);
        assert_eq!(npm.fixed, [">2.1.0", ">=1.1.0"]);
        let pypi = convert(&r, Ecosystem::PyPI, "a").unwrap();
        assert!(pypi.affects(&crate::package::Package::new(Ecosystem::PyPI, "a", "3.0")));
        assert!(pypi.fixed.is_empty(), "a versions list names no fix");
        assert!(convert(&r, Ecosystem::Go, "a").is_none());
    }

    #[test]
    fn malicious_ids_severity_vectors_and_ratings() {
        let mal = record(
            r#"{"id": "MAL-2024-11848", "affected": [{"package": {"ecosystem": "npm", "name": "x"}, "versions": ["999.9.9"]}]}"#,
        );
        assert_eq!(
            convert(&mal, Ecosystem::Npm, "x").unwrap().kind,
            Kind::Malicious
        );
        let via_alias = record(
            r#"{"id": "GHSA-55c4-jwq7-c38p", "aliases": ["MAL-2022-6"], "affected": [{"package": {"ecosystem": "npm", "name": "x"}}]}"#,
        );
        assert_eq!(
            convert(&via_alias, Ecosystem::Npm, "x").unwrap().kind,
            Kind::Malicious
        );
        assert!(check_names_a_package("MAL-2022-6", &[], 0).is_err());
        assert!(check_names_a_package("GHSA-1", &["MAL-2022-6".into()], 0).is_err());
        assert!(check_names_a_package("GHSA-1", &[], 0).is_ok());
        // A v4 vector wins over v3; an unreadable one falls back to the next, then to the
        // GHSA rating.
        let both = record(
            r#"{"id": "G-1", "affected": [{"package": {"ecosystem": "npm", "name": "x"}}], "severity": [
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"},
            {"type": "CVSS_V4", "score": "CVSS:4.0/AV:N/AC:L/AT:N/PR:N/UI:N/VC:H/VI:H/VA:H/SC:N/SI:N/SA:N"}]}"#,
        );
        let a = convert(&both, Ecosystem::Npm, "x").unwrap();
        assert_eq!(
            (a.severity, a.cvss_score),
            (Some(Severity::Critical), Some(9.3))
        );
        let broken = record(
            r#"{"id": "G-2", "affected": [{"package": {"ecosystem": "npm", "name": "x"}}], "severity": [
            {"type": "CVSS_V4", "score": "CVSS:4.0/garbage"},
            {"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"}]}"#,
        );
        let a = convert(&broken, Ecosystem::Npm, "x").unwrap();
        assert_eq!(
            (a.severity, a.cvss_score),
            (Some(Severity::Medium), Some(5.3))
        );
        let rated = record(
            r#"{"id": "G-3", "affected": [{"package": {"ecosystem": "npm", "name": "x"}}], "severity": [{"type": "CVSS_V2", "score": "AV:N/AC:L/Au:N/C:P/I:P/A:P"}], "database_specific": {"severity": "HIGH"}}"#,
        );
        let a = convert(&rated, Ecosystem::Npm, "x").unwrap();
        assert_eq!((a.severity, a.cvss_score), (Some(Severity::High), None));
        let unscored = record(
            r#"{"id": "GO-1", "affected": [{"package": {"ecosystem": "Go", "name": "m"}}]}"#,
        );
        assert_eq!(
            convert(&unscored, Ecosystem::Go, "m").unwrap().severity,
            None
        );
    }

    /// OSV range semantics against a model built on the ecosystems' own orders: for any
    /// events drawn from a reference table (testdata/README.md), a version is affected
    /// exactly when the model (walk the events in reference order; `introduced` opens,
    /// `fixed` closes at, `last_affected` after, `limit` caps) says so, and any union of
    /// ranges or `versions` list adds to it.
    mod against_reference {
        use super::*;
        use crate::advisory::version::reference::table;
        use proptest::prelude::*;

        #[derive(Clone, Copy, Debug)]
        enum Kind {
            Introduced,
            Fixed,
            LastAffected,
            Limit,
        }

        /// The model: ranks only, no parsing.
        fn model(rank: usize, events: &[(Kind, Option<usize>)]) -> bool {
            let mut sorted: Vec<_> = events.to_vec();
            // "0" (None) first; equal versions keep the data's order (a stable sort).
            sorted.sort_by_key(|(_, r)| r.map_or(0, |r| r + 1));
            let mut affected = false;
            for (kind, bound) in &sorted {
                match (kind, bound) {
                    (Kind::Introduced, None) => affected = true,
                    (Kind::Introduced, Some(b)) if rank >= *b => affected = true,
                    (Kind::Fixed, Some(b)) if rank >= *b => affected = false,
                    (Kind::LastAffected, Some(b)) if rank > *b => affected = false,
                    _ => {}
                }
            }
            affected
                && sorted
                    .iter()
                    .filter(|(k, _)| matches!(k, Kind::Limit))
                    .all(|(_, b)| b.is_some_and(|b| rank < b))
        }

        fn check(
            eco: Ecosystem,
            version: usize,
            ranges: Vec<Vec<(Kind, Option<usize>)>>,
            listed: Vec<usize>,
        ) -> Result<(), TestCaseError> {
            let rows = table(eco);
            let at = |i: usize| rows[i % rows.len()];
            let (rank, text) = at(version);
            let events = |range: &[(Kind, Option<usize>)]| -> Vec<Event> {
                range
                    .iter()
                    .map(|(kind, i)| {
                        let v = i.map_or_else(|| "0".to_string(), |i| at(i).1.to_string());
                        match kind {
                            Kind::Introduced => Event::Introduced(v),
                            Kind::Fixed => Event::Fixed(v),
                            Kind::LastAffected => Event::LastAffected(v),
                            Kind::Limit => Event::Limit(v),
                        }
                    })
                    .collect()
            };
            let ranked = |range: &[(Kind, Option<usize>)]| -> Vec<(Kind, Option<usize>)> {
                range
                    .iter()
                    // A table version written "0" is OSV's "from the beginning", exactly as
                    // the "0" the generator writes for None (PyPI's table has one; the
                    // model ranked it as a version, above 0.dev0).
                    .map(|(k, i)| (*k, i.filter(|&i| at(i).1 != "0").map(|i| at(i).0)))
                    .collect()
            };
            let versions: Vec<String> = listed.iter().map(|&i| at(i).1.to_string()).collect();
            let want = ranges.iter().any(|r| model(rank, &ranked(r)))
                || versions.iter().any(|v| v == text);
            let a = OsvAffectedVersions {
                ecosystem: eco,
                ranges: ranges.iter().map(|r| events(r)).collect(),
                versions,
            };
            prop_assert_eq!(a.affects(text), want, "{} in {:?}", text, a);
            Ok(())
        }

        fn event() -> impl Strategy<Value = (Kind, Option<usize>)> {
            prop_oneof![
                (
                    Just(Kind::Introduced),
                    proptest::option::weighted(0.8, 0usize..2000)
                ),
                (Just(Kind::Fixed), (0usize..2000).prop_map(Some)),
                (Just(Kind::LastAffected), (0usize..2000).prop_map(Some)),
                (Just(Kind::Limit), (0usize..2000).prop_map(Some)),
            ]
        }

        fn ranges() -> impl Strategy<Value = Vec<Vec<(Kind, Option<usize>)>>> {
            proptest::collection::vec(proptest::collection::vec(event(), 1..5), 0..3)
        }

        proptest! {
            #[test]
            fn npm_ranges_match_the_model(v in 0usize..2000, r in ranges(), l in proptest::collection::vec(0usize..2000, 0..2)) {
                check(Ecosystem::Npm, v, r, l)?;
            }

            #[test]
            fn pypi_ranges_match_the_model(v in 0usize..2000, r in ranges(), l in proptest::collection::vec(0usize..2000, 0..2)) {
                check(Ecosystem::PyPI, v, r, l)?;
            }

            #[test]
            fn go_ranges_match_the_model(v in 0usize..2000, r in ranges(), l in proptest::collection::vec(0usize..2000, 0..2)) {
                check(Ecosystem::Go, v, r, l)?;
            }
        }
    }
}
