//! `go.mod`, with the `go.sum` beside it for checksums.
//!
//! Since Go 1.17 a module's go.mod lists every module its build needs (`// indirect` ones
//! included), so the `require` directives are the locked set. `replace` directives are
//! honoured: a module replaced by another module is reported under the replacement's path
//! and version (that is the code that gets built); one replaced by a local directory keeps
//! its own path and required version with `Source::Path`. `exclude` and `retract` only
//! steer resolution and are ignored; the main module itself has no version and is not a
//! package. go.mod records no dependency edges. Versions are kept verbatim (`v` prefix,
//! pseudo-versions, `+incompatible`).
//!
//! go.sum's `h1:` hash is a base64 SHA-256 over the module's file tree (Go's "dirhash");
//! it is recorded as a SHA-256 checksum in hex.

use std::collections::HashMap;

use base64::Engine;

use super::{Note, ParseError, Parsed};
use crate::package::{Checksum, Ecosystem, HashAlgorithm, LocalKind, Package, Source};

/// `(module path, version)` → hex SHA-256 of the module's tree, from go.sum.
pub(crate) type SumMap = HashMap<(String, String), String>;

/// Go versions before this one record only the requirements Go cannot infer in go.mod;
/// the build's other modules appear only in go.sum.
const COMPLETE_GO_MOD: (u32, u32) = (1, 17);

/// Parses go.mod; `sums` is go.sum's content, read by [`parse_sum`], when one exists.
///
/// For a go.mod whose `go` directive is older than 1.17 (or missing, which Go reads as
/// 1.16), the `require`s are not the whole build: every module go.sum hashes with a
/// module zip (`h1:` lines without `/go.mod`) is added at its highest version there
/// (unless go.mod requires or replaces it), and a remark says the file was read this way.
pub(crate) fn parse(text: &str, sums: Option<&SumMap>) -> Result<Parsed, ParseError> {
    let file = parse_mod(text)?;
    let mut packages = file.packages(sums);
    let mut notes = file.notes.clone();
    let line = file.go.as_ref().map(|(_, line)| *line);
    if let Some((added, note)) = complete(&file, sums, &packages, line, "") {
        packages.extend(added);
        notes.push(note);
    }
    Ok(Parsed { packages, notes })
}

/// For a go.mod before Go 1.17: the modules its go.sum adds (see [`from_sums`]) and the
/// remark saying so, or without a go.sum a warning that they cannot be audited. `None`
/// for a complete go.mod. `prefix` says which go.mod (for go.work).
fn complete(
    file: &ModFile,
    sums: Option<&SumMap>,
    packages: &[Package],
    line: Option<usize>,
    prefix: &str,
) -> Option<(Vec<Package>, Note)> {
    let go = file.incomplete()?;
    let before = "go.mod before Go 1.17 lists only the direct requirements";
    Some(match sums {
        Some(sums) => {
            let added = from_sums(sums, file, packages);
            let note = Note::remark(
                line,
                format!(
                    "{prefix}{go}: {before}, so the {} other modules that go.sum hashes were audited as indirect, each at its highest version there",
                    added.len()
                ),
            );
            (added, note)
        }
        None => (
            Vec::new(),
            Note::not_audited(
                line,
                format!(
                    "{prefix}{go}: {before} and there is no go.sum beside it: the indirect modules are not audited"
                ),
            ),
        ),
    })
}

/// One directive of a go.mod or go.work: `verb args...`, or one line of a `verb (` block.
struct Directive {
    verb: String,
    args: Vec<Token>,
    line: usize,
    /// The column just past the line's end, for "missing argument" errors.
    eol: usize,
    /// Where the verb (or the block line) starts.
    column: usize,
}

/// The directives of a go.mod or go.work text, block forms unfolded; a stray `)` or an
/// unclosed block is an error.
fn directives(text: &str) -> Result<Vec<Directive>, ParseError> {
    let mut out = Vec::new();
    let mut block: Option<(String, usize)> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let (mut tokens, _comment) = lex(raw, line)?;
        let Some(first) = tokens.first() else {
            continue;
        };
        let column = first.column;
        let verb = match &block {
            Some(_) if first.text == ")" && tokens.len() == 1 => {
                block = None;
                continue;
            }
            Some((verb, _)) => verb.clone(),
            None => {
                if first.text == ")" {
                    return Err(ParseError::new(line, column, "unexpected `)`"));
                }
                if tokens.len() == 2 && tokens[1].text == "(" {
                    block = Some((first.text.clone(), line));
                    continue;
                }
                tokens.remove(0).text
            }
        };
        out.push(Directive {
            verb,
            args: tokens,
            line,
            eol: raw.len() + 1,
            column,
        });
    }
    if let Some((verb, line)) = block {
        return Err(ParseError::new(
            line,
            1,
            format!("`{verb} (` block is never closed: expected `)`"),
        ));
    }
    Ok(out)
}

