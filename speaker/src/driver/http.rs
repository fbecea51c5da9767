//! The metrics endpoint: a deliberately small HTTP/1.1 server for `GET /metrics` and
//! `GET /healthz`, one request per connection. A scrape asks the driver loop, which
//! owns the speaker, for a rendered [`super::metrics::Snapshot`]; nothing is shared
//! between tasks but that channel.
//!
//! Bounded: a request head larger than 8 KiB, or not complete within 5 s, is refused,
//! and at most 64 connections are served at once; further ones wait in the kernel's
//! accept queue.

use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, mpsc, oneshot};

/// A scrape waiting for the driver loop's answer.
pub type Scrape = oneshot::Sender<String>;

const MAX_HEAD: usize = 8 * 1024;
const READ_TIMEOUT: Duration = Duration::from_secs(5);
const MAX_CONNECTIONS: usize = 64;

/// Serves until the listener fails or the driver loop is gone.
pub async fn serve(listener: TcpListener, scrapes: mpsc::Sender<Scrape>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let (stream, peer) = match listener.accept().await {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let scrapes = scrapes.clone();
        tokio::spawn(async move {
            if let Err(e) = handle(stream, &scrapes).await {
                tracing::debug!(%peer, error = %e, "metrics endpoint: connection failed");
            }
            drop(permit);
        });
    }
}

/// What a request line asks for.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Route {
    Metrics,
    Health,
    NotFound,
    MethodNotAllowed,
    BadRequest,
}

/// Routes a request head (everything up to the blank line).
pub(crate) fn route(head: &[u8]) -> Route {
    let Some(line) = head.split(|b| *b == b'\n').next() else {
        return Route::BadRequest;
    };
    let line = String::from_utf8_lossy(line);
    let mut parts = line.trim_end().split(' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return Route::BadRequest;
    };
    if !version.starts_with("HTTP/1.") {
        return Route::BadRequest;
    }
    if method != "GET" && method != "HEAD" {
        return Route::MethodNotAllowed;
    }
    match target.split('?').next() {
        Some("/metrics") => Route::Metrics,
        Some("/healthz") => Route::Health,
        _ => Route::NotFound,
    }
}

async fn handle(mut stream: TcpStream, scrapes: &mpsc::Sender<Scrape>) -> std::io::Result<()> {
    let mut head = Vec::with_capacity(512);
    let mut buf = [0u8; 1024];
    let complete = tokio::time::timeout(READ_TIMEOUT, async {
        while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() <= MAX_HEAD {
            let n = stream.read(&mut buf).await?;
            if n == 0 {
                return Ok::<bool, std::io::Error>(false);
            }
            head.extend_from_slice(&buf[..n]);
        }
        Ok(head.len() <= MAX_HEAD)
    })
    .await;
    let route = match complete {
        Ok(Ok(true)) => route(&head),
        Ok(Ok(false)) | Err(_) => Route::BadRequest,
        Ok(Err(e)) => return Err(e),
    };
    let head_only = head.starts_with(b"HEAD ");
    let (status, ctype, body) = match route {
        Route::Metrics => {
            let (tx, rx) = oneshot::channel();
            let body = match scrapes.send(tx).await {
                Ok(()) => rx.await.ok(),
                Err(_) => None,
            };
            match body {
                Some(b) => ("200 OK", "text/plain; version=0.0.4; charset=utf-8", b),
                None => (
                    "503 Service Unavailable",
                    "text/plain",
                    "speaker stopping\n".into(),
                ),
            }
        }
        Route::Health => ("200 OK", "text/plain", "ok\n".into()),
        Route::NotFound => ("404 Not Found", "text/plain", "not found\n".into()),
        Route::MethodNotAllowed => ("405 Method Not Allowed", "text/plain", "only GET\n".into()),
        Route::BadRequest => ("400 Bad Request", "text/plain", "bad request\n".into()),
    };
    let mut out = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    )
    .into_bytes();
    if !head_only {
        out.extend_from_slice(body.as_bytes());
    }
    stream.write_all(&out).await?;
    stream.shutdown().await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_request_lines() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route(b"GET /metrics?x=1 HTTP/1.0\r\n\r\n"), Route::Metrics);
        assert_eq!(route(b"HEAD /healthz HTTP/1.1\r\n\r\n"), Route::Health);
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(
            route(b"POST /metrics HTTP/1.1\r\n\r\n"),
            Route::MethodNotAllowed
        );
        assert_eq!(route(b"GET /metrics\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b"GET /metrics SPDY/3\r\n\r\n"), Route::BadRequest);
        assert_eq!(route(b""), Route::BadRequest);
    }
}
