//! Loading multi-document YAML files that mix metallb.io objects with core objects.
//!
//! Documents are split on `---` lines and each one is parsed on its own, first for its
//! `apiVersion` / `kind` / `metadata.name`, then strictly into its type. That way an
//! error names the file, the line and column, the object (`Kind/name`) and the field
//! path inside it, and one document's type cannot leak into another's.

use std::path::Path;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::{Namespace, Node, Secret, Service};
use k8s_openapi::api::discovery::v1::EndpointSlice;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::{v1beta1, v1beta2};

/// Everything ferrolb reads, in the order it was read.
#[derive(Clone, Debug, Default)]
pub struct Resources {
    /// IPAddressPools.
    pub ip_address_pools: Vec<v1beta1::IPAddressPool>,
    /// L2Advertisements.
    pub l2_advertisements: Vec<v1beta1::L2Advertisement>,
    /// BGPAdvertisements.
    pub bgp_advertisements: Vec<v1beta1::BGPAdvertisement>,
    /// BGPPeers, v1beta1 ones already converted to v1beta2.
    pub bgp_peers: Vec<v1beta2::BGPPeer>,
    /// BFDProfiles.
    pub bfd_profiles: Vec<v1beta1::BFDProfile>,
    /// Communities.
    pub communities: Vec<v1beta1::Community>,
    /// Status objects (read so that a dump of a cluster loads; not used for config).
    pub service_l2_statuses: Vec<v1beta1::ServiceL2Status>,
    /// Status objects.
    pub service_bgp_statuses: Vec<v1beta1::ServiceBGPStatus>,
    /// Status objects.
    pub configuration_states: Vec<v1beta1::ConfigurationState>,
    /// Services, in file order then document order.
    pub services: Vec<Service>,
    /// Namespaces (their labels feed `serviceAllocation.namespaceSelectors`).
    pub namespaces: Vec<Namespace>,
    /// Nodes (their labels feed node selectors).
    pub nodes: Vec<Node>,
    /// Secrets (BGP passwords), with `stringData` folded into `data`.
    pub secrets: Vec<Secret>,
    /// EndpointSlices.
    pub endpoint_slices: Vec<EndpointSlice>,
}

/// A document whose kind ferrolb does not use.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Skipped {
    /// Where it was.
    pub file: String,
    /// First line of the document.
    pub line: u64,
    /// Its `apiVersion`.
    pub api_version: String,
    /// Its `kind`.
    pub kind: String,
    /// Its `metadata.name`.
    pub name: String,
}

/// Why a file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("{file}: {source}")]
    Io {
        /// The path.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// Not YAML.
    #[error("{file}:{line}:{column}: YAML syntax error: {message}")]
    Syntax {
        /// The path.
        file: String,
        /// 1-based line in the file.
        line: u64,
        /// 1-based column.
        column: u64,
        /// What the parser said.
        message: String,
    },
    /// A document that is not a Kubernetes object (no `apiVersion` / `kind`).
    #[error("{file}:{line}: document has no {missing}; every document must be a Kubernetes object")]
    NotAnObject {
        /// The path.
        file: String,
        /// First line of the document.
        line: u64,
        /// The missing key.
        missing: &'static str,
    },
    /// A metallb.io kind under a version MetalLB does not serve.
    #[error(
        "{file}:{line}: {kind}/{name}: apiVersion: {api_version:?} is not served for {kind} (use {expected})"
    )]
    Version {
        /// The path.
        file: String,
        /// First line of the document.
        line: u64,
        /// The kind.
        kind: String,
        /// The name.
        name: String,
        /// What was written.
        api_version: String,
        /// What is accepted.
        expected: &'static str,
    },
    /// The document does not fit its kind's schema.
    #[error(transparent)]
    Field(Box<FieldError>),
}

/// A document that does not fit its kind's schema: `Kind/name: field: message`.
#[derive(Debug, thiserror::Error)]
#[error("{kind}/{name}: {field}: {message} ({file}:{line}:{column})")]
pub struct FieldError {
    /// The path.
    pub file: String,
    /// 1-based line in the file.
    pub line: u64,
    /// 1-based column.
    pub column: u64,
    /// The object's kind.
    pub kind: String,
    /// The object's name (`<unnamed>` when missing).
    pub name: String,
    /// Field path inside the object, e.g. `spec.passwordSecret.key`.
    pub field: String,
    /// What is wrong.
    pub message: String,
}

