//! Commands for rule authors: `test` (fixtures), `rules` (the list), `explain` (docs).

use super::{
    emit, style, ColorChoice, ExplainArgs, ListFormat, RuleArgs, RulesArgs, TestArgs, TestFormat,
};
use crate::engine::Limits;
use crate::fixture;
use crate::output::human;
use crate::pipeline;

pub(super) fn test(a: TestArgs) -> u8 {
    let style = style(a.output.color);
    let run = fixture::run(a.dir.as_deref(), a.jobs, &Limits::default());
    match a.format {
        TestFormat::Human => {}
        TestFormat::Json => {
            emit(&(serde_json::to_string_pretty(&test_json(&run)).expect("serialises") + "\n"));
            return run.exit_code();
        }
        TestFormat::Junit => {
            emit(&test_junit(&run));
            return run.exit_code();
        }
    }
    let mut out = String::new();
    for f in &run.failures {
        human::render_failure(&mut out, f, style);
    }
    let (mut passed, mut failed) = (0, 0);
    for o in &run.outcomes {
        if o.passed() {
            passed += 1;
            out.push_str(&format!("pass {} ({} findings)\n", o.file, o.findings));
            continue;
        }
        failed += 1;
        out.push_str(&format!("FAIL {}\n", o.file));
        if let Some(src) = &o.source {
            for m in &o.missing {
                human::render_finding(&mut out, &fixture::missing_as_finding(src, m), style);
            }
        }
        for f in &o.unexpected {
            let mut f = f.clone();
            f.message = format!("unexpected finding: {}", f.message);
            f.help = Some(
                format!(
                    "add `# expect: {}` to this line if the finding is right",
                    f.rule
                )
                .into(),
            );
            human::render_finding(&mut out, &f, style);
        }
    }
    if run.outcomes.is_empty() {
        out.push_str("no fixtures found (*.toml files beside the rules)\n");
    }
    out.push_str(&format!("fixtures: {passed} passed, {failed} failed\n"));
    if !run.failures.is_empty() {
        out.push_str(&format!("{} failures\n", run.failures.len()));
    }
    emit(&out);
    run.exit_code()
}

fn load(args: &RuleArgs) -> pipeline::RuleSet {
    pipeline::load_rules(!args.no_builtin, &args.dirs, &Limits::default(), false)
}

fn report_failures(set: &pipeline::RuleSet) -> bool {
    let mut out = String::new();
    for f in &set.failures {
        human::render_failure(&mut out, f, style(ColorChoice::Auto));
    }
    eprint!("{out}");
    !set.failures.is_empty()
}

/// What one fixture expected and got, for machines.
fn outcome_lines(o: &fixture::Outcome) -> Vec<String> {
    let missing = o.missing.iter().map(|m| {
        format!(
            "line {}: expected a finding of `{}`, found none",
            m.line, m.rule
        )
    });
    let unexpected = o.unexpected.iter().map(|f| {
        let at = f.source.line_col(f.span.start);
        format!(
            "line {}: unexpected finding of `{}`: {}",
            at.line, f.rule, f.message
        )
    });
    missing.chain(unexpected).collect()
}

fn test_json(run: &fixture::TestRun) -> serde_json::Value {
    serde_json::json!({
        "fixtures": run.outcomes.iter().map(|o| serde_json::json!({
            "file": o.file,
            "passed": o.passed(),
            "findings": o.findings,
            "problems": outcome_lines(o),
        })).collect::<Vec<_>>(),
        "failures": run.failures.iter().map(|f| serde_json::json!({
            "kind": f.kind.as_str(),
            "location": f.location(),
            "message": f.message,
        })).collect::<Vec<_>>(),
        "summary": {
            "passed": run.outcomes.iter().filter(|o| o.passed()).count(),
            "failed": run.outcomes.iter().filter(|o| !o.passed()).count(),
            "failures": run.failures.len(),
        },
    })
}

