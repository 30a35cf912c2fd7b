//! How command results print: a table for lists, `field  value` lines for one thing, and the
//! API's problem body as an error a person can act on.

use reqwest::StatusCode;
use serde_json::Value;

/// Longest cell of a list; wider values (audit details) are cut with `…`.
const MAX_CELL: usize = 60;

/// Fields that hold a secret shown once.
const SECRET_FIELDS: [&str; 3] = ["clientSecret", "appKey", "operatorToken"];

pub fn holds_secret(body: &Value) -> bool {
    SECRET_FIELDS.iter().any(|f| body.get(f).is_some())
}

fn cell(value: &Value) -> String {
    match value {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        // A client's secret slots, as the slots that hold a secret: `1,2`.
        Value::Array(items) if items.iter().all(|i| i.get("slot").is_some()) => items
            .iter()
            .filter(|i| !i["setOn"].is_null())
            .map(|i| i["slot"].to_string())
            .collect::<Vec<_>>()
            .join(","),
        Value::Array(items) if items.iter().all(Value::is_string) => items
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(","),
        other => other.to_string(),
    }
}

fn cut(text: String) -> String {
    if text.chars().count() <= MAX_CELL {
        return text;
    }
    let mut out: String = text.chars().take(MAX_CELL - 1).collect();
    out.push('…');
    out
}

/// `{"data": [...]}` as a table; any other object as one `field  value` line per member.
pub fn render(body: &Value) -> String {
    match body.get("data").and_then(Value::as_array) {
        Some(rows) => table(rows),
        None => fields(body),
    }
}

fn table(rows: &[Value]) -> String {
    if rows.is_empty() {
        return "(none)\n".into();
    }
    let mut columns: Vec<String> = Vec::new();
    for row in rows {
        for key in row.as_object().into_iter().flat_map(|o| o.keys()) {
            if !columns.contains(key) {
                columns.push(key.clone());
            }
        }
    }
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|row| columns.iter().map(|c| cut(cell(&row[c]))).collect())
        .collect();
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            cells
                .iter()
                .map(|r| r[i].chars().count())
                .max()
                .unwrap_or(0)
                .max(c.len())
        })
        .collect();
    let line = |values: Vec<&str>| {
        let padded: Vec<String> = values
            .iter()
            .zip(&widths)
            .map(|(v, w)| format!("{v:<w$}"))
            .collect();
        padded.join("  ").trim_end().to_string() + "\n"
    };
    let mut out = line(columns.iter().map(String::as_str).collect());
    for row in &cells {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

fn fields(body: &Value) -> String {
    let Some(object) = body.as_object() else {
        return format!("{body}\n");
    };
    let width = object.keys().map(String::len).max().unwrap_or(0);
    let mut out = String::new();
    for (key, value) in object {
        let text = match value {
            Value::Array(items) if items.iter().any(Value::is_object) => {
                format!("\n{}", indent(&table(items)))
            }
            other => cell(other),
        };
        out.push_str(&format!("{key:<width$}  {text}\n"));
    }
    out
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("    {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The problem body as one message: the title, then each field at fault.
pub fn problem(status: StatusCode, body: &Value) -> String {
    let title = body["title"].as_str().unwrap_or("the request failed");
    let mut out = format!("{title} ({})", status.as_u16());
    for (field, messages) in body["errors"].as_object().into_iter().flatten() {
        for message in messages.as_array().into_iter().flatten() {
            out.push_str(&format!("\n  {field}: {}", cell(message)));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn lists_become_aligned_tables() {
        let body = json!({"data": [
            {"id": 1, "name": "Acme", "scopes": ["a", "b"]},
            {"id": 22, "name": "Bolt Electric", "scopes": [], "extra": null},
        ]});
        assert_eq!(
            render(&body),
            "id  name           scopes  extra\n1   Acme           a,b\n22  Bolt Electric\n"
        );
        assert_eq!(render(&json!({"data": []})), "(none)\n");
    }

    #[test]
    fn one_thing_prints_field_by_field_and_problems_name_fields() {
        let text = render(&json!({"clientId": "cid.x", "enabled": true}));
        assert_eq!(text, "clientId  cid.x\nenabled   true\n");
        let body = json!({"title": "One or more validation errors occurred.",
                          "errors": {"email": ["enter an email address"]}});
        assert_eq!(
            problem(StatusCode::BAD_REQUEST, &body),
            "One or more validation errors occurred. (400)\n  email: enter an email address"
        );
        assert!(holds_secret(&json!({"clientSecret": "s"})));
        let slots = json!([{"slot": 1, "setOn": null}, {"slot": 2, "setOn": "2026-01-01"}]);
        assert_eq!(cell(&slots), "2");
    }
}
