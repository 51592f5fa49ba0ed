//! The `import` command: an inventory export merged into an estate, shown as a diff
//! (`--dry-run`) or written, then checked as `check` would.

use super::{emit, style, ColorChoice};
use crate::import::{self, Options};
use crate::output::{self, human, Format};
use crate::pipeline;
use crate::report::{Failure, FailureKind};
use crate::settings::{Flags, Settings};
use std::path::PathBuf;

#[derive(clap::Args, Debug)]
pub struct ImportArgs {
    /// The export: CSV with a header row (UTF-8, or UTF-16 with a byte-order mark), or
    /// a JSON array or JSON Lines of objects
    pub source: PathBuf,
    /// How rows become entries: `table`, `key`, `[columns]`, `[constants]`
    #[arg(long, value_name = "MAP.toml")]
    pub map: PathBuf,
    /// The estate to refresh (created when it does not exist)
    #[arg(long, value_name = "ESTATE.toml")]
    pub into: PathBuf,
    /// Remove entries the export does not have (kept and listed otherwise)
    #[arg(long)]
    pub prune: bool,
    /// Print the change as a unified diff and write nothing
    #[arg(long)]
    pub dry_run: bool,
    /// Do not check the estate after writing it
    #[arg(long)]
    pub no_check: bool,
    /// CSV field delimiter, one character (`tab` for a tab; default: detected among
    /// , ; tab |)
    #[arg(long, value_name = "C")]
    pub delimiter: Option<String>,
    /// When to use colour (NO_COLOR is honoured)
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

fn delimiter(d: &str) -> Result<u8, Failure> {
    match d {
        "tab" | "\\t" | "\t" => Ok(b'\t'),
        _ if d.len() == 1 && d.is_ascii() => Ok(d.as_bytes()[0]),
        _ => Err(Failure::unlocated(
            FailureKind::Config,
            "--delimiter",
            format!("--delimiter takes one ASCII character (or `tab`), not `{d}`"),
        )),
    }
}

/// Renders failures like every other command does; the exit code is 2.
fn fail(failures: &[Failure], a: &ImportArgs) -> u8 {
    let style = style(a.color);
    let mut out = String::new();
    for f in failures {
        human::render_failure(&mut out, f, style);
    }
    let n = failures.len();
    out.push_str(&format!(
        "import failed with {n} failure{}: nothing written\n",
        if n == 1 { "" } else { "s" }
    ));
    emit(&out);
    2
}

pub(super) fn import(a: ImportArgs) -> u8 {
    let delimiter = match a.delimiter.as_deref().map(delimiter).transpose() {
        Ok(d) => d,
        Err(f) => return fail(&[f], &a),
    };
    let options = Options {
        source: a.source.clone(),
        map: a.map.clone(),
        into: a.into.clone(),
        prune: a.prune,
        delimiter,
    };
    let plan = match import::plan(&options) {
        Ok(p) => p,
        Err(failures) => return fail(&failures, &a),
    };
    if a.dry_run {
        emit(&import::unified_diff(&plan));
        emit(&import::summary_text(&plan, true));
        return 0;
    }
    if plan.after != plan.before || !a.into.exists() {
        if let Err(e) = import::write_atomically(&a.into, &plan.after) {
            let f = Failure::unlocated(
                FailureKind::Io,
                plan.name.clone(),
                format!("cannot write: {e}"),
            );
            return fail(&[f], &a);
        }
    }
    emit(&import::summary_text(&plan, false));
    if a.no_check {
        return 0;
    }
    let (settings, failures) = Settings::resolve(&Flags {
        paths: vec![a.into.clone()],
        ..Flags::default()
    });
    let report = pipeline::check(&settings, failures);
    emit("\n");
    emit(&output::render(&report, Format::Human, &style(a.color)));
    report.exit_code()
}