/// A parsed go.mod: what it says, before it is turned into packages.
struct ModFile {
    module: Option<(String, usize)>,
    /// The `go` directive's version and line.
    go: Option<(String, usize)>,
    requires: Vec<Require>,
    replaces: Vec<Replace>,
    notes: Vec<Note>,
}

fn parse_mod(text: &str) -> Result<ModFile, ParseError> {
    let mut requires: Vec<Require> = Vec::new();
    let mut replaces: Vec<Replace> = Vec::new();
    let mut notes = Vec::new();
    let mut module = None;
    let mut go = None;
    for Directive {
        verb,
        args,
        line: line_no,
        eol,
        column: _,
    } in directives(text)?
    {
        let args = &args[..];
        let at = |i: usize| args.get(i).map_or(eol, |t| t.column);
        match verb.as_str() {
            "module" | "go" | "toolchain" => {
                expect_count(args, 1, line_no, at(1), &verb)?;
                match verb.as_str() {
                    "module" => module = Some((args[0].text.clone(), line_no)),
                    "go" => go = Some((args[0].text.clone(), line_no)),
                    _ => {}
                }
            }
            "require" => {
                expect_count(args, 2, line_no, at(2), "require")?;
                check_version(&args[1], line_no)?;
                requires.push(Require {
                    path: args[0].text.clone(),
                    version: args[1].text.clone(),
                    line: line_no,
                });
            }
            "exclude" => {
                expect_count(args, 2, line_no, at(2), "exclude")?;
                check_version(&args[1], line_no)?;
            }
            "replace" => replaces.push(parse_replace(args, line_no, eol)?),
            // Steer the go command, not the module graph.
            "retract" | "godebug" | "tool" | "ignore" => {}
            other => notes.push(Note::not_audited(
                Some(line_no),
                format!("unknown go.mod directive `{other}` ignored"),
            )),
        }
    }
    Ok(ModFile {
        module,
        go,
        requires,
        replaces,
        notes,
    })
}

impl ModFile {
    /// `Some("go 1.15")` (or "no `go` directive") when this go.mod predates complete
    /// requirement lists.
    fn incomplete(&self) -> Option<String> {
        match &self.go {
            None => Some("no `go` directive (Go reads it as 1.16)".to_string()),
            Some((version, _)) => {
                let mut parts = version.split(|c: char| !c.is_ascii_digit());
                let major = parts.next().and_then(|p| p.parse::<u32>().ok());
                let minor = parts
                    .next()
                    .and_then(|p| p.parse::<u32>().ok())
                    .unwrap_or(0);
                match major {
                    Some(major) if (major, minor) < COMPLETE_GO_MOD => {
                        Some(format!("`go {version}`"))
                    }
                    _ => None,
                }
            }
        }
    }

    /// The required modules as packages, with replacements applied and go.sum checksums.
    fn packages(&self, sums: Option<&SumMap>) -> Vec<Package> {
        // The first `replace` for each (path, version or any version): a search of every
        // replace per require was quadratic.
        let mut replace_of: ReplaceMap = HashMap::new();
        for r in &self.replaces {
            replace_of
                .entry((r.old_path.as_str(), r.old_version.as_deref()))
                .or_insert(r);
        }
        let packages = self
            .requires
            .iter()
            .map(|req| {
                let mut pkg = resolve(req, &replace_of);
                if let Some(hex) =
                    sums.and_then(|s| s.get(&(pkg.name.clone(), pkg.version.clone())))
                {
                    pkg.checksums.push(Checksum {
                        algorithm: HashAlgorithm::Sha256,
                        hex: hex.clone(),
                    });
                }
                pkg.line = Some(req.line as u32);
                pkg
            })
            .collect::<Vec<_>>();
        // Two requirements replaced by the same module version are one package.
        let mut seen = std::collections::HashSet::new();
        packages
            .into_iter()
            .filter(|p| seen.insert((p.name.clone(), p.version.clone())))
            .collect()
    }
}

/// The first `replace` of each (old path, old version or any version).
type ReplaceMap<'a> = HashMap<(&'a str, Option<&'a str>), &'a Replace>;

/// One requirement after `replace`: the replacement module, or the module itself from a
/// local directory, or the module as required.
fn resolve(req: &Require, replace_of: &ReplaceMap) -> Package {
    let replacement = replace_of
        .get(&(req.path.as_str(), Some(req.version.as_str())))
        .or_else(|| replace_of.get(&(req.path.as_str(), None)))
        .copied();
    match replacement {
        Some(Replace {
            new: Target::Dir(dir),
            ..
        }) => {
            let mut pkg = Package::new(Ecosystem::Go, &req.path, &req.version);
            pkg.set_local(dir.clone(), LocalKind::LocalPath);
            pkg
        }
        Some(Replace {
            new: Target::Module { path, version },
            ..
        }) => {
            let mut pkg = Package::new(Ecosystem::Go, path, version);
            pkg.source = Source::Registry;
            pkg
        }
        None => {
            let mut pkg = Package::new(Ecosystem::Go, &req.path, &req.version);
            pkg.source = Source::Registry;
            pkg
        }
    }
}

