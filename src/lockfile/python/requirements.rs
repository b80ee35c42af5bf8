//! pip requirements files, as `pip-compile --generate-hashes` and `pip freeze` write them.
//!
//! Only exact pins (`name==1.2.3`, `name===1.2.3`) are packages: anything else (ranges,
//! bare names, `-e`, URLs, paths, VCS links) cannot be audited and becomes a [`Note`], never
//! silently dropped. An unpinned line pinned by a `-c` constraints file takes the
//! constraint's version, as pip would install it. `--hash` options are kept as checksums.
//!
//! `-r`/`-c` includes are followed, relative to the including file, only when they resolve
//! (symlinks followed) inside the scanned tree; an include outside it, a remote include,
//! or an include cycle is an error. Packages from an included file are located at the
//! `-r` line of the file being loaded. Requirements files record no dependency edges and
//! no dev flag: vouch does not guess one from a file name like `requirements-dev.txt`.
//!
//! Files recognised: `requirements.txt`, `requirements-<x>.txt`, `requirements_<x>.txt`,
//! `requirements.<x>.txt`, and any `.txt` directly inside a `requirements/` directory.
//! A file included by another one that is also scanned is reported once per lockfile.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use super::{parse_hash, push_unique};
use crate::lockfile::{Error, MAX_LOCKFILE_BYTES, Note, ParseError, Parsed, read_limited};
use crate::package::{Ecosystem, LocalKind, Package, Source, normalize_pypi_name};

/// Whether a file name alone says "requirements file".
pub(crate) fn is_requirements_name(name: &str) -> bool {
    name.strip_prefix("requirements")
        .and_then(|rest| rest.strip_suffix(".txt"))
        .is_some_and(|middle| {
            middle.is_empty() || middle.starts_with(['-', '_', '.']) && middle.len() > 1
        })
}

/// Reads an include: `(canonical path, text)` or why it may not be read.
type Resolver<'a> = dyn FnMut(&Path, &str) -> Result<(PathBuf, String), String> + 'a;

