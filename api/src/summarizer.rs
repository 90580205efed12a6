//! Drafting handoff summaries: a language model behind an OpenAI-compatible chat-completions API
//! (hosted, or local such as Ollama, vLLM or llama.cpp) when one is configured, and the
//! extractive summary of `domain::handoff` otherwise — and whenever the model fails, is slow or
//! answers nonsense, so drafting always works offline. Request and answer carry patient text:
//! neither is ever logged, only status codes, attempts and durations.

use std::time::{Duration, Instant};

use domain::handoff::{
    build_prompt, clean_draft, extractive_summary, ChatMessage, ThreadForSummary,
};
use reqwest::header::{HeaderMap, RETRY_AFTER};
use reqwest::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::config::LlmSettings;

/// Retries after the first attempt, on 429 and 5xx only: a timeout already used the time a
/// retry would need, and a refused connection will be refused again.
pub const MAX_RETRIES: u32 = 2;
/// Wait before the first retry; doubled for each further one.
const FIRST_BACKOFF: Duration = Duration::from_millis(250);
/// Longest `Retry-After` honoured: beyond it the extractive draft beats waiting.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(2);
const MAX_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Largest answer read; a summary is a few kilobytes.
const MAX_ANSWER_BYTES: usize = 256 * 1024;
/// Low, because a summary should restate the thread, not embellish it.
const TEMPERATURE: f32 = 0.2;

/// Which summarizer wrote a draft.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum GeneratedBy {
    /// The configured language model.
    Llm,
    /// The built-in extractive summary: the thread's own sentences. Used when no model is
    /// configured or the model failed.
    Extractive,
}

#[derive(Debug, Clone)]
pub struct Draft {
    pub summary: String,
    pub generated_by: GeneratedBy,
    /// The model that wrote an `llm` draft.
    pub model: Option<String>,
}

/// Drafts with the model when one is configured, extractively otherwise or when it fails.
pub struct Summarizer {
    llm: Option<LlmClient>,
}

impl Summarizer {
    /// Builds the one HTTP client the model is reached with (it pools connections).
    pub fn new(settings: Option<&LlmSettings>) -> Result<Summarizer, reqwest::Error> {
        let llm = settings.map(LlmClient::new).transpose()?;
        match &llm {
            Some(llm) => {
                tracing::info!(model = %llm.model, "handoff summaries are drafted by an LLM")
            }
            None => tracing::info!("no LLM configured: handoff summaries are drafted extractively"),
        }
        Ok(Summarizer { llm })
    }

    pub async fn draft(&self, thread: &ThreadForSummary) -> Draft {
        if let Some(llm) = &self.llm {
            match llm.summarize(thread).await {
                Ok(summary) => {
                    return Draft {
                        summary,
                        generated_by: GeneratedBy::Llm,
                        model: Some(llm.model.clone()),
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %error, "LLM summary failed; drafting extractively");
                }
            }
        }
        Draft {
            summary: extractive_summary(thread),
            generated_by: GeneratedBy::Extractive,
            model: None,
        }
    }
}

/// Why the model gave no draft. Deliberately without detail: reqwest's messages name the URL,
/// and nothing of an answer's body may reach the log.
#[derive(Debug, thiserror::Error)]
enum LlmError {
    #[error("no answer in time")]
    Timeout,
    #[error("cannot connect")]
    Connect,
    #[error("the request failed")]
    Transport,
    #[error("answered HTTP {0}")]
    Status(u16),
    #[error("the answer is larger than {MAX_ANSWER_BYTES} bytes")]
    TooLarge,
    #[error("the answer is not a chat completion")]
    Malformed,
    #[error("the answer holds no summary")]
    Empty,
}

