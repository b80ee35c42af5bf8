//! Image references (`registry/repository[:tag][@sha256:...]`) and content digests, as
//! the user writes them: parsed strictly. Never guesses: a reference without a tag or a
//! digest is an error, not `latest`.

use std::fmt;

use sha2::{Digest as _, Sha256};

use super::RegistryError;

/// A sha256 content digest.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Digest {
    hex: String,
}

impl Digest {
    /// Parses `sha256:<64 lowercase hex>`.
    pub fn parse(text: &str) -> Option<Digest> {
        let hex = text.strip_prefix("sha256:")?;
        (hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)))
        .then(|| Digest { hex: hex.into() })
    }

    pub fn of(bytes: &[u8]) -> Digest {
        let sum = Sha256::digest(bytes);
        Digest {
            hex: sum.iter().map(|b| format!("{b:02x}")).collect(),
        }
    }

    pub fn hex(&self) -> &str {
        &self.hex
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "sha256:{}", self.hex)
    }
}

/// `registry/repository[:tag][@sha256:...]`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Reference {
    /// Host and optional port, as written (`docker.io` for Docker Hub short names).
    pub registry: String,
    pub repository: String,
    pub tag: Option<String>,
    pub digest: Option<Digest>,
}

impl Reference {
    pub fn parse(text: &str) -> Result<Reference, RegistryError> {
        let bad = |why: &str| RegistryError::Reference {
            reference: text.into(),
            why: why.into(),
        };
        if text.is_empty() || text.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(bad("empty or contains whitespace"));
        }
        let (name_tag, digest) =
            match text.split_once('@') {
                Some((left, digest)) => (
                    left,
                    Some(Digest::parse(digest).ok_or_else(|| {
                        bad("the digest must be sha256:<64 lowercase hex digits>")
                    })?),
                ),
                None => (text, None),
            };
        // A tag follows the last ':' after the last '/' (a ':' before it is a port).
        let last_slash = name_tag.rfind('/').map_or(0, |i| i + 1);
        let (name, tag) = match name_tag[last_slash..].rfind(':') {
            Some(i) => (
                &name_tag[..last_slash + i],
                Some(&name_tag[last_slash + i + 1..]),
            ),
            None => (name_tag, None),
        };
        if let Some(tag) = tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b))
                && !tag.starts_with(['.', '-']);
            if !valid {
                return Err(bad("invalid tag"));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains(['.', ':']) || first == "localhost" || first.starts_with('[') =>
            {
                (first.to_string(), rest.to_string())
            }
            Some(_) => ("docker.io".to_string(), name.to_string()),
            None => ("docker.io".to_string(), format!("library/{name}")),
        };
        let component_ok = |c: &str| {
            !c.is_empty()
                && c.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"._-".contains(&b))
        };
        if repository.is_empty() || !repository.split('/').all(component_ok) {
            return Err(bad(
                "the repository must be lowercase path components ([a-z0-9._-])",
            ));
        }
        if tag.is_none() && digest.is_none() {
            return Err(bad("name a digest (@sha256:...) or a tag (:tag)"));
        }
        Ok(Reference {
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The host:port the API is served on.
    pub fn api_host(&self) -> &str {
        if self.registry == "docker.io" {
            "registry-1.docker.io"
        } else {
            &self.registry
        }
    }

    /// `registry/repository@digest`.
    pub fn with_digest(&self, digest: &Digest) -> String {
        format!("{}/{}@{digest}", self.registry, self.repository)
    }
}

impl fmt::Display for Reference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn references() {
        let d = "sha256:".to_string() + &"ab".repeat(32);
        let r = Reference::parse(&format!("127.0.0.1:5000/a/b@{d}")).unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("127.0.0.1:5000", "a/b")
        );
        assert_eq!(r.digest.unwrap().to_string(), d);
        let r = Reference::parse("localhost:5000/app:v1.2").unwrap();
        assert_eq!(r.tag.as_deref(), Some("v1.2"));
        assert_eq!(r.registry, "localhost:5000");
        let r = Reference::parse("alpine:3").unwrap();
        assert_eq!(
            (r.registry.as_str(), r.repository.as_str()),
            ("docker.io", "library/alpine")
        );
        for bad in [
            "",
            "reg.example/app",
            "reg.example/App:v1",
            "reg.example/app@sha256:abc",
            "reg.example/app@md5:0123",
            "reg.example/app:",
            "reg.example/app:-x",
            "reg.example/app :v1",
        ] {
            assert!(Reference::parse(bad).is_err(), "{bad}");
        }
    }
}