/// Parses the requirements file at `path`, following includes inside `root`.
pub(crate) fn load(
    path: &Path,
    text: &str,
    root: &Path,
) -> Result<Result<Parsed, ParseError>, Error> {
    let canonical_root = std::fs::canonicalize(root).map_err(|source| Error::Io {
        path: root.to_path_buf(),
        source,
    })?;
    let canonical_self = std::fs::canonicalize(path).map_err(|source| Error::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut resolve = |from: &Path, target: &str| -> Result<(PathBuf, String), String> {
        if target.contains("://") {
            return Err(format!(
                "`{target}` is a remote include: vouch reads only files inside the scanned tree"
            ));
        }
        let dir = from.parent().unwrap_or(Path::new("."));
        let joined = dir.join(target);
        let canonical = std::fs::canonicalize(&joined)
            .map_err(|e| format!("cannot read included file `{}`: {e}", joined.display()))?;
        if !canonical.starts_with(&canonical_root) {
            return Err(format!(
                "included file `{target}` is outside the scanned tree `{}`: not followed",
                root.display()
            ));
        }
        let text = read_limited(&canonical, MAX_LOCKFILE_BYTES).map_err(|e| e.to_string())?;
        Ok((canonical, text))
    };
    Ok(parse_with(text, &canonical_self, &mut resolve))
}

/// Parses a requirements file's text; `file` names it for includes, `resolve` reads them.
pub(crate) fn parse_with(
    text: &str,
    file: &Path,
    resolve: &mut Resolver<'_>,
) -> Result<Parsed, ParseError> {
    let mut state = State::default();
    let mut stack = vec![file.to_path_buf()];
    let mut visited = HashSet::new();
    visited.insert((file.to_path_buf(), Kind::Requirements));
    state.file(
        text,
        file,
        Kind::Requirements,
        None,
        &mut stack,
        &mut visited,
        resolve,
    )?;
    state.finish()
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Kind {
    Requirements,
    Constraints,
}

#[derive(Default)]
struct State {
    packages: Vec<Package>,
    by_name: HashMap<String, usize>,
    notes: Vec<Note>,
    /// Normalised name → (version, line in the loaded file) from constraints files.
    constraints: HashMap<String, String>,
    /// Requirements without a pin, resolved against constraints at the end.
    unpinned: Vec<Unpinned>,
}

struct Unpinned {
    name: String,
    requirement: String,
    line: usize,
    origin: String,
    checksums: Vec<crate::package::Checksum>,
}

/// One logical line: continuations joined, comments removed.
struct Logical {
    line: usize,
    text: String,
}

impl State {
    /// Reads one file. `entry` is the line of the `-r` in the loaded file that led here
    /// (`None` for the loaded file itself).
    #[allow(clippy::too_many_arguments)]
    fn file(
        &mut self,
        text: &str,
        file: &Path,
        kind: Kind,
        entry: Option<usize>,
        stack: &mut Vec<PathBuf>,
        visited: &mut HashSet<(PathBuf, Kind)>,
        resolve: &mut Resolver<'_>,
    ) -> Result<(), ParseError> {
        let included = entry.is_some();
        let locate = |e: ParseError| if included { e.in_file(file) } else { e };
        for logical in logical_lines(text) {
            let at_line = entry.unwrap_or(logical.line);
            // Entries from an included file say where they really are.
            let origin = if included {
                format!("(in {}:{}) ", file.display(), logical.line)
            } else {
                String::new()
            };
            let line = logical.text.trim();
            let indent = logical.text.len() - logical.text.trim_start().len() + 1;
            if line.is_empty() {
                continue;
            }
            if line.starts_with('-') {
                match option(line).map_err(|m| locate(ParseError::new(logical.line, indent, m)))? {
                    Opt::Include(include_kind, target) => {
                        // A constraints file's includes are constraints too.
                        let include_kind = if kind == Kind::Constraints {
                            Kind::Constraints
                        } else {
                            include_kind
                        };
                        let (path, text) = resolve(file, &target)
                            .map_err(|m| locate(ParseError::new(logical.line, indent, m)))?;
                        if stack.contains(&path) {
                            return Err(locate(ParseError::new(
                                logical.line,
                                indent,
                                format!("include cycle: `{target}` includes this file again"),
                            )));
                        }
                        if !visited.insert((path.clone(), include_kind)) {
                            continue;
                        }
                        stack.push(path.clone());
                        self.file(
                            &text,
                            &path,
                            include_kind,
                            Some(at_line),
                            stack,
                            visited,
                            resolve,
                        )?;
                        stack.pop();
                    }
                    Opt::Editable(target) => {
                        if kind == Kind::Requirements && is_local_target(&target) {
                            self.notes.push(Note::local(
                                Some(at_line),
                                target.clone(),
                                LocalKind::LocalPath,
                            ));
                        } else if kind == Kind::Requirements {
                            self.note(
                                at_line,
                                format!(
                                    "{origin}editable requirement `{target}` is not pinned to a released version: not audited"
                                ),
                            );
                        }
                    }
                    Opt::Ignored => {}
                }
                continue;
            }
            let requirement = requirement(line)
                .map_err(|(column, m)| locate(ParseError::new(logical.line, indent + column, m)))?;
            match (kind, requirement) {
                (Kind::Constraints, Requirement::Pinned { name, version, .. }) => {
                    self.constraints.insert(name, version);
                }
                (Kind::Constraints, _) => {}
                (Kind::Requirements, Requirement::Direct(what)) if is_local_target(&what) => self
                    .notes
                    .push(Note::local(Some(at_line), what, LocalKind::LocalPath)),
                (Kind::Requirements, Requirement::Direct(what)) => self.note(
                    at_line,
                    format!("{origin}`{what}` is a URL, path or VCS requirement: not audited"),
                ),
                (
                    Kind::Requirements,
                    Requirement::Pinned {
                        name,
                        version,
                        checksums,
                    },
                ) => self
                    .add(name, version, checksums, at_line)
                    .map_err(|m| locate(ParseError::new(logical.line, indent, m)))?,
                (
                    Kind::Requirements,
                    Requirement::Unpinned {
                        name,
                        requirement,
                        checksums,
                    },
                ) => self.unpinned.push(Unpinned {
                    name,
                    requirement,
                    line: at_line,
                    origin,
                    checksums,
                }),
            }
        }
        Ok(())
    }

    fn note(&mut self, line: usize, message: String) {
        self.notes.push(Note {
            line: Some(line),
            message,
            ..Note::default()
        });
    }

    fn add(
        &mut self,
        name: String,
        version: String,
        checksums: Vec<crate::package::Checksum>,
        line: usize,
    ) -> Result<(), String> {
        if let Some(&i) = self.by_name.get(&name) {
            let existing = &mut self.packages[i];
            if existing.version != version {
                return Err(format!(
                    "`{name}` is pinned twice, to {} (line {}) and to {version}",
                    existing.version,
                    existing.line.unwrap_or(0)
                ));
            }
            for checksum in checksums {
                push_unique(&mut existing.checksums, checksum);
            }
            return Ok(());
        }
        let mut pkg = Package::new(Ecosystem::PyPI, &name, version);
        pkg.source = Source::Registry;
        pkg.checksums = checksums;
        pkg.line = Some(line as u32);
        self.by_name.insert(name, self.packages.len());
        self.packages.push(pkg);
        Ok(())
    }

    fn finish(mut self) -> Result<Parsed, ParseError> {
        for unpinned in std::mem::take(&mut self.unpinned) {
            if self.by_name.contains_key(&unpinned.name) {
                continue;
            }
            match self.constraints.get(&unpinned.name).cloned() {
                Some(version) => self
                    .add(unpinned.name, version, unpinned.checksums, unpinned.line)
                    .map_err(|m| ParseError::new(unpinned.line, 1, m))?,
                None => self.note(
                    unpinned.line,
                    format!(
                        "{}`{}` is not pinned with `==`: not audited",
                        unpinned.origin, unpinned.requirement
                    ),
                ),
            }
        }
        Ok(Parsed {
            packages: self.packages,
            notes: self.notes,
        })
    }
}

/// Joins `\` continuations and strips comments (`#` at the start or after whitespace).
fn logical_lines(text: &str) -> Vec<Logical> {
    // pip decodes requirements files with a byte-order mark (Windows editors write one).
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut out = Vec::new();
    let mut current: Option<Logical> = None;
    for (index, raw) in text.lines().enumerate() {
        // As pip does: a line with a comment never continues, even if it ends with `\`
        // (else `a==1 # note \` would swallow the next requirement), and the backslash
        // is dropped without adding a space.
        let has_comment = strip_comment(raw).len() != raw.len();
        let (body, continues) = match raw.strip_suffix('\\') {
            Some(body) if !has_comment => (body, true),
            _ => (raw, false),
        };
        let logical = current.get_or_insert_with(|| Logical {
            line: index + 1,
            text: String::new(),
        });
        if has_comment {
            // Keep the comment separate from a continued line so it is stripped below.
            logical.text.push(' ');
        }
        logical.text.push_str(body);
        if !continues && let Some(done) = current.take() {
            out.push(done);
        }
    }
    out.extend(current);
    for logical in &mut out {
        logical.text = strip_comment(&logical.text).to_string();
    }
    out
}

fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, &b) in bytes.iter().enumerate() {
        if b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

enum Opt {
    Include(Kind, String),
    Editable(String),
    Ignored,
}

/// Global options pip accepts in a requirements file that vouch does not need.
const IGNORED_OPTIONS: &[&str] = &[
    "-i",
    "--index-url",
    "--extra-index-url",
    "--no-index",
    "-f",
    "--find-links",
    "--pre",
    "--prefer-binary",
    "--require-hashes",
    "--only-binary",
    "--no-binary",
    "--trusted-host",
    "--use-feature",
];

/// Options that take no value.
const FLAGS: &[&str] = &["--no-index", "--pre", "--prefer-binary", "--require-hashes"];

fn option(line: &str) -> Result<Opt, String> {
    let (name, inline_value) = match line.split_once('=') {
        Some((name, value)) if name.starts_with("--") && !name.contains(char::is_whitespace) => {
            (name, Some(value.trim()))
        }
        _ => {
            let name = line.split_whitespace().next().unwrap_or(line);
            (name, None)
        }
    };
    // `-rfile` short form.
    let short = ["-r", "-c", "-e", "-i", "-f"];
    let (name, inline_value) = match (name.get(..2), name.get(2..)) {
        (Some(flag), Some(rest)) if !rest.is_empty() && short.contains(&flag) => {
            (flag, Some(rest.trim()))
        }
        _ => (name, inline_value),
    };
    if FLAGS.contains(&name) {
        return Ok(Opt::Ignored);
    }
    let value = match inline_value {
        Some(v) => v.to_string(),
        None => line[name.len()..].trim().to_string(),
    };
    let known = matches!(
        name,
        "-r" | "--requirement" | "-c" | "--constraint" | "-e" | "--editable"
    ) || IGNORED_OPTIONS.contains(&name);
    if !known {
        return Err(format!(
            "unknown option `{name}`: expected a requirement, -r, -c, -e or one of pip's index options"
        ));
    }
    if value.is_empty() {
        return Err(format!("option `{name}` needs a value"));
    }
    Ok(match name {
        "-r" | "--requirement" => Opt::Include(Kind::Requirements, value),
        "-c" | "--constraint" => Opt::Include(Kind::Constraints, value),
        "-e" | "--editable" => Opt::Editable(value),
        _ => Opt::Ignored,
    })
}

enum Requirement {
    Pinned {
        name: String,
        version: String,
        checksums: Vec<crate::package::Checksum>,
    },
    Unpinned {
        name: String,
        requirement: String,
        checksums: Vec<crate::package::Checksum>,
    },
    /// `name @ url`, a bare URL or path: no version to audit.
    Direct(String),
}

/// Parses a requirement line: PEP 508 `name[extras] specifiers ; marker` followed by
/// per-requirement options (`--hash`). Errors carry a 0-based column within `line`.
fn requirement(line: &str) -> Result<Requirement, (usize, String)> {
    // Per-requirement options start at the first ` --`.
    let (spec, options) = match line.find(" --") {
        Some(i) => (&line[..i], &line[i..]),
        None => (line, ""),
    };
    let mut checksums = Vec::new();
    let mut words = options.split_whitespace().peekable();
    while let Some(word) = words.next() {
        let column = line.find(word).unwrap_or(0);
        let value = if let Some(v) = word.strip_prefix("--hash=") {
            v.to_string()
        } else if word == "--hash" {
            words.next().unwrap_or_default().to_string()
        } else if word.starts_with("--config-settings")
            || word.starts_with("--global-option")
            || word.starts_with("--install-option")
        {
            if !word.contains('=') {
                words.next();
            }
            continue;
        } else {
            return Err((
                column,
                format!("unexpected `{word}`: expected `--hash=<algorithm>:<hex>`"),
            ));
        };
        let checksum = parse_hash(&value).ok_or_else(|| {
            (
                column,
                format!("invalid hash `{value}`: expected sha256/sha384/sha512 `:` hex digest"),
            )
        })?;
        checksums.push(checksum);
    }

    let spec = spec.trim();
    if spec.contains("://") || spec.starts_with(['.', '/', '~']) {
        return Ok(Requirement::Direct(spec.to_string()));
    }
    let requirement_part = spec.split_once(';').map_or(spec, |(r, _marker)| r).trim();
    let name_end = requirement_part
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement_part.len());
    let raw_name = &requirement_part[..name_end];
    let valid_name = !raw_name.is_empty()
        && raw_name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && raw_name.ends_with(|c: char| c.is_ascii_alphanumeric());
    if !valid_name {
        return Err((
            0,
            format!("expected a package name, found `{requirement_part}`"),
        ));
    }
    let name = normalize_pypi_name(raw_name);
    let mut rest = requirement_part[name_end..].trim_start();
    if let Some(after) = rest.strip_prefix('[') {
        let Some(close) = after.find(']') else {
            return Err((name_end, "unclosed `[` in extras: expected `]`".into()));
        };
        rest = after[close + 1..].trim_start();
    }
    if rest.starts_with('@') {
        return Ok(Requirement::Direct(spec.to_string()));
    }
    let specifiers = rest
        .strip_prefix('(')
        .and_then(|r| r.strip_suffix(')'))
        .unwrap_or(rest)
        .trim();
    let unpinned = Requirement::Unpinned {
        name: name.clone(),
        requirement: spec.to_string(),
        checksums: checksums.clone(),
    };
    if specifiers.is_empty() {
        return Ok(unpinned);
    }
    let clauses: Vec<&str> = specifiers.split(',').map(str::trim).collect();
    for clause in &clauses {
        let version = ["===", "==", "!=", "<=", ">=", "~=", "<", ">"]
            .iter()
            .find_map(|op| clause.strip_prefix(op))
            .map(str::trim);
        let valid = version.is_some_and(|v| {
            !v.is_empty()
                && v.chars().all(|c| {
                    c.is_ascii_alphanumeric() || matches!(c, '.' | '+' | '!' | '_' | '-' | '*')
                })
        });
        if !valid {
            let column = line.find(clause).unwrap_or(0);
            return Err((
                column,
                format!("invalid version specifier `{clause}`: expected e.g. `==1.2.3`"),
            ));
        }
    }
    if let [clause] = clauses[..] {
        let exact = clause
            .strip_prefix("===")
            .or_else(|| clause.strip_prefix("=="))
            .map(str::trim);
        if let Some(version) = exact.filter(|v| !v.contains('*')) {
            return Ok(Requirement::Pinned {
                name,
                version: version.to_string(),
                checksums,
            });
        }
    }
    Ok(unpinned)
}

/// A requirement on a directory or file of the project (`-e .`, `./lib`, `file:...`),
/// not on a released package.
fn is_local_target(target: &str) -> bool {
    let target = target.trim();
    target.starts_with(['.', '/', '~']) || target.starts_with("file:")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_files(files: &[(&str, &str)]) -> Result<Parsed, ParseError> {
        let files: HashMap<PathBuf, String> = files
            .iter()
            .map(|(p, t)| (PathBuf::from(p), t.to_string()))
            .collect();
        let mut resolve = |from: &Path, target: &str| -> Result<(PathBuf, String), String> {
            // Lexical `..` resolution stands in for canonicalize in these in-memory trees.
            let mut path = from.parent().unwrap_or(Path::new("")).to_path_buf();
            for part in Path::new(target).components() {
                match part {
                    std::path::Component::ParentDir => {
                        path.pop();
                    }
                    other => path.push(other),
                }
            }
            files
                .get(&path)
                .map(|t| (path.clone(), t.clone()))
                .ok_or_else(|| format!("no file {}", path.display()))
        };
        let root = PathBuf::from("/t/requirements.txt");
        parse_with(&files[&root], &root, &mut resolve)
    }

    fn parse(text: &str) -> Result<Parsed, ParseError> {
        parse_files(&[("/t/requirements.txt", text)])
    }

    const HASH_A: &str = "366389d1db726cd2fcfc79732e75410e5fe4d31db13692115529d34069a043c2";

    #[test]
    fn pins_with_hashes_continuations_extras_and_markers() {
        let text = format!(
            "# comment\n\
             Requests[socks]==2.25.0 ; python_version >= \"3.6\" \\\n    --hash=sha256:{HASH_A} \\\n    --hash sha256:{}\n\
             \n\
             zope.interface===5.0  # trailing comment\n\
             --index-url https://registry.example/simple\n\
             flask>=2.0\n\
             django\n",
            "b".repeat(64)
        );
        let parsed = parse(&text).unwrap();
        let names: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            names,
            [
                ("requests", "2.25.0", Some(2)),
                ("zope-interface", "5.0", Some(6))
            ]
        );
        assert_eq!(parsed.packages[0].checksums.len(), 2);
        assert_eq!(parsed.packages[0].checksums[0].hex, HASH_A);
        assert_eq!(parsed.notes.len(), 2, "{:?}", parsed.notes);
        assert_eq!(parsed.notes[0].line, Some(8));
        assert!(parsed.notes[0].message.contains("flask>=2.0"));
        assert!(parsed.notes[1].message.contains("django"));
    }

    /// Regression: a file saved with a byte-order mark failed on its first line.
    #[test]
    fn a_byte_order_mark_is_ignored_and_crlf_lines_are_read() {
        let parsed = parse("\u{feff}a==1\r\nb==2 \\\r\n    --hash=sha256:366389d1db726cd2fcfc79732e75410e5fe4d31db13692115529d34069a043c2\r\n").unwrap();
        let got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.checksums.len()))
            .collect();
        assert_eq!(got, [("a", "1", 0), ("b", "2", 1)]);
    }

    /// Regression: a comment ending in `\\` used to swallow the next requirement.
    #[test]
    fn a_comment_line_never_continues() {
        let parsed = parse("a==1 # note \\\nb==2\n# comment \\\nc==3\nd\\\n==4\n").unwrap();
        let got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            got,
            [
                ("a", "1", Some(1)),
                ("b", "2", Some(2)),
                ("c", "3", Some(4)),
                ("d", "4", Some(5))
            ]
        );
    }

    #[test]
    fn editable_url_and_vcs_lines_are_notes() {
        let parsed = parse(
            "-e ./local\nproj @ https://example.invalid/p.tar.gz\ngit+https://example.invalid/x.git#egg=x\nwildcard==1.*\n",
        )
        .unwrap();
        assert!(parsed.packages.is_empty());
        assert_eq!(parsed.notes.len(), 4, "{:?}", parsed.notes);
    }

    #[test]
    fn includes_and_constraints_are_followed() {
        let parsed = parse_files(&[
            (
                "/t/requirements.txt",
                "a==1.0\n-r sub/more.txt\n-c constraints.txt\nc\n",
            ),
            ("/t/sub/more.txt", "b==2.0\n-r ../requirements.txt.bak\n"),
            ("/t/requirements.txt.bak", "d==4.0\n"),
            ("/t/constraints.txt", "c==3.0\nunused==9\n"),
        ])
        .unwrap();
        let names: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str(), p.line))
            .collect();
        assert_eq!(
            names,
            [
                ("a", "1.0", Some(1)),
                ("b", "2.0", Some(2)),
                ("d", "4.0", Some(2)),
                ("c", "3.0", Some(4))
            ]
        );
        assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
    }

    #[test]
    fn include_cycles_are_errors_in_the_included_file() {
        let err = parse_files(&[
            ("/t/requirements.txt", "-r a.txt\n"),
            ("/t/a.txt", "x==1\n-r requirements.txt\n"),
        ])
        .unwrap_err();
        assert!(err.message.contains("include cycle"), "{err:?}");
        assert_eq!(err.path.as_deref(), Some(Path::new("/t/a.txt")));
        assert_eq!(err.line, 2);
    }

    #[test]
    fn a_failed_include_is_an_error_at_its_line() {
        let err = parse("x==1\n-r missing.txt\n").unwrap_err();
        assert_eq!((err.line, err.path.is_none()), (2, true), "{err:?}");
    }

    #[test]
    fn conflicting_pins_are_errors_and_repeats_merge() {
        let err = parse("a==1.0\nA==2.0\n").unwrap_err();
        assert_eq!(err.line, 2);
        let parsed = parse("a==1.0\nA==1.0\n").unwrap();
        assert_eq!(parsed.packages.len(), 1);
    }

    #[test]
    fn malformed_lines_are_located() {
        let cases = [
            ("a==1\n--bogus\n", 2, "unknown option"),
            ("a==1\n!!\n", 2, "expected a package name"),
            ("a==1\nb ==1.0 --hash=md5:abc\n", 2, "invalid hash"),
            ("x[extra==1\n", 1, "unclosed"),
            ("x =! 1\n", 1, "invalid version specifier"),
            ("a==1 --what\n", 1, "unexpected `--what`"),
            ("-r\n", 1, "needs a value"),
        ];
        for (text, line, want) in cases {
            let err = parse(text)
                .err()
                .unwrap_or_else(|| panic!("{text:?} parsed"));
            assert_eq!(err.line, line, "{text:?}: {err:?}");
            assert!(err.message.contains(want), "{text:?}: {err:?}");
        }
    }

    #[test]
    fn requirements_file_names() {
        for yes in [
            "requirements.txt",
            "requirements-dev.txt",
            "requirements_test.txt",
            "requirements.prod.txt",
        ] {
            assert!(is_requirements_name(yes), "{yes}");
        }
        for no in [
            "requirements.in",
            "requirements-.txt",
            "requirementsdev.txt",
            "notes.txt",
        ] {
            assert!(!is_requirements_name(no), "{no}");
        }
    }
}
