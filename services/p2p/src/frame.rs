//! One DAG-CBOR value per stream direction, as go-cbor-util's `ReadCborRPC`/`WriteCborRPC` frame
//! them: no length prefix, the reader stops at the end of the value. Reading is capped: a peer
//! that sends more than the cap, or never ends its value, gets an error, never an unbounded
//! buffer.

use std::io;
use std::marker::PhantomData;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use futures::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use libp2p::StreamProtocol;
use serde::{Serialize, de::DeserializeOwned};

/// Where one CBOR data item in `buf` ends: `Ok(Some(end))` when complete, `Ok(None)` when more
/// bytes are needed, `Err` when the bytes cannot start a DAG-CBOR item (indefinite lengths,
/// reserved values) or announce more items than `max_items`.
pub(crate) fn cbor_item_end(buf: &[u8], max_items: u64) -> Result<Option<usize>, String> {
    let mut pos = 0usize;
    let mut pending: u64 = 1;
    while pending > 0 {
        pending -= 1;
        let Some(&initial) = buf.get(pos) else {
            return Ok(None);
        };
        pos += 1;
        let major = initial >> 5;
        let info = initial & 0x1f;
        let extra = match info {
            0..=23 => 0,
            24 => 1,
            25 => 2,
            26 => 4,
            27 => 8,
            31 => return Err("indefinite-length item (not DAG-CBOR)".into()),
            _ => return Err(format!("reserved additional information {info}")),
        };
        let value = if extra == 0 {
            u64::from(info)
        } else {
            let Some(bytes) = buf.get(pos..pos + extra) else {
                return Ok(None);
            };
            pos += extra;
            bytes.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
        };
        let children = match major {
            0 | 1 | 7 => 0,
            2 | 3 => {
                let len = usize::try_from(value).map_err(|_| "string length overflows")?;
                pos = pos.checked_add(len).ok_or("string length overflows")?;
                0
            }
            4 => value,
            5 => value.checked_mul(2).ok_or("map length overflows")?,
            _ => 1, // 6: a tag, then its item
        };
        pending = pending
            .checked_add(children)
            .filter(|&p| p <= max_items)
            .ok_or_else(|| format!("more than {max_items} items announced"))?;
    }
    if pos > buf.len() {
        return Ok(None);
    }
    Ok(Some(pos))
}

/// Reads exactly one CBOR value of at most `max` bytes and decodes it.
pub(crate) async fn read_value<T, R>(io: &mut R, max: usize) -> io::Result<T>
where
    T: DeserializeOwned,
    R: AsyncRead + Unpin + Send,
{
    let invalid = |msg: String| io::Error::new(io::ErrorKind::InvalidData, msg);
    let mut buf = Vec::new();
    let mut chunk = vec![0u8; 16 << 10];
    loop {
        let room = (max + 1).saturating_sub(buf.len()).min(chunk.len());
        let n = io.read(&mut chunk[..room]).await?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                format!("stream ended inside a value after {} bytes", buf.len()),
            ));
        }
        buf.extend_from_slice(&chunk[..n]);
        if buf.len() > max {
            return Err(invalid(format!("value over the {max}-byte cap")));
        }
        // Every item takes at least one byte, so a value within the cap has at most `max` items.
        if let Some(end) = cbor_item_end(&buf, max as u64).map_err(invalid)? {
            if end != buf.len() {
                return Err(invalid(format!(
                    "{} bytes after the value",
                    buf.len() - end
                )));
            }
            return venus_types::from_cbor(&buf).map_err(|e| invalid(e.to_string()));
        }
    }
}

/// Encodes `value` and writes it.
pub(crate) async fn write_value<T, W>(io: &mut W, value: &T) -> io::Result<()>
where
    T: Serialize,
    W: AsyncWrite + Unpin + Send,
{
    let bytes = venus_types::to_cbor(value)
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, e.to_string()))?;
    io.write_all(&bytes).await?;
    io.flush().await
}

/// A request-response codec for one CBOR request and one CBOR response, each capped. Frames it
/// cannot read are counted in `bad_frames` (request-response reports no event for them).
pub(crate) struct CborCodec<Req, Resp> {
    max_request: usize,
    max_response: usize,
    bad_frames: Arc<AtomicU64>,
    _types: PhantomData<fn() -> (Req, Resp)>,
}

