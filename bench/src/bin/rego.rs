//! (c) The five bench rules in Rego (`bench/rego/bench.rego`), evaluated by regorus on
//! the same TOML: its interpreter, or with `--rvm` its virtual machine. Prints
//! `rule<TAB>name` lines.

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::vm::RegoVM;
use regorus::{Engine, Value};
use std::sync::Arc;

const POLICY: &str = include_str!("../../rego/bench.rego");
const ENTRY: &str = "data.bench.violations";

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let rvm = args.iter().any(|a| a == "--rvm");
    let path = args
        .iter()
        .skip(1)
        .find(|a| !a.starts_with("--"))
        .expect("estate path");
    let text = std::fs::read_to_string(path)?;
    let input: Value = toml::from_str(&text)?;
    let mut engine = Engine::new();
    engine.add_policy("bench.rego".into(), POLICY.into())?;
    let result = if rvm {
        let compiled = engine.compile_with_entrypoint(&Arc::from(ENTRY))?;
        let program = Compiler::compile_from_policy(&compiled, &[ENTRY])?;
        let mut vm = RegoVM::new();
        vm.set_max_instructions(usize::MAX);
        vm.load_program(program);
        vm.set_input(input);
        vm.execute()?
    } else {
        engine.set_input(input);
        engine.eval_rule(ENTRY.into())?
    };
    let mut out: Vec<String> = match result.as_set() {
        Ok(set) => set
            .iter()
            .map(|v| v.as_string().map(|s| s.to_string()).unwrap_or_default())
            .collect(),
        Err(_) => result
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|v| v.as_string().map(|s| s.to_string()).unwrap_or_default())
                    .collect()
            })
            .unwrap_or_default(),
    };
    out.sort();
    println!("{}", out.join("\n"));
    Ok(())
}
