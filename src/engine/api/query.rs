//! Lazy queries rules build and use: `items`, `select`, `reject`, `select_words`,
//! `reject_words`, and counting, taking the first and iterating.

use super::Api;
use crate::engine::context::Node;
use crate::engine::query::Query;
use rhai::{Dynamic, ImmutableString};

pub(super) fn register(api: &mut Api) {
    api.engine()
        .register_type_with_name::<Query>("Query")
        .register_iterator::<Query>();
    api.add("items", |n: &mut Node| Query::of(*n))
        .add("items", |_: ()| Query::empty())
        .add("items", |_: &mut ImmutableString| Query::empty())
        .add("items", |_: &mut rhai::INT| Query::empty())
        .add("items", |_: &mut rhai::FLOAT| Query::empty())
        .add("items", |_: &mut bool| Query::empty())
        .add("items", |q: &mut Query| q.found());
    for (name, keep_equal, words) in [
        ("select", true, false),
        ("reject", false, false),
        ("select_words", true, true),
        ("reject_words", false, true),
    ] {
        api.on_items2(name, move |q, k: ImmutableString, v: Dynamic| {
            Ok(if words {
                q.with_words(k, v, keep_equal)
            } else {
                q.with(k, v, keep_equal)
            })
        });
    }
    api.add("len", |q: &mut Query| q.count())
        .add("count", |q: &mut Query| q.count())
        .add("is_empty", |q: &mut Query| q.count().map(|n| n == 0))
        .add("first", |q: &mut Query| q.first());
}