impl From<reqwest::Error> for LlmError {
    fn from(error: reqwest::Error) -> Self {
        if error.is_timeout() {
            LlmError::Timeout
        } else if error.is_connect() {
            LlmError::Connect
        } else {
            LlmError::Transport
        }
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: &'a [ChatMessage],
    temperature: f32,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
}

#[derive(Deserialize)]
struct AnswerMessage {
    content: Option<String>,
}

struct LlmClient {
    http: reqwest::Client,
    endpoint: String,
    api_key: Option<SecretString>,
    model: String,
    /// The most a draft waits for the model, retries and backoff included.
    deadline: Duration,
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl LlmClient {
    fn new(settings: &LlmSettings) -> Result<LlmClient, reqwest::Error> {
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout.min(MAX_CONNECT_TIMEOUT))
            .timeout(settings.timeout)
            // The request carries the key and patient text: it goes where configured or nowhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(LlmClient {
            http,
            endpoint: format!("{}/chat/completions", settings.base_url),
            api_key: settings.api_key.clone(),
            model: settings.model.clone(),
            deadline: settings.timeout,
        })
    }

    async fn summarize(&self, thread: &ThreadForSummary) -> Result<String, LlmError> {
        let messages = build_prompt(thread);
        let request = ChatRequest {
            model: &self.model,
            messages: &messages,
            temperature: TEMPERATURE,
        };
        let started = Instant::now();
        let answer = tokio::time::timeout(self.deadline, self.complete(&request))
            .await
            .unwrap_or(Err(LlmError::Timeout));
        tracing::info!(
            elapsed_ms = millis(started.elapsed()),
            answered = answer.is_ok(),
            "LLM summary call finished"
        );
        clean_draft(&answer?).ok_or(LlmError::Empty)
    }

    /// Posts the request, retrying 429 and 5xx answers at most [`MAX_RETRIES`] times.
    async fn complete(&self, request: &ChatRequest<'_>) -> Result<String, LlmError> {
        let mut attempt = 0;
        loop {
            let mut call = self.http.post(&self.endpoint).json(request);
            if let Some(key) = &self.api_key {
                call = call.bearer_auth(key.expose_secret());
            }
            let started = Instant::now();
            let response = call.send().await?;
            let status = response.status();
            tracing::info!(
                attempt,
                status = status.as_u16(),
                elapsed_ms = millis(started.elapsed()),
                "LLM summary call answered"
            );
            if status.is_success() {
                return read_answer(response).await;
            }
            let retryable = status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error();
            if !retryable || attempt == MAX_RETRIES {
                return Err(LlmError::Status(status.as_u16()));
            }
            tokio::time::sleep(backoff(attempt, response.headers())).await;
            attempt += 1;
        }
    }
}

/// Exponential backoff, or the server's `Retry-After` (in seconds) when longer, capped.
fn backoff(attempt: u32, headers: &HeaderMap) -> Duration {
    let exponential = FIRST_BACKOFF * 2u32.saturating_pow(attempt);
    let asked = headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map_or(Duration::ZERO, Duration::from_secs);
    exponential.max(asked.min(MAX_RETRY_AFTER))
}

/// `choices[0].message.content` of a completion, reading at most [`MAX_ANSWER_BYTES`].
async fn read_answer(mut response: reqwest::Response) -> Result<String, LlmError> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await? {
        if body.len() + chunk.len() > MAX_ANSWER_BYTES {
            return Err(LlmError::TooLarge);
        }
        body.extend_from_slice(&chunk);
    }
    let completion: ChatResponse =
        serde_json::from_slice(&body).map_err(|_| LlmError::Malformed)?;
    completion
        .choices
        .into_iter()
        .next()
        .and_then(|choice| choice.message.content)
        .ok_or(LlmError::Malformed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::header::HeaderValue;

    #[test]
    fn backoff_doubles_and_honours_a_short_retry_after() {
        let none = HeaderMap::new();
        assert_eq!(backoff(0, &none), Duration::from_millis(250));
        assert_eq!(backoff(1, &none), Duration::from_millis(500));
        let mut asked = HeaderMap::new();
        asked.insert(RETRY_AFTER, HeaderValue::from_static("1"));
        assert_eq!(backoff(0, &asked), Duration::from_secs(1));
        asked.insert(RETRY_AFTER, HeaderValue::from_static("3600"));
        assert_eq!(backoff(0, &asked), MAX_RETRY_AFTER);
        asked.insert(
            RETRY_AFTER,
            HeaderValue::from_static("Wed, 21 Oct 2026 07:28:00 GMT"),
        );
        assert_eq!(backoff(0, &asked), Duration::from_millis(250));
    }
}