impl<Req, Resp> CborCodec<Req, Resp> {
    pub(crate) fn new(max_request: usize, max_response: usize, bad_frames: Arc<AtomicU64>) -> Self {
        Self {
            max_request,
            max_response,
            bad_frames,
            _types: PhantomData,
        }
    }

    fn count<T>(&self, read: io::Result<T>) -> io::Result<T> {
        if read.is_err() {
            self.bad_frames.fetch_add(1, Ordering::Relaxed);
        }
        read
    }
}

impl<Req, Resp> Clone for CborCodec<Req, Resp> {
    fn clone(&self) -> Self {
        Self::new(
            self.max_request,
            self.max_response,
            Arc::clone(&self.bad_frames),
        )
    }
}

impl<Req, Resp> libp2p::request_response::Codec for CborCodec<Req, Resp>
where
    Req: Serialize + DeserializeOwned + Send + Sync + 'static,
    Resp: Serialize + DeserializeOwned + Send + Sync + 'static,
{
    type Protocol = StreamProtocol;
    type Request = Req;
    type Response = Resp;

    async fn read_request<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Req>
    where
        T: AsyncRead + Unpin + Send,
    {
        let read = read_value(io, self.max_request).await;
        self.count(read)
    }

    async fn read_response<T>(&mut self, _: &StreamProtocol, io: &mut T) -> io::Result<Resp>
    where
        T: AsyncRead + Unpin + Send,
    {
        let read = read_value(io, self.max_response).await;
        self.count(read)
    }

    async fn write_request<T>(&mut self, _: &StreamProtocol, io: &mut T, req: Req) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_value(io, &req).await
    }

    async fn write_response<T>(
        &mut self,
        _: &StreamProtocol,
        io: &mut T,
        res: Resp,
    ) -> io::Result<()>
    where
        T: AsyncWrite + Unpin + Send,
    {
        write_value(io, &res).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn item_end_finds_complete_nested_values() {
        // [1, h'ab', {"a": 2}]
        let bytes = [0x83, 0x01, 0x41, 0xab, 0xa1, 0x61, b'a', 0x02];
        assert_eq!(cbor_item_end(&bytes, 100), Ok(Some(bytes.len())));
        for cut in 0..bytes.len() {
            assert_eq!(cbor_item_end(&bytes[..cut], 100), Ok(None), "cut at {cut}");
        }
    }

    #[test]
    fn item_end_rejects_indefinite_and_huge_counts() {
        assert!(cbor_item_end(&[0x9f], 100).is_err());
        // An array announcing 2^64-1 items.
        let huge = [0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(cbor_item_end(&huge, 1 << 20).is_err());
        // A byte string announcing 2^64-1 bytes is just incomplete (the byte cap ends it).
        let long = [0x5b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
        assert!(matches!(cbor_item_end(&long, 100), Ok(None) | Err(_)));
    }

    #[tokio::test]
    async fn read_value_caps_size_and_rejects_trailing_bytes() {
        // A 4 KiB byte string against a 1 KiB cap.
        let mut data = vec![0x59, 0x10, 0x00];
        data.resize(3 + 4096, 0);
        let mut over = futures::io::Cursor::new(data);
        let err = read_value::<Vec<u8>, _>(&mut over, 1024).await.unwrap_err();
        assert!(err.to_string().contains("cap"), "{err}");

        let mut trailing = futures::io::Cursor::new(vec![0x01, 0x02]);
        let err = read_value::<u64, _>(&mut trailing, 1024).await.unwrap_err();
        assert!(err.to_string().contains("after the value"), "{err}");

        let mut eof = futures::io::Cursor::new(vec![0x82, 0x01]);
        let err = read_value::<(u64, u64), _>(&mut eof, 1024)
            .await
            .unwrap_err();
        assert_eq!(err.kind(), io::ErrorKind::UnexpectedEof);

        let mut ok = futures::io::Cursor::new(vec![0x82, 0x01, 0x02]);
        assert_eq!(
            read_value::<(u64, u64), _>(&mut ok, 1024).await.unwrap(),
            (1, 2)
        );
    }
}