/// The modules go.sum hashes (module zips only) that `packages` does not already hold and
/// go.mod does not replace, each at its highest version, sorted by path.
fn from_sums(sums: &SumMap, file: &ModFile, packages: &[Package]) -> Vec<Package> {
    let known: std::collections::HashSet<&str> = packages
        .iter()
        .map(|p| p.name.as_str())
        .chain(file.requires.iter().map(|r| r.path.as_str()))
        .chain(file.replaces.iter().map(|r| r.old_path.as_str()))
        .chain(file.module.iter().map(|(m, _)| m.as_str()))
        .collect();
    let mut highest: std::collections::BTreeMap<&str, (&str, &str)> = Default::default();
    for ((path, version), hex) in sums {
        if known.contains(path.as_str()) {
            continue;
        }
        let newer = highest.get(path.as_str()).is_none_or(|(current, _)| {
            let parse = |v: &str| crate::advisory::version::Version::parse(Ecosystem::Go, v);
            match (parse(version), parse(current)) {
                (Some(a), Some(b)) => a.compare(&b).is_some_and(|o| o.is_gt()),
                // A version that does not parse never displaces one that does.
                (Some(_), None) => true,
                (None, Some(_)) => false,
                (None, None) => version.as_str() > *current,
            }
        });
        if newer {
            highest.insert(path, (version, hex));
        }
    }
    highest
        .into_iter()
        .map(|(path, (version, hex))| {
            let mut pkg = Package::new(Ecosystem::Go, path, version);
            pkg.source = Source::Registry;
            pkg.checksums.push(Checksum {
                algorithm: HashAlgorithm::Sha256,
                hex: hex.to_string(),
            });
            pkg
        })
        .collect()
}

/// Reads a used module's files for [`parse_work`]: the directory as go.work names it →
/// (where that directory is, go.mod text, go.sum text if there is one), or the error.
pub(crate) type ModuleReader<'a> =
    dyn FnMut(&str) -> Result<(std::path::PathBuf, String, Option<String>), ParseError> + 'a;

/// Parses go.work: its `use`d modules are the workspace's own code (counted as local);
/// the packages are the union of their requirements (each read as its go.mod is, so one
/// older than Go 1.17 is completed from its go.sum), at the highest version any of them
/// requires (what workspace mode builds, Go's minimal version selection over complete
/// go.mod files), with go.work's `replace`s over the modules' own. A requirement on
/// another used module is that module. Checksums come from each go.sum and go.work.sum.
pub(crate) fn parse_work(
    text: &str,
    work_sums: Option<&SumMap>,
    read: &mut ModuleReader<'_>,
) -> Result<Parsed, ParseError> {
    let mut uses: Vec<(String, usize)> = Vec::new();
    let mut replaces: Vec<Replace> = Vec::new();
    for Directive {
        verb,
        args,
        line: line_no,
        eol,
        column,
    } in directives(text)?
    {
        let args = &args[..];
        let at = |i: usize| args.get(i).map_or(eol, |t| t.column);
        match verb.as_str() {
            "go" | "toolchain" => expect_count(args, 1, line_no, at(1), &verb)?,
            "use" => {
                if args.len() != 1 {
                    return Err(ParseError::new(
                        line_no,
                        at(1),
                        format!(
                            "expected `use <directory>`, found {} argument(s)",
                            args.len()
                        ),
                    ));
                }
                uses.push((args[0].text.clone(), line_no));
            }
            "replace" => replaces.push(parse_replace(args, line_no, eol)?),
            "godebug" => {}
            other => {
                return Err(ParseError::new(
                    line_no,
                    column,
                    format!(
                        "unknown go.work directive `{other}`: expected go, toolchain, use, replace or godebug"
                    ),
                ));
            }
        }
    }
    if uses.is_empty() {
        return Err(ParseError::new(
            1,
            1,
            "go.work uses no module: expected a `use` directive",
        ));
    }

    let mut notes = Vec::new();
    let mut modules: Vec<(ModFile, Option<SumMap>, usize)> = Vec::new();
    for (dir, line) in &uses {
        let (base, mod_text, sum_text) = read(dir).map_err(|e| ParseError { line: *line, ..e })?;
        let file = parse_mod(&mod_text).map_err(|e| e.in_file(&base.join("go.mod")))?;
        if file.module.is_none() {
            return Err(ParseError::new(
                *line,
                1,
                format!("`use {dir}`: its go.mod has no `module` directive"),
            ));
        }
        let sums = sum_text
            .map(|t| parse_sum(&t).map_err(|e| e.in_file(&base.join("go.sum"))))
            .transpose()?;
        modules.push((file, sums, *line));
    }
    let members: std::collections::HashSet<String> = modules
        .iter()
        .filter_map(|(f, _, _)| f.module.as_ref().map(|(m, _)| m.clone()))
        .collect();
    let mut all_sums: SumMap = work_sums.cloned().unwrap_or_default();
    for (_, sums, _) in &modules {
        for (key, hex) in sums.iter().flatten() {
            all_sums.entry(key.clone()).or_insert_with(|| hex.clone());
        }
    }
    let mut chosen: std::collections::BTreeMap<String, Package> = Default::default();
    for (file, sums, line) in &modules {
        let (module, _) = file.module.clone().unwrap_or_default();
        let dir = uses
            .iter()
            .find(|(_, l)| l == line)
            .map_or("", |(d, _)| d.as_str());
        notes.push(Note::local(
            Some(*line),
            format!("{module} ({dir})"),
            LocalKind::WorkspaceMember,
        ));
        // go.work's replacements win over the module's own.
        let effective = ModFile {
            module: file.module.clone(),
            go: file.go.clone(),
            requires: file
                .requires
                .iter()
                .filter(|r| !members.contains(&r.path))
                .cloned()
                .collect(),
            replaces: replaces.iter().chain(&file.replaces).cloned().collect(),
            notes: Vec::new(),
        };
        let mut packages = effective.packages(Some(&all_sums));
        let prefix = format!("`use {dir}`: ");
        if let Some((added, note)) =
            complete(&effective, sums.as_ref(), &packages, Some(*line), &prefix)
        {
            packages.extend(added);
            notes.push(note);
        }
        for mut package in packages {
            // Lines point into the used modules' files, not into go.work.
            package.line = None;
            let key = package.name.clone();
            let newer = chosen.get(&key).is_none_or(|current| {
                let parse = |v: &str| crate::advisory::version::Version::parse(Ecosystem::Go, v);
                match (parse(&package.version), parse(&current.version)) {
                    (Some(a), Some(b)) => a.compare(&b).is_some_and(|o| o.is_gt()),
                    _ => false,
                }
            });
            if newer {
                chosen.insert(key, package);
            }
        }
    }
    Ok(Parsed {
        packages: chosen.into_values().collect(),
        notes,
    })
}

