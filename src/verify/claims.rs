//! The claims of a Fulcio certificate beyond its SAN and issuer: the extensions under
//! `1.3.6.1.4.1.57264.1` (<https://github.com/sigstore/fulcio/blob/main/docs/oid-info.md>)
//! that say which repository, ref, commit, workflow and runner the signing workload was,
//! and the policy requirements matched against them.
//!
//! One table ([`EXTENSIONS`]) names every extension a policy can ask for: its name (the
//! policy key in `certificate-extensions`, the `--certificate-extension NAME=VALUE` name),
//! its arc under the Fulcio OID, how Fulcio encodes it (the deprecated `.2` to `.6` as
//! the bare string, `.9` onwards as a DER UTF8String) and where sigstore-verify put the
//! value it read.
//!
//! The values come from sigstore-verify's parse of the signing certificate
//! ([`sigstore_verify::crypto::FulcioCiClaims`]), handed over only for a certificate the
//! library verified; vouch never reads a claim of a certificate the library did not
//! verify. The library leaves a claim it cannot decode unset, so vouch looks at the
//! verified leaf itself to tell "absent" from "malformed": an extension the policy asks
//! for that is present but undecodable, or present twice, is a verification failure
//! ([`ClaimError`]); an absent one is a mismatch. Never a pass.

use std::fmt;

use der::Decode as _;
use sigstore_verify::crypto::FulcioCiClaims;

use super::identity::{Matcher, PatternError};

/// The Fulcio arc: every extension here is `1.3.6.1.4.1.57264.1.N`.
pub const FULCIO_ARC: &str = "1.3.6.1.4.1.57264.1";
/// The OID of the SubjectAltName extension, where the identity is read.
pub const SAN_OID: &str = "2.5.29.17";
/// The issuer of GitHub Actions' OIDC tokens.
pub const GITHUB_ISSUER: &str = "https://token.actions.githubusercontent.com";

/// How Fulcio encodes an extension's value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    /// The deprecated GitHub extensions `.2` to `.6`: the UTF-8 string itself.
    Raw,
    /// `.8` onwards: a DER UTF8String.
    Der,
}

impl Encoding {
    fn describe(self) -> &'static str {
        match self {
            Encoding::Raw => "a UTF-8 string",
            Encoding::Der => "a DER UTF8String",
        }
    }
}

/// One Fulcio extension a policy can match by name.
pub struct Extension {
    /// The kebab-case name of Fulcio's directory entry (`source-repository-ref`).
    pub name: &'static str,
    /// `N` of `1.3.6.1.4.1.57264.1.N`.
    pub arc: u32,
    pub encoding: Encoding,
    /// Where sigstore-verify put the value it read.
    value: fn(&FulcioCiClaims) -> Option<&str>,
}

impl Extension {
    pub fn oid(&self) -> String {
        format!("{FULCIO_ARC}.{}", self.arc)
    }
}

impl fmt::Debug for Extension {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.name, self.oid())
    }
}

impl PartialEq for Extension {
    fn eq(&self, other: &Extension) -> bool {
        self.arc == other.arc
    }
}

macro_rules! extension {
    ($name:literal, $arc:literal, $encoding:ident, $($field:ident).+) => {
        Extension {
            name: $name,
            arc: $arc,
            encoding: Encoding::$encoding,
            value: |c| c.$($field).+.as_deref(),
        }
    };
}

