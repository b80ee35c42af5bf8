//! Who a keyless signer must be: the certificate identity (SAN) and OIDC issuer a policy
//! names, each exactly or by a regular expression that must match the whole value.
//!
//! sigstore-verify establishes who signed (the certificate chains to the trusted root, was
//! valid when the log or timestamp says it signed, carries an SCT); this module only
//! decides whether that verified identity is the one the policy wants. It must never be
//! given an identity the library has not verified.
//!
//! A pattern is compiled on its own first and refused if it does not compile alone, so a
//! pattern with an unbalanced parenthesis (`https://github\.com/acme/.*)|(.*`) cannot close
//! the anchoring group and match anything; only then is it wrapped as `^(?:pattern)$`.
//!
//! Beyond the SAN and the issuer, a policy can name the other claims of a Fulcio
//! certificate ([`super::claims`]): the structured GitHub form (`github-workflow`, `ref`,
//! `repository`) derives the SAN and the issuer itself and adds claims on the source
//! repository and ref, so the common case needs no regular expression.

use std::fmt;

use super::KeylessPolicy;
use super::claims::{self, Requirement};

/// Why a pattern is refused.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct PatternError(String);

/// A regex that must match the whole string: `^(?:pattern)$`. Unlike cosign's
/// `--certificate-identity-regexp`, an unanchored pattern cannot match a substring.
#[derive(Clone, Debug)]
pub struct AnchoredRegex {
    pattern: String,
    re: regex::Regex,
}

impl AnchoredRegex {
    pub fn new(pattern: &str) -> Result<Self, PatternError> {
        // Alone first: a pattern that only compiles inside our group escapes it.
        regex::Regex::new(pattern).map_err(|e| PatternError(e.to_string()))?;
        let re = regex::Regex::new(&format!("^(?:{pattern})$"))
            .map_err(|e| PatternError(format!("it cannot be anchored as ^(?:{pattern})$: {e}")))?;
        Ok(AnchoredRegex {
            pattern: pattern.to_string(),
            re,
        })
    }

    /// The pattern as written (without the added anchors).
    pub fn as_str(&self) -> &str {
        &self.pattern
    }

    pub fn is_match(&self, s: &str) -> bool {
        self.re.is_match(s)
    }
}

/// A glob for refs and the like: `*` matches any run of characters, none included and `/`
/// included; every other character (`?`, `[`, `.`, `\\` among them) stands for itself, and
/// the glob must match the whole value. `refs/tags/v*` matches `refs/tags/v1.2.3` and
/// `refs/tags/v`, not `refs/heads/v1` nor `xrefs/tags/v1`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Glob(String);

