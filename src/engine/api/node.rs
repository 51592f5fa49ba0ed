//! Reading the estate: indexing a `Node` (and getters for the property names rules
//! read), its size, keys, paths and value kinds, and the name of the estate file being
//! checked.

use super::Api;
use crate::engine::context::{current_doc, err, to_dynamic, with_doc, Node, RhaiResult};
use crate::engine::Rule;
use crate::estate::doc::Value as V;
use rhai::{ASTNode, Array, Dynamic, Engine, Expr, ImmutableString};
use std::collections::BTreeSet;

/// The value under `key` in table `n`, or `()`.
fn read(n: &Node, key: &str) -> RhaiResult<Dynamic> {
    with_doc(n.generation, |doc| {
        Ok(doc
            .get(n.id, key)
            .map_or(Dynamic::UNIT, |c| to_dynamic(doc, c)))
    })
}

/// Registers a `Node` getter for every property name the rules read (`c.os`). Without
/// one, Rhai reaches the indexer only after failing to find a getter, and that failure
/// formats an error message on every read.
pub fn register_properties(engine: &mut Engine, rules: &[Rule]) {
    let mut names = BTreeSet::new();
    for rule in rules {
        rule.ast.walk(&mut |path: &[ASTNode]| {
            if let Some(ASTNode::Expr(Expr::Property(x, _))) = path.last() {
                names.insert(x.2.clone());
            }
            true
        });
    }
    for name in names {
        let key = name.clone();
        engine.register_get(name.as_str(), move |n: &mut Node| read(n, &key));
    }
}

pub(super) fn register(api: &mut Api) {
    let engine = api.engine();
    engine
        .register_type_with_name::<Node>("Node")
        .register_iterator::<Node>();
    // Property access falls back to this string indexer.
    engine.register_indexer_get(|n: &mut Node, key: ImmutableString| read(n, &key));
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
            Ok(match doc.value(n.id) {
                V::Table(t) => t
                    .iter()
                    .map(|(k, _)| Dynamic::from(ImmutableString::from(k)))
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

#[cfg(test)]
mod tests {
    use crate::engine::Limits;

    #[test]
    fn the_properties_rules_read_get_getters() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("r.rhai"),
            "//! severity: error\n//! title: t\nfn check(e) { for c in e.clients { if c.os == \"x\" {} } }\n",
        )
        .unwrap();
        let set =
            crate::pipeline::load_rules(false, &[dir.path().into()], &Limits::default(), false);
        assert!(set.failures.is_empty());
        let getters: Vec<String> = set
            .engine
            .gen_fn_signatures(false)
            .into_iter()
            .filter(|s| s.starts_with("get$"))
            .collect();
        assert!(
            getters.iter().any(|s| s.starts_with("get$os(")),
            "{getters:?}"
        );
        assert!(
            getters.iter().any(|s| s.starts_with("get$clients(")),
            "{getters:?}"
        );
    }
}