/// Every extension a policy can name (the issuer, `.1` and `.8`, is matched by
/// `certificate-oidc-issuer` instead; `.7` is not a certificate extension).
pub const EXTENSIONS: &[Extension] = &[
    extension!(
        "github-workflow-trigger",
        2,
        Raw,
        deprecated_github.workflow_trigger
    ),
    extension!(
        "github-workflow-sha",
        3,
        Raw,
        deprecated_github.workflow_sha
    ),
    extension!(
        "github-workflow-name",
        4,
        Raw,
        deprecated_github.workflow_name
    ),
    extension!(
        "github-workflow-repository",
        5,
        Raw,
        deprecated_github.workflow_repository
    ),
    extension!(
        "github-workflow-ref",
        6,
        Raw,
        deprecated_github.workflow_ref
    ),
    extension!("build-signer-uri", 9, Der, build_signer_uri),
    extension!("build-signer-digest", 10, Der, build_signer_digest),
    extension!("runner-environment", 11, Der, runner_environment),
    extension!("source-repository-uri", 12, Der, source_repository_uri),
    extension!(
        "source-repository-digest",
        13,
        Der,
        source_repository_digest
    ),
    extension!("source-repository-ref", 14, Der, source_repository_ref),
    extension!(
        "source-repository-identifier",
        15,
        Der,
        source_repository_identifier
    ),
    extension!(
        "source-repository-owner-uri",
        16,
        Der,
        source_repository_owner_uri
    ),
    extension!(
        "source-repository-owner-identifier",
        17,
        Der,
        source_repository_owner_identifier
    ),
    extension!("build-config-uri", 18, Der, build_config_uri),
    extension!("build-config-digest", 19, Der, build_config_digest),
    extension!("build-trigger", 20, Der, build_trigger),
    extension!("run-invocation-uri", 21, Der, run_invocation_uri),
    extension!(
        "source-repository-visibility-at-signing",
        22,
        Der,
        source_repository_visibility_at_signing
    ),
    extension!("deployment-environment", 23, Der, deployment_environment),
    extension!("token-subject", 24, Der, token_subject),
];

/// Appends each of `more` not already in `out`, keeping the order of first appearance.
pub fn extend_distinct<'a>(
    out: &mut Vec<ClaimCheck>,
    more: impl IntoIterator<Item = &'a ClaimCheck>,
) {
    for claim in more {
        if !out.contains(claim) {
            out.push(claim.clone());
        }
    }
}

/// The extension called `name`; the error lists the names there are.
pub fn extension(name: &str) -> Result<&'static Extension, String> {
    EXTENSIONS.iter().find(|e| e.name == name).ok_or_else(|| {
        let hint = match name {
            "issuer" | "issuer-v2" | "oidc-issuer" => {
                " (the issuer is matched by certificate-oidc-issuer)"
            }
            _ => "",
        };
        format!(
            "unknown certificate extension `{name}`{hint}; known: {}",
            EXTENSIONS
                .iter()
                .map(|e| e.name)
                .collect::<Vec<_>>()
                .join(", ")
        )
    })
}

/// The extension called `name`, which must be in the table (a programming error
/// otherwise, caught by the tests that every name used here exists).
fn named(name: &str) -> &'static Extension {
    EXTENSIONS
        .iter()
        .find(|e| e.name == name)
        .unwrap_or(&EXTENSIONS[0])
}

/// What one policy setting asks of the certificate: every extension of `alternatives`
/// that the certificate carries must match its matcher, and it must carry at least one.
/// `ref` reads the source ref from `.14` and its deprecated predecessor `.6`; an
/// extension by name reads that one alone.
#[derive(Clone, Debug)]
pub struct Requirement {
    pub alternatives: Vec<(&'static Extension, Matcher)>,
}

impl Requirement {
    /// `ref`, `--certificate-github-workflow-ref`: the source ref, `.14` or `.6`.
    pub fn source_ref(glob: &str) -> Result<Requirement, PatternError> {
        let m = Matcher::glob(glob)?;
        Ok(Requirement {
            alternatives: vec![
                (named("source-repository-ref"), m.clone()),
                (named("github-workflow-ref"), m),
            ],
        })
    }

    /// `repository = "OWNER/REPO"`, `--certificate-github-workflow-repository`: `.12`
    /// (`https://github.com/OWNER/REPO`) or `.5` (`OWNER/REPO`).
    pub fn repository(repository: &str) -> Result<Requirement, String> {
        let repository = parse_repository(repository)?;
        Ok(Requirement {
            alternatives: vec![
                (
                    named("source-repository-uri"),
                    Matcher::Exact(format!("https://github.com/{repository}")),
                ),
                (
                    named("github-workflow-repository"),
                    Matcher::Exact(repository.to_string()),
                ),
            ],
        })
    }