/// What a load produced besides the objects.
#[derive(Clone, Debug, Default)]
pub struct LoadReport {
    /// Documents of kinds ferrolb does not use.
    pub skipped: Vec<Skipped>,
}

#[derive(Deserialize)]
struct Header {
    #[serde(rename = "apiVersion")]
    api_version: Option<String>,
    kind: Option<String>,
    metadata: Option<HeaderMeta>,
}

#[derive(Deserialize)]
struct HeaderMeta {
    name: Option<String>,
    #[serde(rename = "generateName")]
    generate_name: Option<String>,
}

/// Keys allowed at the top of a metallb.io object (the derive for custom resources
/// cannot refuse unknown ones itself).
const CR_ROOT_KEYS: &[&str] = &["apiVersion", "kind", "metadata", "spec", "status"];

impl Resources {
    /// Reads and parses `path`, appending its objects.
    pub fn load_file(&mut self, path: &Path, report: &mut LoadReport) -> Result<(), LoadError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| LoadError::Io {
            file: file.clone(),
            source,
        })?;
        self.load_str(&file, &text, report)
    }

    /// Parses `text` (named `file` in errors), appending its objects.
    pub fn load_str(
        &mut self,
        file: &str,
        text: &str,
        report: &mut LoadReport,
    ) -> Result<(), LoadError> {
        for doc in split_documents(text) {
            self.load_document(file, &doc, report)?;
        }
        Ok(())
    }

    fn load_document(
        &mut self,
        file: &str,
        doc: &Document<'_>,
        report: &mut LoadReport,
    ) -> Result<(), LoadError> {
        let header: Header = serde_saphyr::from_str(doc.text).map_err(|e| {
            let (line, column, message) = describe(&e, doc.first_line);
            LoadError::Syntax {
                file: file.to_owned(),
                line,
                column,
                message,
            }
        })?;
        let not_object = |missing| LoadError::NotAnObject {
            file: file.to_owned(),
            line: doc.first_line,
            missing,
        };
        let api_version = header.api_version.ok_or_else(|| not_object("apiVersion"))?;
        let kind = header.kind.ok_or_else(|| not_object("kind"))?;
        let name = header
            .metadata
            .and_then(|m| m.name.or(m.generate_name))
            .unwrap_or_else(|| "<unnamed>".to_owned());
        let ctx = DocContext {
            file,
            doc,
            kind: &kind,
            name: &name,
        };
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version.as_str()),
        };
        if group == "metallb.io" {
            let spec = ctx.check_root_keys()?;
            // Go's `spec,omitempty`: every kind but IPAddressPool may omit its spec or
            // leave it empty (`spec:`). Appending or rewriting one line keeps every line
            // number of the original text.
            let padded_text;
            let padded_doc;
            let ctx = if spec == Spec::Present || kind == "IPAddressPool" {
                ctx
            } else {
                padded_text = if spec == Spec::Null {
                    doc.text
                        .split_inclusive('\n')
                        .map(|l| {
                            if l.starts_with("spec:") {
                                "spec: {}\n"
                            } else {
                                l
                            }
                        })
                        .collect()
                } else {
                    format!("{}\nspec: {{}}\n", doc.text.trim_end())
                };
                padded_doc = Document {
                    text: &padded_text,
                    first_line: doc.first_line,
                };
                DocContext {
                    doc: &padded_doc,
                    ..ctx
                }
            };
            let version_err = |expected| LoadError::Version {
                file: file.to_owned(),
                line: doc.first_line,
                kind: kind.clone(),
                name: name.clone(),
                api_version: api_version.clone(),
                expected,
            };
            match (kind.as_str(), version) {
                ("BGPPeer", "v1beta2") => self.bgp_peers.push(ctx.parse()?),
                ("BGPPeer", "v1beta1") => {
                    self.bgp_peers.push(ctx.parse::<v1beta1::BGPPeer>()?.into())
                }
                ("BGPPeer", _) => {
                    return Err(version_err("metallb.io/v1beta2 or metallb.io/v1beta1"));
                }
                (_, "v1beta1") => match kind.as_str() {
                    "IPAddressPool" => self.ip_address_pools.push(ctx.parse()?),
                    "L2Advertisement" => self.l2_advertisements.push(ctx.parse()?),
                    "BGPAdvertisement" => self.bgp_advertisements.push(ctx.parse()?),
                    "BFDProfile" => self.bfd_profiles.push(ctx.parse()?),
                    "Community" => self.communities.push(ctx.parse()?),
                    "ServiceL2Status" => self.service_l2_statuses.push(ctx.parse()?),
                    "ServiceBGPStatus" => self.service_bgp_statuses.push(ctx.parse()?),
                    "ConfigurationState" => self.configuration_states.push(ctx.parse()?),
                    _ => report.skipped.push(ctx.skipped(&api_version)),
                },
                (
                    "IPAddressPool" | "L2Advertisement" | "BGPAdvertisement" | "BFDProfile"
                    | "Community" | "ServiceL2Status" | "ServiceBGPStatus" | "ConfigurationState",
                    _,
                ) => return Err(version_err("metallb.io/v1beta1")),
                _ => report.skipped.push(ctx.skipped(&api_version)),
            }
            return Ok(());
        }
        match (api_version.as_str(), kind.as_str()) {
            ("v1", "Service") => self.services.push(ctx.parse()?),
            ("v1", "Namespace") => self.namespaces.push(ctx.parse()?),
            ("v1", "Node") => self.nodes.push(ctx.parse()?),
            ("v1", "Secret") => {
                let mut secret: Secret = ctx.parse()?;
                fold_string_data(&mut secret);
                self.secrets.push(secret);
            }
            ("discovery.k8s.io/v1", "EndpointSlice") => self.endpoint_slices.push(ctx.parse()?),
            _ => report.skipped.push(ctx.skipped(&api_version)),
        }
        Ok(())
    }
}