impl Glob {
    pub fn new(pattern: &str) -> Result<Glob, PatternError> {
        if pattern.is_empty() {
            return Err(PatternError("an empty pattern matches nothing".into()));
        }
        Ok(Glob(pattern.to_string()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_match(&self, s: &str) -> bool {
        let mut parts = self.0.split('*');
        let first = parts.next().unwrap_or_default();
        let Some(mut rest) = s.strip_prefix(first) else {
            return false;
        };
        let middle: Vec<&str> = parts.collect();
        let Some((last, middle)) = middle.split_last() else {
            // No `*`: the whole value.
            return rest.is_empty();
        };
        // Each fixed part between stars at its leftmost place leaves the most room for
        // the rest, so leftmost is never wrong; the last part must end the value.
        for part in middle {
            match rest.find(part) {
                Some(at) => rest = &rest[at + part.len()..],
                None => return false,
            }
        }
        rest.ends_with(last)
    }
}

/// One value the policy wants: exactly this, anything the whole of which matches a
/// regex, or a [`Glob`].
#[derive(Clone, Debug)]
pub enum Matcher {
    Exact(String),
    Regex(AnchoredRegex),
    Glob(Glob),
}

impl Matcher {
    pub fn regex(pattern: &str) -> Result<Self, PatternError> {
        AnchoredRegex::new(pattern).map(Matcher::Regex)
    }

    /// A glob; one without `*` is an exact value.
    pub fn glob(pattern: &str) -> Result<Self, PatternError> {
        if pattern.contains('*') {
            Glob::new(pattern).map(Matcher::Glob)
        } else if pattern.is_empty() {
            Err(PatternError("an empty value matches nothing".into()))
        } else {
            Ok(Matcher::Exact(pattern.to_string()))
        }
    }

    pub fn matches(&self, s: &str) -> bool {
        match self {
            Matcher::Exact(e) => e == s,
            Matcher::Regex(r) => r.is_match(s),
            Matcher::Glob(g) => g.is_match(s),
        }
    }

    pub fn is_exact(&self) -> bool {
        matches!(self, Matcher::Exact(_))
    }

    /// `exact`, `regex` or `glob`: how [`Matcher::pattern`] is matched (the reports' `match`).
    pub fn kind(&self) -> &'static str {
        match self {
            Matcher::Exact(_) => "exact",
            Matcher::Regex(_) => "regex",
            Matcher::Glob(_) => "glob",
        }
    }

    /// The value or pattern as written.
    pub fn pattern(&self) -> &str {
        match self {
            Matcher::Exact(e) => e,
            Matcher::Regex(r) => r.as_str(),
            Matcher::Glob(g) => g.as_str(),
        }
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Exact(e) => write!(f, "{e:?}"),
            Matcher::Regex(r) => write!(f, "/{}/", r.as_str()),
            Matcher::Glob(g) => write!(f, "glob {:?}", g.as_str()),
        }
    }
}

/// Who must have signed: the certificate's SAN identity and the OIDC issuer, and the
/// other certificate claims that must match.
#[derive(Clone, Debug)]
pub struct IdentityPolicy {
    pub identity: Matcher,
    pub issuer: Matcher,
    pub claims: Vec<Requirement>,
}

impl IdentityPolicy {
    /// An identity and an issuer, no other claim.
    pub fn new(identity: Matcher, issuer: Matcher) -> IdentityPolicy {
        IdentityPolicy {
            identity,
            issuer,
            claims: Vec::new(),
        }
    }

    /// From the cosign-style options: an exact value or a regexp for each, never both.
    pub fn from_options(
        identity: Option<&str>,
        identity_regexp: Option<&str>,
        issuer: Option<&str>,
        issuer_regexp: Option<&str>,
    ) -> Result<IdentityPolicy, PatternError> {
        Ok(IdentityPolicy::new(
            matcher(identity, identity_regexp, "identity")?,
            matcher(issuer, issuer_regexp, "oidc-issuer")?,
        ))
    }

