//! The one integration-test binary: each module covers one area through the binary or
//! the library; `support` runs the binary for all of them.

mod api_docs;
mod ci_examples;
mod ci_outputs;
mod cli;
mod corpus;
mod fix;
mod gating;
mod git_diff;
mod habits;
mod hostile;
mod import;
mod install;
mod limits;
mod lsp;
mod output;
mod pack;
mod packs;
mod paths;
mod properties;
mod report_html;
mod schemas;
mod support;
mod terminal;
mod waivers;
