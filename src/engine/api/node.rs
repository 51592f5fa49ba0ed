//! Reading the estate: indexing a `Node`, its size, keys, paths and value kinds, and the
//! name of the estate file being checked.

use super::Api;
use crate::engine::context::{current_doc, err, to_dynamic, with_doc, Node};
use crate::estate::doc::Value as V;
use rhai::{Array, Dynamic, ImmutableString};

pub(super) fn register(api: &mut Api) {
    let engine = api.engine();
    engine
        .register_type_with_name::<Node>("Node")
        .register_iterator::<Node>();
    // Property access falls back to this string indexer.
    engine.register_indexer_get(|n: &mut Node, key: ImmutableString| {
        with_doc(n.generation, |doc| {
            Ok(doc
                .get(n.id, &key)
                .map_or(Dynamic::UNIT, |c| to_dynamic(doc, c)))
        })
    });
    engine.register_indexer_get(|n: &mut Node, index: i64| {
        with_doc(n.generation, |doc| {
            let len = doc.len(n.id) as i64;
            let i = if index < 0 { len + index } else { index };
            if !(0..len).contains(&i) {
                return err(format!(
                    "index {index} is out of bounds for `{}` of length {len}",
                    doc.path(n.id)
                ));
            }
            Ok(to_dynamic(doc, doc.children(n.id)[i as usize]))
        })
    });
    engine.register_fn("==", |a: Node, b: Node| a == b);
    engine.register_fn("!=", |a: Node, b: Node| a != b);

    api.add("len", |n: &mut Node| {
        with_doc(n.generation, |doc| Ok(doc.len(n.id) as i64))
    })
    .add("is_empty", |n: &mut Node| {
        with_doc(n.generation, |doc| Ok(doc.is_empty(n.id)))
    })
    .add("contains", |n: &mut Node, key: &str| {
        with_doc(n.generation, |doc| Ok(doc.get(n.id, key).is_some()))
    })
    .add("keys", |n: &mut Node| {
        with_doc(n.generation, |doc| {
            Ok(match &doc.node(n.id).value {
                V::Table(t) => t
                    .entries
                    .iter()
                    .map(|(k, _)| Dynamic::from(ImmutableString::from(&**k)))
                    .collect::<Array>(),
                _ => Array::new(),
            })
        })
    })
    .add("path", |n: &mut Node| {
        with_doc(n.generation, |doc| Ok(doc.path(n.id)))
    })
    .add("path", |n: &mut Node, key: &str| {
        with_doc(n.generation, |doc| {
            Ok(match doc.get(n.id, key) {
                Some(c) => doc.path(c),
                None => format!("{}.{key}", doc.path(n.id)),
            })
        })
    })
    .add("kind", |n: &mut Node| {
        with_doc(n.generation, |doc| Ok(doc.type_name(n.id)))
    })
    .add("kind", |n: &mut Node, key: &str| {
        with_doc(n.generation, |doc| {
            Ok(doc.get(n.id, key).map_or("", |c| doc.type_name(c)))
        })
    })
    .add("kind", |_: &mut ImmutableString| "string")
    .add("kind", |_: &mut rhai::INT| "integer")
    .add("kind", |_: &mut rhai::FLOAT| "float")
    .add("kind", |_: &mut bool| "boolean")
    .add("kind", |_: ()| "")
    .add("estate_name", || {
        current_doc().map_or(String::new(), |d| d.source.name().to_string())
    });
}
