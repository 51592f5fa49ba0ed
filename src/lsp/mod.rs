//! `preflight lsp`: a language server over stdio. Open estates get the diagnostics
//! `check` would report (same rules, site rules and levels from `preflight.toml`),
//! hover shows a key's schema documentation and a finding's rule documentation, and
//! code actions offer a finding's fix and a waiver.
//!
//! The main loop (here) answers requests from the last analysis and never waits on a
//! check; checks run on one worker thread ([`worker`]), debounced, each under the
//! normal sandbox limits. The reader thread ([`transport`]) survives malformed input.
// lsp-types' `Uri` caches parts of its parse in cells but hashes and compares its
// text alone, so it is a sound map key.
#![allow(clippy::mutable_key_type)]

mod actions;
mod convert;
mod hover;
mod transport;
mod worker;

pub use actions::{waiver_text, REASON_PLACEHOLDER, WAIVER_DAYS};
pub use worker::DEBOUNCE;

use lsp_server::{ErrorCode, Message, Notification, Request, RequestId, Response};
use lsp_types::{
    CodeActionKind, CodeActionOptions, CodeActionParams, CodeActionProviderCapability,
    DidChangeTextDocumentParams, DidCloseTextDocumentParams, DidOpenTextDocumentParams,
    DidSaveTextDocumentParams, Hover, HoverContents, HoverParams, HoverProviderCapability,
    MarkupContent, MarkupKind, PublishDiagnosticsParams, SaveOptions, ServerCapabilities,
    TextDocumentSyncCapability, TextDocumentSyncKind, TextDocumentSyncOptions,
    TextDocumentSyncSaveOptions,
};
use serde::de::DeserializeOwned;
use std::io::Write;
use std::sync::mpsc;
use std::sync::Arc;
use std::time::Duration;
use transport::Out;
use worker::{lock, Document, Job, Shared, Worker};

/// Serves on stdin and stdout until `exit`; returns the process exit code.
pub fn serve() -> u8 {
    let input = std::io::BufReader::new(std::io::stdin());
    serve_on(input, Box::new(std::io::stdout()))
}

/// Serves on any pair of streams (the binary uses stdio).
pub fn serve_on(
    input: impl std::io::BufRead + Send + 'static,
    output: Box<dyn Write + Send>,
) -> u8 {
    let out = Out::new(output);
    let (tx, rx) = mpsc::channel::<Message>();
    let reader_out = out.clone();
    // The reader is never joined: at `exit` it may be blocked on input.
    std::thread::spawn(move || {
        transport::read_messages(input, &reader_out, |m| tx.send(m).is_ok());
    });
    let shared = Arc::new(Shared::default());
    let (jobs, job_rx) = mpsc::channel::<Job>();
    let cwd = std::env::current_dir().unwrap_or_else(|_| ".".into());
    let worker = Worker::new(shared.clone(), out.clone(), cwd);
    // The checker runs rules on its own rayon pool; this thread only schedules.
    let _ = std::thread::Builder::new()
        .name("preflight-lsp-check".into())
        .spawn(move || worker.run(job_rx));
    let mut server = Server {
        out,
        shared,
        jobs,
        schema: crate::jsonschema::estate().unwrap_or_default(),
        initialized: false,
        shutdown: false,
    };
    for msg in rx {
        if let Some(code) = server.handle(msg) {
            return code;
        }
    }
    // Input ended without `exit`.
    1
}

struct Server {
    out: Out,
    shared: Arc<Shared>,
    jobs: mpsc::Sender<Job>,
    schema: serde_json::Value,
    initialized: bool,
    shutdown: bool,
}