    /// cosign's `--certificate-github-workflow-sha` and `-trigger`: the deprecated
    /// extension, or its successor (the same value) when only that one is present;
    /// `-name` has no successor.
    pub fn deprecated_github(deprecated: &str, value: &str) -> Requirement {
        let successor = match deprecated {
            "github-workflow-sha" => Some("source-repository-digest"),
            "github-workflow-trigger" => Some("build-trigger"),
            _ => None,
        };
        let m = Matcher::Exact(value.to_string());
        let mut alternatives = vec![(named(deprecated), m.clone())];
        if let Some(s) = successor {
            alternatives.insert(0, (named(s), m));
        }
        Requirement { alternatives }
    }

    /// One extension by name, an exact value.
    pub fn extension(name: &str, value: &str) -> Result<Requirement, String> {
        Ok(Requirement {
            alternatives: vec![(extension(name)?, Matcher::Exact(value.to_string()))],
        })
    }
}

/// `OWNER/REPO`: two non-empty segments, no wildcard, no URL.
pub fn parse_repository(text: &str) -> Result<&str, String> {
    let bad = |why: &str| {
        format!(
            "{text:?} is not a GitHub repository: expected OWNER/REPO{why} (another host: match certificate-extensions.source-repository-uri exactly)"
        )
    };
    if text.contains("://") || text.starts_with("github.com/") {
        return Err(bad(", without https://github.com/"));
    }
    let parts: Vec<&str> = text.split('/').collect();
    if parts.len() != 2 || parts.iter().any(|p| !plain_segment(p)) {
        return Err(bad(""));
    }
    Ok(text)
}

/// A path segment without anything a policy could mean as a pattern or separator.
fn plain_segment(s: &str) -> bool {
    !s.is_empty()
        && s != "."
        && s != ".."
        && !s
            .chars()
            .any(|c| c.is_whitespace() || c.is_control() || "*?@#:\\".contains(c))
}

/// `github-workflow = "OWNER/REPO/.github/workflows/FILE.yml[@REF]"`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GitHubWorkflow {
    /// `OWNER/REPO/.github/workflows/FILE.yml`.
    pub path: String,
    /// The workflow's own ref, when given (`@refs/heads/main`; a glob).
    pub workflow_ref: Option<String>,
}

impl GitHubWorkflow {
    pub fn parse(text: &str) -> Result<GitHubWorkflow, String> {
        let bad = |why: &str| {
            format!(
                "{text:?} is not a GitHub workflow: expected OWNER/REPO/.github/workflows/FILE.yml, optionally @REF{why}"
            )
        };
        if text.contains("://") || text.starts_with("github.com/") {
            return Err(bad(", without https://github.com/"));
        }
        let (path, workflow_ref) = match text.split_once('@') {
            Some((_, "")) => return Err(bad(": the ref after @ is empty")),
            Some((path, r)) => (path, Some(r.to_string())),
            None => (text, None),
        };
        let parts: Vec<&str> = path.split('/').collect();
        let [owner, repo, ".github", "workflows", file] = parts.as_slice() else {
            return Err(bad(""));
        };
        if ![owner, repo, file].iter().all(|p| plain_segment(p))
            || !(file.ends_with(".yml") || file.ends_with(".yaml"))
        {
            return Err(bad(""));
        }
        Ok(GitHubWorkflow {
            path: path.to_string(),
            workflow_ref,
        })
    }

    /// `OWNER/REPO`.
    pub fn repository(&self) -> &str {
        let mut slashes = self.path.match_indices('/').map(|(i, _)| i);
        let second = slashes.nth(1).unwrap_or(self.path.len());
        &self.path[..second]
    }

    /// The SAN Fulcio writes for this workflow at `ref_glob`:
    /// `https://github.com/OWNER/REPO/.github/workflows/FILE.yml@REF`.
    pub fn identity(&self, ref_glob: &str) -> Result<Matcher, PatternError> {
        Matcher::glob(&format!("https://github.com/{}@{ref_glob}", self.path))
    }
}

