//! An e-service's interface file, checked before it is stored: an OpenAPI 3
//! document (JSON or YAML) for a REST e-service, a WSDL for a SOAP one.
//!
//! The file comes from a producer's browser and is later served to every
//! consumer, so it is parsed here, whole, under fixed bounds (size, encoding,
//! nesting, YAML aliases, no DTD in XML) and only a file that passes is
//! described in an [`InterfaceFile`] for the store and the pages. Pure: no I/O.
//!
//! Why these parsers:
//! - JSON: `serde_json`, already in the workspace; its own recursion limit is
//!   backed by our depth pre-scan so the user gets our message, not its.
//! - YAML: `yaml-rust2`, a maintained YAML 1.2 parser whose low-level parser
//!   yields events (with anchor ids and aliases) instead of a tree. We build
//!   the tree ourselves from those events, so an alias is expanded only after
//!   its size has been counted against [`MAX_YAML_NODES`]: a "billion laughs"
//!   stops at the bound instead of filling the memory. (serde_yaml is no
//!   longer maintained, and expands aliases before we could count them.)
//! - XML: `quick-xml`, a maintained pull parser that never expands a DTD: it
//!   reports `<!DOCTYPE …>` as an event, which we refuse, so no entity of any
//!   kind (internal, external, nested) can be declared, let alone expanded.

use sha2::{Digest, Sha256};
use varco_domain::Technology;

mod openapi;
mod wsdl;
mod yaml;

/// The largest interface file accepted: 10 MiB. Checked first, before any
/// parsing, so an oversized upload costs nothing but its length.
pub const MAX_FILE_BYTES: usize = 10 * 1024 * 1024;

/// How deep objects and arrays may nest in a JSON or YAML file. Real OpenAPI
/// documents stay well under 30; the bound keeps recursion (ours and the
/// parsers') shallow, below serde_json's own limit of 128.
pub const MAX_NESTING_DEPTH: usize = 64;

/// How many nodes a YAML document may have once its aliases are expanded.
/// Aliases are allowed (some OpenAPI files share a schema with `&`/`*`), but
/// each one counts as the whole node it stands for: 100,000 nodes is far
/// more than a large real API (thousands) and far less than an exponential
/// "billion laughs" reaches after a few levels.
pub const MAX_YAML_NODES: usize = 100_000;

/// How deep XML elements may nest in a WSDL (embedded XML Schemas nest more
/// than JSON does, so a little more room than [`MAX_NESTING_DEPTH`]).
pub const MAX_XML_DEPTH: usize = 128;

/// How much of the file a message may quote (an element's name, a version).
pub const MAX_QUOTED_CHARS: usize = 80;

/// WSDL 1.1's namespace (root element `definitions`).
pub const WSDL_11_NS: &str = "http://schemas.xmlsoap.org/wsdl/";
/// WSDL 2.0's namespace (root element `description`).
pub const WSDL_20_NS: &str = "http://www.w3.org/ns/wsdl";

/// What kind of interface file this is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum InterfaceKind {
    OpenApiJson,
    OpenApiYaml,
    Wsdl,
}

impl InterfaceKind {
    /// The content type to serve the file with (always as an attachment).
    pub fn content_type(self) -> &'static str {
        match self {
            InterfaceKind::OpenApiJson => "application/json",
            // RFC 9512's registered YAML media type.
            InterfaceKind::OpenApiYaml => "application/yaml",
            InterfaceKind::Wsdl => "application/wsdl+xml",
        }
    }

    /// The file extension (without the dot) for the downloaded file's name.
    pub fn extension(self) -> &'static str {
        match self {
            InterfaceKind::OpenApiJson => "json",
            InterfaceKind::OpenApiYaml => "yaml",
            InterfaceKind::Wsdl => "wsdl",
        }
    }
}

/// What the document says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Described {
    OpenApi {
        /// The `openapi` field, e.g. "3.0.3".
        openapi: String,
        /// `info.title`.
        title: String,
        /// `info.version`: the API's own version.
        version: String,
        /// How many entries `paths` has (0 when a 3.1 document has none).
        paths: usize,
    },
    Wsdl {
        /// 1 for WSDL 1.1, 2 for WSDL 2.0.
        wsdl_version: u8,
        /// The `name` of each top-level `service`, in document order.
        services: Vec<String>,
    },
}

