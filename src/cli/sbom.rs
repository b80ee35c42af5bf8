//! `vouch sbom`: lockfiles → SBOM (SPDX 2.3 JSON or tag-value, CycloneDX 1.6 JSON).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use clap::ValueEnum;

use crate::lockfile::{self, Format};
use crate::report::Verdict;
use crate::sbom::{self, Resolver};

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SbomFormat {
    /// SPDX 2.3, JSON.
    SpdxJson,
    /// SPDX 2.3, tag-value.
    SpdxTv,
    /// CycloneDX 1.6, JSON.
    CyclonedxJson,
}

impl SbomFormat {
    pub fn parse(name: &str) -> Option<SbomFormat> {
        <SbomFormat as ValueEnum>::from_str(name, true).ok()
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The project directory (its lockfiles and manifest), or one lockfile.
    #[arg(value_name = "PATH", default_value = ".")]
    pub path: PathBuf,

    /// Output format.
    #[arg(long, value_enum, default_value_t = SbomFormat::SpdxJson)]
    pub format: SbomFormat,

    /// Write to FILE (atomically; never through a symlink) instead of stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Include lockfiles in subdirectories (a monorepo), skipping target/, .git/ and
    /// node_modules/.
    #[arg(long)]
    pub recursive: bool,
}

pub fn run(args: Args, out: &mut dyn Write, err: &mut dyn Write) -> anyhow::Result<Verdict> {
    let (doc, warnings) = generate(&args.path, args.format, args.recursive)?;
    for warning in &warnings {
        writeln!(err, "warning: {warning}")?;
    }
    match &args.output {
        Some(path) => write_output(path, &doc, true)?,
        None => out.write_all(&doc)?,
    }
    Ok(Verdict::Pass)
}

/// Renders the SBOM of the project at `path`; returns the bytes and any warnings.
pub(crate) fn generate(
    path: &Path,
    format: SbomFormat,
    recursive: bool,
) -> anyhow::Result<(Vec<u8>, Vec<String>)> {
    let (project, found) = if path.is_file() {
        let format = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(Format::from_file_name)
            .ok_or_else(|| lockfile::Error::UnknownFormat {
                path: path.to_path_buf(),
            })?;
        let project = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        (project, vec![(path.to_path_buf(), format)])
    } else if recursive {
        (
            path.to_path_buf(),
            lockfile::discover(&[path.to_path_buf()])?,
        )
    } else {
        let mut found: Vec<_> = Format::known_file_names()
            .iter()
            .map(|name| path.join(name))
            .filter(|p| p.is_file())
            .filter_map(|p| {
                let format = p
                    .file_name()
                    .and_then(|n| n.to_str())
                    .and_then(Format::from_file_name)?;
                Some((p, format))
            })
            .collect();
        found.sort();
        if found.is_empty() {
            return Err(lockfile::Error::NoneFound {
                path: path.to_path_buf(),
            }
            .into());
        }
        (path.to_path_buf(), found)
    };
    let mut lockfiles = Vec::with_capacity(found.len());
    for (p, f) in found {
        lockfiles.push(lockfile::load(&p, f)?);
    }
    if lockfiles.iter().all(|l| l.packages.is_empty()) {
        bail!(
            "no packages in {}: an empty SBOM describes nothing",
            path.display()
        );
    }
    let cargo_home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let resolver = Resolver::new(cargo_home.as_deref(), &project);
    let options = sbom::Options {
        project: &project,
        source_date_epoch: std::env::var("SOURCE_DATE_EPOCH")
            .ok()
            .filter(|s| !s.is_empty()),
        resolver: &resolver,
    };
    let doc = sbom::build(&lockfiles, &options)?;
    let mut bytes = Vec::new();
    match format {
        SbomFormat::SpdxJson => sbom::spdx_json::write(&doc, &mut bytes)?,
        SbomFormat::SpdxTv => sbom::spdx_tv::write(&doc, &mut bytes)?,
        SbomFormat::CyclonedxJson => sbom::cyclonedx::write(&doc, &mut bytes)?,
    }
    Ok((bytes, doc.warnings))
}

/// Writes `bytes` to `path` atomically. Never through a symlink; a path that was not
/// given explicitly (a policy's) must stay inside the working directory.
pub(crate) fn write_output(path: &Path, bytes: &[u8], explicit: bool) -> anyhow::Result<()> {
    if path
        .symlink_metadata()
        .is_ok_and(|m| m.file_type().is_symlink())
    {
        bail!("{}: refusing to write through a symlink", path.display());
    }
    if !explicit {
        let cwd = std::fs::canonicalize(std::env::current_dir()?)?;
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let parent =
            std::fs::canonicalize(parent).with_context(|| format!("{}", parent.display()))?;
        if !parent.starts_with(&cwd) {
            bail!(
                "{}: refusing to write outside the working directory (give the path with -o to allow it)",
                path.display()
            );
        }
    }
    super::check::write_atomically(path, |w| w.write_all(bytes))
        .with_context(|| format!("could not write {}", path.display()))
}
