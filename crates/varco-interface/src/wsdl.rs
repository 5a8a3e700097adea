//! WSDL 1.1 / 2.0: a pull parse that refuses any DTD or processing
//! instruction, bounds the depth, checks the root and reads the services.

use quick_xml::events::Event;
use quick_xml::name::ResolveResult;
use quick_xml::{NsReader, XmlVersion};

use crate::{clip, Described, InterfaceError, MAX_XML_DEPTH, WSDL_11_NS, WSDL_20_NS};

pub(crate) fn describe(text: &str) -> Result<Described, InterfaceError> {
    let mut reader = NsReader::from_str(text);
    // quick-xml checks that each end tag matches its start tag by default;
    // said here because the well-formedness of the file relies on it.
    reader.config_mut().check_end_names = true;
    let mut depth = 0usize;
    let mut seen_root = false;
    let mut first_event = true;
    let mut wsdl_version = 0u8;
    let mut services = Vec::new();
    loop {
        let (namespace, event) = reader.read_resolved_event().map_err(syntax)?;
        let namespace = match namespace {
            ResolveResult::Bound(ns) => Some(ns.0.to_string()),
            _ => None,
        };
        let was_first = std::mem::replace(&mut first_event, false);
        match event {
            // Refused whatever it holds: no DTD means no entity of any kind
            // (internal, external, parameter), so nothing can ever expand.
            Event::DocType(_) => return Err(InterfaceError::XmlDoctype),
            Event::Decl(decl) => {
                // Only as the very first thing; anywhere else it is a
                // processing instruction named `xml`, which XML forbids.
                if !was_first {
                    return Err(InterfaceError::XmlProcessingInstruction);
                }
                if let Some(encoding) = decl.encoding() {
                    let encoding = encoding.map_err(|e| syntax(e.into()))?;
                    if !encoding.eq_ignore_ascii_case("utf-8") {
                        return Err(InterfaceError::XmlEncoding { found: clip(&encoding) });
                    }
                }
            }
            Event::PI(_) => return Err(InterfaceError::XmlProcessingInstruction),
            Event::Start(ref element) | Event::Empty(ref element) => {
                let local = element.local_name();
                let local: String = local.as_ref().to_owned();
                if depth == 0 {
                    if seen_root {
                        return Err(syntax_text("più di un elemento radice"));
                    }
                    seen_root = true;
                    wsdl_version = match (namespace.as_deref(), local.as_str()) {
                        (Some(WSDL_11_NS), "definitions") => 1,
                        (Some(WSDL_20_NS), "description") => 2,
                        _ => {
                            let name = element.name();
                            return Err(InterfaceError::NotWsdl { root: clip(name.as_ref()) });
                        }
                    };
                } else if depth == 1 && local == "service" && namespace.as_deref() == Some(wsdl_ns(wsdl_version)) {
                    let name = element
                        .try_get_attribute("name")
                        .map_err(|e| syntax(e.into()))?
                        .map(|attr| attr.normalized_value(XmlVersion::Explicit1_0).map(|v| v.into_owned()))
                        .transpose()
                        .map_err(syntax)?
                        .unwrap_or_default();
                    services.push(name);
                }
                if matches!(event, Event::Start(_)) {
                    depth += 1;
                    if depth > MAX_XML_DEPTH {
                        return Err(InterfaceError::XmlTooDeep);
                    }
                }
            }
            Event::End(_) => depth = depth.saturating_sub(1),
            Event::Text(ref content) => {
                // Outside the root only white space may stand.
                if depth == 0 && !content.trim().is_empty() {
                    return Err(syntax_text("testo fuori dall'elemento radice"));
                }
            }
            Event::Eof => break,
            // Comments, CDATA and references (`&amp;`, `&#10;`) are never
            // expanded here; with no DTD an unknown `&name;` declares nothing.
            Event::Comment(_) | Event::CData(_) | Event::GeneralRef(_) => {}
        }
    }
    if !seen_root {
        return Err(syntax_text("manca l'elemento radice"));
    }
    if depth != 0 {
        return Err(syntax_text("il documento finisce con elementi non chiusi"));
    }
    Ok(Described::Wsdl { wsdl_version, services })
}

fn wsdl_ns(version: u8) -> &'static str {
    if version == 1 {
        WSDL_11_NS
    } else {
        WSDL_20_NS
    }
}

fn syntax(error: quick_xml::Error) -> InterfaceError {
    // quick-xml's messages may quote names from the file: clipped.
    syntax_text(&error.to_string())
}

fn syntax_text(detail: &str) -> InterfaceError {
    InterfaceError::XmlSyntax { detail: clip(detail) }
}