/// The API server merges `stringData` into `data`; so do we, so that readers only
/// look at `data`.
fn fold_string_data(secret: &mut Secret) {
    if let Some(string_data) = secret.string_data.take() {
        let data = secret.data.get_or_insert_with(Default::default);
        for (k, v) in string_data {
            data.insert(k, ByteString(v.into_bytes()));
        }
    }
}

/// Whether a custom resource document has a `spec`.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Spec {
    Present,
    Absent,
    Null,
}

struct DocContext<'a> {
    file: &'a str,
    doc: &'a Document<'a>,
    kind: &'a str,
    name: &'a str,
}

impl DocContext<'_> {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, LoadError> {
        let mut path = String::new();
        let result = serde_saphyr::with_deserializer_from_str(self.doc.text, |de| {
            serde_path_to_error::deserialize(de).map_err(|e| {
                path = e.path().to_string();
                e.into_inner()
            })
        });
        result.map_err(|e| {
            let (line, column, message) = describe(&e, self.doc.first_line);
            LoadError::Field(Box::new(FieldError {
                file: self.file.to_owned(),
                line,
                column,
                kind: self.kind.to_owned(),
                name: self.name.to_owned(),
                field: if path.is_empty() || path == "." {
                    "(document)".to_owned()
                } else {
                    path
                },
                message,
            }))
        })
    }

    /// Refuses unknown top-level keys; tells whether `spec` is present.
    fn check_root_keys(&self) -> Result<Spec, LoadError> {
        let root: serde_json::Value = serde_saphyr::from_str(self.doc.text).unwrap_or_default();
        let Some(map) = root.as_object() else {
            return Ok(Spec::Present);
        };
        {
            if let Some(key) = map.keys().find(|k| !CR_ROOT_KEYS.contains(&k.as_str())) {
                let line = self
                    .doc
                    .text
                    .lines()
                    .position(|l| l.starts_with(key.as_str()))
                    .map_or(self.doc.first_line, |i| self.doc.first_line + i as u64);
                return Err(LoadError::Field(Box::new(FieldError {
                    file: self.file.to_owned(),
                    line,
                    column: 1,
                    kind: self.kind.to_owned(),
                    name: self.name.to_owned(),
                    field: key.clone(),
                    message: format!(
                        "unknown field `{key}`, expected one of apiVersion, kind, metadata, spec, status"
                    ),
                })));
            }
        }
        Ok(match map.get("spec") {
            None => Spec::Absent,
            Some(serde_json::Value::Null) => Spec::Null,
            Some(_) => Spec::Present,
        })
    }

    fn skipped(&self, api_version: &str) -> Skipped {
        Skipped {
            file: self.file.to_owned(),
            line: self.doc.first_line,
            api_version: api_version.to_owned(),
            kind: self.kind.to_owned(),
            name: self.name.to_owned(),
        }
    }
}

