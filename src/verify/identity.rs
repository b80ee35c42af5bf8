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

use std::fmt;

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

/// One value the policy wants: exactly this, or anything the whole of which matches.
#[derive(Clone, Debug)]
pub enum Matcher {
    Exact(String),
    Regex(AnchoredRegex),
}

impl Matcher {
    pub fn regex(pattern: &str) -> Result<Self, PatternError> {
        AnchoredRegex::new(pattern).map(Matcher::Regex)
    }

    pub fn matches(&self, s: &str) -> bool {
        match self {
            Matcher::Exact(e) => e == s,
            Matcher::Regex(r) => r.is_match(s),
        }
    }

    pub fn is_exact(&self) -> bool {
        matches!(self, Matcher::Exact(_))
    }
}

impl fmt::Display for Matcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Matcher::Exact(e) => write!(f, "{e:?}"),
            Matcher::Regex(r) => write!(f, "/{}/", r.as_str()),
        }
    }
}

/// Who must have signed: the certificate's SAN identity and the OIDC issuer.
#[derive(Clone, Debug)]
pub struct IdentityPolicy {
    pub identity: Matcher,
    pub issuer: Matcher,
}

impl IdentityPolicy {
    /// From the cosign-style options: an exact value or a regexp for each, never both.
    pub fn from_options(
        identity: Option<&str>,
        identity_regexp: Option<&str>,
        issuer: Option<&str>,
        issuer_regexp: Option<&str>,
    ) -> Result<IdentityPolicy, PatternError> {
        let matcher = |exact: Option<&str>, regexp: Option<&str>, what: &str| match (exact, regexp)
        {
            (Some(_), Some(_)) => Err(PatternError(format!(
                "give --certificate-{what} or --certificate-{what}-regexp, not both"
            ))),
            (Some(e), None) => Ok(Matcher::Exact(e.to_string())),
            (None, Some(r)) => Matcher::regex(r).map_err(|e| {
                PatternError(format!(
                    "--certificate-{what}-regexp {r:?} is not a valid regex: {e}"
                ))
            }),
            (None, None) => Err(PatternError(format!(
                "keyless verification needs --certificate-{what} or --certificate-{what}-regexp"
            ))),
        };
        Ok(IdentityPolicy {
            identity: matcher(identity, identity_regexp, "identity")?,
            issuer: matcher(issuer, issuer_regexp, "oidc-issuer")?,
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
}
