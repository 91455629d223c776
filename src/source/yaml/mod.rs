//! YAML (and JSON, which is YAML) into a `serde_json::Value`, keeping where every node came from.
//!
//! Every node is recorded under its JSON pointer (`/notebooks/instances/0/owner`), so a schema
//! error's instance path or a semantic check can point back at the exact key or value.

use std::collections::HashMap;

use saphyr::{MarkedYaml, Scalar, ScalarStyle, Tag, YamlData, YamlLoader};
use saphyr_parser::{Marker, Parser};
use serde_json::{Map, Value};

use super::{Diagnostic, SourceFile, Span};

mod syntax;
use syntax::syntax_error;

/// Where a node is: the key that names it (for mapping values) and the value itself.
#[derive(Debug, Clone, Copy, Default)]
pub struct NodeSpan {
    pub key: Option<Span>,
    pub value: Span,
}

/// JSON pointer -> position.
#[derive(Debug, Default)]
pub struct Spans(HashMap<String, NodeSpan>);

impl Spans {
    /// The span of the node at `pointer`, or of its nearest ancestor that exists.
    pub fn value(&self, pointer: &str) -> Span {
        self.nearest(pointer).value
    }

    /// The span of the key naming `pointer` (falls back to the value, then to an ancestor).
    pub fn key(&self, pointer: &str) -> Span {
        let n = self.nearest(pointer);
        n.key.unwrap_or(n.value)
    }

    pub fn get(&self, pointer: &str) -> Option<&NodeSpan> {
        self.0.get(pointer)
    }

    /// Positions for a pruned copy of the document: each `(new, original)` pointer pair gives
    /// the node at `new` the position of the node at `original`.
    pub fn remap(&self, pairs: impl IntoIterator<Item = (String, String)>) -> Spans {
        Spans(
            pairs
                .into_iter()
                .filter_map(|(new, original)| self.0.get(&original).map(|n| (new, *n)))
                .collect(),
        )
    }

    fn nearest(&self, pointer: &str) -> NodeSpan {
        let mut p = pointer;
        loop {
            if let Some(n) = self.0.get(p) {
                return *n;
            }
            match p.rfind('/') {
                Some(i) => p = &p[..i],
                None => return NodeSpan::default(),
            }
        }
    }
}

/// How YAML tags (`!Ref x`) are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TagMode {
    /// Any tag is an error (blueprints).
    Reject,
    /// CloudFormation short forms become their long forms: `!Ref x` -> `{"Ref": "x"}`,
    /// `!GetAtt A.B` -> `{"Fn::GetAtt": ["A", "B"]}`, `!Sub s` -> `{"Fn::Sub": s}`.
    CloudFormation,
}

/// A loaded file: its value and the position of every node.
#[derive(Debug)]
pub struct Document {
    pub value: Value,
    pub spans: Spans,
}

/// Aliases may expand to at most this many nodes in total (a "billion laughs" guard).
const ALIAS_NODE_LIMIT: usize = 10_000;

/// Parses one YAML document. Duplicate keys, tabs used as indentation, more than one document,
/// non-string keys and (in `TagMode::Reject`) tags are errors with a position.
pub fn load(file: &SourceFile, tags: TagMode) -> Result<Document, Vec<Diagnostic>> {
    let lines = LineIndex::new(&file.text);
    let mut parser = Parser::new_from_str(&file.text);
    let mut loader: YamlLoader<MarkedYaml> = YamlLoader::default();
    loader.alias_limit(ALIAS_NODE_LIMIT);
    // Scalars stay raw text with their tag: resolved early, a scalar's tag would be dropped
    // (`!!binary x` became a silent null) and keys lose the spelling the user wrote.
    loader.early_parse(false);
    // All documents, so that a second one is reported rather than silently ignored.
    let parsed = parser.load(&mut loader, true);
    let err = parsed.err().or_else(|| loader.error().cloned());
    if let Some(e) = err {
        return Err(vec![syntax_error(file, lines.offset(e.marker()), e.info())]);
    }
    let mut docs = loader.into_documents();
    if docs.len() > 1 {
        // Point at the `---` that starts the second document.
        let second = lines.offset(&docs[1].span.start);
        let at = file.text[..second].rfind("---").unwrap_or(second);
        return Err(vec![
            Diagnostic::error("E0002", "expected one YAML document, found several")
                .at(
                    file,
                    Span {
                        start: at,
                        end: at + 3,
                    },
                )
                .label("a second document starts here")
                .help("one blueprint per file: remove the `---` separator and everything after it"),
        ]);
    }
    let Some(root) = docs.pop().filter(|d| !matches!(d.data, YamlData::BadValue)) else {
        let message = if file.text.trim().is_empty() {
            "the file is empty"
        } else {
            "the file has only comments"
        };
        return Err(vec![
            Diagnostic::error("E0003", message)
                .at(
                    file,
                    Span {
                        start: 0,
                        end: file.text.find('\n').unwrap_or(file.text.len()),
                    },
                )
                .label("no blueprint here")
                .help("start from `nbsynth init`, or see the blueprint format in the README"),
        ]);
    };
    let mut conv = Converter {
        file,
        lines: &lines,
        tags,
        spans: HashMap::new(),
        errors: Vec::new(),
    };
    let value = conv.node(&root, String::new(), None);
    if conv.errors.is_empty() {
        Ok(Document {
            value,
            spans: Spans(conv.spans),
        })
    } else {
        Err(conv.errors)
    }
}

