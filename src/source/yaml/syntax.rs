//! Where a YAML syntax error really is. The parser often notices a slip a line or more after
//! it happened; these heuristics find the cause (an unclosed `[`, `key:value` without a space, a
//! tab in the indentation, the first of two equal keys) so the diagnostic points there.

use super::super::{Diagnostic, SourceFile, Span};
use super::ALIAS_NODE_LIMIT;

/// A YAML syntax error as a diagnostic. The parser often notices a slip a line or more after
/// it happened (a `[` never closed, `key:value` without a space); where the cause can be found,
/// the diagnostic points at the cause instead.
pub(super) fn syntax_error(file: &SourceFile, at: usize, info: &str) -> Diagnostic {
    let text = file.text.as_str();
    let at = at.min(text.len());
    let error = |message: String, span: Span, label: &str| {
        Diagnostic::error("E0002", format!("invalid YAML: {message}"))
            .at(file, span)
            .label(label)
    };
    let flow_or_colon =
        info.contains("flow") || info.contains("':'") || info.contains("simple key");
    if let Some(open) = unclosed_flow(&text[..at]).filter(|_| flow_or_colon) {
        let (close, what) = if text[open..].starts_with('[') {
            (']', "list")
        } else {
            ('}', "mapping")
        };
        let (line, _) = file.line_col(open);
        if line < file.line_col(at).0 {
            return error(
                format!("this `{}` is never closed", &text[open..open + 1]),
                Span {
                    start: open,
                    end: open + 1,
                },
                &format!("unclosed {what}"),
            )
            .help(format!("close the {what} with `{close}` on line {line}"));
        }
    }
    let missing_colon = info.contains("simple key") || info.contains("could not find expected ':'");
    if let Some(colon) = colon_without_space(&text[..at]).filter(|_| missing_colon) {
        let line_start = text[..colon].rfind('\n').map_or(0, |i| i + 1);
        let line_end = text[colon..].find('\n').map_or(text.len(), |i| colon + i);
        let fixed = format!(
            "{}: {}",
            &text[line_start..colon],
            &text[colon + 1..line_end]
        );
        return error(
            "a key needs a space after its colon".into(),
            Span {
                start: colon,
                end: colon + 1,
            },
            "no space after `:`",
        )
        .help(format!("write `{}`", fixed.trim()));
    }
    if info.contains("duplicated key") {
        let key = duplicated_key(text, at);
        let d = error(
            format!("duplicated key `{key}`"),
            Span {
                start: at,
                end: at + key.len().max(1),
            },
            "duplicated key",
        );
        return match first_occurrence(text, at, &key) {
            Some(first) => d.help(format!(
                "first given on line {}; each key may appear once in a mapping",
                file.line_col(first).0
            )),
            None => d.help("each key may appear once in a mapping; remove or rename one of them"),
        };
    }
    let (label, help): (&str, String) = if info.contains("tab") {
        (
            "tab",
            "indent with spaces; YAML does not allow tabs for indentation".into(),
        )
    } else if info.contains("alias expansion") {
        (
            "expansion stopped here",
            format!("anchors and aliases may expand to at most {ALIAS_NODE_LIMIT} nodes"),
        )
    } else if info.contains("unknown anchor") {
        (
            "no anchor of this name",
            "an alias `*name` needs an anchor `&name` on an earlier node".into(),
        )
    } else if info.contains("recursion limit") {
        (
            "nested too deeply",
            "lists and mappings may nest only a few hundred levels deep".into(),
        )
    } else if info.contains("quoted scalar") {
        (
            "this quoted value is not closed on its line",
            r#"close the quotes; inside single quotes write a quote as '', inside double quotes as \""#.into(),
        )
    } else if info.contains("flow sequence") || info.contains("flow mapping") {
        ("here", "close the `[` list or `{` mapping; a value with `,`, `[`, `]`, `{` or `}` inside one needs quotes".into())
    } else if info.contains("mapping values are not allowed") {
        (
            "unexpected `:`",
            "a value containing `: ` needs quotes; or the indentation of this line is off".into(),
        )
    } else if info.contains("block mapping")
        || info.contains("block sequence")
        || info.contains("indentation")
    {
        (
            "here",
            "check the indentation: keys of one mapping start in the same column".into(),
        )
    } else {
        ("here", String::new())
    };
    let start = if info.contains("tab") {
        tab_near(text, at).unwrap_or(at)
    } else {
        at
    };
    // Reported on another line than the tab, the parser's words ("while scanning a plain
    // scalar") describe the line above; say what the caret is under.
    let message = if start > at {
        "a tab in the indentation".to_string()
    } else {
        info.to_string()
    };
    let d = error(
        message,
        Span {
            start,
            end: (start + 1).min(text.len()).max(start),
        },
        label,
    );
    if help.is_empty() { d } else { d.help(help) }
}

