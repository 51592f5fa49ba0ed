//! The one integration-test binary: each module covers one area through the binary or
//! the library; `support` runs the binary for all of them.

mod api_docs;
mod cli;
mod corpus;
mod gating;
mod hostile;
mod output;
mod pack;
mod packs;
mod properties;
mod support;