/// One claim as matched: the reports list every one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClaimCheck {
    /// `identity`, `issuer`, or an extension's name.
    pub claim: &'static str,
    /// Where it was read: the SAN extension's OID, or the Fulcio extension's.
    pub oid: String,
    /// `exact`, `regex` or `glob`.
    pub kind: &'static str,
    /// The value or pattern the policy asked for.
    pub expected: String,
    /// The value in the certificate; `None`: absent.
    pub found: Option<String>,
    pub matched: bool,
}

impl ClaimCheck {
    pub fn new(claim: &'static str, oid: String, want: &Matcher, found: Option<&str>) -> Self {
        ClaimCheck {
            claim,
            oid,
            kind: want.kind(),
            expected: want.pattern().to_string(),
            found: found.map(str::to_string),
            matched: found.is_some_and(|f| want.matches(f)),
        }
    }

    /// `exact "x"`, `regex /x/`, `glob "x*"`: the expectation as messages show it.
    pub fn wanted(&self) -> String {
        match self.kind {
            "regex" => format!("/{}/", self.expected),
            "glob" => format!("glob {:?}", self.expected),
            _ => format!("{:?}", self.expected),
        }
    }
}

impl fmt::Display for ClaimCheck {
    /// `source-repository-ref (1.3.6.1.4.1.57264.1.14) "refs/tags/v1" matches glob "refs/tags/v*"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({}) ", self.claim, self.oid)?;
        match (&self.found, self.matched) {
            (Some(found), true) => write!(f, "{found:?} matches {}", self.wanted()),
            (Some(found), false) => write!(f, "is {found:?}, policy wants {}", self.wanted()),
            (None, _) => write!(f, "is absent, policy wants {}", self.wanted()),
        }
    }
}

/// A claim the policy asks for that the verified certificate carries but that cannot be
/// read: a verification failure, never a pass.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("the certificate's {name} extension ({oid}) {why}")]
pub struct ClaimError {
    pub name: &'static str,
    pub oid: String,
    pub why: String,
}

/// The verified signing certificate, read for its claims.
pub struct Certificate<'a> {
    /// sigstore-verify's claims of the certificate it verified.
    pub claims: &'a FulcioCiClaims,
    /// The extension OIDs of the same certificate, in order (to tell absent from
    /// malformed).
    pub extension_oids: Vec<String>,
}