/// The tab a "found a tab" error is about. In indentation the parser stops after the tabs (the
/// caret belongs under the first one); inside a plain scalar that continues on the next line it
/// reports the scalar's start, a line above the tab: then the tab is in the indentation of the
/// following lines.
fn tab_near(text: &str, at: usize) -> Option<usize> {
    let line_start = text[..at].rfind('\n').map_or(0, |i| i + 1);
    if let Some(i) = text[line_start..at].find('\t') {
        return Some(line_start + i);
    }
    let next_line = text[at..].find('\n').map(|i| at + i + 1)?;
    let mut offset = next_line;
    for line in text[next_line..].split_inclusive('\n') {
        let indent = line.len() - line.trim_start_matches([' ', '\t']).len();
        if let Some(i) = line[..indent].find('\t') {
            return Some(offset + i);
        }
        if !line.trim().is_empty() {
            return None;
        }
        offset += line.len();
    }
    None
}

/// The offset of the last `[` or `{` in `text` still open at its end, outside quotes and
/// comments.
fn unclosed_flow(text: &str) -> Option<usize> {
    let mut open: Vec<usize> = Vec::new();
    let mut line_start = 0;
    for line in text.split_inclusive('\n') {
        let mut quote: Option<char> = None;
        let mut prev = ' ';
        for (i, c) in line.char_indices() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '"' | '\'') if !prev.is_alphanumeric() => quote = Some(c),
                (None, '#') if prev.is_whitespace() => break,
                (None, '[' | '{') => open.push(line_start + i),
                (None, ']' | '}') => {
                    open.pop();
                }
                _ => {}
            }
            prev = c;
        }
        line_start += line.len();
    }
    open.pop()
}

/// The colon of a `key:value` written without a space, on the line before the one where the
/// parser stopped.
fn colon_without_space(text: &str) -> Option<usize> {
    let end = text.rfind('\n')?;
    let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
    let line = &text[start..end];
    let trimmed = line.trim_start().trim_start_matches("- ");
    let key_len = trimmed.find(':')?;
    let key = &trimmed[..key_len];
    let after = trimmed[key_len + 1..].chars().next()?;
    let is_key = !key.is_empty()
        && key
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    (is_key && !after.is_whitespace()).then(|| start + (line.len() - trimmed.len()) + key_len)
}

/// The key at `at`: the text up to its colon.
fn duplicated_key(text: &str, at: usize) -> String {
    let rest = &text[at..];
    let end = rest.find(['\n', ':']).unwrap_or(rest.len());
    rest[..end].trim().trim_matches(['"', '\'']).to_string()
}

/// Where `key` was first given in the block mapping of the duplicate at `at`: the nearest line
/// above with the key in the same column, stopping where the mapping begins.
fn first_occurrence(text: &str, at: usize, key: &str) -> Option<usize> {
    let column = at - text[..at].rfind('\n').map_or(0, |i| i + 1);
    let mut end = text[..at].rfind('\n')?;
    loop {
        let start = text[..end].rfind('\n').map_or(0, |i| i + 1);
        let line = &text[start..end];
        let body = line.trim_start();
        let indent = line.len() - body.len();
        let is_item = body.starts_with("- ") && indent + 2 == column;
        if !body.is_empty() && !body.starts_with('#') {
            let rest = line.get(column..).unwrap_or("");
            if rest.starts_with(key) && rest[key.len()..].trim_start().starts_with(':') {
                return Some(start + column);
            }
            if indent < column && !is_item {
                return None;
            }
            if is_item {
                // The list item that holds the mapping begins here.
                return None;
            }
        }
        if start == 0 {
            return None;
        }
        end = start - 1;
    }
}
