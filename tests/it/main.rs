//! The one integration-test binary: each module covers one area through the binary or
//! the library; `support` runs the binary for all of them.

mod cli;
mod corpus;
mod gating;
mod hostile;
mod import;
mod output;
mod pack;
mod properties;
mod support;