fn test_junit(run: &fixture::TestRun) -> String {
    let esc = |s: &str| {
        s.chars()
            .filter(|c| !c.is_control() || matches!(c, '\n' | '\t'))
            .collect::<String>()
            .replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let failed = run.outcomes.iter().filter(|o| !o.passed()).count();
    let mut out = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites name=\"preflight test\" tests=\"{}\" failures=\"{failed}\" errors=\"{}\">\n  <testsuite name=\"fixtures\" tests=\"{}\" failures=\"{failed}\" errors=\"{}\">\n",
        run.outcomes.len() + run.failures.len(),
        run.failures.len(),
        run.outcomes.len() + run.failures.len(),
        run.failures.len()
    );
    for o in &run.outcomes {
        out.push_str(&format!(
            "    <testcase name=\"{}\" classname=\"fixtures\"",
            esc(&o.file)
        ));
        if o.passed() {
            out.push_str("/>\n");
        } else {
            out.push_str(&format!(
                ">\n      <failure message=\"fixture failed\">{}</failure>\n    </testcase>\n",
                esc(&outcome_lines(o).join("\n"))
            ));
        }
    }
    for (i, f) in run.failures.iter().enumerate() {
        out.push_str(&format!(
            "    <testcase name=\"{} #{}\" classname=\"preflight\">\n      <error message=\"{}\">{}</error>\n    </testcase>\n",
            f.kind.as_str(),
            i + 1,
            esc(&f.message),
            esc(&f.location())
        ));
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

pub(super) fn rules(a: RulesArgs) -> u8 {
    let set = load(&a.rules);
    let failed = report_failures(&set);
    match a.format {
        ListFormat::Json => {
            let rows: Vec<_> = set
                .rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id,
                        "severity": r.header.severity.as_str(),
                        "requirements": r.header.requirements,
                        "title": r.header.title,
                        "builtin": r.builtin,
                    })
                })
                .collect();
            emit(&format!(
                "{}\n",
                serde_json::to_string_pretty(&rows).unwrap()
            ));
        }
        ListFormat::Human => {
            let width = set.rules.iter().map(|r| r.id.len()).max().unwrap_or(2);
            let mut out = format!(
                "{:width$}  {:8}  {:11}  TITLE\n",
                "ID", "SEVERITY", "REQUIREMENT"
            );
            for r in &set.rules {
                out.push_str(&format!(
                    "{:width$}  {:8}  {:11}  {}\n",
                    r.id,
                    r.header.severity.as_str(),
                    r.header.requirements.join(","),
                    r.header.title
                ));
            }
            emit(&out);
        }
    }
    if failed {
        2
    } else {
        0
    }
}

pub(super) fn explain(a: ExplainArgs) -> u8 {
    let set = load(&a.rules);
    if let Some(doc) = crate::report::own::docs()
        .into_iter()
        .find(|d| d.id == a.id)
    {
        // preflight's own rules are documented like any pack's.
        let mut out = format!("{}: {}\n\n", doc.id, doc.title);
        out.push_str(&format!("  severity     {}\n", doc.severity.as_str()));
        out.push_str("  source       built into preflight\n\n");
        out.push_str(&doc.markdown.replace("## ", ""));
        emit(&out);
        return 0;
    }
    let Some(rule) = set.rules.iter().find(|r| r.id == a.id) else {
        let own = crate::report::own::docs();
        let ids = set
            .rules
            .iter()
            .map(|r| r.id.as_str())
            .chain(own.iter().map(|d| d.id.as_str()));
        match crate::suggest::closest(&a.id, ids) {
            Some(c) => eprintln!("error: unknown rule `{}`; did you mean `{c}`?", a.id),
            None => eprintln!(
                "error: unknown rule `{}`; `preflight rules` lists them",
                a.id
            ),
        }
        return 2;
    };
    let h = &rule.header;
    let mut out = format!("{}: {}\n\n", rule.id, h.title);
    out.push_str(&format!("  severity     {}\n", h.severity.as_str()));
    if !h.requirements.is_empty() {
        out.push_str(&format!("  requirement  {}\n", h.requirements.join(", ")));
    }
    out.push_str(&format!("  source       {}\n", rule.source.name()));
    for (heading, body) in &h.sections {
        out.push_str(&format!(
            "\n{heading}\n{}\n",
            "-".repeat(heading.chars().count())
        ));
        for line in body.lines() {
            out.push_str(&format!("  {line}\n").replace("  \n", "\n"));
        }
    }
    emit(&out);
    0
}
