//! `preflight lsp` driven over JSON-RPC, as an editor would: diagnostics follow
//! edits, hover and code actions answer from them, and neither malformed messages
//! nor a runaway rule stop the server. Every read has a deadline, so a hang fails
//! the test instead of stalling CI.

use crate::support::site_rule;
use serde_json::{json, Value};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{channel, Receiver};
use std::time::{Duration, Instant};

/// Generous: proves an answer comes, not how fast.
const DEADLINE: Duration = Duration::from_secs(60);

struct Client {
    child: Child,
    stdin: ChildStdin,
    messages: Receiver<Value>,
    next_id: i64,
}

impl Drop for Client {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Client {
    /// Starts `preflight lsp` in `dir` and initializes it.
    fn start(dir: &Path) -> Client {
        let mut client = Client::spawn(dir);
        let init = client.request(
            "initialize",
            json!({ "capabilities": {}, "rootUri": uri(dir) }),
        );
        assert!(
            init["result"]["capabilities"]["hoverProvider"] == true,
            "{init}"
        );
        client.notify("initialized", json!({}));
        client
    }

    fn spawn(dir: &Path) -> Client {
        let mut child = Command::new(env!("CARGO_BIN_EXE_preflight"))
            .arg("lsp")
            .current_dir(dir)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdin = child.stdin.take().unwrap();
        let mut stdout = BufReader::new(child.stdout.take().unwrap());
        let (tx, messages) = channel();
        std::thread::spawn(move || loop {
            let mut length = None;
            loop {
                let mut line = String::new();
                if stdout.read_line(&mut line).unwrap_or(0) == 0 {
                    return;
                }
                let line = line.trim_end();
                if line.is_empty() {
                    break;
                }
                if let Some(n) = line.strip_prefix("Content-Length: ") {
                    length = n.parse::<usize>().ok();
                }
            }
            let mut body = vec![0; length.expect("Content-Length")];
            if stdout.read_exact(&mut body).is_err() {
                return;
            }
            if tx.send(serde_json::from_slice(&body).unwrap()).is_err() {
                return;
            }
        });
        Client {
            child,
            stdin,
            messages,
            next_id: 1,
        }
    }

    fn send_raw(&mut self, body: &str) {
        write!(self.stdin, "Content-Length: {}\r\n\r\n{body}", body.len()).unwrap();
        self.stdin.flush().unwrap();
    }

    fn notify(&mut self, method: &str, params: Value) {
        let body = json!({ "jsonrpc": "2.0", "method": method, "params": params });
        self.send_raw(&body.to_string());
    }

    /// Sends a request and returns its response, skipping other messages.
    fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        self.send_raw(&body.to_string());
        self.wait_for(|m| m["id"] == id && m.get("method").is_none())
    }

    /// The next message `pred` accepts; fails the test at the deadline.
    fn wait_for(&mut self, pred: impl Fn(&Value) -> bool) -> Value {
        let end = Instant::now() + DEADLINE;
        loop {
            let left = end.saturating_duration_since(Instant::now());
            match self.messages.recv_timeout(left) {
                Ok(m) if pred(&m) => return m,
                Ok(_) => {}
                Err(e) => panic!("no expected message from the server: {e}"),
            }
        }
    }

    /// The diagnostics published for `uri` at `version`.
    fn diagnostics(&mut self, uri: &str, version: i64) -> Vec<Value> {
        let m = self.wait_for(|m| {
            m["method"] == "textDocument/publishDiagnostics"
                && m["params"]["uri"] == uri
                && m["params"]["version"] == version
        });
        m["params"]["diagnostics"].as_array().unwrap().clone()
    }

    fn open(&mut self, uri: &str, text: &str) {
        self.notify(
            "textDocument/didOpen",
            json!({ "textDocument": { "uri": uri, "languageId": "toml", "version": 1, "text": text } }),
        );
    }

    fn change(&mut self, uri: &str, version: i64, text: &str) {
        self.notify(
            "textDocument/didChange",
            json!({ "textDocument": { "uri": uri, "version": version }, "contentChanges": [{ "text": text }] }),
        );
    }
}

fn uri(path: &Path) -> String {
    format!("file://{}", path.display())
}

fn example(name: &str) -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(name),
    )
    .unwrap()
}

/// (line, UTF-16 character) of byte `offset` of `text`.
fn position(text: &str, offset: usize) -> Value {
    let line_start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    json!({
        "line": text[..offset].matches('\n').count(),
        "character": text[line_start..offset].encode_utf16().count(),
    })
}