struct Converter<'a> {
    file: &'a SourceFile,
    lines: &'a LineIndex<'a>,
    tags: TagMode,
    spans: HashMap<String, NodeSpan>,
    errors: Vec<Diagnostic>,
}

impl Converter<'_> {
    fn span(&self, node: &MarkedYaml) -> Span {
        let start = self.lines.offset(&node.span.start);
        let end = self.lines.offset(&node.span.end).max(start);
        // Scalars' spans are exact; a collection's end may include trailing blank lines.
        let end = if end > start {
            trim_end(&self.file.text, start, end)
        } else {
            start + 1
        };
        Span { start, end }
    }

    fn node(&mut self, node: &MarkedYaml, pointer: String, key: Option<Span>) -> Value {
        let value_span = self.span(node);
        self.spans.insert(
            pointer.clone(),
            NodeSpan {
                key,
                value: value_span,
            },
        );
        match &node.data {
            YamlData::Value(s) => scalar(s),
            YamlData::Representation(text, style, tag) => {
                self.representation(text, *style, tag.as_deref(), value_span)
            }
            YamlData::Sequence(items) => Value::Array(
                items
                    .iter()
                    .enumerate()
                    .map(|(i, item)| self.node(item, format!("{pointer}/{i}"), None))
                    .collect(),
            ),
            YamlData::Mapping(map) => {
                let mut out = Map::new();
                for (k, v) in map {
                    let key_span = self.span(k);
                    let name = match &k.data {
                        YamlData::Representation(text, _, None) => text.to_string(),
                        YamlData::Representation(_, _, Some(tag))
                            if self.tags == TagMode::Reject =>
                        {
                            self.errors.push(unexpected_tag(self.file, tag, key_span));
                            continue;
                        }
                        YamlData::Representation(text, _, Some(_)) => text.to_string(),
                        YamlData::Value(Scalar::String(s)) => s.to_string(),
                        YamlData::Value(_) => {
                            self.file.text[key_span.start..key_span.end].to_string()
                        }
                        _ => {
                            self.errors.push(
                                Diagnostic::error("E0002", "mapping keys must be plain strings")
                                    .at(self.file, key_span)
                                    .label("complex key")
                                    .help("write the key as a plain word, like `cost-center:`"),
                            );
                            continue;
                        }
                    };
                    let child = format!("{pointer}/{}", escape_pointer(&name));
                    // Keys the parser sees as different can be one JSON key (`1` and "1"):
                    // a duplicate all the same, never last-wins.
                    if let Some(first) = self.spans.get(&child).and_then(|n| n.key) {
                        let (line, _) = self.file.line_col(first.start);
                        self.errors.push(
                            Diagnostic::error(
                                "E0002",
                                format!("invalid YAML: duplicated key `{name}`"),
                            )
                            .at(self.file, key_span)
                            .label("duplicated key")
                            .help(format!(
                                "first given on line {line}; each key may appear once in a mapping"
                            )),
                        );
                        continue;
                    }
                    let value = self.node(v, child, Some(key_span));
                    out.insert(name, value);
                }
                Value::Object(out)
            }
            YamlData::Tagged(tag, inner) => {
                let inner_value = self.node(inner, pointer.clone(), key);
                match self.tags {
                    TagMode::CloudFormation if tag.handle == "!" => {
                        match cloudformation_short_form(&tag.suffix, inner_value) {
                            Ok(v) => v,
                            Err(msg) => {
                                self.errors.push(
                                    Diagnostic::error("E0004", msg).at(self.file, value_span),
                                );
                                Value::Null
                            }
                        }
                    }
                    _ => {
                        self.errors.push(unexpected_tag(self.file, tag, value_span));
                        Value::Null
                    }
                }
            }
            YamlData::Alias(_) | YamlData::BadValue => Value::Null,
        }
    }
}