    /// From every keyless option (`vouch verify`'s flags, an `[[image]]`/`[[blob]]`
    /// entry). The identity is `--certificate-identity`, its `-regexp`, or derived from
    /// `--github-workflow`, exactly one of them; `--github-workflow` derives the issuer
    /// too, so it takes no issuer option. The claim options refine an identity, never
    /// replace one. The messages name the flags; `vouch.toml` is checked before, with its
    /// own keys and positions (`crate::policy`).
    pub fn from_keyless(k: &KeylessPolicy) -> Result<IdentityPolicy, PatternError> {
        let bad = |m: String| PatternError(m);
        let (identity, issuer) = match &k.github_workflow {
            None => (
                matcher(
                    k.identity.as_deref(),
                    k.identity_regexp.as_deref(),
                    "identity",
                )?,
                matcher(
                    k.oidc_issuer.as_deref(),
                    k.oidc_issuer_regexp.as_deref(),
                    "oidc-issuer",
                )?,
            ),
            Some(text) => {
                if k.identity.is_some() || k.identity_regexp.is_some() {
                    return Err(bad(
                        "give --github-workflow or --certificate-identity(-regexp), not both: --github-workflow derives the identity".into(),
                    ));
                }
                if k.oidc_issuer.is_some() || k.oidc_issuer_regexp.is_some() {
                    return Err(bad(format!(
                        "--github-workflow derives the issuer ({}): drop --certificate-oidc-issuer(-regexp)",
                        claims::GITHUB_ISSUER
                    )));
                }
                let workflow = claims::GitHubWorkflow::parse(text)
                    .map_err(|e| bad(format!("--github-workflow: {e}")))?;
                // The workflow's own ref, else the source ref (one and the same unless the
                // workflow is a reusable one called from elsewhere), else any ref.
                let ref_glob = workflow
                    .workflow_ref
                    .as_deref()
                    .or(k.source_ref.as_deref())
                    .unwrap_or("*");
                let identity = workflow
                    .identity(ref_glob)
                    .map_err(|e| bad(format!("--github-workflow: {e}")))?;
                (identity, Matcher::Exact(claims::GITHUB_ISSUER.into()))
            }
        };
        let mut requirements = Vec::new();
        if let Some(r) = &k.source_ref {
            requirements.push(
                Requirement::source_ref(r)
                    .map_err(|e| bad(format!("--certificate-github-workflow-ref {r:?}: {e}")))?,
            );
        }
        if let Some(r) = &k.repository {
            requirements.push(
                Requirement::repository(r)
                    .map_err(|e| bad(format!("--certificate-github-workflow-repository: {e}")))?,
            );
        }
        for (name, value) in [
            ("github-workflow-sha", &k.workflow_sha),
            ("github-workflow-trigger", &k.workflow_trigger),
            ("github-workflow-name", &k.workflow_name),
        ] {
            if let Some(v) = value {
                requirements.push(Requirement::deprecated_github(name, v));
            }
        }
        for (name, value) in &k.extensions {
            requirements.push(
                Requirement::extension(name, value)
                    .map_err(|e| bad(format!("--certificate-extension: {e}")))?,
            );
        }
        Ok(IdentityPolicy {
            identity,
            issuer,
            claims: requirements,
        })
    }

    /// Whether a verified identity and issuer are the ones wanted.
    pub fn matches(&self, identity: &str, issuer: &str) -> bool {
        self.identity.matches(identity) && self.issuer.matches(issuer)
    }