/// Reads go.sum: `<module> <version>[/go.mod] h1:<base64>` per line. Only the hashes of
/// module trees are kept (not those of their go.mod files).
pub(crate) fn parse_sum(text: &str) -> Result<SumMap, ParseError> {
    let mut sums = SumMap::new();
    for (index, line) in text.lines().enumerate() {
        let line_no = index + 1;
        let fields: Vec<&str> = line.split_whitespace().collect();
        if fields.is_empty() {
            continue;
        }
        let [path, version, hash] = fields[..] else {
            return Err(ParseError::new(
                line_no,
                1,
                format!(
                    "expected `<module> <version> <hash>`, found {} fields",
                    fields.len()
                ),
            ));
        };
        if version.ends_with("/go.mod") {
            continue;
        }
        let Some(encoded) = hash.strip_prefix("h1:") else {
            // Another hash algorithm Go might add later: nothing vouch can record.
            continue;
        };
        let column = line.find(hash).map_or(1, |c| c + 1);
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .map_err(|e| ParseError::new(line_no, column, format!("invalid h1 hash: {e}")))?;
        if bytes.len() != 32 {
            return Err(ParseError::new(
                line_no,
                column,
                format!(
                    "invalid h1 hash: expected 32 bytes of SHA-256, found {}",
                    bytes.len()
                ),
            ));
        }
        let hex = crate::package::hex(&bytes);
        sums.insert((path.to_string(), version.to_string()), hex);
    }
    Ok(sums)
}

#[derive(Clone)]
struct Require {
    path: String,
    version: String,
    line: usize,
}

#[derive(Clone)]
struct Replace {
    old_path: String,
    old_version: Option<String>,
    new: Target,
}

#[derive(Clone)]
enum Target {
    Module { path: String, version: String },
    Dir(String),
}

fn parse_replace(args: &[Token], line: usize, eol: usize) -> Result<Replace, ParseError> {
    let arrow = args.iter().position(|t| t.text == "=>").ok_or_else(|| {
        ParseError::new(
            line,
            args.first().map_or(eol, |t| t.column),
            "expected `replace <module> [<version>] => <module> <version>` or `=> <directory>`",
        )
    })?;
    let (lhs, rhs) = (&args[..arrow], &args[arrow + 1..]);
    let old_version = match lhs {
        [_] => None,
        [_, v] => {
            check_version(v, line)?;
            Some(v.text.clone())
        }
        _ => {
            return Err(ParseError::new(
                line,
                args.first().map_or(eol, |t| t.column),
                "expected a module path and an optional version before `=>`",
            ));
        }
    };
    let new = match rhs {
        [dir] if is_local_path(&dir.text) => Target::Dir(dir.text.clone()),
        [path, version] => {
            check_version(version, line)?;
            Target::Module {
                path: path.text.clone(),
                version: version.text.clone(),
            }
        }
        _ => {
            return Err(ParseError::new(
                line,
                rhs.first().map_or(eol, |t| t.column),
                "expected `<module> <version>` or a local directory (`./...`, `../...`, `/...`) after `=>`",
            ));
        }
    };
    Ok(Replace {
        old_path: lhs[0].text.clone(),
        old_version,
        new,
    })
}

