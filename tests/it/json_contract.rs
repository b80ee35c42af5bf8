//! The JSON report read back through an independent model of docs/json-report.md that
//! rejects unknown fields: the wire format cannot drift without this test and the doc
//! changing with it.

use serde::Deserialize;

use crate::common::{fixture, rustsec_db, tempdir, vouch};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Report {
    schema: String,
    verdict: String,
    summary: Summary,
    database: Database,
    lockfiles: Vec<Lockfile>,
    local_packages: Vec<LocalPackage>,
    remarks: Vec<String>,
    waiver_file: Option<String>,
    policy: Option<String>,
    findings: Vec<Finding>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocalPackage {
    ecosystem: String,
    name: String,
    version: Option<String>,
    lockfile: String,
    line: Option<u64>,
    why: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Summary {
    packages: u64,
    packages_by_ecosystem: std::collections::BTreeMap<String, u64>,
    local_packages: u64,
    unscored_by_ecosystem: std::collections::BTreeMap<String, u64>,
    errors: u64,
    warnings: u64,
    waived: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Database {
    source: String,
    commit: Option<String>,
    fetched_at: Option<String>,
    age_seconds: Option<i64>,
    sources: Vec<Source>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Source {
    kind: String,
    ecosystem: Option<String>,
    source: String,
    commit: Option<String>,
    sha256: Option<String>,
    fetched_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Lockfile {
    path: String,
    format: String,
    packages: u64,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Finding {
    code: String,
    level: String,
    message: String,
    advisory: Option<Advisory>,
    package: Option<Package>,
    waiver: Option<Waiver>,
    waived_by: Option<Waiver>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Advisory {
    id: String,
    aliases: Vec<String>,
    kind: String,
    severity: Option<String>,
    cvss_score: Option<f64>,
    cvss_vector: Option<String>,
    title: String,
    url: Option<String>,
    fixed_versions: Vec<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Package {
    ecosystem: String,
    name: String,
    version: String,
    purl: String,
    lockfile: String,
    line: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Waiver {
    id: String,
    file: String,
    line: u64,
    package: Option<String>,
    versions: Option<String>,
    reason: String,
    owner: String,
    expires: String,
}

#[test]
fn the_json_report_matches_the_documented_schema() {
    let dir = tempdir();
    let waivers = dir.path().join("w.toml");
    std::fs::write(
        &waivers,
        "[[waiver]]\nid = \"CVE-2022-24713\"\npackage = \"regex\"\nversions = \"<1.6\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2099-01-01\n\n\
         [[waiver]]\nid = \"RUSTSEC-2000-0000\"\nreason = \"r\"\nowner = \"o\"\nexpires = 2000-01-01\n",
    )
    .unwrap();
    let out = vouch()
        .args(["audit", "--format", "json", "--db"])
        .arg(rustsec_db())
        .arg("--waivers")
        .arg(&waivers)
        .arg(fixture("cargo/vulnerable/Cargo.lock"))
        .output()
        .unwrap();
    let report: Report =
        serde_json::from_slice(&out.stdout).expect("report follows the documented schema");
    assert_eq!(report.schema, "vouch.audit/1");
    assert_eq!(report.verdict, "fail");
    // The lockfile's 21 packages: 20 audited, the fixture crate itself local.
    assert_eq!(
        report.summary.packages + report.summary.local_packages,
        report.lockfiles[0].packages
    );
    assert_eq!(report.summary.packages_by_ecosystem["crates.io"], 20);
    assert_eq!(report.local_packages.len(), 1);
    let own = &report.local_packages[0];
    assert_eq!(
        (own.name.as_str(), own.why.as_str(), own.ecosystem.as_str()),
        ("vulnerable-fixture", "workspace-member", "crates.io")
    );
    assert!(own.version.is_some() && own.line.is_some() && own.lockfile.ends_with("Cargo.lock"));
    assert!(report.remarks.is_empty());
    // RustSec scores what it can; an ecosystem is listed only with a count.
    assert!(
        report
            .summary
            .unscored_by_ecosystem
            .values()
            .all(|n| *n > 0)
    );
    assert_eq!(report.lockfiles[0].format, "Cargo.lock");
    assert!(report.database.source.ends_with("rustsec-db"));
    assert!(report.database.fetched_at.is_none() && report.database.age_seconds.is_none());
    assert!(
        report.database.commit.is_none(),
        "an unpacked tarball has no git commit"
    );
    assert!(report.lockfiles[0].path.ends_with("vulnerable/Cargo.lock"));
    assert!(report.waiver_file.is_some());
    assert!(report.policy.is_none(), "no vouch.toml where it ran");
    let [rustsec] = report.database.sources.as_slice() else {
        panic!("one source read");
    };
    assert_eq!(
        (rustsec.kind.as_str(), rustsec.ecosystem.as_deref()),
        ("rustsec", None)
    );
    assert_eq!(rustsec.source, report.database.source);
    assert!(rustsec.sha256.is_none() && rustsec.commit.is_none() && rustsec.fetched_at.is_none());
    assert_eq!(
        report.summary.errors + report.summary.warnings + report.summary.waived,
        report.findings.len() as u64
    );
    let levels = ["error", "warning", "info"];
    let mut last = 0;
    for f in &report.findings {
        let rank = levels
            .iter()
            .position(|l| *l == f.level)
            .expect("known level");
        assert!(rank >= last, "findings are sorted by level");
        last = rank;
        assert!(!f.message.is_empty() && !f.code.is_empty());
        match f.code.as_str() {
            "waiver-expired" | "waiver-expiring-soon" | "waiver-unused" => {
                let w = f.waiver.as_ref().expect("waiver findings carry the waiver");
                assert!(
                    !w.file.is_empty() && w.line > 0 && !w.owner.is_empty() && !w.reason.is_empty()
                );
                assert_eq!(w.expires.len(), 10);
            }
            _ => {
                let a = f
                    .advisory
                    .as_ref()
                    .expect("advisory findings carry the advisory");
                let p = f.package.as_ref().expect("and the package");
                assert!(a.id.starts_with("RUSTSEC-") && !a.title.is_empty() && a.url.is_some());
                assert!(
                    p.purl.starts_with("pkg:cargo/")
                        && p.line.is_some()
                        && p.lockfile.ends_with("Cargo.lock")
                );
                assert_eq!(p.ecosystem, "crates.io");
                assert!(!p.name.is_empty() && !p.version.is_empty());
                if a.kind == "vulnerability" && a.severity.is_some() {
                    assert!(a.cvss_score.is_some() && a.cvss_vector.is_some());
                }
                let _ = (&a.aliases, &a.fixed_versions);
                if let Some(w) = &f.waived_by {
                    assert_eq!(f.level, "info");
                    assert_eq!(
                        (w.id.as_str(), w.package.as_deref(), w.versions.as_deref()),
                        ("CVE-2022-24713", Some("regex"), Some("<1.6"))
                    );
                }
            }
        }
    }
    assert!(report.findings.iter().any(|f| f.code == "waiver-expired"));
    assert!(report.findings.iter().any(|f| f.waived_by.is_some()));
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CheckReport {
    pub schema: String,
    pub verdict: String,
    pub policy: Option<String>,
    pub checks: Vec<Check>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Check {
    pub name: String,
    pub status: String,
    pub reason: Option<String>,
    pub summary: String,
    pub findings: Vec<Finding>,
    /// Keyless verify checks: every certificate claim checked; [] otherwise.
    pub claims: Vec<Claim>,
}

/// As in `vouch.verify/1` (the same model).
pub(crate) use crate::verify::contract::Claim;

#[test]
fn the_check_report_matches_the_documented_schema() {
    let dir = tempdir();
    std::fs::copy(
        fixture("cargo/vulnerable/Cargo.lock"),
        dir.path().join("Cargo.lock"),
    )
    .unwrap();
    std::fs::write(
        dir.path().join("vouch.toml"),
        "[audit]\n\n[[image]]\nreference = \"127.0.0.1:1/a@sha256:00\"\nkey = [\"k.pub\"]\n",
    )
    .unwrap();
    let out = vouch()
        .current_dir(dir.path())
        .args(["check", "--format", "json", "--db"])
        .arg(rustsec_db())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(2),
        "the unavailable sbom check is an error"
    );
    let report: CheckReport = serde_json::from_slice(&out.stdout).expect("documented schema");
    assert_eq!(report.schema, "vouch.check/1");
    assert_eq!(report.verdict, "error");
    assert_eq!(report.policy.as_deref(), Some("vouch.toml"));
    let audit = &report.checks[0];
    assert_eq!(
        (audit.name.as_str(), audit.status.as_str()),
        ("audit", "fail")
    );
    assert!(
        audit.reason.is_none()
            && audit
                .summary
                .starts_with("20 packages and 1 local (the project's own"),
        "{}",
        audit.summary
    );
    assert_eq!(audit.findings.len(), 9);
    assert!(audit.claims.is_empty());
    assert!(
        audit
            .findings
            .iter()
            .all(|f| f.advisory.is_some() && f.package.is_some())
    );
    let verify = &report.checks[1];
    assert_eq!(verify.status, "error");
    // The key file the policy names does not exist: the image check is an error, not a skip.
    assert!(
        verify
            .reason
            .as_deref()
            .unwrap()
            .contains("cannot read the key file")
    );
}
