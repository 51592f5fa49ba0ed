//! Everything a rule can call, one module per topic. Each topic registers through
//! [`Api`], which records the names it adds, so a test can hold the guide to them.

mod index;
pub mod node;
mod query;
mod readers;
mod report;
mod schema;
mod text;

pub use text::windows_path;

use super::context::{Node, RhaiResult};
use super::query::Query;
use rhai::{Engine, ImmutableString, RhaiNativeFunc, Variant, FLOAT, INT};
use std::collections::BTreeSet;

/// The engine being built, and the names registered on it so far.
pub struct Api<'e> {
    engine: &'e mut Engine,
    names: BTreeSet<&'static str>,
}

impl Api<'_> {
    /// Registers one function under `name`.
    pub fn add<A: 'static, const N: usize, const X: bool, R: Variant + Clone, const F: bool>(
        &mut self,
        name: &'static str,
        f: impl RhaiNativeFunc<A, N, X, R, F> + Send + Sync + 'static,
    ) -> &mut Self {
        self.names.insert(name);
        self.engine.register_fn(name, f);
        self
    }

    /// Registers `name` on a node, a query, `()` and plain values at once, with one
    /// argument after the receiver: a node stands for its entries; `()` and a plain
    /// value (a string where a table was expected) for no entries, so a rule reading a
    /// misshapen estate skips what it cannot read.
    pub fn on_items<T: Variant + Clone, R: Variant + Clone>(
        &mut self,
        name: &'static str,
        f: impl Fn(Query, T) -> RhaiResult<R> + Clone + Send + Sync + 'static,
    ) -> &mut Self {
        let (g, h) = (f.clone(), f.clone());
        self.add(name, move |n: &mut Node, t: T| f(Query::of(*n), t));
        self.add(name, move |q: &mut Query, t: T| g(q.clone(), t));
        let (h1, h2, h3, h4) = (h.clone(), h.clone(), h.clone(), h.clone());
        self.add(name, move |_: &mut ImmutableString, t: T| {
            h1(Query::empty(), t)
        });
        self.add(name, move |_: &mut INT, t: T| h2(Query::empty(), t));
        self.add(name, move |_: &mut FLOAT, t: T| h3(Query::empty(), t));
        self.add(name, move |_: &mut bool, t: T| h4(Query::empty(), t));
        self.add(name, move |_: (), t: T| h(Query::empty(), t))
    }

    /// [`Api::on_items`] with two arguments after the receiver.
    pub fn on_items2<T: Variant + Clone, U: Variant + Clone, R: Variant + Clone>(
        &mut self,
        name: &'static str,
        f: impl Fn(Query, T, U) -> RhaiResult<R> + Clone + Send + Sync + 'static,
    ) -> &mut Self {
        let (g, h) = (f.clone(), f.clone());
        self.add(name, move |n: &mut Node, t: T, u: U| f(Query::of(*n), t, u));
        self.add(name, move |q: &mut Query, t: T, u: U| g(q.clone(), t, u));
        let (h1, h2, h3, h4) = (h.clone(), h.clone(), h.clone(), h.clone());
        self.add(name, move |_: &mut ImmutableString, t: T, u: U| {
            h1(Query::empty(), t, u)
        });
        self.add(name, move |_: &mut INT, t: T, u: U| {
            h2(Query::empty(), t, u)
        });
        self.add(name, move |_: &mut FLOAT, t: T, u: U| {
            h3(Query::empty(), t, u)
        });
        self.add(name, move |_: &mut bool, t: T, u: U| {
            h4(Query::empty(), t, u)
        });
        self.add(name, move |_: (), t: T, u: U| h(Query::empty(), t, u))
    }

    /// For types, indexers and operators, which add no callable name.
    pub fn engine(&mut self) -> &mut Engine {
        self.engine
    }
}

/// Registers the whole host API on `engine`; returns the names it registered.
pub fn register(engine: &mut Engine) -> BTreeSet<&'static str> {
    let mut api = Api {
        engine,
        names: BTreeSet::new(),
    };
    node::register(&mut api);
    query::register(&mut api);
    index::register(&mut api);
    schema::register(&mut api);
    report::register(&mut api);
    text::register(&mut api);
    readers::register(&mut api);
    api.names
}

/// The names of every host function, for documentation and load-time checks.
pub fn names() -> BTreeSet<&'static str> {
    register(&mut Engine::new_raw())
}