#[test]
fn diagnostics_follow_edits_and_answer_hover_and_code_actions() {
    let dir = tempfile::tempdir().unwrap();
    let good = example("estate.toml");
    let bad = good.replacen("web_server = \"IIS\"", "web_server = \"Apache\"", 1);
    let file = dir.path().join("estate.toml");
    std::fs::write(&file, &bad).unwrap();
    let uri = uri(&file);
    let mut c = Client::start(dir.path());

    c.open(&uri, &bad);
    let diagnostics = c.diagnostics(&uri, 1);
    assert_eq!(diagnostics.len(), 1, "{diagnostics:#?}");
    let d = &diagnostics[0];
    let at = bad.find("\"Apache\"").unwrap();
    assert_eq!(d["code"], "officescan/server-on-apache");
    assert_eq!(d["source"], "preflight");
    assert_eq!(d["severity"], 1);
    assert_eq!(
        d["range"],
        json!({ "start": position(&bad, at), "end": position(&bad, at + 8) })
    );

    // Hover on the finding: its rule's documentation; on a key: the schema's.
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position(&bad, at + 2) }),
    );
    let text = hover["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(text.contains("officescan/server-on-apache"), "{hover}");
    assert!(text.contains("## How to fix"), "{hover}");
    let key = bad.find("web_server").unwrap();
    let hover = c.request(
        "textDocument/hover",
        json!({ "textDocument": { "uri": uri }, "position": position(&bad, key + 1) }),
    );
    let text = hover["result"]["contents"]["value"]
        .as_str()
        .unwrap_or_default();
    assert!(text.starts_with("**`servers[].web_server`**"), "{hover}");

    // The finding can be waived: an entry appended at the end of the file.
    let actions = c.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": { "start": position(&bad, at), "end": position(&bad, at) },
            "context": { "diagnostics": [] },
        }),
    );
    let waive = actions["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| {
            a["title"]
                .as_str()
                .unwrap()
                .starts_with("Waive this finding")
        })
        .unwrap_or_else(|| panic!("{actions}"))
        .clone();
    let edit = &waive["edit"]["changes"][&uri][0];
    let new_text = edit["newText"].as_str().unwrap();
    assert!(
        new_text.contains("[[waivers]]\nrule = \"officescan/server-on-apache\"\nat = 'servers[\"osce-hq\"].web_server'\nreason = "),
        "{new_text}"
    );
    assert_eq!(edit["range"]["start"], position(&bad, bad.len()));

    // Fixing the estate clears the diagnostics; of quick edits, the last one counts.
    c.change(&uri, 2, &bad.replacen("osce-hq", "osce-head", 1));
    c.change(&uri, 3, &good);
    assert_eq!(c.diagnostics(&uri, 3), Vec::<Value>::new());

    let shutdown = c.request("shutdown", Value::Null);
    assert_eq!(shutdown["result"], Value::Null, "{shutdown}");
    c.notify("exit", Value::Null);
    assert_eq!(c.child.wait().unwrap().code(), Some(0));
}

#[test]
fn a_misspelt_key_has_a_rename_quick_fix() {
    let dir = tempfile::tempdir().unwrap();
    // The rename is offered only where the table lacks the right key.
    let text = example("estate-violations.toml").replace("web_server = \"Apache\"\n", "");
    let file = dir.path().join("estate.toml");
    let uri = uri(&file);
    let mut c = Client::start(dir.path());
    c.open(&uri, &text);
    c.diagnostics(&uri, 1);
    let at = text.find("web_sever").unwrap();
    let actions = c.request(
        "textDocument/codeAction",
        json!({
            "textDocument": { "uri": uri },
            "range": { "start": position(&text, at), "end": position(&text, at + 9) },
            "context": { "diagnostics": [] },
        }),
    );
    let rename = actions["result"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["edit"]["changes"][&uri][0]["newText"] == "web_server")
        .unwrap_or_else(|| panic!("{actions}"))
        .clone();
    assert_eq!(rename["kind"], "quickfix");
    assert_eq!(
        rename["edit"]["changes"][&uri][0]["range"],
        json!({ "start": position(&text, at), "end": position(&text, at + 9) })
    );
}

#[test]
fn bad_messages_and_runaway_rules_do_not_stop_the_server() {
    let dir = tempfile::tempdir().unwrap();
    site_rule(dir.path(), "spin.rhai", "//! severity: error\n//! title: Never ends\n//! ## What it does\n//! Spins.\n\nfn check(estate) { loop { } }\n");
    std::fs::write(
        dir.path().join("preflight.toml"),
        "rule_dirs = [\"site\"]\n[limits]\nmax_operations = 100000\n",
    )
    .unwrap();
    let mut c = Client::spawn(dir.path());
    // Before initialize, requests are refused; garbage is answered, not fatal.
    let early = c.request("textDocument/hover", json!({}));
    assert_eq!(early["error"]["code"], -32002, "{early}");
    c.send_raw("{ this is not json");
    let parse_error = c.wait_for(|m| m["error"]["code"] == -32700);
    assert_eq!(parse_error["id"], Value::Null);
    let init = c.request("initialize", json!({ "capabilities": {} }));
    assert!(init["result"]["capabilities"].is_object(), "{init}");
    c.notify("initialized", json!({}));
    let unknown = c.request("preflight/unknown", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    let bad_params = c.request("textDocument/hover", json!({ "textDocument": 3 }));
    assert_eq!(bad_params["error"]["code"], -32602, "{bad_params}");

    // The site rule from preflight.toml runs, exceeds its limit, and shows on line 0
    // beside the built-in pack's findings.
    let text = example("estate.toml");
    let file = dir.path().join("estate.toml");
    let uri = uri(&file);
    c.open(&uri, &text);
    let diagnostics = c.diagnostics(&uri, 1);
    let limit = diagnostics
        .iter()
        .find(|d| d["code"] == "rule-limit")
        .unwrap_or_else(|| panic!("{diagnostics:#?}"));
    assert_eq!(
        limit["range"]["start"],
        json!({ "line": 0, "character": 0 })
    );
    assert!(
        limit["message"].as_str().unwrap().contains("spin"),
        "{limit}"
    );
    // A document that does not parse: the syntax error at its place.
    c.change(&uri, 2, "[upgrade\n");
    let diagnostics = c.diagnostics(&uri, 2);
    let syntax = diagnostics
        .iter()
        .find(|d| d["code"] == "toml-syntax")
        .unwrap_or_else(|| panic!("{diagnostics:#?}"));
    assert_eq!(syntax["range"]["start"]["line"], 0);
    // Still answering.
    let unknown = c.request("preflight/unknown", json!({}));
    assert_eq!(unknown["error"]["code"], -32601, "{unknown}");
    // `exit` without `shutdown` is exit code 1, as the protocol says.
    c.notify("exit", Value::Null);
    assert_eq!(c.child.wait().unwrap().code(), Some(1));
}
