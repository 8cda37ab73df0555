//! Framing: one JSON object per line, at most [`MAX_FRAME`](crate::MAX_FRAME) bytes.

use tokio_util::codec::LinesCodec;

/// The codec both the broker and clients use. A longer line is an error
/// (`LinesCodecError::MaxLineLengthExceeded`), never an unbounded buffer.
pub fn frame_codec() -> LinesCodec {
    LinesCodec::new_with_max_length(crate::MAX_FRAME)
}