    /// True when only one signer can ever match (both exact).
    pub fn is_exact(&self) -> bool {
        self.identity.is_exact() && self.issuer.is_exact()
    }
}

/// An exact value or a regexp for the option `--certificate-{what}`, never both.
fn matcher(exact: Option<&str>, regexp: Option<&str>, what: &str) -> Result<Matcher, PatternError> {
    match (exact, regexp) {
        (Some(_), Some(_)) => Err(PatternError(format!(
            "give --certificate-{what} or --certificate-{what}-regexp, not both"
        ))),
        (Some(e), None) => Ok(Matcher::Exact(e.to_string())),
        (None, Some(r)) => Matcher::regex(r).map_err(|e| {
            PatternError(format!(
                "--certificate-{what}-regexp {r:?} is not a valid regex: {e}"
            ))
        }),
        (None, None) if what == "identity" => Err(PatternError(
            "keyless verification needs --certificate-identity or --certificate-identity-regexp (or --github-workflow)".into(),
        )),
        (None, None) => Err(PatternError(format!(
            "keyless verification needs --certificate-{what} or --certificate-{what}-regexp"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_are_anchored_at_both_ends() {
        let r = AnchoredRegex::new(r"https://github\.com/acme/.*").unwrap();
        assert!(r.is_match("https://github.com/acme/app"));
        assert!(!r.is_match("xhttps://github.com/acme/app"));
        let r = AnchoredRegex::new("acme").unwrap();
        assert!(!r.is_match("https://github.com/acme/app"));
        // An alternation stays inside the anchors.
        let r = AnchoredRegex::new("a|b").unwrap();
        assert!(r.is_match("a") && r.is_match("b") && !r.is_match("ab") && !r.is_match("xa"));
    }

    /// Regression: `.*)|(.*` compiles once wrapped in `^(?:...)$` (the parenthesis closes
    /// the group, leaving `(.*)$` as an alternative that matches anything), but not alone.
    #[test]
    fn an_unbalanced_pattern_that_would_escape_the_anchors_is_refused() {
        let escape = r"https://github\.com/acme/.*)|(.*";
        assert!(regex::Regex::new(&format!("^(?:{escape})$")).is_ok());
        let e = AnchoredRegex::new(escape).unwrap_err();
        assert!(
            e.to_string().contains("unclosed") || e.to_string().contains("unopened"),
            "{e}"
        );
        let p = IdentityPolicy::from_options(None, Some(escape), Some("i"), None).unwrap_err();
        assert!(p.to_string().contains("not a valid regex"), "{p}");
        assert!(AnchoredRegex::new("(").is_err());
    }

    #[test]
    fn options_need_one_of_each_and_not_both() {
        let both = IdentityPolicy::from_options(Some("a"), Some("b"), Some("i"), None);
        assert!(both.unwrap_err().to_string().contains("not both"));
        let none = IdentityPolicy::from_options(None, None, Some("i"), None);
        assert!(
            none.unwrap_err()
                .to_string()
                .contains("--certificate-identity")
        );
        let no_issuer = IdentityPolicy::from_options(Some("a"), None, None, None);
        assert!(
            no_issuer
                .unwrap_err()
                .to_string()
                .contains("--certificate-oidc-issuer")
        );
        let p = IdentityPolicy::from_options(Some("me"), None, None, Some("https://.*")).unwrap();
        assert!(p.matches("me", "https://issuer") && !p.matches("me", "http://issuer"));
        assert!(!p.is_exact());
        assert_eq!(p.identity.to_string(), "\"me\"");
        assert_eq!(p.issuer.to_string(), "/https://.*/");
    }

    #[test]
    fn a_glob_star_matches_any_run_and_nothing_else_is_special() {
        let g = |p: &str, s: &str| Glob::new(p).unwrap().is_match(s);
        assert!(g("refs/tags/v*", "refs/tags/v1.2.3"));
        assert!(g("refs/tags/v*", "refs/tags/v"));
        assert!(g("refs/tags/*", "refs/tags/release/1"));
        assert!(!g("refs/tags/v*", "refs/heads/v1"));
        assert!(!g("refs/tags/v*", "xrefs/tags/v1"));
        assert!(g("*/main", "refs/heads/main") && !g("*/main", "refs/heads/main2"));
        assert!(g("a*b*c", "abc") && g("a*b*c", "aXbYbc") && !g("a*b*c", "acb"));
        assert!(!g("a*a", "a") && g("a*a", "aa"));
        assert!(g("*", "") && g("**", "x"));
        // `.`, `?`, `[`, `\\` stand for themselves.
        assert!(!g("refs/tags/v1.*", "refs/tags/v1x2"));
        assert!(!g("refs/tags/v?*", "refs/tags/v1"));
        assert!(g("refs/tags/[rc]*", "refs/tags/[rc]1"));
        assert!(g("a\\*", "a\\b") && !g("a\\*", "a*"));
        assert!(Glob::new("").is_err());
        // Without a star, a glob is an exact value.
        assert!(Matcher::glob("refs/heads/main").unwrap().is_exact());
        assert!(!Matcher::glob("refs/heads/*").unwrap().is_exact());
        assert_eq!(
            Matcher::glob("refs/tags/v*").unwrap().to_string(),
            "glob \"refs/tags/v*\""
        );
    }

    proptest::proptest! {
        /// The glob agrees with the regex it stands for (each `*` as `.*`, everything else
        /// escaped), on strings over a small alphabet where stars and parts collide often.
        #[test]
        fn the_glob_agrees_with_its_regex(pattern in "[ab/*]{1,8}", s in "[ab/]{0,10}") {
            let parts: Vec<String> = pattern.split('*').map(regex::escape).collect();
            let re = regex::Regex::new(&format!("^{}$", parts.join(".*"))).unwrap();
            proptest::prop_assert_eq!(Glob::new(&pattern).unwrap().is_match(&s), re.is_match(&s));
        }
    }

    fn keyless(edit: impl FnOnce(&mut KeylessPolicy)) -> Result<IdentityPolicy, String> {
        let mut k = KeylessPolicy::default();
        edit(&mut k);
        IdentityPolicy::from_keyless(&k).map_err(|e| e.to_string())
    }

    #[test]
    fn a_github_workflow_derives_the_identity_and_the_issuer() {
        let san =
            |r: &str| format!("https://github.com/acme/app/.github/workflows/release.yml@{r}");
        let p = keyless(|k| {
            k.github_workflow = Some("acme/app/.github/workflows/release.yml".into());
            k.source_ref = Some("refs/tags/v*".into());
        })
        .unwrap();
        assert!(p.matches(&san("refs/tags/v1.2.3"), claims::GITHUB_ISSUER));
        assert!(!p.matches(&san("refs/heads/main"), claims::GITHUB_ISSUER));
        assert!(!p.matches(&san("refs/tags/v1"), "https://accounts.example"));
        assert!(!p.is_exact());
        assert_eq!(p.claims.len(), 1);
        // No ref at all: any ref of the workflow.
        let p =
            keyless(|k| k.github_workflow = Some("acme/app/.github/workflows/release.yml".into()))
                .unwrap();
        assert!(p.matches(&san("refs/pull/1/merge"), claims::GITHUB_ISSUER));
        assert!(!p.matches(
            "https://github.com/acme/app/.github/workflows/other.yml@refs/heads/main",
            claims::GITHUB_ISSUER
        ));
        // The workflow's own @REF pins the identity; `ref` is then the caller's.
        let p = keyless(|k| {
            k.github_workflow =
                Some("acme/shared/.github/workflows/build.yml@refs/heads/main".into());
            k.source_ref = Some("refs/tags/v*".into());
            k.repository = Some("acme/app".into());
        })
        .unwrap();
        assert!(p.is_exact());
        assert!(p.matches(
            "https://github.com/acme/shared/.github/workflows/build.yml@refs/heads/main",
            claims::GITHUB_ISSUER
        ));
        assert_eq!(p.claims.len(), 2);
    }

    #[test]
    fn a_github_workflow_takes_no_identity_or_issuer_and_claims_need_an_identity() {
        let w = || Some("acme/app/.github/workflows/release.yml".to_string());
        let e = keyless(|k| {
            k.github_workflow = w();
            k.identity = Some("me".into());
        })
        .unwrap_err();
        assert!(e.contains("not both"), "{e}");
        let e = keyless(|k| {
            k.github_workflow = w();
            k.oidc_issuer = Some(claims::GITHUB_ISSUER.into());
        })
        .unwrap_err();
        assert!(e.contains("derives the issuer"), "{e}");
        let e = keyless(|k| k.source_ref = Some("refs/tags/v*".into())).unwrap_err();
        assert!(e.contains("--github-workflow"), "{e}");
        let e = keyless(|k| k.github_workflow = Some("acme/app".into())).unwrap_err();
        assert!(
            e.contains("--github-workflow: ") && e.contains("OWNER/REPO/.github"),
            "{e}"
        );
        let e = keyless(|k| {
            k.github_workflow = w();
            k.repository = Some("https://github.com/acme/app".into());
        })
        .unwrap_err();
        assert!(
            e.contains("--certificate-github-workflow-repository"),
            "{e}"
        );
        let e = keyless(|k| {
            k.github_workflow = w();
            k.extensions = vec![("runner".into(), "x".into())];
        })
        .unwrap_err();
        assert!(e.contains("unknown certificate extension `runner`"), "{e}");
        let e = keyless(|k| {
            k.github_workflow = w();
            k.source_ref = Some(String::new());
        })
        .unwrap_err();
        assert!(e.contains("--certificate-github-workflow-ref"), "{e}");
        // An identity and issuer as before, with claims on top.
        let p = keyless(|k| {
            k.identity = Some("me".into());
            k.oidc_issuer = Some("https://issuer".into());
            k.workflow_sha = Some("abc".into());
            k.workflow_name = Some("Release".into());
            k.extensions = vec![("runner-environment".into(), "github-hosted".into())];
        })
        .unwrap();
        assert!(p.is_exact() && p.claims.len() == 3);
    }
}
