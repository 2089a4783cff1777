//! The OpenAPI document is typed: every request and response body has a schema that says
//! what it holds, never a bare `object` (no properties, no `$ref`, no value type), and every
//! error response is a problem document.
//!
//! JSON whose fields the client chooses (a run's input, say) is the one object without a shape:
//! its schema must say so explicitly, with `additionalProperties` allowing any value and a
//! description of what the object is.

use keel_tests::app::spawn_app;
use keel_tests::Backend;
use serde_json::{Map, Value};
use std::collections::BTreeSet;

/// Where each bare `object` of `schema` lies, as `path/in/schema` (components followed, each
/// once per walk). A free-form object (any `additionalProperties`, nothing else) counts as
/// bare unless it has a description.
fn bare_objects(
    schema: &Value,
    components: &Map<String, Value>,
    seen: &mut BTreeSet<String>,
    at: &str,
) -> Vec<String> {
    let Some(object) = schema.as_object() else {
        return Vec::new();
    };
    if let Some(reference) = object.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap_or(reference).to_owned();
        if !seen.insert(name.clone()) {
            return Vec::new();
        }
        let found = match components.get(&name) {
            Some(target) => bare_objects(target, components, seen, &format!("{at}/{name}")),
            None => vec![format!("{at}: {reference} names no schema")],
        };
        seen.remove(&name);
        return found;
    }
    let mut found = Vec::new();
    let is_object = match object.get("type") {
        Some(Value::String(t)) => t == "object",
        Some(Value::Array(types)) => types.iter().any(|t| t == "object"),
        _ => false,
    };
    // `true` or `{}` (a schema allowing anything, perhaps with a description of its own).
    let free_form = match object.get("additionalProperties") {
        Some(Value::Bool(allowed)) => *allowed,
        Some(Value::Object(values)) => values.keys().all(|key| key == "description"),
        _ => false,
    };
    let shaped = ["properties", "patternProperties", "allOf", "oneOf", "anyOf"]
        .iter()
        .any(|key| object.contains_key(*key))
        || (object.contains_key("additionalProperties") && !free_form);
    let described = object
        .get("description")
        .and_then(Value::as_str)
        .is_some_and(|text| !text.trim().is_empty());
    if is_object && !shaped && !(free_form && described) {
        found.push(at.to_owned());
    }
    if let Some(properties) = object.get("properties").and_then(Value::as_object) {
        for (name, property) in properties {
            found.extend(bare_objects(
                property,
                components,
                seen,
                &format!("{at}.{name}"),
            ));
        }
    }
    for key in ["items", "additionalProperties"] {
        if let Some(inner) = object.get(key) {
            found.extend(bare_objects(
                inner,
                components,
                seen,
                &format!("{at}/{key}"),
            ));
        }
    }
    for key in ["allOf", "oneOf", "anyOf", "prefixItems"] {
        for (i, inner) in object
            .get(key)
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .enumerate()
        {
            found.extend(bare_objects(
                inner,
                components,
                seen,
                &format!("{at}/{key}[{i}]"),
            ));
        }
    }
    found
}

/// Every untyped body of `document`, naming the operation.
fn untyped_bodies(document: &Value) -> Vec<String> {
    let empty = Map::new();
    let components = document["components"]["schemas"]
        .as_object()
        .unwrap_or(&empty);
    let mut untyped = Vec::new();
    for (path, item) in document["paths"].as_object().expect("paths") {
        for (method, operation) in item.as_object().expect("a path item") {
            let name = format!("{} {path}", method.to_uppercase());
            let mut bodies: Vec<(String, &Value)> = Vec::new();
            for (status, response) in operation["responses"].as_object().expect("responses") {
                for (media, content) in response["content"].as_object().into_iter().flatten() {
                    bodies.push((format!("{status} {media}"), content));
                    if !status.starts_with(['1', '2', '3']) && media != "application/problem+json" {
                        untyped.push(format!("{name}: {status} is {media}, not a problem"));
                    }
                }
            }
            for (media, content) in operation["requestBody"]["content"]
                .as_object()
                .into_iter()
                .flatten()
            {
                bodies.push((format!("request {media}"), content));
            }
            for (what, content) in bodies {
                let json = what.ends_with("/json") || what.ends_with("+json");
                match content.get("schema") {
                    // The document itself is the one JSON body without a schema of its own.
                    None if json && path != "/openapi.json" => {
                        untyped.push(format!("{name}: {what} has no schema"))
                    }
                    None => {}
                    Some(schema) => {
                        for at in bare_objects(schema, components, &mut BTreeSet::new(), "") {
                            untyped.push(format!("{name}: {what} is a bare object at `{at}`"));
                        }
                    }
                }
            }
        }
    }
    untyped
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_body_in_the_openapi_document_is_typed() {
    let app = spawn_app(Backend::Sqlite).await;
    let document = app.get("/openapi.json").await.body;
    let untyped = untyped_bodies(&document);
    assert!(
        untyped.is_empty(),
        "untyped bodies:\n{}",
        untyped.join("\n")
    );
}

#[test]
fn a_bare_object_is_found_behind_references() {
    let document = serde_json::json!({
        "paths": {"/x": {"get": {"responses": {"200": {"content": {"application/json": {
            "schema": {"$ref": "#/components/schemas/Page"}
        }}}}}}},
        "components": {"schemas": {
            "Page": {"type": "object", "properties": {"items": {"type": "array", "items": {"type": "object"}}}}
        }}
    });
    assert_eq!(
        untyped_bodies(&document),
        ["GET /x: 200 application/json is a bare object at `/Page.items/items`"]
    );
}

#[test]
fn a_free_form_object_is_typed_only_with_a_description() {
    let document = serde_json::json!({
        "paths": {"/x": {"post": {
            "requestBody": {"content": {"application/json": {"schema": {"type": "object", "properties": {
                "said": {"type": "object", "additionalProperties": true, "description": "The client's own fields."},
                "unsaid": {"type": "object", "additionalProperties": {}},
                "map": {"type": "object", "additionalProperties": {"type": "integer"}}
            }}}}},
            "responses": {"200": {"content": {"application/json": {
                "schema": {"type": "object", "description": "Anything at all."}
            }}}}
        }}}
    });
    assert_eq!(
        untyped_bodies(&document),
        [
            "POST /x: 200 application/json is a bare object at ``",
            "POST /x: request application/json is a bare object at `.unsaid`",
        ]
    );
}
