//! Framing: one JSON object per line. Requests are capped at [`MAX_FRAME`](crate::MAX_FRAME)
//! (the broker reads them from any program); replies at [`MAX_REPLY`](crate::MAX_REPLY)
//! (clients read them from the broker, and a list can be long).

use tokio_util::bytes::BytesMut;
use tokio_util::codec::{Decoder, LinesCodec};

use crate::MAX_FRAME;

/// The codec the broker reads requests with. A longer line is an error
/// (`LinesCodecError::MaxLineLengthExceeded`), never an unbounded buffer. (Writing is not
/// capped: a reply may be longer.)
pub fn frame_codec() -> LinesCodec {
    LinesCodec::new_with_max_length(crate::MAX_FRAME)
}

/// One line the broker read: text, or bytes that are not UTF-8 (which get an error reply,
/// not a closed connection: the next line is still readable).
#[derive(Debug, PartialEq, Eq)]
pub enum RequestLine {
    Text(String),
    NotUtf8,
}

/// A line over [`MAX_FRAME`]: the rest of it may still be in flight, so the reader stops.
#[derive(Debug, thiserror::Error)]
pub enum RequestFrameError {
    #[error("the request is longer than 64 KiB")]
    TooLong,
    #[error(transparent)]
    Io(#[from] std::io::Error),
}

/// The broker's side of the framing: like [`frame_codec`] (the same cap, a trailing `\r`
/// dropped) but a line that is not UTF-8 is a [`RequestLine::NotUtf8`], not an error that
/// ends the stream. The server reads into its own buffer and calls `decode` itself, so it
/// can tell a half-written line (bytes buffered, no newline yet) from an idle connection.
#[derive(Debug, Default)]
pub struct RequestCodec {
    /// Bytes already searched for a newline (so a slow line is not rescanned per read).
    searched: usize,
}

impl Decoder for RequestCodec {
    type Item = RequestLine;
    type Error = RequestFrameError;

    fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<RequestLine>, RequestFrameError> {
        let Some(at) = buf[self.searched..].iter().position(|b| *b == b'\n') else {
            if buf.len() > MAX_FRAME {
                return Err(RequestFrameError::TooLong);
            }
            self.searched = buf.len();
            return Ok(None);
        };
        let end = self.searched + at;
        self.searched = 0;
        let mut line = buf.split_to(end + 1);
        line.truncate(end);
        if line.last() == Some(&b'\r') {
            line.truncate(end - 1);
        }
        if line.len() > MAX_FRAME {
            return Err(RequestFrameError::TooLong);
        }
        Ok(Some(match String::from_utf8(line.to_vec()) {
            Ok(text) => RequestLine::Text(text),
            Err(_) => RequestLine::NotUtf8,
        }))
    }
}

/// The codec clients read replies and events with.
pub fn reply_codec() -> LinesCodec {
    LinesCodec::new_with_max_length(crate::MAX_REPLY)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode_all(bytes: &[u8]) -> (Vec<RequestLine>, BytesMut) {
        let mut codec = RequestCodec::default();
        let mut buf = BytesMut::new();
        let mut lines = vec![];
        // One byte at a time: a line split across reads is still one line.
        for b in bytes {
            buf.extend_from_slice(&[*b]);
            while let Some(line) = codec.decode(&mut buf).unwrap() {
                lines.push(line);
            }
        }
        (lines, buf)
    }

    #[test]
    fn lines_split_anywhere_and_bad_utf8_is_one_line() {
        let (lines, rest) = decode_all(b"{\"a\":1}\r\n\xff\xfe\n\xc3\xa9\npartial");
        assert_eq!(
            lines,
            [
                RequestLine::Text("{\"a\":1}".into()),
                RequestLine::NotUtf8,
                RequestLine::Text("é".into())
            ]
        );
        assert_eq!(&rest[..], b"partial", "a half-written line stays buffered");
    }

    #[test]
    fn the_cap_holds_with_and_without_a_newline() {
        let mut codec = RequestCodec::default();
        let mut exact = BytesMut::from(&vec![b'x'; MAX_FRAME][..]);
        exact.extend_from_slice(b"\n");
        assert!(
            matches!(codec.decode(&mut exact), Ok(Some(RequestLine::Text(t))) if t.len() == MAX_FRAME)
        );
        let mut long = BytesMut::from(&vec![b'x'; MAX_FRAME + 1][..]);
        assert!(matches!(codec.decode(&mut long), Err(RequestFrameError::TooLong)));
        let mut long_line = BytesMut::from(&vec![b'x'; MAX_FRAME + 1][..]);
        long_line.extend_from_slice(b"\n");
        assert!(matches!(
            RequestCodec::default().decode(&mut long_line),
            Err(RequestFrameError::TooLong)
        ));
    }

    use tokio_util::codec::Encoder;

    #[test]
    fn replies_may_be_longer_than_requests() {
        let line = "x".repeat(crate::MAX_FRAME + 1);
        let mut buf = BytesMut::new();
        frame_codec().encode(line.as_str(), &mut buf).unwrap();
        assert!(frame_codec().decode(&mut buf.clone()).is_err(), "a request this long is refused");
        assert_eq!(reply_codec().decode(&mut buf).unwrap().as_deref(), Some(line.as_str()));
    }
}
