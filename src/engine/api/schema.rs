//! `schema_violations(items, spec)`: the native shape check of estate tables, and the
//! lazy list of violations it returns.

use super::Api;
use crate::engine::context::Node;
use crate::engine::query::Query;
use crate::engine::schema::{violations, Violations};
use rhai::Map;

pub(super) fn register(api: &mut Api) {
    api.engine()
        .register_type_with_name::<Violations>("Violations")
        .register_iterator::<Violations>();
    api.add("schema_violations", |q: &mut Query, spec: Map| {
        violations(q, &spec)
    })
    .add("schema_violations", |n: &mut Node, spec: Map| {
        violations(&Query::single(*n), &spec)
    })
    .add("schema_violations", |_: (), spec: Map| {
        violations(&Query::empty(), &spec)
    })
    .add("len", |v: &mut Violations| v.count())
    .add("is_empty", |v: &mut Violations| v.count().map(|n| n == 0))
    .add("first", |v: &mut Violations| v.first());
}
