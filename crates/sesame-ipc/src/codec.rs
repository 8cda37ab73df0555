//! Framing: one JSON object per line. Requests are capped at [`MAX_FRAME`](crate::MAX_FRAME)
//! (the broker reads them from any program); replies at [`MAX_REPLY`](crate::MAX_REPLY)
//! (clients read them from the broker, and a list can be long).

use tokio_util::codec::LinesCodec;

/// The codec the broker reads requests with. A longer line is an error
/// (`LinesCodecError::MaxLineLengthExceeded`), never an unbounded buffer. (Writing is not
/// capped: a reply may be longer.)
pub fn frame_codec() -> LinesCodec {
    LinesCodec::new_with_max_length(crate::MAX_FRAME)
}

/// The codec clients read replies and events with.
pub fn reply_codec() -> LinesCodec {
    LinesCodec::new_with_max_length(crate::MAX_REPLY)
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio_util::bytes::BytesMut;
    use tokio_util::codec::{Decoder, Encoder};

    #[test]
    fn replies_may_be_longer_than_requests() {
        let line = "x".repeat(crate::MAX_FRAME + 1);
        let mut buf = BytesMut::new();
        frame_codec().encode(line.as_str(), &mut buf).unwrap();
        assert!(frame_codec().decode(&mut buf.clone()).is_err(), "a request this long is refused");
        assert_eq!(reply_codec().decode(&mut buf).unwrap().as_deref(), Some(line.as_str()));
    }
}
