//! Which subject of a readiness report (a server, say) a table belongs to, as the
//! pack's `[readiness]` declares: an entry of the subject table is its own subject; an
//! entry of a member table belongs to the subject its link key names.

use super::schema::Readiness;
use crate::estate::{doc::Seg, Doc, NodeId, ROOT};
use std::collections::HashMap;

/// Resolves tables to subject paths for one estate and one pack.
pub struct Subjects<'a> {
    doc: &'a Doc,
    readiness: &'a Readiness,
    /// Subject entries by name, built on first use.
    by_name: Option<HashMap<&'a str, NodeId>>,
}

impl<'a> Subjects<'a> {
    pub fn new(doc: &'a Doc, readiness: &'a Readiness) -> Self {
        Subjects {
            doc,
            readiness,
            by_name: None,
        }
    }

    /// The path of the subject `node` belongs to, if any.
    pub fn of(&mut self, node: NodeId) -> Option<String> {
        let (table, entry) = self.entry_of(node)?;
        if table == self.readiness.subjects {
            return Some(self.doc.path(entry));
        }
        let (_, link) = self.readiness.members.iter().find(|(t, _)| *t == table)?;
        let name = self.doc.get(entry, link).and_then(|n| self.doc.str_of(n))?;
        let doc = self.doc;
        let subjects = &self.readiness.subjects;
        let by_name = self.by_name.get_or_insert_with(|| {
            let mut map = HashMap::new();
            for id in doc
                .get(ROOT, subjects)
                .map(|a| doc.children(a))
                .unwrap_or_default()
            {
                if let Some(n) = doc.name_of(id) {
                    map.entry(n).or_insert(id);
                }
            }
            map
        });
        by_name.get(name).map(|&id| doc.path(id))
    }

    /// The top-level array an ancestor of `node` is an entry of, and that entry.
    fn entry_of(&self, node: NodeId) -> Option<(&'a str, NodeId)> {
        let doc = self.doc;
        let mut cur = node;
        while cur != ROOT {
            let data = doc.node(cur);
            let array = data.parent;
            if data.seg() == Seg::Index && array != ROOT {
                let a = doc.node(array);
                if let (Seg::Key, ROOT) = (a.seg(), a.parent) {
                    return Some((doc.key_of(array)?, cur));
                }
            }
            if array == NodeId::MAX {
                return None;
            }
            cur = array;
        }
        None
    }
}