fn capabilities() -> ServerCapabilities {
    ServerCapabilities {
        text_document_sync: Some(TextDocumentSyncCapability::Options(
            TextDocumentSyncOptions {
                open_close: Some(true),
                change: Some(TextDocumentSyncKind::FULL),
                save: Some(TextDocumentSyncSaveOptions::SaveOptions(SaveOptions {
                    include_text: Some(false),
                })),
                ..TextDocumentSyncOptions::default()
            },
        )),
        hover_provider: Some(HoverProviderCapability::Simple(true)),
        code_action_provider: Some(CodeActionProviderCapability::Options(CodeActionOptions {
            code_action_kinds: Some(vec![CodeActionKind::QUICKFIX]),
            ..CodeActionOptions::default()
        })),
        ..ServerCapabilities::default()
    }
}

impl Server {
    /// Handles one message; `Some(code)` ends the server.
    fn handle(&mut self, msg: Message) -> Option<u8> {
        match msg {
            Message::Request(r) => self.request(r),
            Message::Notification(n) => return self.notification(n),
            // The server sends no requests, so responses are not expected.
            Message::Response(_) => {}
        }
        None
    }

    fn reply_err(&self, id: RequestId, code: ErrorCode, message: impl Into<String>) {
        self.out
            .send(Response::new_err(id, code as i32, message.into()));
    }

    fn request(&mut self, r: Request) {
        if self.shutdown {
            return self.reply_err(
                r.id,
                ErrorCode::InvalidRequest,
                "the server is shutting down",
            );
        }
        if !self.initialized && r.method != "initialize" {
            return self.reply_err(r.id, ErrorCode::ServerNotInitialized, "not initialized");
        }
        let id = r.id.clone();
        let method = r.method.clone();
        let result = match method.as_str() {
            "initialize" => {
                self.initialized = true;
                Ok(serde_json::json!({
                    "capabilities": capabilities(),
                    "serverInfo": { "name": "preflight", "version": env!("CARGO_PKG_VERSION") },
                }))
            }
            "shutdown" => {
                self.shutdown = true;
                Ok(serde_json::Value::Null)
            }
            "textDocument/hover" => params::<HoverParams>(r).map(|p| self.hover(p)),
            "textDocument/codeAction" => params::<CodeActionParams>(r).map(|p| self.code_action(p)),
            _ => Err((
                ErrorCode::MethodNotFound,
                format!("unknown method `{method}`"),
            )),
        };
        match result {
            Ok(value) => self.out.send(Response::new_ok(id, value)),
            Err((code, message)) => self.reply_err(id, code, message),
        }
    }

    fn notification(&mut self, n: Notification) -> Option<u8> {
        if n.method == "exit" {
            return Some(if self.shutdown { 0 } else { 1 });
        }
        if !self.initialized || self.shutdown {
            return None;
        }
        // A notification has no reply: bad params are said on stderr.
        let bad = |e: (ErrorCode, String)| eprintln!("preflight lsp: {}", e.1);
        match n.method.as_str() {
            "textDocument/didOpen" => match notification_params::<DidOpenTextDocumentParams>(n) {
                Ok(p) => {
                    let d = p.text_document;
                    self.set(d.uri, d.version, d.text, Duration::ZERO);
                }
                Err(e) => bad(e),
            },
            "textDocument/didChange" => {
                match notification_params::<DidChangeTextDocumentParams>(n) {
                    Ok(p) => self.change(p),
                    Err(e) => bad(e),
                }
            }
            "textDocument/didSave" => match notification_params::<DidSaveTextDocumentParams>(n) {
                Ok(p) => {
                    let uri = p.text_document.uri;
                    let policy = uri.as_str().ends_with(".rhai")
                        || uri.as_str().ends_with(crate::config::FILE_NAME);
                    if policy {
                        let _ = self.jobs.send(Job::Reload);
                    } else if let Some(text) = p.text {
                        let version = self.shared.document(&uri).map_or(0, |d| d.version);
                        self.set(uri, version, text, Duration::ZERO);
                    } else {
                        let _ = self.jobs.send(Job::Check(uri, Duration::ZERO));
                    }
                }
                Err(e) => bad(e),
            },
            "textDocument/didClose" => match notification_params::<DidCloseTextDocumentParams>(n) {
                Ok(p) => {
                    let uri = p.text_document.uri;
                    lock(&self.shared.documents).remove(&uri);
                    lock(&self.shared.analyses).remove(&uri);
                    self.out.send(Notification::new(
                        "textDocument/publishDiagnostics".into(),
                        PublishDiagnosticsParams {
                            uri,
                            diagnostics: Vec::new(),
                            version: None,
                        },
                    ));
                }
                Err(e) => bad(e),
            },
            // Rules or preflight.toml changed on disk.
            "workspace/didChangeWatchedFiles" => {
                let _ = self.jobs.send(Job::Reload);
            }
            // Anything else (`initialized`, `$/cancelRequest`, ...) needs nothing.
            _ => {}
        }
        None
    }

