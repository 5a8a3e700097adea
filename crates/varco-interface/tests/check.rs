//! The interface file's checks, one refusal per bound, on small files made
//! here (the large ones are built in memory).

use varco_domain::Technology;
use varco_interface::{
    check, Described, InterfaceError, InterfaceKind, MAX_FILE_BYTES, MAX_NESTING_DEPTH, MAX_QUOTED_CHARS, MAX_XML_DEPTH,
};

const OPENAPI_30_JSON: &str = r#"{
  "openapi": "3.0.3",
  "info": { "title": "Notifiche digitali", "version": "1.2.0" },
  "paths": {
    "/notifications": { "get": { "responses": { "200": { "description": "ok" } } } },
    "/notifications/{id}": { "get": { "responses": { "200": { "description": "ok" } } } }
  }
}"#;

const OPENAPI_31_YAML: &str = "\
openapi: 3.1.0
info:
  title: Anagrafe
  version: '2.0'
paths:
  /residenti:
    get:
      responses:
        '200': &ok
          description: ok
  /famiglie:
    get:
      responses:
        '200': *ok
";

const WSDL_11: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<!-- a comment is fine -->
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"
    xmlns:soap="http://schemas.xmlsoap.org/wsdl/soap/"
    targetNamespace="urn:varco:test" name="Protocollo">
  <wsdl:types/>
  <wsdl:portType name="ProtocolloPort"/>
  <wsdl:service name="ProtocolloService">
    <wsdl:port name="p" binding="b"><soap:address location="https://example.invalid/ws"/></wsdl:port>
  </wsdl:service>
  <wsdl:service name="Protocollo &amp; Archivio"/>
</wsdl:definitions>
"#;

fn refused(bytes: &[u8], technology: Technology) -> InterfaceError {
    match check(bytes, technology) {
        Ok(file) => panic!("accepted: {file:?}"),
        Err(e) => {
            // Every message is short, whatever the file holds.
            assert!(e.to_string().chars().count() < 250, "{e}");
            assert!(e.english().chars().count() < 250, "{}", e.english());
            e
        }
    }
}

#[test]
fn openapi_30_json_is_accepted_with_its_metadata() {
    let file = check(OPENAPI_30_JSON.as_bytes(), Technology::Rest).unwrap();
    assert_eq!(file.kind, InterfaceKind::OpenApiJson);
    assert_eq!(file.content_type(), "application/json");
    assert_eq!(file.extension(), "json");
    assert_eq!(
        file.described,
        Described::OpenApi {
            openapi: "3.0.3".into(),
            title: "Notifiche digitali".into(),
            version: "1.2.0".into(),
            paths: 2,
        }
    );
    assert_eq!(file.size, OPENAPI_30_JSON.len());
    // SHA-256 of the bytes as uploaded (computed independently with sha256sum).
    assert_eq!(file.sha256.len(), 64);
    assert_eq!(
        check(b"{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"t\",\"version\":\"1\"},\"paths\":{}}", Technology::Rest)
            .unwrap()
            .sha256,
        "c52f57a1560448566f1250691e3b6c2ef4e6714fc4b009001ec650c90f8f6950"
    );
}

#[test]
fn openapi_31_yaml_is_accepted_with_its_metadata_and_a_small_alias() {
    let file = check(OPENAPI_31_YAML.as_bytes(), Technology::Rest).unwrap();
    assert_eq!(file.kind, InterfaceKind::OpenApiYaml);
    assert_eq!(file.content_type(), "application/yaml");
    assert_eq!(file.extension(), "yaml");
    assert_eq!(
        file.described,
        Described::OpenApi { openapi: "3.1.0".into(), title: "Anagrafe".into(), version: "2.0".into(), paths: 2 }
    );
}