/// Line, column (in the whole file) and message of a parser error. The message is the
/// parser's own, without its rendered snippet or location (reported separately, adjusted
/// to the whole file).
fn describe(err: &serde_saphyr::Error, first_line: u64) -> (u64, u64, String) {
    let (line, column) = err.location().map_or((first_line, 1), |l| {
        (first_line + l.line().saturating_sub(1), l.column())
    });
    let text = err.without_snippet().to_string();
    let first = text.lines().next().unwrap_or_default();
    (line, column, strip_location(first).to_owned())
}

/// Drops serde-saphyr's `error: line L column C: ` prefix and ` at line L column C`
/// suffix.
fn strip_location(message: &str) -> &str {
    let mut m = message.strip_prefix("error: ").unwrap_or(message);
    if let Some(rest) = m.strip_prefix("line ")
        && let Some((_, after)) = rest.split_once(": ")
    {
        m = after;
    }
    match m.rfind(" at line ") {
        Some(i) => &m[..i],
        None => m,
    }
}

/// One YAML document and the 1-based line it starts on.
struct Document<'a> {
    text: &'a str,
    first_line: u64,
}

/// Splits on `---` / `...` marker lines; drops documents holding only comments. A
/// `---` line stays at the top of the document it opens (the parser accepts it there,
/// with anything written after it on the same line).
fn split_documents(text: &str) -> Vec<Document<'_>> {
    fn push<'a>(docs: &mut Vec<Document<'a>>, body: &'a str, first_line: u64) {
        let has_content = body.lines().any(|l| {
            let t = l.trim();
            !t.is_empty() && !t.starts_with('#') && t != "---" && !t.starts_with("--- #")
        });
        if has_content {
            docs.push(Document {
                text: body,
                first_line,
            });
        }
    }
    let is_marker = |line: &str, m: &str| {
        line == m
            || line
                .strip_prefix(m)
                .is_some_and(|r| r.starts_with([' ', '\t']))
    };
    let mut docs = Vec::new();
    let (mut start, mut start_line) = (0usize, 1u64);
    let (mut offset, mut line_no) = (0usize, 1u64);
    for line in text.split_inclusive('\n') {
        let bare = line.trim_end_matches(['\n', '\r']);
        if is_marker(bare, "---") {
            push(&mut docs, &text[start..offset], start_line);
            (start, start_line) = (offset, line_no);
        } else if is_marker(bare, "...") {
            push(&mut docs, &text[start..offset], start_line);
            (start, start_line) = (offset + line.len(), line_no + 1);
        }
        offset += line.len();
        line_no += 1;
    }
    push(&mut docs, &text[start..], start_line);
    docs
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(text: &str) -> Result<(Resources, LoadReport), LoadError> {
        let mut r = Resources::default();
        let mut rep = LoadReport::default();
        r.load_str("test.yaml", text, &mut rep)?;
        Ok((r, rep))
    }

    const POOL_AND_SERVICE: &str = "\
# leading comment
apiVersion: metallb.io/v1beta1
kind: IPAddressPool
metadata:
  name: first
  namespace: metallb-system
spec:
  addresses: [192.0.2.0/28]
---
apiVersion: v1
kind: Service
metadata:
  name: web