impl Converter<'_> {
    /// A scalar as written: its text, quoting style and tag.
    fn representation(
        &mut self,
        text: &str,
        style: ScalarStyle,
        tag: Option<&Tag>,
        span: Span,
    ) -> Value {
        match tag {
            None => Scalar::parse_from_cow_and_metadata(text.into(), style, None)
                .map_or(Value::Null, |s| scalar(&s)),
            Some(tag) if self.tags == TagMode::Reject => {
                self.errors.push(unexpected_tag(self.file, tag, span));
                Value::Null
            }
            Some(tag) if tag.is_yaml_core_schema() => {
                match Scalar::parse_from_cow_and_metadata(
                    text.into(),
                    style,
                    Some(&std::borrow::Cow::Borrowed(tag)),
                ) {
                    Some(s) => scalar(&s),
                    None => {
                        self.errors.push(
                            Diagnostic::error(
                                "E0004",
                                format!("`{text}` is not a valid `!!{}`", tag.suffix),
                            )
                            .at(self.file, span)
                            .label("unsupported tag or value"),
                        );
                        Value::Null
                    }
                }
            }
            Some(tag) => match cloudformation_short_form(
                &tag.suffix,
                self.representation(text, style, None, span),
            ) {
                Ok(v) if tag.handle == "!" => v,
                Ok(_) => {
                    self.errors.push(unexpected_tag(self.file, tag, span));
                    Value::Null
                }
                Err(msg) => {
                    self.errors
                        .push(Diagnostic::error("E0004", msg).at(self.file, span));
                    Value::Null
                }
            },
        }
    }
}

fn unexpected_tag(file: &SourceFile, tag: &Tag, span: Span) -> Diagnostic {
    // A core tag's handle is the full `tag:yaml.org,2002:` prefix; show it as the user wrote it.
    let shown = if tag.is_yaml_core_schema() {
        format!("!!{}", tag.suffix)
    } else {
        format!("{}{}", tag.handle, tag.suffix)
    };
    Diagnostic::error("E0004", format!("unexpected YAML tag `{shown}`"))
        .at(file, span)
        .label("tags are not part of the blueprint format")
        .help("remove the tag; write the plain value (quote it to make it a string)")
}

fn scalar(s: &Scalar) -> Value {
    match s {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::from(*i),
        Scalar::FloatingPoint(f) => {
            serde_json::Number::from_f64(f.into_inner()).map_or(Value::Null, Value::Number)
        }
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

/// The long form of a CloudFormation short-form tag.
fn cloudformation_short_form(name: &str, v: Value) -> Result<Value, String> {
    let long = match name {
        "Ref" => "Ref",
        "Condition" => "Condition",
        "GetAtt" => {
            let v = match v {
                Value::String(s) => match s.split_once('.') {
                    Some((res, attr)) => Value::from(vec![res.to_string(), attr.to_string()]),
                    None => return Err(format!("`!GetAtt {s}` needs the form Resource.Attribute")),
                },
                other => other,
            };
            return Ok(single("Fn::GetAtt", v));
        }
        "Base64" | "Cidr" | "FindInMap" | "GetAZs" | "ImportValue" | "Join" | "Select"
        | "Split" | "Sub" | "Transform" | "And" | "Equals" | "If" | "Not" | "Or" | "Length"
        | "ToJsonString" => {
            return Ok(single(&format!("Fn::{name}"), v));
        }
        other => return Err(format!("unknown CloudFormation tag `!{other}`")),
    };
    Ok(single(long, v))
}

fn single(key: &str, v: Value) -> Value {
    let mut m = Map::new();
    m.insert(key.to_string(), v);
    Value::Object(m)
}

pub fn escape_pointer(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

fn trim_end(text: &str, start: usize, end: usize) -> usize {
    let end = end.min(text.len());
    let trimmed = text[start..end].trim_end();
    start + trimmed.len().max(1)
}

/// Line starts, to turn saphyr's (line, column in characters) into byte offsets.
struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    fn new(text: &'a str) -> Self {
        let mut starts = vec![0];
        starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        LineIndex { text, starts }
    }

    fn offset(&self, m: &Marker) -> usize {
        let line = m.line().max(1) - 1;
        let Some(&start) = self.starts.get(line) else {
            return self.text.len();
        };
        let rest = &self.text[start..];
        rest.char_indices()
            .nth(m.col())
            .map_or(self.text.len(), |(i, _)| start + i)
    }
}
