//! What a verified SLSA provenance attestation says about how the image was built, held
//! against the `provenance = { ... }` table of an `[[image]]` entry: the builder, the
//! build type, the source repository and the source ref, matched as slsa-verifier
//! matches them.
//!
//! It exists because a signature only says *who* signed; a release gate must also say
//! "built by our builder, from our repository, on a tag". The fields are read from both
//! predicate versions:
//!
//! | policy key          | v0.2 (`https://slsa.dev/provenance/v0.2`) | v1 (`https://slsa.dev/provenance/v1`) |
//! |---------------------|-------------------------------------------|---------------------------------------|
//! | `builder-id`        | `builder.id`                              | `runDetails.builder.id`               |
//! | `build-type`        | `buildType`                               | `buildDefinition.buildType`           |
//! | `source-repository` | `invocation.configSource.uri` before `@`  | `buildDefinition.externalParameters.workflow.repository` and `buildDefinition.resolvedDependencies[0].uri` before `@` |
//! | `source-ref`        | `invocation.configSource.uri` after `@`   | `buildDefinition.externalParameters.workflow.ref` and `buildDefinition.resolvedDependencies[0].uri` after `@` |
//!
//! Matching, as slsa-verifier does: a `builder-id` without `@version` matches the builder's
//! name whatever its version, with one it must be equal; a repository is compared after
//! normalising `git+https://`, `https://` and bare `host/owner/repo` forms (and a trailing
//! `/` or `.git`); a ref is exact, or a glob whose only wildcard is `*` (`refs/tags/v*`).
//! Where a v1 predicate names the source in both places, both must match.
//!
//! What it must never do: pass a field it could not read (a missing field, or one that is
//! not a string, is a mismatch, never a pass); read a predicate that was not verified (it
//! is handed only the predicates of statements whose signature verified, see
//! [`super::dsse::Statement::predicate`]); or decide anything about signatures.

use serde_json::Value;

use super::identity::Matcher;

/// The SLSA provenance v0.2 predicate type (cosign's `slsaprovenance`).
pub const SLSA_V02: &str = "https://slsa.dev/provenance/v0.2";
/// The SLSA provenance v1 predicate type (cosign's `slsaprovenance1`).
pub const SLSA_V1: &str = "https://slsa.dev/provenance/v1";

/// True for the predicate types this module reads.
pub fn is_provenance(predicate_type: &str) -> bool {
    predicate_type == SLSA_V02 || predicate_type == SLSA_V1
}

/// What the provenance must say: each field optional, at least one given (the policy
/// parser enforces that).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Requirements {
    pub builder_id: Option<String>,
    pub source_repository: Option<String>,
    pub source_ref: Option<String>,
    pub build_type: Option<String>,
}