spec:
  type: LoadBalancer
  ports:
  - port: 80
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: app
";

    #[test]
    fn mixed_documents_load_in_order() {
        let (r, rep) = load(POOL_AND_SERVICE).unwrap();
        assert_eq!(r.ip_address_pools.len(), 1);
        assert_eq!(r.ip_address_pools[0].spec.addresses, vec!["192.0.2.0/28"]);
        assert_eq!(r.services.len(), 1);
        assert_eq!(rep.skipped.len(), 1);
        assert_eq!(rep.skipped[0].kind, "Deployment");
        assert_eq!(rep.skipped[0].line, 18);
    }

    #[test]
    fn syntax_error_reports_line_in_whole_file() {
        let text = "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: a\n---\napiVersion: v1\nkind: Namespace\nmetadata: [unclosed\n";
        match load(text) {
            Err(LoadError::Syntax { line, .. }) => assert!(line >= 8, "line {line}"),
            other => panic!("expected a syntax error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_field_names_object_and_path() {
        let text = "\
apiVersion: metallb.io/v1beta2
kind: BGPPeer
metadata:
  name: router-1
spec:
  myASN: 65001
  peerASN: 65000
  peerAddress: 10.0.1.1
  passwordSecret:
    name: bgp-auth
    key: password
";
        match load(text) {
            Err(LoadError::Field(f)) => {
                assert_eq!(f.kind, "BGPPeer");
                assert_eq!(f.name, "router-1");
                assert_eq!(f.field, "spec.passwordSecret.key");
                assert!(f.message.contains("unknown field"), "{}", f.message);
                assert_eq!(f.line, 11);
            }
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn unknown_root_key_of_custom_resource_is_refused() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: l2\nspecs: {}\n";
        match load(text) {
            Err(LoadError::Field(f)) => {
                assert_eq!(f.field, "specs");
                assert_eq!(f.line, 5);
            }
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn missing_or_empty_spec_is_an_empty_spec() {
        for text in [
            "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: a\n",
            "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: a\nspec:\n",
            "apiVersion: metallb.io/v1beta1\nkind: L2Advertisement\nmetadata:\n  name: a\nspec: # all pools\n",
        ] {
            let (r, _) = load(text).unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(r.l2_advertisements[0].spec, Default::default());
        }
        let pool =
            "apiVersion: metallb.io/v1beta1\nkind: IPAddressPool\nmetadata:\n  name: a\nspec:\n";
        assert!(load(pool).is_err(), "IPAddressPool's spec is required");
    }

    #[test]
    fn wrong_type_is_a_field_error() {
        let text = "apiVersion: metallb.io/v1beta1\nkind: BGPAdvertisement\nmetadata:\n  name: a\nspec:\n  aggregationLength: many\n";
        match load(text) {
            Err(LoadError::Field(f)) => assert_eq!(f.field, "spec.aggregationLength"),
            other => panic!("expected a field error, got {other:?}"),
        }
    }

    #[test]
    fn unserved_version_is_refused() {
        let text = "apiVersion: metallb.io/v1alpha1\nkind: IPAddressPool\nmetadata:\n  name: a\nspec:\n  addresses: []\n";
        assert!(matches!(load(text), Err(LoadError::Version { .. })));
    }

    #[test]
    fn v1beta1_peer_is_converted() {
        let text = "\
apiVersion: metallb.io/v1beta1
kind: BGPPeer
metadata:
  name: old
spec:
  myASN: 64500
  peerASN: 64501
  peerAddress: 10.0.0.1
  nodeSelectors:
  - matchExpressions:
    - key: rack
      operator: In
      values: [a]
";
        let (r, _) = load(text).unwrap();
        let p = &r.bgp_peers[0];
        assert_eq!(p.spec.peer_asn, 64501);
        assert_eq!(p.spec.node_selectors[0].match_expressions[0].key, "rack");
        assert_eq!(p.spec.hold_time, None);
    }

    #[test]
    fn secret_string_data_is_folded_into_data() {
        let text = "apiVersion: v1\nkind: Secret\nmetadata:\n  name: s\ntype: kubernetes.io/basic-auth\nstringData:\n  password: pw\n";
        let (r, _) = load(text).unwrap();
        let data = r.secrets[0].data.as_ref().unwrap();
        assert_eq!(data["password"].0, b"pw");
    }

    #[test]
    fn document_without_kind_is_refused() {
        assert!(matches!(
            load("apiVersion: v1\nmetadata: {}\n"),
            Err(LoadError::NotAnObject {
                missing: "kind",
                ..
            })
        ));
    }

    #[test]
    fn splitting_handles_markers_and_comment_only_documents() {
        let docs = split_documents("---\n# only a comment\n---\na: 1\n...\n--- \nb: 2\n");
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].first_line, 3);
        assert_eq!(docs[1].first_line, 6);
    }
}