/// Go's rule: a replacement without a version is a directory when it is rooted or starts
/// with `./` or `../`.
fn is_local_path(path: &str) -> bool {
    path.starts_with("./")
        || path.starts_with("../")
        || path.starts_with('/')
        || path.starts_with(".\\")
        || path.starts_with("..\\")
        || path == "."
        || path == ".."
        || (path.len() > 2
            && path.as_bytes()[1] == b':'
            && path.as_bytes()[0].is_ascii_alphabetic())
}

fn expect_count(
    args: &[Token],
    count: usize,
    line: usize,
    column: usize,
    verb: &str,
) -> Result<(), ParseError> {
    if args.len() == count {
        return Ok(());
    }
    let expected = match verb {
        "require" | "exclude" => format!("`{verb} <module> <version>`"),
        "module" => "`module <path>`".to_string(),
        _ => format!("`{verb} <version>`"),
    };
    Err(ParseError::new(
        line,
        column,
        format!("expected {expected}, found {} argument(s)", args.len()),
    ))
}

fn check_version(token: &Token, line: usize) -> Result<(), ParseError> {
    let ok = token
        .text
        .strip_prefix('v')
        .and_then(|rest| rest.chars().next())
        .is_some_and(|c| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(ParseError::new(
            line,
            token.column,
            format!(
                "expected a module version like v1.2.3, found `{}`",
                token.text
            ),
        ))
    }
}

struct Token {
    text: String,
    /// 1-based column (in bytes) where the token starts.
    column: usize,
}

/// Splits one go.mod line into tokens (bare words, `"..."` and `` `...` `` strings, `(`,
/// `)`, `=>`) and the text of a trailing `//` comment.
fn lex(line: &str, line_no: usize) -> Result<(Vec<Token>, &str), ParseError> {
    let bytes = line.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if bytes[i..].starts_with(b"//") {
            return Ok((tokens, line.get(i + 2..).unwrap_or("")));
        }
        let start = i;
        let text = match c {
            b'(' | b')' => {
                i += 1;
                line[start..i].to_string()
            }
            b'"' => {
                let mut value = String::new();
                i += 1;
                loop {
                    match bytes.get(i) {
                        None => {
                            return Err(ParseError::new(
                                line_no,
                                start + 1,
                                "unterminated string: expected a closing `\"`",
                            ));
                        }
                        Some(b'"') => {
                            i += 1;
                            break;
                        }
                        Some(b'\\') => {
                            let Some(next) = line[i + 1..].chars().next() else {
                                return Err(ParseError::new(
                                    line_no,
                                    i + 1,
                                    "unterminated escape in string",
                                ));
                            };
                            value.push(next);
                            i += 1 + next.len_utf8();
                        }
                        Some(_) => {
                            let Some(ch) = line[i..].chars().next() else {
                                break;
                            };
                            value.push(ch);
                            i += ch.len_utf8();
                        }
                    }
                }
                value
            }
            b'`' => {
                let Some(end) = line[i + 1..].find('`') else {
                    return Err(ParseError::new(
                        line_no,
                        start + 1,
                        "unterminated raw string: expected a closing backquote",
                    ));
                };
                i += end + 2;
                line[start + 1..i - 1].to_string()
            }
            _ => {
                while i < bytes.len()
                    && !bytes[i].is_ascii_whitespace()
                    && !matches!(bytes[i], b'(' | b')' | b'"' | b'`')
                    && !bytes[i..].starts_with(b"//")
                {
                    i += 1;
                }
                line[start..i].to_string()
            }
        };
        tokens.push(Token {
            text,
            column: start + 1,
        });
    }
    Ok((tokens, ""))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GO_MOD: &str = r#"module example.com/app

go 1.21

toolchain go1.21.5

require github.com/single/line v1.0.0

require (
	github.com/gin-gonic/gin v1.9.0
	golang.org/x/net v0.0.0-20220624214902-1bab6f366d9e // indirect
	github.com/docker/docker v20.10.17+incompatible // indirect
	"github.com/quoted/mod" v0.1.0
	example.com/old v1.0.0
	example.com/pinned v1.2.0
	example.com/local v1.5.0
)

exclude golang.org/x/net v0.0.0-20200101000000-abcdefabcdef

replace (
	example.com/old => example.com/new v1.1.0
	example.com/pinned v1.0.0 => example.com/never v9.0.0 // only for v1.0.0, not required
	example.com/local => ../local
)