/// An interface file that passed [`check`]: what a page shows of it and what
/// serving it back needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InterfaceFile {
    pub kind: InterfaceKind,
    pub described: Described,
    /// SHA-256 of the bytes as uploaded, lowercase hex.
    pub sha256: String,
    /// The size in bytes as uploaded.
    pub size: usize,
}

impl InterfaceFile {
    pub fn content_type(&self) -> &'static str {
        self.kind.content_type()
    }

    pub fn extension(&self) -> &'static str {
        self.kind.extension()
    }
}

/// Why a file was refused. `Display` is the Italian message for the back
/// office; [`InterfaceError::english`] is the text for the machine API.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InterfaceError {
    #[error("Il file supera i 10 MiB consentiti ({size} byte)")]
    TooLarge { size: usize },
    #[error("Il file è vuoto")]
    Empty,
    #[error("Il file non è in UTF-8: è ammessa solo questa codifica")]
    NotUtf8,
    #[error("Il file è un XML, ma per un e-service REST serve un OpenAPI 3 (JSON o YAML)")]
    XmlForRest,
    #[error("Per un e-service SOAP serve un file WSDL (XML), e questo non è un XML")]
    NotXmlForSoap,
    #[error("Il file JSON non è valido: {detail}")]
    JsonSyntax { detail: String },
    #[error("Il file YAML non è valido: {detail}")]
    YamlSyntax { detail: String },
    #[error("Il file YAML contiene più documenti: ne è ammesso uno solo")]
    YamlManyDocuments,
    #[error("Il file YAML usa troppi alias: espanso supererebbe i 100.000 nodi consentiti")]
    YamlTooManyNodes,
    #[error("Il file annida oggetti o liste oltre i {MAX_NESTING_DEPTH} livelli consentiti")]
    TooDeep,
    #[error("Il file è in formato Swagger 2.0: serve un OpenAPI 3 (campo «openapi»: \"3.0.x\" o \"3.1.x\")")]
    Swagger2,
    #[error("Il file non è un OpenAPI 3: il documento non è un oggetto")]
    NotAnObject,
    #[error("Il file non è un OpenAPI 3: manca il campo «openapi»")]
    MissingOpenApiField,
    #[error("La versione OpenAPI «{found}» non è supportata: sono ammesse 3.0.x e 3.1.x")]
    UnsupportedOpenApiVersion { found: String },
    #[error("Il file non è un OpenAPI valido: manca il campo «{field}»")]
    MissingField { field: &'static str },
    #[error("Il file non è un OpenAPI valido: il campo «{field}» deve essere {expected_it}")]
    WrongType { field: &'static str, expected_it: &'static str, expected_en: &'static str },
    #[error("Il file non è un OpenAPI valido: manca il campo «paths»")]
    MissingPaths,
    #[error("Il file non è un OpenAPI 3.1 valido: serve almeno uno tra «paths», «components» e «webhooks»")]
    Missing31Content,
    #[error("Il file XML non è valido: {detail}")]
    XmlSyntax { detail: String },
    #[error("Il file WSDL contiene una DTD (<!DOCTYPE>): non è ammessa")]
    XmlDoctype,
    #[error(
        "Il file WSDL contiene un'istruzione di elaborazione (<?…?>) diversa dalla dichiarazione XML: non è ammessa"
    )]
    XmlProcessingInstruction,
    #[error("Il file WSDL dichiara la codifica «{found}»: è ammessa solo UTF-8")]
    XmlEncoding { found: String },
    #[error("Il file WSDL annida elementi oltre i {MAX_XML_DEPTH} livelli consentiti")]
    XmlTooDeep,
    #[error("Il file non è un WSDL: l'elemento radice è «{root}» (serve «definitions» di WSDL 1.1 o «description» di WSDL 2.0)")]
    NotWsdl { root: String },
}

