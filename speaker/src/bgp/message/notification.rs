//! NOTIFICATION (RFC 4271 §4.5) and the Cease shutdown communication (RFC 9003).

use super::error::{code, subcode};

/// A NOTIFICATION message.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Notification {
    /// Error code.
    pub code: u8,
    /// Error subcode.
    pub subcode: u8,
    /// Data.
    pub data: Vec<u8>,
}

impl Notification {
    /// Cease / Administrative Shutdown with a shutdown communication (RFC 9003): a
    /// length byte and up to 255 bytes of UTF-8, cut at a character boundary.
    pub fn shutdown(message: &str) -> Self {
        let mut end = message.len().min(255);
        while !message.is_char_boundary(end) {
            end -= 1;
        }
        let text = &message.as_bytes()[..end];
        let mut data = Vec::with_capacity(1 + text.len());
        data.push(text.len() as u8);
        data.extend_from_slice(text);
        Self {
            code: code::CEASE,
            subcode: subcode::ADMINISTRATIVE_SHUTDOWN,
            data,
        }
    }

    /// The shutdown communication of a Cease / Administrative Shutdown or Reset, if it
    /// carries a well-formed one.
    pub fn shutdown_message(&self) -> Option<&str> {
        if self.code != code::CEASE
            || !matches!(
                self.subcode,
                subcode::ADMINISTRATIVE_SHUTDOWN | subcode::ADMINISTRATIVE_RESET
            )
        {
            return None;
        }
        let (&len, rest) = self.data.split_first()?;
        std::str::from_utf8(rest.get(..usize::from(len))?).ok()
    }
}
