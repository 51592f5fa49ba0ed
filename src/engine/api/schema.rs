//! `schema_violations(items, spec)`: the native shape check of estate tables.

use super::Api;
use crate::engine::context::Node;
use crate::engine::query::Query;
use crate::engine::schema::violations;
use rhai::{Array, Map};

pub(super) fn register(api: &mut Api) {
    api.add("schema_violations", |q: &mut Query, spec: Map| {
        violations(q, &spec)
    })
    .add("schema_violations", |n: &mut Node, spec: Map| {
        violations(&Query::single(*n), &spec)
    })
    .add("schema_violations", |_: (), _: Map| Array::new());
}