impl InterfaceError {
    /// The same refusal in English, for the machine API.
    pub fn english(&self) -> String {
        use InterfaceError::*;
        match self {
            TooLarge { size } => {
                format!("The file exceeds the 10 MiB allowed ({size} bytes)")
            }
            Empty => "The file is empty".into(),
            NotUtf8 => "The file is not UTF-8: no other encoding is accepted".into(),
            XmlForRest => {
                "The file is XML, but a REST e-service needs an OpenAPI 3 document (JSON or YAML)"
                    .into()
            }
            NotXmlForSoap => "A SOAP e-service needs a WSDL file (XML), and this is not XML".into(),
            JsonSyntax { detail } => format!("The JSON file is invalid: {detail}"),
            YamlSyntax { detail } => format!("The YAML file is invalid: {detail}"),
            YamlManyDocuments => "The YAML file holds more than one document".into(),
            YamlTooManyNodes => {
                "The YAML file uses too many aliases: expanded it would exceed 100,000 nodes".into()
            }
            TooDeep => format!("The file nests objects or arrays deeper than {MAX_NESTING_DEPTH} levels"),
            Swagger2 => {
                "The file is Swagger 2.0: an OpenAPI 3 document is needed (\"openapi\": \"3.0.x\" or \"3.1.x\")"
                    .into()
            }
            NotAnObject => "The file is not OpenAPI 3: the document is not an object".into(),
            MissingOpenApiField => "The file is not OpenAPI 3: the \"openapi\" field is missing".into(),
            UnsupportedOpenApiVersion { found } => {
                format!("OpenAPI version \"{found}\" is not supported: 3.0.x and 3.1.x are")
            }
            MissingField { field } => format!("Invalid OpenAPI: the \"{field}\" field is missing"),
            WrongType {
                field, expected_en, ..
            } => format!("Invalid OpenAPI: the \"{field}\" field must be {expected_en}"),
            MissingPaths => "Invalid OpenAPI: the \"paths\" field is missing".into(),
            Missing31Content => {
                "Invalid OpenAPI 3.1: at least one of \"paths\", \"components\" and \"webhooks\" is required"
                    .into()
            }
            XmlSyntax { detail } => format!("The XML file is invalid: {detail}"),
            XmlDoctype => "The WSDL file contains a DTD (<!DOCTYPE>): not allowed".into(),
            XmlProcessingInstruction => {
                "The WSDL file contains a processing instruction other than the XML declaration: not allowed"
                    .into()
            }
            XmlEncoding { found } => {
                format!("The WSDL file declares the encoding \"{found}\": only UTF-8 is accepted")
            }
            XmlTooDeep => format!("The WSDL file nests elements deeper than {MAX_XML_DEPTH} levels"),
            NotWsdl { root } => format!(
                "The file is not WSDL: its root element is \"{root}\" (WSDL 1.1 \"definitions\" or WSDL 2.0 \"description\" is needed)"
            ),
        }
    }
}

/// Checks an uploaded interface file for an e-service of the given
/// technology: REST takes OpenAPI 3.0/3.1 (JSON or YAML), SOAP takes WSDL 1.1
/// or 2.0. The bounds are checked in order: size, encoding, then the parse.
pub fn check(bytes: &[u8], technology: Technology) -> Result<InterfaceFile, InterfaceError> {
    if bytes.len() > MAX_FILE_BYTES {
        return Err(InterfaceError::TooLarge { size: bytes.len() });
    }
    let without_bom = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let text = std::str::from_utf8(without_bom).map_err(|_| InterfaceError::NotUtf8)?;
    let start = text.trim_start();
    if start.is_empty() {
        return Err(InterfaceError::Empty);
    }
    let looks_xml = start.starts_with('<');
    let (kind, described) = match technology {
        Technology::Rest if looks_xml => return Err(InterfaceError::XmlForRest),
        Technology::Rest => {
            // JSON is a subset of YAML, but a file that opens with `{` is
            // meant as JSON: parsing it as JSON gives the clearer error.
            if start.starts_with('{') {
                let value = openapi::parse_json(text)?;
                (InterfaceKind::OpenApiJson, openapi::describe(&value)?)
            } else {
                let value = yaml::parse(text)?;
                (InterfaceKind::OpenApiYaml, openapi::describe(&value)?)
            }
        }
        Technology::Soap if !looks_xml => return Err(InterfaceError::NotXmlForSoap),
        Technology::Soap => (InterfaceKind::Wsdl, wsdl::describe(text)?),
    };
    Ok(InterfaceFile { kind, described, sha256: hex::encode(Sha256::digest(bytes)), size: bytes.len() })
}

/// At most [`MAX_QUOTED_CHARS`] characters of a piece of the file (or of a
/// parser's message, which may quote the file), for a message.
pub(crate) fn clip(text: &str) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(MAX_QUOTED_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}