impl Requirements {
    /// `builder-id = "...", source-ref = "..."`: the table as the reports show it.
    pub fn describe(&self) -> String {
        self.fields()
            .map(|(key, value)| format!("{key} = {value:?}"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    fn fields(&self) -> impl Iterator<Item = (&'static str, &str)> {
        [
            ("builder-id", &self.builder_id),
            ("source-repository", &self.source_repository),
            ("source-ref", &self.source_ref),
            ("build-type", &self.build_type),
        ]
        .into_iter()
        .filter_map(|(key, value)| value.as_deref().map(|v| (key, v)))
    }
}

/// One field that did not match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    /// The policy key: `builder-id`, `source-repository`, `source-ref`, `build-type`.
    pub field: &'static str,
    /// Where in the predicate it was read.
    pub path: &'static str,
    pub expected: String,
    /// `None`: the predicate does not have the field (or it is not a string).
    pub found: Option<String>,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.found {
            Some(found) => write!(
                f,
                "{}: expected {:?}, found {found:?} ({})",
                self.field, self.expected, self.path
            ),
            None => write!(
                f,
                "{}: expected {:?}, found nothing (the predicate has no {})",
                self.field, self.expected, self.path
            ),
        }
    }
}

/// Every field of `want` that `predicate` (of `predicate_type`, v0.2 or v1) does not
/// satisfy; empty when it matches. A predicate of another type matches nothing: every
/// field is reported missing.
pub fn check(want: &Requirements, predicate_type: &str, predicate: &Value) -> Vec<Mismatch> {
    let fields = Fields::read(predicate_type, predicate);
    let mut out = Vec::new();
    if let Some(expected) = &want.builder_id {
        compare(
            &mut out,
            "builder-id",
            expected,
            &fields.builder_id,
            builder_id_matches,
        );
    }
    if let Some(expected) = &want.build_type {
        compare(
            &mut out,
            "build-type",
            expected,
            &fields.build_type,
            |e, f| e == f,
        );
    }
    if let Some(expected) = &want.source_repository {
        compare(
            &mut out,
            "source-repository",
            expected,
            &fields.repositories,
            |e, f| normalise_repository(e) == normalise_repository(f),
        );
    }
    if let Some(expected) = &want.source_ref {
        compare(&mut out, "source-ref", expected, &fields.refs, ref_matches);
    }
    out
}

/// Each value found for a field, with where it was read; `(path, None)` when the place
/// the field must be is empty.
type Found = Vec<(&'static str, Option<String>)>;

fn compare(
    out: &mut Vec<Mismatch>,
    field: &'static str,
    expected: &str,
    found: &Found,
    matches: impl Fn(&str, &str) -> bool,
) {
    let present: Vec<_> = found
        .iter()
        .filter_map(|(path, v)| v.as_deref().map(|v| (*path, v)))
        .collect();
    if present.is_empty() {
        out.push(Mismatch {
            field,
            path: found.first().map_or("predicate", |(path, _)| *path),
            expected: expected.to_string(),
            found: None,
        });
        return;
    }
    // Every place that names the field must agree with the policy.
    for (path, value) in present {
        if !matches(expected, value) {
            out.push(Mismatch {
                field,
                path,
                expected: expected.to_string(),
                found: Some(value.to_string()),
            });
        }
    }
}

/// The fields as read from one predicate.
struct Fields {
    builder_id: Found,
    build_type: Found,
    repositories: Found,
    refs: Found,
}

fn string_at(value: &Value, path: &[&str]) -> Option<String> {
    let mut at = value;
    for key in path {
        at = at.get(key)?;
    }
    at.as_str().map(str::to_string)
}

/// `git+https://host/o/r@refs/tags/v1` → (`git+https://host/o/r`, `refs/tags/v1`): the
/// ref is after the first `@` past the scheme.
fn split_ref(uri: &str) -> (&str, Option<&str>) {
    let start = uri.find("://").map_or(0, |i| i + 3);
    match uri[start..].find('@') {
        Some(at) => (&uri[..start + at], Some(&uri[start + at + 1..])),
        None => (uri, None),
    }
}

impl Fields {
    fn read(predicate_type: &str, p: &Value) -> Fields {
        match predicate_type {
            SLSA_V02 => {
                let uri = string_at(p, &["invocation", "configSource", "uri"]);
                let (repo, git_ref) = match uri.as_deref().map(split_ref) {
                    Some((repo, git_ref)) => (Some(repo.to_string()), git_ref.map(str::to_string)),
                    None => (None, None),
                };
                Fields {
                    builder_id: vec![("builder.id", string_at(p, &["builder", "id"]))],
                    build_type: vec![("buildType", string_at(p, &["buildType"]))],
                    repositories: vec![("invocation.configSource.uri", repo)],
                    refs: vec![("invocation.configSource.uri", git_ref)],
                }
            }
            SLSA_V1 => {
                let workflow = ["buildDefinition", "externalParameters", "workflow"];
                let dependency = p
                    .get("buildDefinition")
                    .and_then(|b| b.get("resolvedDependencies"))
                    .and_then(|d| d.get(0))
                    .and_then(|d| d.get("uri"))
                    .and_then(Value::as_str)
                    .map(split_ref);
                const WORKFLOW_REPO: &str =
                    "buildDefinition.externalParameters.workflow.repository";
                const WORKFLOW_REF: &str = "buildDefinition.externalParameters.workflow.ref";
                const DEPENDENCY: &str = "buildDefinition.resolvedDependencies[0].uri";
                Fields {
                    builder_id: vec![(
                        "runDetails.builder.id",
                        string_at(p, &["runDetails", "builder", "id"]),
                    )],
                    build_type: vec![(
                        "buildDefinition.buildType",
                        string_at(p, &["buildDefinition", "buildType"]),
                    )],
                    repositories: vec![
                        (
                            WORKFLOW_REPO,
                            string_at(p, &[workflow[0], workflow[1], workflow[2], "repository"]),
                        ),
                        (DEPENDENCY, dependency.map(|(repo, _)| repo.to_string())),
                    ],
                    refs: vec![
                        (
                            WORKFLOW_REF,
                            string_at(p, &[workflow[0], workflow[1], workflow[2], "ref"]),
                        ),
                        (
                            DEPENDENCY,
                            dependency.and_then(|(_, r)| r.map(str::to_string)),
                        ),
                    ],
                }
            }
            _ => Fields {
                builder_id: vec![],
                build_type: vec![],
                repositories: vec![],
                refs: vec![],
            },
        }
    }
}

/// slsa-verifier's rule: `name@version` must be equal; a bare `name` matches that builder
/// at any version.
fn builder_id_matches(expected: &str, found: &str) -> bool {
    if expected.contains('@') {
        return expected == found;
    }
    found.split_once('@').map_or(found, |(name, _)| name) == expected
}

/// `git+https://github.com/o/r`, `https://github.com/o/r`, `github.com/o/r/` and
/// `https://github.com/o/r.git` all become `https://github.com/o/r`.
pub fn normalise_repository(uri: &str) -> String {
    let uri = uri.trim();
    let uri = uri.strip_prefix("git+").unwrap_or(uri);
    let mut out = if uri.contains("://") {
        uri.to_string()
    } else {
        format!("https://{uri}")
    };
    while out.ends_with('/') {
        out.pop();
    }
    if let Some(stripped) = out.strip_suffix(".git") {
        out = stripped.to_string();
    }
    out
}

/// A ref is exact, or a glob in which `*` (and only `*`) matches any run of characters,
/// `/` included: `refs/tags/v*` (the same [`Glob`](super::identity::Glob) as the keyless `ref`).
pub fn ref_matches(pattern: &str, found: &str) -> bool {
    Matcher::glob(pattern).is_ok_and(|m| m.matches(found))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    // Hand-written predicates, shaped from the SLSA specification's examples (v0.2: the
    // `builder`/`buildType`/`invocation.configSource` layout; v1: GitHub's
    // `https://actions.github.io/buildtypes/workflow/v1` build type as GitHub's
    // generator writes it), with made-up values.
    const BUILDER: &str = "https://github.com/example/builder/.github/workflows/build.yml";

    fn v02() -> Value {
        json!({
            "builder": { "id": format!("{BUILDER}@refs/tags/v1.9.0") },
            "buildType": "https://github.com/slsa-framework/slsa-github-generator/generic@v1",
            "invocation": {
                "configSource": {
                    "uri": "git+https://github.com/example/app@refs/tags/v1.2.3",
                    "digest": { "sha1": "0123456789abcdef0123456789abcdef01234567" },
                    "entryPoint": ".github/workflows/release.yml"
                },
                "parameters": {},
                "environment": { "github_event_name": "push" }
            },
            "metadata": { "buildInvocationID": "1-1", "completeness": {}, "reproducible": false },
            "materials": [{ "uri": "git+https://github.com/example/app@refs/tags/v1.2.3" }]
        })
    }

    fn v1() -> Value {
        json!({
            "buildDefinition": {
                "buildType": "https://actions.github.io/buildtypes/workflow/v1",
                "externalParameters": {
                    "workflow": {
                        "ref": "refs/tags/v1.2.3",
                        "repository": "https://github.com/example/app",
                        "path": ".github/workflows/release.yml"
                    }
                },
                "internalParameters": { "github": { "event_name": "push" } },
                "resolvedDependencies": [{
                    "uri": "git+https://github.com/example/app@refs/tags/v1.2.3",
                    "digest": { "gitCommit": "0123456789abcdef0123456789abcdef01234567" }
                }]
            },
            "runDetails": {
                "builder": { "id": format!("{BUILDER}@refs/tags/v1.9.0") },
                "metadata": { "invocationId": "https://github.com/example/app/actions/runs/1/attempts/1" }
            }
        })
    }

    fn all(build_type: &str) -> Requirements {
        Requirements {
            builder_id: Some(BUILDER.into()),
            source_repository: Some("github.com/example/app".into()),
            source_ref: Some("refs/tags/v*".into()),
            build_type: Some(build_type.into()),
        }
    }

    const V02_TYPE: &str = "https://github.com/slsa-framework/slsa-github-generator/generic@v1";
    const V1_TYPE: &str = "https://actions.github.io/buildtypes/workflow/v1";

    fn fields(m: &[Mismatch]) -> Vec<&str> {
        m.iter().map(|m| m.field).collect()
    }

    #[test]
    fn both_versions_match_every_field() {
        assert_eq!(check(&all(V02_TYPE), SLSA_V02, &v02()), vec![]);
        assert_eq!(check(&all(V1_TYPE), SLSA_V1, &v1()), vec![]);
    }

    #[test]
    fn the_predicate_type_decides_where_fields_are_read() {
        // A v1 predicate announced as v0.2 (and the reverse) has none of the fields where
        // that version keeps them: every one is missing, nothing passes.
        let m = check(&all(V1_TYPE), SLSA_V02, &v1());
        assert_eq!(
            fields(&m),
            [
                "builder-id",
                "build-type",
                "source-repository",
                "source-ref"
            ]
        );
        assert!(m.iter().all(|m| m.found.is_none()), "{m:?}");
        let m = check(&all(V02_TYPE), SLSA_V1, &v02());
        assert_eq!(m.len(), 4, "{m:?}");
        assert!(m.iter().all(|m| m.found.is_none()), "{m:?}");
        // Another predicate type altogether matches nothing.
        let m = check(&all(V1_TYPE), "https://example.com/other", &v1());
        assert_eq!(m.len(), 4, "{m:?}");
    }

    #[test]
    fn each_field_mismatch_names_the_field_the_expected_and_the_found_value() {
        let cases = [
            (
                Requirements {
                    builder_id: Some("https://github.com/evil/builder".into()),
                    ..Requirements::default()
                },
                "builder-id",
                format!("{BUILDER}@refs/tags/v1.9.0"),
            ),
            (
                Requirements {
                    build_type: Some("https://example.com/other-build".into()),
                    ..Requirements::default()
                },
                "build-type",
                String::new(),
            ),
            (
                Requirements {
                    source_repository: Some("https://github.com/example/fork".into()),
                    ..Requirements::default()
                },
                "source-repository",
                String::new(),
            ),
            (
                Requirements {
                    source_ref: Some("refs/heads/main".into()),
                    ..Requirements::default()
                },
                "source-ref",
                "refs/tags/v1.2.3".into(),
            ),
        ];
        for (want, field, found) in cases {
            for (kind, predicate) in [(SLSA_V02, v02()), (SLSA_V1, v1())] {
                let m = check(&want, kind, &predicate);
                assert!(!m.is_empty(), "{field} {kind}");
                assert!(m.iter().all(|m| m.field == field), "{m:?}");
                assert!(m.iter().all(|m| m.found.is_some()), "{m:?}");
                if !found.is_empty() {
                    assert_eq!(m[0].found.as_deref(), Some(found.as_str()), "{kind}");
                }
                let text = m[0].to_string();
                assert!(text.starts_with(&format!("{field}: expected ")), "{text}");
                assert!(text.contains("found \""), "{text}");
            }
        }
        // The v1 source is named in two places; each is reported where it disagrees.
        let want = Requirements {
            source_ref: Some("refs/heads/main".into()),
            ..Requirements::default()
        };
        let m = check(&want, SLSA_V1, &v1());
        assert_eq!(
            m.iter().map(|m| m.path).collect::<Vec<_>>(),
            [
                "buildDefinition.externalParameters.workflow.ref",
                "buildDefinition.resolvedDependencies[0].uri"
            ]
        );
    }

    /// A field the predicate does not have is a mismatch, never a pass.
    #[test]
    fn each_missing_field_is_a_mismatch() {
        let remove = |mut p: Value, path: &[&str]| {
            let (last, parents) = path.split_last().unwrap();
            let mut at = &mut p;
            for key in parents {
                at = at.get_mut(*key).unwrap();
            }
            match at {
                Value::Object(map) => assert!(map.remove(*last).is_some(), "{path:?}"),
                Value::Array(items) => {
                    items.clear();
                }
                _ => panic!("{path:?}"),
            }
            p
        };
        let cases_v02: [(&[&str], &str); 3] = [
            (&["builder", "id"], "builder-id"),
            (&["buildType"], "build-type"),
            (&["invocation", "configSource", "uri"], "source-repository"),
        ];
        for (path, field) in cases_v02 {
            let m = check(&all(V02_TYPE), SLSA_V02, &remove(v02(), path));
            let missing: Vec<_> = m.iter().filter(|m| m.found.is_none()).collect();
            assert!(missing.iter().any(|m| m.field == field), "{path:?}: {m:?}");
            assert!(m[0].to_string().contains("found nothing"), "{}", m[0]);
        }
        // configSource.uri without `@ref`: the repository is there, the ref is missing.
        let mut p = v02();
        p["invocation"]["configSource"]["uri"] = json!("git+https://github.com/example/app");
        let m = check(&all(V02_TYPE), SLSA_V02, &p);
        assert_eq!(fields(&m), ["source-ref"]);
        assert_eq!(m[0].found, None);

        // v1: the source is missing only when neither place names it.
        let m = check(
            &all(V1_TYPE),
            SLSA_V1,
            &remove(v1(), &["runDetails", "builder", "id"]),
        );
        assert_eq!(fields(&m), ["builder-id"]);
        let m = check(
            &all(V1_TYPE),
            SLSA_V1,
            &remove(v1(), &["buildDefinition", "buildType"]),
        );
        assert_eq!(fields(&m), ["build-type"]);
        let no_workflow = remove(v1(), &["buildDefinition", "externalParameters", "workflow"]);
        assert_eq!(check(&all(V1_TYPE), SLSA_V1, &no_workflow), vec![]);
        let neither = remove(no_workflow, &["buildDefinition", "resolvedDependencies"]);
        let m = check(&all(V1_TYPE), SLSA_V1, &neither);
        assert_eq!(fields(&m), ["source-repository", "source-ref"]);
        assert!(m.iter().all(|m| m.found.is_none()), "{m:?}");

        // A field that is not a string is not read as one.
        let mut p = v1();
        p["runDetails"]["builder"]["id"] = json!(["not", "a", "string"]);
        assert_eq!(fields(&check(&all(V1_TYPE), SLSA_V1, &p)), ["builder-id"]);
        // A predicate that is not an object has nothing.
        assert_eq!(check(&all(V1_TYPE), SLSA_V1, &json!("text")).len(), 4);
        assert_eq!(check(&all(V02_TYPE), SLSA_V02, &Value::Null).len(), 4);
    }

    #[test]
    fn refs_are_exact_or_star_globs() {
        assert!(ref_matches("refs/tags/v1.2.3", "refs/tags/v1.2.3"));
        assert!(!ref_matches("refs/tags/v1.2", "refs/tags/v1.2.3"));
        assert!(ref_matches("refs/tags/v*", "refs/tags/v1.2.3"));
        assert!(ref_matches("refs/tags/*", "refs/tags/release/1"));
        assert!(!ref_matches("refs/tags/v*", "refs/heads/v1"));
        assert!(!ref_matches("refs/tags/v*", "xrefs/tags/v1"));
        // Only `*` is special: `.`, `?`, `[` are literal.
        assert!(!ref_matches("refs/tags/v1.*", "refs/tags/v1x2"));
        assert!(!ref_matches("refs/tags/v?", "refs/tags/v1"));
        assert!(ref_matches("refs/tags/[rc]*", "refs/tags/[rc]1"));
        let mut p = v1();
        p["buildDefinition"]["externalParameters"]["workflow"]["ref"] = json!("refs/heads/main");
        p["buildDefinition"]["resolvedDependencies"][0]["uri"] =
            json!("git+https://github.com/example/app@refs/heads/main");
        assert_eq!(
            fields(&check(&all(V1_TYPE), SLSA_V1, &p)),
            ["source-ref", "source-ref"]
        );
    }

    #[test]
    fn repositories_are_compared_normalised() {
        let forms = [
            "github.com/example/app",
            "https://github.com/example/app",
            "git+https://github.com/example/app",
            "https://github.com/example/app/",
            "https://github.com/example/app.git",
        ];
        for a in forms {
            for b in forms {
                assert_eq!(normalise_repository(a), normalise_repository(b), "{a} {b}");
            }
        }
        assert_ne!(
            normalise_repository("github.com/example/app"),
            normalise_repository("github.com/example/app2")
        );
        for form in forms {
            let want = Requirements {
                source_repository: Some(form.into()),
                ..Requirements::default()
            };
            assert_eq!(check(&want, SLSA_V02, &v02()), vec![], "{form}");
            assert_eq!(check(&want, SLSA_V1, &v1()), vec![], "{form}");
        }
    }

    #[test]
    fn builder_ids_match_by_name_or_by_name_and_version() {
        let found = format!("{BUILDER}@refs/tags/v1.9.0");
        assert!(builder_id_matches(BUILDER, &found));
        assert!(builder_id_matches(&found, &found));
        assert!(!builder_id_matches(
            &format!("{BUILDER}@refs/tags/v2.0.0"),
            &found
        ));
        assert!(!builder_id_matches(&format!("{BUILDER}x"), &found));
        assert!(builder_id_matches(BUILDER, BUILDER));
    }

    #[test]
    fn describe_lists_the_given_fields() {
        let want = Requirements {
            builder_id: Some("b".into()),
            source_ref: Some("refs/tags/v*".into()),
            ..Requirements::default()
        };
        assert_eq!(
            want.describe(),
            r#"builder-id = "b", source-ref = "refs/tags/v*""#
        );
    }
}
