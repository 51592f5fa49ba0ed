//! Indexes and groups built from queries: `index_by`, `group_by`, `duplicates`, and
//! looking values up in them.

use super::Api;
use crate::engine::context::{to_dynamic, with_doc};
use crate::engine::query::{Base, Groups, Index, Query};
use rhai::{Array, Dynamic, EvalAltResult, ImmutableString};

pub(super) fn register(api: &mut Api) {
    let engine = api.engine();
    engine
        .register_type_with_name::<Index>("Index")
        .register_type_with_name::<Groups>("Groups");
    engine.register_indexer_get(|ix: &mut Index, key: ImmutableString| {
        if ix.map.is_empty() {
            return Ok(Dynamic::UNIT);
        }
        with_doc(ix.generation, |doc| {
            Ok(ix
                .map
                .get(doc, &key)
                .map_or(Dynamic::UNIT, |(id, _)| to_dynamic(doc, id)))
        })
    });
    engine.register_indexer_get(|g: &mut Groups, key: ImmutableString| {
        let (groups, map) = &*g.groups;
        let slot = if map.is_empty() {
            None
        } else {
            with_doc(g.generation, |doc| Ok(map.get(doc, &key)))?
        };
        Ok::<_, Box<EvalAltResult>>(Query {
            generation: g.generation,
            base: slot.map_or(Base::Empty, |(_, i)| Base::Ids(groups[i as usize].clone())),
            filters: Vec::new(),
        })
    });

    // Only strings are indexed: any other key (a wrong-typed `name`) finds nothing.
    let engine = api.engine();
    engine.register_indexer_get(|_: &mut Index, _: Dynamic| Dynamic::UNIT);
    engine.register_indexer_get(|g: &mut Groups, _: Dynamic| Query {
        generation: g.generation,
        base: Base::Empty,
        filters: Vec::new(),
    });
    api.add("contains", |_: &mut Index, _: Dynamic| false);
    api.on_items("index_by", |q, key: ImmutableString| q.index_by(&key))
        .on_items("group_by", |q, key: ImmutableString| q.group_by(&key))
        .on_items("duplicates", |q, key: ImmutableString| q.duplicates(&key));
    api.add("contains", |ix: &mut Index, key: ImmutableString| {
        if ix.map.is_empty() {
            return Ok(false);
        }
        with_doc(ix.generation, |doc| Ok(ix.map.get(doc, &key).is_some()))
    })
    .add("len", |ix: &mut Index| ix.map.len() as i64)
    .add("keys", |g: &mut Groups| {
        let (groups, map) = &*g.groups;
        if groups.is_empty() {
            return Ok(Array::new());
        }
        with_doc(g.generation, |doc| {
            let mut at = 0;
            Ok(groups
                .iter()
                .filter_map(|ids| map.value_of(doc, ids[0], &mut at))
                .map(|(_, k)| Dynamic::from(ImmutableString::from(k)))
                .collect::<Array>())
        })
    })
    .add("len", |g: &mut Groups| g.groups.0.len() as i64);
}
