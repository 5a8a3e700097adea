//! YAML to a JSON value, built from the parser's events so that every bound
//! is checked before the memory is spent: nesting depth, and the number of
//! nodes once aliases are expanded (an alias costs the size of its anchor).

use std::collections::HashMap;

use serde_json::{Map, Number, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::TScalarStyle;

use crate::{clip, InterfaceError, MAX_NESTING_DEPTH, MAX_YAML_NODES};

/// A finished node: its value, how many nodes it counts for and how many
/// levels of collections it holds (0 for a scalar).
struct Node {
    value: Value,
    size: usize,
    height: usize,
}

enum Frame {
    Seq { items: Vec<Value>, anchor: usize, nodes_before: usize, height: usize },
    Map { map: Map<String, Value>, key: Option<String>, anchor: usize, nodes_before: usize, height: usize },
}

pub(crate) fn parse(text: &str) -> Result<Value, InterfaceError> {
    let mut parser = Parser::new_from_str(text);
    let mut stack: Vec<Frame> = Vec::new();
    // Anchored nodes by anchor id, kept to expand their aliases.
    let mut anchors: HashMap<usize, Node> = HashMap::new();
    let mut nodes = 0usize;
    let mut documents = 0usize;
    let mut root: Option<Value> = None;
    loop {
        let (event, _) =
            parser.next_token().map_err(|e| InterfaceError::YamlSyntax { detail: clip(&e.to_string()) })?;
        let finished = match event {
            Event::StreamEnd => break,
            Event::DocumentStart => {
                documents += 1;
                if documents > 1 {
                    return Err(InterfaceError::YamlManyDocuments);
                }
                continue;
            }
            Event::Scalar(text, style, anchor, tag) => {
                count(&mut nodes, 1)?;
                // A mapping's key is kept as text whatever it looks like.
                if let Some(Frame::Map { key: key @ None, .. }) = stack.last_mut() {
                    if anchor != 0 {
                        anchors.insert(anchor, scalar_node(Value::String(text.clone())));
                    }
                    *key = Some(text);
                    continue;
                }
                let node = scalar_node(resolve(text, style, tag.as_ref()));
                (node, anchor)
            }
            Event::Alias(anchor) => {
                expecting_value(&stack)?;
                // The parser refuses an alias to an unknown anchor; kept
                // as an error rather than a panic all the same.
                let Some(target) = anchors.get(&anchor) else {
                    return Err(syntax("alias di un'ancora sconosciuta"));
                };
                count(&mut nodes, target.size)?;
                if stack.len() + target.height > MAX_NESTING_DEPTH {
                    return Err(InterfaceError::TooDeep);
                }
                let node = Node { value: target.value.clone(), size: target.size, height: target.height };
                (node, 0)
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                expecting_value(&stack)?;
                if stack.len() + 1 > MAX_NESTING_DEPTH {
                    return Err(InterfaceError::TooDeep);
                }
                let nodes_before = nodes;
                count(&mut nodes, 1)?;
                stack.push(if matches!(event, Event::SequenceStart(..)) {
                    Frame::Seq { items: Vec::new(), anchor, nodes_before, height: 1 }
                } else {
                    Frame::Map { map: Map::new(), key: None, anchor, nodes_before, height: 1 }
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => match stack.pop() {
                Some(Frame::Seq { items, anchor, nodes_before, height }) => {
                    (Node { value: Value::Array(items), size: nodes - nodes_before, height }, anchor)
                }
                Some(Frame::Map { map, anchor, nodes_before, height, .. }) => {
                    (Node { value: Value::Object(map), size: nodes - nodes_before, height }, anchor)
                }
                None => return Err(syntax("chiusura senza apertura")),
            },
            Event::Nothing | Event::StreamStart | Event::DocumentEnd => continue,
        };
        let (node, anchor) = finished;
        if anchor != 0 {
            anchors.insert(anchor, Node { value: node.value.clone(), size: node.size, height: node.height });
        }
        match stack.last_mut() {
            None => root = Some(node.value),
            Some(Frame::Seq { items, height, .. }) => {
                *height = (*height).max(node.height + 1);
                items.push(node.value);
            }
            Some(Frame::Map { map, key, height, .. }) => {
                *height = (*height).max(node.height + 1);
                // `expecting_value` made sure a key is waiting.
                if let Some(key) = key.take() {
                    map.insert(key, node.value);
                }
            }
        }
    }
    Ok(root.unwrap_or(Value::Null))
}

fn scalar_node(value: Value) -> Node {
    Node { value, size: 1, height: 0 }
}

fn count(nodes: &mut usize, more: usize) -> Result<(), InterfaceError> {
    *nodes = nodes.saturating_add(more);
    if *nodes > MAX_YAML_NODES {
        return Err(InterfaceError::YamlTooManyNodes);
    }
    Ok(())
}

/// A collection or an alias as a mapping's key has no JSON form: refused.
fn expecting_value(stack: &[Frame]) -> Result<(), InterfaceError> {
    match stack.last() {
        Some(Frame::Map { key: None, .. }) => {
            Err(syntax("una chiave che non è un testo semplice (ammesse solo chiavi scalari)"))
        }
        _ => Ok(()),
    }
}

fn syntax(detail: &str) -> InterfaceError {
    InterfaceError::YamlSyntax { detail: detail.to_string() }
}

/// A scalar's value under YAML 1.2's core schema, as far as JSON can hold it:
/// quoted and block scalars, and anything tagged `!!str`, are strings.
fn resolve(text: String, style: TScalarStyle, tag: Option<&Tag>) -> Value {
    if let Some(tag) = tag {
        if tag.suffix == "str" || tag.suffix.ends_with(":str") {
            return Value::String(text);
        }
    }
    if !matches!(style, TScalarStyle::Plain) {
        return Value::String(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let numeric = text.bytes().any(|b| b.is_ascii_digit())
        && text.bytes().all(|b| b.is_ascii_digit() || matches!(b, b'-' | b'+' | b'.' | b'e' | b'E'));
    if numeric {
        if let Ok(int) = text.parse::<i64>() {
            return Value::Number(int.into());
        }
        if let Some(float) = text.parse::<f64>().ok().and_then(Number::from_f64) {
            return Value::Number(float);
        }
    }
    Value::String(text)
}