#[test]
fn openapi_31_with_only_components_is_accepted_but_30_needs_paths() {
    let only_components = "openapi: 3.1.1\ninfo: {title: T, version: v1}\ncomponents: {}\n";
    let file = check(only_components.as_bytes(), Technology::Rest).unwrap();
    assert!(matches!(file.described, Described::OpenApi { paths: 0, .. }));

    let e = refused(b"openapi: 3.0.2\ninfo: {title: T, version: v1}\ncomponents: {}\n", Technology::Rest);
    assert_eq!(e, InterfaceError::MissingPaths);
    let e = refused(b"openapi: 3.1.0\ninfo: {title: T, version: v1}\n", Technology::Rest);
    assert_eq!(e, InterfaceError::Missing31Content);
}

#[test]
fn wsdl_11_is_accepted_with_its_services() {
    let with_bom = [b"\xEF\xBB\xBF".as_slice(), WSDL_11.as_bytes()].concat();
    let file = check(&with_bom, Technology::Soap).unwrap();
    assert_eq!(file.kind, InterfaceKind::Wsdl);
    assert_eq!(file.content_type(), "application/wsdl+xml");
    assert_eq!(file.extension(), "wsdl");
    assert_eq!(
        file.described,
        Described::Wsdl { wsdl_version: 1, services: vec!["ProtocolloService".into(), "Protocollo & Archivio".into()] }
    );
}

#[test]
fn wsdl_20_is_accepted() {
    let wsdl = r#"<description xmlns="http://www.w3.org/ns/wsdl"><service name="S" interface="i"/></description>"#;
    let file = check(wsdl.as_bytes(), Technology::Soap).unwrap();
    assert_eq!(file.described, Described::Wsdl { wsdl_version: 2, services: vec!["S".into()] });
}

#[test]
fn swagger_2_is_refused_asking_for_openapi_3() {
    let swagger = r#"{"swagger": "2.0", "info": {"title": "t", "version": "1"}, "paths": {}}"#;
    let e = refused(swagger.as_bytes(), Technology::Rest);
    assert_eq!(e, InterfaceError::Swagger2);
    assert!(e.to_string().contains("OpenAPI 3"), "{e}");
    assert!(e.english().contains("OpenAPI 3"));
}

