//! Errors as the Kinesis API names them.

use serde::{Deserialize, Serialize};

/// An error of the Kinesis API: its exception name and AWS's message.
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
    #[error("InternalFailure: {0}")]
    InternalFailure(String),
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
            ApiError::InternalFailure(_) => "InternalFailure",
        }
    }

    pub fn message(&self) -> &str {
        match self {
            ApiError::Validation(m)
            | ApiError::InvalidArgument(m)
            | ApiError::ResourceNotFound(m)
            | ApiError::ResourceInUse(m)
            | ApiError::LimitExceeded(m)
            | ApiError::ProvisionedThroughputExceeded(m)
            | ApiError::InternalFailure(m) => m,
        }
    }
}
