//! Estates: reading files, parsing TOML with spans, and the node arena rules read
//! (`values` numbers the strings that repeat, so passes compare numbers; `columns` lays
//! those numbers out by key for large arrays of tables, so passes read two bytes an entry).

mod arena;
pub mod columns;
pub mod doc;
pub mod load;
pub mod path;
mod pieces;
pub mod source;
pub(crate) mod values;

pub use doc::{Doc, KeyId, NodeId, Value, ROOT};
pub use load::SyntaxError;
pub use pieces::parse;
pub use source::{LineCol, Source};
