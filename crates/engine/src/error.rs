//! Errors as the Kinesis and Firehose APIs name them.

use serde::{Deserialize, Serialize};

/// An error of the Kinesis or Firehose API: its exception name and AWS's
/// message. Both speak JSON 1.1 with the same error body.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error, Serialize, Deserialize)]
pub enum ApiError {
    #[error("ValidationException: {0}")]
    Validation(String),
    #[error("InvalidArgumentException: {0}")]
    InvalidArgument(String),
    #[error("ResourceNotFoundException: {0}")]
    ResourceNotFound(String),
    #[error("ResourceInUseException: {0}")]
    ResourceInUse(String),
    #[error("LimitExceededException: {0}")]
    LimitExceeded(String),
    #[error("ProvisionedThroughputExceededException: {0}")]
    ProvisionedThroughputExceeded(String),
    #[error("ExpiredIteratorException: {0}")]
    ExpiredIterator(String),
    #[error("ExpiredNextTokenException: {0}")]
    ExpiredNextToken(String),
    /// The request body is not JSON of the expected shape.
    #[error("SerializationException: {0}")]
    Serialization(String),
    #[error("UnknownOperationException: {0}")]
    UnknownOperation(String),
    #[error("InternalFailure: {0}")]
    InternalFailure(String),
    /// Firehose's throttling and outage error ("Slow down.").
    #[error("ServiceUnavailableException: {0}")]
    ServiceUnavailable(String),
    /// Firehose's answer to an update against a stale version id.
    #[error("ConcurrentModificationException: {0}")]
    ConcurrentModification(String),
    /// AWS Glue: a database or table that does not exist.
    #[error("EntityNotFoundException: {0}")]
    EntityNotFound(String),
    /// AWS Glue: a database or table created twice.
    #[error("AlreadyExistsException: {0}")]
    AlreadyExists(String),
}

impl ApiError {
    pub fn validation(message: impl Into<String>) -> Self {
        ApiError::Validation(message.into())
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        ApiError::InvalidArgument(message.into())
    }

    /// The exception name, as sent in the `__type` of a JSON 1.1 error.
    pub fn name(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "ValidationException",
            ApiError::InvalidArgument(_) => "InvalidArgumentException",
            ApiError::ResourceNotFound(_) => "ResourceNotFoundException",
            ApiError::ResourceInUse(_) => "ResourceInUseException",
            ApiError::LimitExceeded(_) => "LimitExceededException",
            ApiError::ProvisionedThroughputExceeded(_) => "ProvisionedThroughputExceededException",
            ApiError::ExpiredIterator(_) => "ExpiredIteratorException",
            ApiError::ExpiredNextToken(_) => "ExpiredNextTokenException",
            ApiError::Serialization(_) => "SerializationException",
            ApiError::UnknownOperation(_) => "UnknownOperationException",
            ApiError::InternalFailure(_) => "InternalFailure",
            ApiError::ServiceUnavailable(_) => "ServiceUnavailableException",
            ApiError::ConcurrentModification(_) => "ConcurrentModificationException",
            ApiError::EntityNotFound(_) => "EntityNotFoundException",
            ApiError::AlreadyExists(_) => "AlreadyExistsException",
        }
    }

    /// The HTTP status AWS answers with: 500 for internal failures, 400
    /// for everything else.
    pub fn http_status(&self) -> u16 {
        match self {
            ApiError::InternalFailure(_) => 500,
            _ => 400,
        }
    }

    pub fn not_found(message: impl Into<String>) -> Self {
        ApiError::ResourceNotFound(message.into())
    }

    pub fn in_use(message: impl Into<String>) -> Self {
        ApiError::ResourceInUse(message.into())
    }

    pub fn limit_exceeded(message: impl Into<String>) -> Self {
        ApiError::LimitExceeded(message.into())
    }

    /// The JSON 1.1 error body AWS sends: `{"__type": ..., "message": ...}`.
    pub fn body(&self) -> Vec<u8> {
        let body = match self {
            ApiError::InternalFailure(m) if m.is_empty() => {
                serde_json::json!({"__type": self.name()})
            }
            // SerializationException and AWS Glue's errors spell their
            // message member with a capital M.
            ApiError::Serialization(m)
            | ApiError::EntityNotFound(m)
            | ApiError::AlreadyExists(m) => {
                serde_json::json!({"__type": self.name(), "Message": m})
            }
            _ => serde_json::json!({"__type": self.name(), "message": self.message()}),
        };
        body.to_string().into_bytes()
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::Validation(m)
            | ApiError::InvalidArgument(m)
            | ApiError::ResourceNotFound(m)
            | ApiError::ResourceInUse(m)
            | ApiError::LimitExceeded(m)
            | ApiError::ProvisionedThroughputExceeded(m)
            | ApiError::ExpiredIterator(m)
            | ApiError::ExpiredNextToken(m)
            | ApiError::Serialization(m)
            | ApiError::UnknownOperation(m)
            | ApiError::InternalFailure(m)
            | ApiError::ServiceUnavailable(m)
            | ApiError::ConcurrentModification(m)
            | ApiError::EntityNotFound(m)
            | ApiError::AlreadyExists(m) => m,
        }
    }
}
