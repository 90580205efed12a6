//! Message text as accepted from a patient or staff member: parsed once at the edge, so that no
//! later code re-checks it.

use std::fmt;

/// Longest message accepted, in characters. Long enough for a detailed symptom description,
/// short enough to read in an inbox and to route quickly.
pub const MAX_MESSAGE_CHARS: usize = 4000;
/// Length of the preview an inbox row shows.
pub const PREVIEW_CHARS: usize = 140;
const MAX_CLIENT_MESSAGE_ID_CHARS: usize = 128;

/// Non-blank, bounded text without control characters other than newline and tab.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MessageBodyError {
    #[error("the message is empty")]
    Blank,
    #[error("the message is longer than {MAX_MESSAGE_CHARS} characters")]
    TooLong,
    #[error("the message contains control characters")]
    ControlCharacters,
}

impl MessageBody {
    pub fn parse(raw: &str) -> Result<MessageBody, MessageBodyError> {
        let normalized = raw.replace("\r\n", "\n").replace('\r', "\n");
        let trimmed = normalized.trim();
        if trimmed.is_empty() {
            return Err(MessageBodyError::Blank);
        }
        if trimmed.chars().count() > MAX_MESSAGE_CHARS {
            return Err(MessageBodyError::TooLong);
        }
        if trimmed
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(MessageBodyError::ControlCharacters);
        }
        Ok(MessageBody(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }

    /// One line of at most [`PREVIEW_CHARS`] characters for inbox rows.
    pub fn preview(&self) -> String {
        preview(&self.0)
    }
}

/// Whitespace collapsed to single spaces, cut at [`PREVIEW_CHARS`] with an ellipsis.
pub fn preview(text: &str) -> String {
    let collapsed = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if collapsed.chars().count() <= PREVIEW_CHARS {
        return collapsed;
    }
    let mut cut: String = collapsed.chars().take(PREVIEW_CHARS - 1).collect();
    cut.push('…');
    cut
}

impl fmt::Display for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The app's idempotency key of a send: printable ASCII without spaces, bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientMessageId(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client_message_id must be 1 to {MAX_CLIENT_MESSAGE_ID_CHARS} printable ASCII characters without spaces")]
pub struct ClientMessageIdError;

impl ClientMessageId {
    pub fn parse(raw: &str) -> Result<ClientMessageId, ClientMessageIdError> {
        let valid = !raw.is_empty()
            && raw.len() <= MAX_CLIENT_MESSAGE_ID_CHARS
            && raw.bytes().all(|b| b.is_ascii_graphic());
        if valid {
            Ok(ClientMessageId(raw.to_owned()))
        } else {
            Err(ClientMessageIdError)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_trimmed_and_line_endings_normalised() {
        let body = MessageBody::parse("  hello\r\nthere\t!  ").unwrap();
        assert_eq!(body.as_str(), "hello\nthere\t!");
    }

    #[test]
    fn blank_long_and_control_text_is_refused() {
        assert_eq!(MessageBody::parse(" \n\t "), Err(MessageBodyError::Blank));
        assert_eq!(MessageBody::parse(""), Err(MessageBodyError::Blank));
        let long = "é".repeat(MAX_MESSAGE_CHARS + 1);
        assert_eq!(MessageBody::parse(&long), Err(MessageBodyError::TooLong));
        assert!(MessageBody::parse(&"é".repeat(MAX_MESSAGE_CHARS)).is_ok());
        assert_eq!(
            MessageBody::parse("a\u{0}b"),
            Err(MessageBodyError::ControlCharacters)
        );
        assert_eq!(
            MessageBody::parse("a\u{1b}[31mb"),
            Err(MessageBodyError::ControlCharacters)
        );
    }

    #[test]
    fn preview_is_one_bounded_line() {
        assert_eq!(preview("a\n\n b"), "a b");
        let long = "word ".repeat(100);
        let cut = preview(&long);
        assert_eq!(cut.chars().count(), PREVIEW_CHARS);
        assert!(cut.ends_with('…'));
    }

    #[test]
    fn client_message_ids_are_bounded_printable_ascii() {
        assert!(ClientMessageId::parse("0193a7b0-8f1e-7c3a-9a51-2d4c6e8f0a1b").is_ok());
        for bad in ["", "has space", "ünïcode", &"x".repeat(129)] {
            assert_eq!(
                ClientMessageId::parse(bad),
                Err(ClientMessageIdError),
                "{bad}"
            );
        }
    }
}