#[test]
fn json_that_is_not_openapi_is_refused() {
    let e = refused(br#"{"name": "not an API"}"#, Technology::Rest);
    assert_eq!(e, InterfaceError::MissingOpenApiField);
    assert_eq!(e.to_string(), "Il file non è un OpenAPI 3: manca il campo «openapi»");
    assert_eq!(
        refused(br#"{"openapi": "3.0.0", "paths": {}}"#, Technology::Rest),
        InterfaceError::MissingField { field: "info" }
    );
    assert_eq!(
        refused(br#"{"openapi": "3.0.0", "info": {"version": "1"}, "paths": {}}"#, Technology::Rest),
        InterfaceError::MissingField { field: "info.title" }
    );
    assert!(matches!(
        refused(br#"{"openapi": "3.0.0", "info": {"title": "t", "version": 1}, "paths": {}}"#, Technology::Rest),
        InterfaceError::WrongType { field: "info.version", .. }
    ));
    assert!(matches!(
        refused(br#"{"openapi": "3.0.0", "info": {"title": "t", "version": "1"}, "paths": []}"#, Technology::Rest),
        InterfaceError::WrongType { field: "paths", .. }
    ));
    assert_eq!(
        refused(br#"{"openapi": "3.2.0", "info": {"title": "t", "version": "1"}, "paths": {}}"#, Technology::Rest),
        InterfaceError::UnsupportedOpenApiVersion { found: "3.2.0".into() }
    );
    assert_eq!(refused(b"- just\n- a list\n", Technology::Rest), InterfaceError::NotAnObject);
}

#[test]
fn broken_json_is_refused() {
    let e = refused(br#"{"openapi": "3.0.0", "info": "#, Technology::Rest);
    assert!(matches!(e, InterfaceError::JsonSyntax { .. }), "{e:?}");
    assert!(e.to_string().starts_with("Il file JSON non è valido"), "{e}");
}

#[test]
fn yaml_billion_laughs_is_refused_before_it_expands() {
    // Ten levels of ten aliases each: 10^10 nodes if expanded.
    let mut yaml = String::from("a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
    for level in 1..10 {
        let p = level - 1;
        yaml.push_str(&format!(
            "a{level}: &a{level} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    let e = refused(yaml.as_bytes(), Technology::Rest);
    assert_eq!(e, InterfaceError::YamlTooManyNodes);
}

#[test]
fn deep_nesting_is_refused_in_json_and_yaml() {
    let depth = MAX_NESTING_DEPTH + 1;
    let json = format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let json = format!("{{\"openapi\": {json}}}");
    assert_eq!(refused(json.as_bytes(), Technology::Rest), InterfaceError::TooDeep);
    // Just within the bound is not a depth error (it is just not OpenAPI).
    let ok_depth = MAX_NESTING_DEPTH - 1;
    let json = format!("{{\"x\": {}{}}}", "[".repeat(ok_depth), "]".repeat(ok_depth));
    assert_eq!(refused(json.as_bytes(), Technology::Rest), InterfaceError::MissingOpenApiField);

    let yaml = format!("openapi: {}{}\n", "[".repeat(depth), "]".repeat(depth));
    assert_eq!(refused(yaml.as_bytes(), Technology::Rest), InterfaceError::TooDeep);

    // An alias counts at the depth where it is expanded: each half is within
    // the bound, together they are past it.
    let half = MAX_NESTING_DEPTH / 2 + 1;
    let yaml = format!(
        "deep: &deep {open}{close}\nopenapi: {open}*deep{close}\n",
        open = "[".repeat(half),
        close = "]".repeat(half)
    );
    assert_eq!(refused(yaml.as_bytes(), Technology::Rest), InterfaceError::TooDeep);
}

#[test]
fn xml_with_an_external_entity_is_refused() {
    let xxe = r#"<?xml version="1.0"?>
<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>
<wsdl:definitions xmlns:wsdl="http://schemas.xmlsoap.org/wsdl/"><wsdl:service name="&e;"/></wsdl:definitions>"#;
    let e = refused(xxe.as_bytes(), Technology::Soap);
    assert_eq!(e, InterfaceError::XmlDoctype);
    assert_eq!(e.to_string(), "Il file WSDL contiene una DTD (<!DOCTYPE>): non è ammessa");
}

#[test]
fn xml_billion_laughs_is_refused() {
    let mut xml = String::from("<?xml version=\"1.0\"?>\n<!DOCTYPE lolz [\n<!ENTITY lol \"lol\">\n");
    for level in 1..10 {
        let p = if level == 1 { "lol".to_string() } else { format!("lol{}", level - 1) };
        xml.push_str(&format!("<!ENTITY lol{level} \"{}\">\n", format!("&{p};").repeat(10)));
    }
    xml.push_str("]>\n<definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\">&lol9;</definitions>\n");
    assert_eq!(refused(xml.as_bytes(), Technology::Soap), InterfaceError::XmlDoctype);
}

#[test]
fn processing_instructions_and_deep_xml_are_refused() {
    let pi = "<?xml version=\"1.0\"?><?xml-stylesheet href=\"x.xsl\"?><definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\"/>";
    assert_eq!(refused(pi.as_bytes(), Technology::Soap), InterfaceError::XmlProcessingInstruction);
    let latin1 =
        "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?><definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\"/>";
    assert_eq!(
        refused(latin1.as_bytes(), Technology::Soap),
        InterfaceError::XmlEncoding { found: "ISO-8859-1".into() }
    );
    let depth = MAX_XML_DEPTH; // the root plus this many
    let deep = format!(
        "<definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\">{}{}</definitions>",
        "<a>".repeat(depth),
        "</a>".repeat(depth)
    );
    assert_eq!(refused(deep.as_bytes(), Technology::Soap), InterfaceError::XmlTooDeep);
}

#[test]
fn an_xml_root_that_is_not_wsdl_is_refused() {
    let e = refused(b"<project><name>x</name></project>", Technology::Soap);
    assert_eq!(e, InterfaceError::NotWsdl { root: "project".into() });
    // The right local name in the wrong namespace is not WSDL either.
    let e = refused(b"<definitions xmlns=\"urn:something-else\"/>", Technology::Soap);
    assert_eq!(e, InterfaceError::NotWsdl { root: "definitions".into() });
    // A long name is quoted only in part.
    let long = format!("<{0}/>", "x".repeat(500));
    let InterfaceError::NotWsdl { root } = refused(long.as_bytes(), Technology::Soap) else {
        panic!("not NotWsdl");
    };
    assert!(root.chars().count() <= MAX_QUOTED_CHARS + 1, "{root}");
}

#[test]
fn a_file_over_10_mib_is_refused_before_parsing() {
    // Valid OpenAPI padded with spaces: only the size can refuse it.
    let mut big = OPENAPI_30_JSON.as_bytes().to_vec();
    big.resize(MAX_FILE_BYTES, b' ');
    assert!(check(&big, Technology::Rest).is_ok());
    big.push(b' ');
    assert_eq!(big.len(), 10 * 1024 * 1024 + 1);
    let e = refused(&big, Technology::Rest);
    assert_eq!(e, InterfaceError::TooLarge { size: big.len() });
    assert!(e.to_string().starts_with("Il file supera i 10 MiB consentiti"), "{e}");
    // Even bytes that are not UTF-8 get the size message first.
    let junk = vec![0xFFu8; MAX_FILE_BYTES + 1];
    assert!(matches!(refused(&junk, Technology::Soap), InterfaceError::TooLarge { .. }));
}

#[test]
fn bytes_that_are_not_utf8_are_refused() {
    // "città" in Latin-1, inside an otherwise valid document.
    let latin1 = b"{\"openapi\":\"3.0.0\",\"info\":{\"title\":\"citt\xE0\",\"version\":\"1\"},\"paths\":{}}";
    assert_eq!(refused(latin1, Technology::Rest), InterfaceError::NotUtf8);
    // UTF-16 (with its BOM) is not UTF-8 either.
    let utf16: Vec<u8> =
        [0xFF, 0xFE].into_iter().chain("<definitions/>".encode_utf16().flat_map(u16::to_le_bytes)).collect();
    assert_eq!(refused(&utf16, Technology::Soap), InterfaceError::NotUtf8);
}

#[test]
fn an_openapi_given_for_soap_and_a_wsdl_given_for_rest_are_refused() {
    assert_eq!(refused(OPENAPI_30_JSON.as_bytes(), Technology::Soap), InterfaceError::NotXmlForSoap);
    assert_eq!(refused(OPENAPI_31_YAML.as_bytes(), Technology::Soap), InterfaceError::NotXmlForSoap);
    assert_eq!(refused(WSDL_11.as_bytes(), Technology::Rest), InterfaceError::XmlForRest);
}

#[test]
fn an_empty_file_is_refused() {
    assert_eq!(refused(b"", Technology::Rest), InterfaceError::Empty);
    assert_eq!(refused(b" \n\t", Technology::Soap), InterfaceError::Empty);
}

#[test]
fn broken_yaml_and_xml_are_refused() {
    assert!(matches!(
        refused(b"openapi: 3.0.0\ninfo: [unclosed\n", Technology::Rest),
        InterfaceError::YamlSyntax { .. }
    ));
    assert!(matches!(refused(b"openapi: *nowhere\n", Technology::Rest), InterfaceError::YamlSyntax { .. }));
    assert!(matches!(refused(b"? [a, key]\n: value\n", Technology::Rest), InterfaceError::YamlSyntax { .. }));
    assert_eq!(refused(b"openapi: 3.0.0\n---\nopenapi: 3.0.0\n", Technology::Rest), InterfaceError::YamlManyDocuments);
    assert!(matches!(
        refused(b"<definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\"><a></b></definitions>", Technology::Soap),
        InterfaceError::XmlSyntax { .. }
    ));
    assert!(matches!(
        refused(b"<definitions xmlns=\"http://schemas.xmlsoap.org/wsdl/\"><service name=\"x\">", Technology::Soap),
        InterfaceError::XmlSyntax { .. }
    ));
}
