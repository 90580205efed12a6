//! The automatic acknowledgment a patient gets: on the first message of a new or reopened
//! conversation, and on every urgent message.

use serde::{Deserialize, Serialize};

const MAX_ACKNOWLEDGMENT_CHARS: usize = 1000;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AcknowledgmentKind {
    Standard,
    /// Tells the patient what to do in an emergency.
    Urgent,
}

/// An organization's acknowledgment texts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AcknowledgmentTexts {
    pub standard: String,
    pub urgent: String,
}

impl Default for AcknowledgmentTexts {
    fn default() -> Self {
        Self {
            standard: "Thanks for your message — it has reached your clinic. A member of our team \
                       will reply here as soon as they can. If this is a medical emergency, call 911 \
                       or your local emergency number."
                .to_owned(),
            urgent: "Your message may describe an emergency. If you or someone with you is in \
                     danger, or this is a medical emergency, call 911 (or your local emergency \
                     number) now or go to the nearest emergency room. If you are thinking about \
                     harming yourself, call or text 988 (Suicide & Crisis Lifeline). We have \
                     flagged your message as urgent and our team will contact you as soon as \
                     possible."
                .to_owned(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AcknowledgmentTextsError {
    #[error("the `{0}` acknowledgment is empty")]
    Blank(&'static str),
    #[error("the `{0}` acknowledgment is longer than {MAX_ACKNOWLEDGMENT_CHARS} characters")]
    TooLong(&'static str),
    #[error("the `urgent` acknowledgment must tell the patient to call emergency services (mention 911 or \"emergency\")")]
    UrgentWithoutEmergencyAdvice,
}

impl AcknowledgmentTexts {
    /// Checks a replacement set: both texts present and bounded, and the urgent one still
    /// pointing patients at emergency services.
    pub fn validate(self) -> Result<AcknowledgmentTexts, AcknowledgmentTextsError> {
        for (name, text) in [("standard", &self.standard), ("urgent", &self.urgent)] {
            if text.trim().is_empty() {
                return Err(AcknowledgmentTextsError::Blank(name));
            }
            if text.chars().count() > MAX_ACKNOWLEDGMENT_CHARS {
                return Err(AcknowledgmentTextsError::TooLong(name));
            }
        }
        let urgent = self.urgent.to_lowercase();
        if !(urgent.contains("911") || urgent.contains("emergency")) {
            return Err(AcknowledgmentTextsError::UrgentWithoutEmergencyAdvice);
        }
        Ok(self)
    }

    pub fn text(&self, kind: AcknowledgmentKind) -> &str {
        match kind {
            AcknowledgmentKind::Standard => &self.standard,
            AcknowledgmentKind::Urgent => &self.urgent,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_the_urgent_one_says_911() {
        let texts = AcknowledgmentTexts::default().validate().unwrap();
        assert!(texts.text(AcknowledgmentKind::Urgent).contains("911"));
        assert_ne!(
            texts.text(AcknowledgmentKind::Standard),
            texts.text(AcknowledgmentKind::Urgent)
        );
    }

    #[test]
    fn bad_replacements_are_refused() {
        let blank = AcknowledgmentTexts {
            standard: " ".into(),
            ..Default::default()
        };
        assert_eq!(
            blank.validate(),
            Err(AcknowledgmentTextsError::Blank("standard"))
        );
        let long = AcknowledgmentTexts {
            urgent: "emergency ".repeat(200),
            ..Default::default()
        };
        assert_eq!(
            long.validate(),
            Err(AcknowledgmentTextsError::TooLong("urgent"))
        );
        let no_advice = AcknowledgmentTexts {
            urgent: "We will call you.".into(),
            ..Default::default()
        };
        assert_eq!(
            no_advice.validate(),
            Err(AcknowledgmentTextsError::UrgentWithoutEmergencyAdvice)
        );
    }
}
