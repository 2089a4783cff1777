//! The accepted gRPC connections acknowledge every read at once (Linux `TCP_QUICKACK`).
//!
//! Why the ACKs: HTTP/2 clients that leave Nagle's algorithm on (the official Rust client
//! `eventstore` does) send a client-streaming call such as `Append` in several small writes,
//! and hold each one back until the previous is acknowledged. The server has nothing to
//! answer before the call is complete, so the kernel delays its ACK by about 40 ms: every such
//! call then took 40 ms or more. Asking for `TCP_QUICKACK` after each read that brought bytes
//! sends the pending ACK at once (the flag is not sticky, hence after every read).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpStream;
use tonic::transport::server::{Connected, TcpConnectInfo};

/// One accepted connection.
pub struct Connection(TcpStream);

impl From<TcpStream> for Connection {
    fn from(stream: TcpStream) -> Connection {
        Connection(stream)
    }
}

impl Connection {
    /// Acknowledges what was received so far now rather than after the delayed-ACK timer.
    fn acknowledge(&self) {
        #[cfg(target_os = "linux")]
        {
            // Best effort: at worst the ACK is merely delayed, as without this.
            let _ = socket2::SockRef::from(&self.0).set_tcp_quickack(true);
        }
    }
}

impl AsyncRead for Connection {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let poll = Pin::new(&mut self.0).poll_read(cx, buf);
        if matches!(poll, Poll::Ready(Ok(()))) && buf.filled().len() > before {
            self.acknowledge();
        }
        poll
    }
}

impl AsyncWrite for Connection {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.0).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.0.is_write_vectored()
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.0).poll_shutdown(cx)
    }
}

impl Connected for Connection {
    type ConnectInfo = TcpConnectInfo;

    fn connect_info(&self) -> TcpConnectInfo {
        self.0.connect_info()
    }
}