retract [v0.1.0, v0.2.0]
"#;

    fn find<'a>(packages: &'a [Package], name: &str) -> &'a Package {
        packages
            .iter()
            .find(|p| p.name == name)
            .unwrap_or_else(|| panic!("{name} missing"))
    }

    #[test]
    fn requires_blocks_and_replacements() {
        let parsed = parse(GO_MOD, None).unwrap();
        let packages = &parsed.packages;
        assert_eq!(packages.len(), 8, "{packages:#?}");
        assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
        assert_eq!(find(packages, "github.com/single/line").line, Some(7));
        let gin = find(packages, "github.com/gin-gonic/gin");
        assert_eq!(gin.version, "v1.9.0");
        assert_eq!(gin.line, Some(10));
        assert_eq!(gin.source, Source::Registry);
        assert_eq!(
            find(packages, "golang.org/x/net").version,
            "v0.0.0-20220624214902-1bab6f366d9e"
        );
        assert_eq!(
            find(packages, "github.com/docker/docker").version,
            "v20.10.17+incompatible"
        );
        assert_eq!(find(packages, "github.com/quoted/mod").version, "v0.1.0");
        // Replaced by another module: reported as the replacement.
        assert!(!packages.iter().any(|p| p.name == "example.com/old"));
        let new = find(packages, "example.com/new");
        assert_eq!((new.version.as_str(), new.line), ("v1.1.0", Some(14)));
        // A version-specific replacement applies only to that version.
        assert_eq!(find(packages, "example.com/pinned").version, "v1.2.0");
        // Replaced by a local directory.
        let local = find(packages, "example.com/local");
        assert_eq!(local.source, Source::Path("../local".into()));
        assert_eq!(local.version, "v1.5.0");
    }

    #[test]
    fn go_sum_h1_hashes_become_sha256_hex() {
        let sum = "github.com/gin-gonic/gin v1.9.0 h1:OjyFBKICoexlu99ctXNR2gg+c5pKrKMuyjgARg9qeY8=\n\
                   github.com/gin-gonic/gin v1.9.0/go.mod h1:W1Me9+hsUSyj3CePGrd1/QrKJMSJ1Tu/0hFEH89961k=\n";
        let sums = parse_sum(sum).unwrap();
        assert_eq!(sums.len(), 1);
        let parsed = parse(GO_MOD, Some(&sums)).unwrap();
        let gin = find(&parsed.packages, "github.com/gin-gonic/gin");
        assert_eq!(gin.checksums.len(), 1);
        assert_eq!(gin.checksums[0].algorithm, HashAlgorithm::Sha256);
        assert_eq!(
            gin.checksums[0].hex,
            "3a3c8504a202a1ec65bbdf5cb57351da083e739a4aaca32eca3800460f6a798f"
        );
        assert!(
            find(&parsed.packages, "golang.org/x/net")
                .checksums
                .is_empty()
        );
    }

    #[test]
    fn malformed_go_sum_is_located() {
        let err = parse_sum("a v1.0.0 h1:abc=\n").unwrap_err();
        assert_eq!((err.line, err.column), (1, 10), "{err:?}");
        let err =
            parse_sum("ok v1.0.0 h1:OjyFBKICoexlu99ctXNR2gg+c5pKrKMuyjgARg9qeY8=\nbad line\n")
                .unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
    }

    #[test]
    fn malformed_go_mod_is_located() {
        let cases = [
            ("module m\nrequire (\n\ta v1.0.0\n", 2, "never closed"),
            (
                "module m\nrequire a\n",
                2,
                "expected `require <module> <version>`",
            ),
            (
                "module m\nrequire a 1.0.0\n",
                2,
                "expected a module version",
            ),
            ("module m\n)\n", 2, "unexpected `)`"),
            ("module \"m\n", 1, "unterminated string"),
            ("module m\nreplace a v1.0.0\n", 2, "expected `replace"),
            ("module m\nreplace a => b\n", 2, "after `=>`"),
        ];
        for (text, line, want) in cases {
            let err = parse(text, None)
                .err()
                .unwrap_or_else(|| panic!("{text:?} parsed"));
            assert_eq!(err.line, line, "{text:?}: {err:?}");
            assert!(err.message.contains(want), "{text:?}: {err:?}");
        }
    }

    #[test]
    fn modules_replaced_by_the_same_target_are_one_package() {
        let text = "module m\nrequire (\n\ta v1.0.0\n\tb v1.0.0\n)\nreplace a => c v2.0.0\nreplace b => c v2.0.0\n";
        let packages = parse(text, None).unwrap().packages;
        assert_eq!(packages.len(), 1, "{packages:#?}");
        assert_eq!(
            (packages[0].name.as_str(), packages[0].line),
            ("c", Some(3))
        );
    }

    #[test]
    fn multibyte_text_is_lexed_without_slicing_inside_a_character() {
        let err = parse("module m\nrequire é/x v1.0.0 é//x\n", None).unwrap_err();
        assert_eq!(err.line, 2, "{err:?}");
        assert!(parse("module m\nrequire é/x v1.0.0 //é\n", None).is_ok());
    }

    /// skopeo's real go.sum (fixtures/go/skopeo) has a tree hash for every required module.
    #[test]
    fn every_module_of_a_real_go_mod_gets_its_go_sum_checksum() {
        let sums = parse_sum(include_str!("../../fixtures/go/skopeo/go.sum")).unwrap();
        let parsed = parse(include_str!("../../fixtures/go/skopeo/go.mod"), Some(&sums)).unwrap();
        assert_eq!(parsed.packages.len(), 99);
        assert!(parsed.notes.is_empty(), "{:?}", parsed.notes);
        let lines: Vec<&str> = include_str!("../../fixtures/go/skopeo/go.mod")
            .lines()
            .collect();
        for p in &parsed.packages {
            assert_eq!(p.checksums.len(), 1, "{} {}", p.name, p.version);
            assert_eq!(p.checksums[0].hex.len(), 64);
            // Each package points at its own require line.
            let line = lines[p.line.unwrap() as usize - 1];
            let words: Vec<_> = line.split_whitespace().take(2).collect();
            assert_eq!(words, [p.name.as_str(), p.version.as_str()]);
        }
        let docker = find(&parsed.packages, "github.com/docker/docker");
        assert_eq!(docker.version, "v20.10.17+incompatible");
        assert_eq!(docker.line, Some(10));
    }

    #[test]
    fn unknown_directives_are_noted_not_dropped() {
        let parsed = parse("module m\ngo 1.21\nfuture thing\nrequire a v1.0.0\n", None).unwrap();
        assert_eq!(parsed.packages.len(), 1);
        assert_eq!(parsed.notes.len(), 1);
        assert_eq!(parsed.notes[0].line, Some(3));
    }

    /// restic 0.14.0's real go.mod says `go 1.15`: its 43 requirements leave out modules
    /// the build uses, which only go.sum names (fixtures/go/README.md).
    #[test]
    fn a_go_mod_before_1_17_is_completed_from_go_sum() {
        let sums = parse_sum(include_str!("../../fixtures/go/restic/go.sum")).unwrap();
        let parsed = parse(include_str!("../../fixtures/go/restic/go.mod"), Some(&sums)).unwrap();
        let required = 43;
        assert_eq!(
            parsed.packages.len(),
            81,
            "every module go.sum hashes, once"
        );
        let from_sum = &parsed.packages[required..];
        assert!(
            from_sum
                .iter()
                .all(|p| p.line.is_none() && p.checksums.len() == 1)
        );
        // The highest of go.sum's versions of a module go.mod does not require.
        let humanize: Vec<_> = from_sum
            .iter()
            .filter(|p| p.name == "github.com/dustin/go-humanize")
            .map(|p| p.version.as_str())
            .collect();
        assert_eq!(humanize, ["v1.0.0"]);
        let yaml: Vec<_> = from_sum
            .iter()
            .filter(|p| p.name == "gopkg.in/yaml.v3")
            .map(|p| p.version.as_str())
            .collect();
        assert_eq!(yaml, ["v3.0.0-20200313102051-9f266ea9e77c"]);
        // A required module keeps go.mod's version.
        let text: Vec<_> = parsed
            .packages
            .iter()
            .filter(|p| p.name == "golang.org/x/text")
            .map(|p| p.version.as_str())
            .collect();
        assert_eq!(text, ["v0.3.7"]);
        assert_eq!(parsed.notes.len(), 1, "{:?}", parsed.notes);
        let remark = &parsed.notes[0];
        assert!(remark.remark && remark.line == Some(49), "{remark:?}");
        assert!(
            remark.message.contains("`go 1.15`") && remark.message.contains("38 other modules"),
            "{remark:?}"
        );
    }

    #[test]
    fn go_sum_completion_skips_replaced_modules_and_the_main_module() {
        let text = "module example.com/app\ngo 1.16\nrequire a v1.0.0\nreplace old => new v2.0.0\n";
        let hash = "h1:OjyFBKICoexlu99ctXNR2gg+c5pKrKMuyjgARg9qeY8=";
        let sum = format!(
            "a v1.0.0 {hash}\na v1.1.0 {hash}\nold v1.0.0 {hash}\nexample.com/app v0.1.0 {hash}\nb v1.2.0 {hash}\nb v1.10.0 {hash}\nb v1.9.0/go.mod {hash}\nc v0.0.0-20200101000000-abcdefabcdef {hash}\nc v0.1.0 {hash}\n"
        );
        let sums = parse_sum(&sum).unwrap();
        let parsed = parse(text, Some(&sums)).unwrap();
        let got: Vec<_> = parsed
            .packages
            .iter()
            .map(|p| (p.name.as_str(), p.version.as_str()))
            .collect();
        assert_eq!(got, [("a", "v1.0.0"), ("b", "v1.10.0"), ("c", "v0.1.0")]);
        // go 1.17 and later: go.mod is complete, go.sum adds nothing.
        let parsed = parse(&text.replace("go 1.16", "go 1.17"), Some(&sums)).unwrap();
        assert_eq!(parsed.packages.len(), 1);
        assert!(parsed.notes.is_empty());
    }

    #[test]
    fn a_go_mod_before_1_17_without_go_sum_warns_that_indirect_modules_are_not_audited() {
        for text in [
            "module m\ngo 1.16\nrequire a v1.0.0\n",
            "module m\nrequire a v1.0.0\n",
        ] {
            let parsed = parse(text, None).unwrap();
            assert_eq!(parsed.packages.len(), 1);
            assert_eq!(parsed.notes.len(), 1, "{text:?}");
            let note = &parsed.notes[0];
            assert!(!note.remark && note.local.is_none(), "a warning: {note:?}");
            assert!(note.message.contains("not audited"), "{note:?}");
        }
    }

    /// The real go.work (`go work init ./restic ./skopeo` and `go work edit -replace`, go
    /// 1.19.8) over the real restic (go 1.15) and skopeo (go 1.17) modules.
    #[test]
    fn go_work_unites_its_modules_at_the_highest_versions() {
        let files = |dir: &str| match dir {
            "./restic" => (
                include_str!("../../fixtures/go/restic/go.mod"),
                include_str!("../../fixtures/go/restic/go.sum"),
            ),
            "./skopeo" => (
                include_str!("../../fixtures/go/skopeo/go.mod"),
                include_str!("../../fixtures/go/skopeo/go.sum"),
            ),
            _ => panic!("{dir}"),
        };
        let mut read = |dir: &str| {
            let (m, s) = files(dir);
            Ok((
                std::path::PathBuf::from(dir),
                m.to_string(),
                Some(s.to_string()),
            ))
        };
        // go.work.sum has go.sum's format; the go command writes it only after downloading
        // (no module proxy here), so this one line is written by hand.
        let work_sum = "golang.org/x/text v0.3.8 h1:nAL+RVCQ9uMn3vJZbV+MRnydTJFPf8qqY42YiA6MrqY=\n";
        let work_sums = parse_sum(work_sum).unwrap();
        let parsed = parse_work(
            include_str!("../../fixtures/go/go.work"),
            Some(&work_sums),
            &mut read,
        )
        .unwrap();
        let find = |name: &str| {
            parsed
                .packages
                .iter()
                .find(|p| p.name == name)
                .unwrap_or_else(|| panic!("{name}"))
        };
        // restic requires x/crypto v0.0.0-20220817201139-bc19a97f63c8, skopeo an older one.
        assert_eq!(
            find("golang.org/x/crypto").version,
            "v0.0.0-20220817201139-bc19a97f63c8"
        );
        // go.work's replace wins over both modules' requirement, with go.work.sum's hash.
        let text = find("golang.org/x/text");
        assert_eq!(text.version, "v0.3.8");
        assert_eq!(text.checksums.len(), 1);
        // Each module path once; no line (they point into other files).
        let mut names: Vec<_> = parsed.packages.iter().map(|p| p.name.as_str()).collect();
        let count = names.len();
        names.dedup();
        assert_eq!(names.len(), count);
        assert!(parsed.packages.iter().all(|p| p.line.is_none()));
        let local: Vec<_> = parsed
            .notes
            .iter()
            .filter(|n| n.local.is_some())
            .map(|n| n.message.as_str())
            .collect();
        assert_eq!(
            local,
            [
                "github.com/restic/restic (./restic)",
                "github.com/containers/skopeo (./skopeo)"
            ]
        );
        let remarks: Vec<_> = parsed.notes.iter().filter(|n| n.remark).collect();
        assert_eq!(
            remarks.len(),
            1,
            "restic's go.mod is completed from its go.sum"
        );
        assert!(remarks[0].message.starts_with("`use ./restic`: `go 1.15`"));
    }

    #[test]
    fn malformed_go_work_is_located() {
        let mut none =
            |dir: &str| -> Result<(std::path::PathBuf, String, Option<String>), ParseError> {
                Err(ParseError::new(1, 1, format!("no {dir}")))
            };
        for (text, line, want) in [
            ("go 1.21\n", 1, "uses no module"),
            ("go 1.21\nuse (\n./a\n", 2, "never closed"),
            ("go 1.21\nuse ./a ./b\n", 2, "expected `use <directory>`"),
            (
                "go 1.21\nrequire a v1.0.0\n",
                2,
                "unknown go.work directive",
            ),
            ("go 1.21\n\nuse ./a\n", 3, "no ./a"),
        ] {
            let err = parse_work(text, None, &mut none).unwrap_err();
            assert_eq!(err.line, line, "{text:?}: {err:?}");
            assert!(err.message.contains(want), "{text:?}: {err:?}");
        }
        let mut no_module =
            |_: &str| Ok((std::path::PathBuf::from("a"), "go 1.21\n".to_string(), None));
        let err = parse_work("use ./a\n", None, &mut no_module).unwrap_err();
        assert!(err.message.contains("no `module`"), "{err:?}");
        let mut bad_mod = |_: &str| {
            Ok((
                std::path::PathBuf::from("a"),
                "module m\nrequire x\n".to_string(),
                None,
            ))
        };
        let err = parse_work("use ./a\n", None, &mut bad_mod).unwrap_err();
        assert_eq!(err.path.as_deref(), Some(std::path::Path::new("a/go.mod")));
        assert_eq!(err.line, 2);
    }
}