    fn set(&self, uri: lsp_types::Uri, version: i32, text: String, delay: Duration) {
        lock(&self.shared.documents).insert(
            uri.clone(),
            Document {
                version,
                text: Arc::new(text),
            },
        );
        let _ = self.jobs.send(Job::Check(uri, delay));
    }

    fn change(&self, p: DidChangeTextDocumentParams) {
        let uri = p.text_document.uri;
        let Some(current) = self.shared.document(&uri) else {
            return;
        };
        let mut text = current.text.to_string();
        for change in p.content_changes {
            match change.range {
                // A client that sends ranges despite full sync: apply them.
                Some(range) => {
                    let src = crate::estate::Source::new("", text);
                    let start = convert::offset(&src, range.start);
                    let end = convert::offset(&src, range.end).max(start);
                    let mut t = src.text().to_string();
                    t.replace_range(start..end, &change.text);
                    text = t;
                }
                None => text = change.text,
            }
        }
        self.set(uri, p.text_document.version, text, DEBOUNCE);
    }

    fn hover(&self, p: HoverParams) -> serde_json::Value {
        let uri = p.text_document_position_params.text_document.uri;
        let pos = p.text_document_position_params.position;
        let Some(doc) = self.shared.document(&uri) else {
            return serde_json::Value::Null;
        };
        let src = crate::estate::Source::new("", doc.text.to_string());
        let offset = convert::offset(&src, pos);
        let mut parts = Vec::new();
        if let Some(k) = hover::key_doc(&self.schema, src.text(), offset) {
            parts.push(k);
        }
        if let Some(a) = self.shared.current(&uri) {
            parts.extend(hover::rule_docs(&a, offset));
        }
        if parts.is_empty() {
            return serde_json::Value::Null;
        }
        serde_json::to_value(Hover {
            contents: HoverContents::Markup(MarkupContent {
                kind: MarkupKind::Markdown,
                value: parts.join("\n\n---\n\n"),
            }),
            range: None,
        })
        .unwrap_or_default()
    }

    fn code_action(&self, p: CodeActionParams) -> serde_json::Value {
        let uri = p.text_document.uri;
        let Some(a) = self.shared.current(&uri) else {
            return serde_json::json!([]);
        };
        let start = convert::offset(&a.source, p.range.start);
        let end = convert::offset(&a.source, p.range.end).max(start);
        serde_json::to_value(actions::actions(&uri, &a, start..end)).unwrap_or_default()
    }
}

type RpcError = (ErrorCode, String);

fn params<P: DeserializeOwned>(r: Request) -> Result<P, RpcError> {
    serde_json::from_value(r.params).map_err(|e| {
        (
            ErrorCode::InvalidParams,
            format!("bad params for `{}`: {e}", r.method),
        )
    })
}

fn notification_params<P: DeserializeOwned>(n: Notification) -> Result<P, RpcError> {
    serde_json::from_value(n.params).map_err(|e| {
        (
            ErrorCode::InvalidParams,
            format!("bad params for `{}`: {e}", n.method),
        )
    })
}
