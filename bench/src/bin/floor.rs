//! (b) The floor: the five bench rules hand-written in Rust over serde-typed structs,
//! parsed with the same `toml` crate preflight uses. Prints `rule<TAB>name` lines.

use serde::Deserialize;
use std::collections::HashSet;

#[derive(Deserialize)]
struct Estate {
    #[serde(default)]
    servers: Vec<Server>,
    #[serde(default)]
    clients: Vec<Client>,
}

#[derive(Deserialize)]
struct Server {
    name: String,
    os: Option<String>,
    web_server: Option<String>,
    identified_by: Option<String>,
}

#[derive(Deserialize)]
struct Client {
    name: String,
    server: Option<String>,
    os: Option<String>,
    arch: Option<String>,
}

const LEGACY: [&str; 5] = [
    "Windows 95",
    "Windows 98",
    "Windows Me",
    "Windows NT",
    "Windows 2000",
];

fn legacy_os(os: &str) -> bool {
    LEGACY
        .iter()
        .any(|p| os == *p || os.strip_prefix(p).is_some_and(|r| r.starts_with(' ')))
}

fn main() {
    let path = std::env::args().nth(1).expect("estate path");
    let text = std::fs::read_to_string(path).expect("readable estate");
    let estate: Estate = toml::from_str(&text).expect("valid estate");
    let mut out = Vec::new();
    for s in &estate.servers {
        if s.os.as_deref().is_some_and(|o| o.contains("2003")) {
            out.push(format!("server-2003\t{}", s.name));
        }
        if s.web_server.as_deref() == Some("Apache") {
            out.push(format!("server-apache\t{}", s.name));
        }
        if matches!(s.identified_by.as_deref(), Some("ipv4" | "ipv6")) {
            out.push(format!("server-ip-identity\t{}", s.name));
        }
    }
    let names: HashSet<&str> = estate.servers.iter().map(|s| s.name.as_str()).collect();
    for c in &estate.clients {
        if c.os.as_deref().is_some_and(legacy_os) || c.arch.as_deref() == Some("ia64") {
            out.push(format!("client-legacy\t{}", c.name));
        }
        if c.server.as_deref().is_some_and(|s| !names.contains(s)) {
            out.push(format!("client-dangling\t{}", c.name));
        }
    }
    out.sort();
    println!("{}", out.join("\n"));
}
