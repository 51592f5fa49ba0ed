//! JSON-RPC framing over byte streams: a reader that survives malformed input and
//! an output that several threads share.

use lsp_server::{ErrorCode, Message};
use std::io::{BufRead, Read, Write};
use std::sync::{Arc, Mutex};

/// The largest message read; anything bigger is discarded unread.
pub const MAX_MESSAGE: usize = 1 << 30;

/// Where messages go; the main loop and the checking thread write through it.
#[derive(Clone)]
pub struct Out(Arc<Mutex<Box<dyn Write + Send>>>);

impl Out {
    pub fn new(w: Box<dyn Write + Send>) -> Self {
        Out(Arc::new(Mutex::new(w)))
    }

    /// Writes one message; a closed output is the client's business, not a crash.
    pub fn send(&self, msg: impl Into<Message>) {
        let msg = msg.into();
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = msg.write(&mut *w);
    }

    /// An error response to a request whose id could not be read.
    fn send_raw_error(&self, code: ErrorCode, message: &str) {
        let body = serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": { "code": code as i32, "message": message },
        })
        .to_string();
        let mut w = self.0.lock().unwrap_or_else(|e| e.into_inner());
        let _ = write!(w, "Content-Length: {}\r\n\r\n{body}", body.len());
        let _ = w.flush();
    }
}

/// One frame's body, or why there was none.
enum Frame {
    Body(Vec<u8>),
    /// A header block without a usable length, or a body too large: skipped.
    Bad(String),
    End,
}

fn read_frame(r: &mut impl BufRead) -> std::io::Result<Frame> {
    let mut length: Option<Result<usize, String>> = None;
    let mut line = Vec::new();
    let mut any = false;
    loop {
        line.clear();
        // A header line is short; a stream of garbage without newlines is cut off.
        let n = r.by_ref().take(8192).read_until(b'\n', &mut line)?;
        if n == 0 {
            return Ok(if any {
                Frame::Bad("end of input inside a header".into())
            } else {
                Frame::End
            });
        }
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            if any {
                break;
            }
            continue;
        }
        any = true;
        if let Some((name, value)) = text.split_once(':') {
            if name.trim().eq_ignore_ascii_case("content-length") {
                length = Some(
                    value
                        .trim()
                        .parse()
                        .map_err(|_| format!("bad Content-Length `{}`", value.trim())),
                );
            }
        }
    }
    match length {
        None => Ok(Frame::Bad("a message without Content-Length".into())),
        Some(Err(e)) => Ok(Frame::Bad(e)),
        Some(Ok(n)) if n > MAX_MESSAGE => {
            std::io::copy(&mut r.by_ref().take(n as u64), &mut std::io::sink())?;
            Ok(Frame::Bad(format!(
                "a message of {n} bytes is over the limit"
            )))
        }
        Some(Ok(n)) => {
            let mut body = Vec::new();
            r.by_ref().take(n as u64).read_to_end(&mut body)?;
            if body.len() < n {
                return Ok(Frame::Bad("end of input inside a message".into()));
            }
            Ok(Frame::Body(body))
        }
    }
}

/// Reads messages from `input` until it ends, handing each to `deliver`; bodies that
/// are not JSON-RPC get an error response (or, without an id, a line on stderr).
/// Stops when `deliver` returns false.
pub fn read_messages(mut input: impl BufRead, out: &Out, mut deliver: impl FnMut(Message) -> bool) {
    loop {
        let body = match read_frame(&mut input) {
            Ok(Frame::Body(b)) => b,
            Ok(Frame::Bad(why)) => {
                eprintln!("preflight lsp: skipped input: {why}");
                continue;
            }
            Ok(Frame::End) | Err(_) => return,
        };
        let value: serde_json::Value = match serde_json::from_slice(&body) {
            Ok(v) => v,
            Err(e) => {
                out.send_raw_error(ErrorCode::ParseError, &format!("not JSON: {e}"));
                continue;
            }
        };
        match serde_json::from_value::<Message>(value.clone()) {
            Ok(msg) => {
                if !deliver(msg) {
                    return;
                }
            }
            Err(e) => match value.get("id").cloned().filter(|id| !id.is_null()) {
                Some(id) => match serde_json::from_value(id) {
                    Ok(id) => out.send(lsp_server::Response::new_err(
                        id,
                        ErrorCode::InvalidRequest as i32,
                        format!("not a JSON-RPC message: {e}"),
                    )),
                    Err(_) => out.send_raw_error(ErrorCode::InvalidRequest, "bad request id"),
                },
                None => out.send_raw_error(
                    ErrorCode::InvalidRequest,
                    &format!("not a JSON-RPC message: {e}"),
                ),
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn malformed_frames_are_skipped_and_answered() {
        let good = r#"{"jsonrpc":"2.0","method":"initialized","params":{}}"#;
        let input = format!(
            "Content-Length: 5\r\n\r\n{{bad}}X-Other: 1\r\n\r\nContent-Length: 12\r\n\r\n{{\"id\": true}}Content-Length: {}\r\n\r\n{good}",
            good.len()
        );
        let buf = Buf::default();
        let out = Out::new(Box::new(buf.clone()));
        let mut got = Vec::new();
        read_messages(input.as_bytes(), &out, |m| {
            got.push(m);
            true
        });
        assert_eq!(got.len(), 1, "{got:?}");
        let written = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        assert!(written.contains("-32700"), "{written}");
        assert!(written.contains("-32600"), "{written}");
    }
}