impl<'a> Certificate<'a> {
    /// `der` must be the certificate the library verified and whose claims it returned.
    pub fn new(claims: &'a FulcioCiClaims, der: &[u8]) -> Result<Certificate<'a>, String> {
        let cert = x509_cert::Certificate::from_der(der).map_err(|e| e.to_string())?;
        let extension_oids = cert
            .tbs_certificate
            .extensions
            .iter()
            .flatten()
            .map(|e| e.extn_id.to_string())
            .collect();
        Ok(Certificate {
            claims,
            extension_oids,
        })
    }

    fn count(&self, oid: &str) -> usize {
        self.extension_oids.iter().filter(|o| *o == oid).count()
    }

    /// Where the issuer was read: `.8`, else the deprecated `.1` (as the library reads it).
    pub fn issuer_oid(&self) -> String {
        let v2 = format!("{FULCIO_ARC}.8");
        if self.count(&v2) > 0 {
            v2
        } else {
            format!("{FULCIO_ARC}.1")
        }
    }

    /// The value of `ext`: `None` when the certificate does not carry it.
    pub fn value(&self, ext: &'static Extension) -> Result<Option<&'a str>, ClaimError> {
        let oid = ext.oid();
        let error = |why: String| ClaimError {
            name: ext.name,
            oid: oid.clone(),
            why,
        };
        match (self.count(&oid), (ext.value)(self.claims)) {
            (0, _) => Ok(None),
            (1, Some(v)) => Ok(Some(v)),
            (1, None) => Err(error(format!("is not {}", ext.encoding.describe()))),
            (n, _) => Err(error(format!(
                "appears {n} times (a certificate carries each extension once)"
            ))),
        }
    }

    /// Every requirement checked: one [`ClaimCheck`] per extension present among its
    /// alternatives, or one for the first alternative (found: absent) when none is.
    pub fn check(&self, requirements: &[Requirement]) -> Result<Vec<ClaimCheck>, ClaimError> {
        let mut out = Vec::new();
        for requirement in requirements {
            let before = out.len();
            for (ext, want) in &requirement.alternatives {
                if let Some(found) = self.value(ext)? {
                    out.push(ClaimCheck::new(ext.name, ext.oid(), want, Some(found)));
                }
            }
            if out.len() == before
                && let Some((ext, want)) = requirement.alternatives.first()
            {
                out.push(ClaimCheck::new(ext.name, ext.oid(), want, None));
            }
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_has_one_entry_per_name_and_arc_and_encodes_as_fulcio_does() {
        let mut names: Vec<_> = EXTENSIONS.iter().map(|e| e.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), EXTENSIONS.len());
        let mut arcs: Vec<_> = EXTENSIONS.iter().map(|e| e.arc).collect();
        arcs.dedup();
        assert_eq!(arcs, (2..=6).chain(9..=24).collect::<Vec<_>>());
        for e in EXTENSIONS {
            let raw = (2..=6).contains(&e.arc);
            assert_eq!(e.encoding == Encoding::Raw, raw, "{e:?}");
        }
        assert_eq!(
            extension("source-repository-ref").unwrap().oid(),
            "1.3.6.1.4.1.57264.1.14"
        );
        // Every name the requirements use is in the table (`named` falls back otherwise).
        for name in [
            "source-repository-ref",
            "github-workflow-ref",
            "source-repository-uri",
            "github-workflow-repository",
            "source-repository-digest",
            "github-workflow-sha",
            "build-trigger",
            "github-workflow-trigger",
            "github-workflow-name",
        ] {
            assert_eq!(named(name).name, name);
        }
    }

    #[test]
    fn an_unknown_extension_name_lists_the_known_ones() {
        let e = extension("runner-env").unwrap_err();
        assert!(
            e.contains("unknown certificate extension `runner-env`"),
            "{e}"
        );
        assert!(
            e.contains("runner-environment") && e.contains("source-repository-ref"),
            "{e}"
        );
        let e = extension("issuer").unwrap_err();
        assert!(e.contains("certificate-oidc-issuer"), "{e}");
    }

    #[test]
    fn workflows_and_repositories_are_parsed_strictly() {
        let w = GitHubWorkflow::parse("acme/app/.github/workflows/release.yml").unwrap();
        assert_eq!(w.repository(), "acme/app");
        assert_eq!(w.workflow_ref, None);
        assert_eq!(
            w.identity("refs/tags/v*").unwrap().to_string(),
            "glob \"https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v*\""
        );
        assert!(
            w.identity("refs/tags/v1")
                .unwrap()
                .matches("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1")
        );
        let w = GitHubWorkflow::parse("acme/shared/.github/workflows/build.yaml@refs/heads/main")
            .unwrap();
        assert_eq!(w.workflow_ref.as_deref(), Some("refs/heads/main"));
        assert_eq!(w.path, "acme/shared/.github/workflows/build.yaml");
        for bad in [
            "https://github.com/acme/app/.github/workflows/release.yml",
            "acme/app/release.yml",
            "acme/app/.github/workflows/sub/release.yml",
            "acme/app/.github/workflows/release.txt",
            "acme/*/.github/workflows/release.yml",
            "acme//.github/workflows/release.yml",
            "acme/app/.github/workflows/release.yml@",
            "acme/app/.github/workflows/rel ease.yml",
        ] {
            let e = GitHubWorkflow::parse(bad).unwrap_err();
            assert!(
                e.contains("expected OWNER/REPO/.github/workflows/FILE.yml"),
                "{e}"
            );
        }
        assert_eq!(parse_repository("acme/app").unwrap(), "acme/app");
        for bad in [
            "acme",
            "acme/app/x",
            "https://github.com/acme/app",
            "acme/*",
            "/app",
        ] {
            let e = parse_repository(bad).unwrap_err();
            assert!(e.contains("expected OWNER/REPO"), "{e}");
        }
    }

    fn cert_with<'a>(claims: &'a FulcioCiClaims, oids: &[u32]) -> Certificate<'a> {
        Certificate {
            claims,
            extension_oids: oids.iter().map(|n| format!("{FULCIO_ARC}.{n}")).collect(),
        }
    }

    #[test]
    fn a_claim_is_read_present_absent_or_malformed() {
        let mut claims = FulcioCiClaims::default();
        claims.source_repository_ref = Some("refs/tags/v1".into());
        let ext = extension("source-repository-ref").unwrap();
        // Present and decoded.
        assert_eq!(
            cert_with(&claims, &[14]).value(ext).unwrap(),
            Some("refs/tags/v1")
        );
        // Absent.
        let none = FulcioCiClaims::default();
        assert_eq!(cert_with(&none, &[8]).value(ext).unwrap(), None);
        // Present, but the library could not decode it: malformed, not absent.
        let e = cert_with(&none, &[14]).value(ext).unwrap_err();
        assert_eq!(e.oid, "1.3.6.1.4.1.57264.1.14");
        assert!(e.to_string().contains("is not a DER UTF8String"), "{e}");
        let raw = extension("github-workflow-ref").unwrap();
        let e = cert_with(&none, &[6]).value(raw).unwrap_err();
        assert!(e.to_string().contains("is not a UTF-8 string"), "{e}");
        // Twice: which one would count is not for vouch to guess.
        let e = cert_with(&claims, &[14, 14]).value(ext).unwrap_err();
        assert!(e.to_string().contains("appears 2 times"), "{e}");
    }

    #[test]
    fn every_present_alternative_must_match_and_one_must_be_present() {
        let req = [Requirement::source_ref("refs/tags/v*").unwrap()];
        let mut claims = FulcioCiClaims::default();
        claims.source_repository_ref = Some("refs/tags/v1".into());
        let checks = cert_with(&claims, &[14]).check(&req).unwrap();
        assert_eq!(checks.len(), 1);
        assert!(checks[0].matched && checks[0].kind == "glob");
        // The deprecated one alone is read when the new one is absent.
        let mut old = FulcioCiClaims::default();
        old.deprecated_github.workflow_ref = Some("refs/tags/v2".into());
        let checks = cert_with(&old, &[6]).check(&req).unwrap();
        assert_eq!(
            (checks[0].claim, checks[0].matched),
            ("github-workflow-ref", true)
        );
        // Both present: both must match.
        claims.deprecated_github.workflow_ref = Some("refs/heads/main".into());
        let checks = cert_with(&claims, &[14, 6]).check(&req).unwrap();
        assert_eq!(
            checks.iter().map(|c| c.matched).collect::<Vec<_>>(),
            [true, false]
        );
        // Neither: one absent claim, a mismatch.
        let checks = cert_with(&FulcioCiClaims::default(), &[])
            .check(&req)
            .unwrap();
        assert_eq!(checks.len(), 1);
        assert_eq!(
            (checks[0].found.as_deref(), checks[0].matched),
            (None, false)
        );
        assert_eq!(
            checks[0].to_string(),
            "source-repository-ref (1.3.6.1.4.1.57264.1.14) is absent, policy wants glob \"refs/tags/v*\""
        );
        // A repository in both spellings.
        let req = [Requirement::repository("acme/app").unwrap()];
        let mut claims = FulcioCiClaims::default();
        claims.source_repository_uri = Some("https://github.com/acme/app".into());
        claims.deprecated_github.workflow_repository = Some("acme/app".into());
        let checks = cert_with(&claims, &[5, 12]).check(&req).unwrap();
        assert!(
            checks.len() == 2 && checks.iter().all(|c| c.matched),
            "{checks:?}"
        );
        claims.source_repository_uri = Some("https://github.com/acme/app-fork".into());
        let checks = cert_with(&claims, &[5, 12]).check(&req).unwrap();
        assert!(!checks[0].matched && checks[1].matched, "{checks:?}");
    }
}
