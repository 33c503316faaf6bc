//! AWS adapters for the core's ports: DynamoDB job store, S3 object store, SQS queue, and a
//! notifier for SQS queues, SNS topics and signed webhooks. The clients come from the standard AWS
//! environment, so an emulator is only an endpoint URL away.

pub mod clients;
pub mod dynamo;
pub mod keys;
pub mod logging;
pub mod long_poll;
pub mod notifier;
pub mod objects;
pub mod queue;
pub mod sdk_error;
pub mod stack;
pub mod uploads;

pub use clients::{AwsClients, AwsSettings};
pub use dynamo::DynamoStore;
pub use iprod_core::processing::JobMessage;
pub use notifier::AwsNotifier;
pub use objects::S3ObjectStore;
pub use queue::SqsQueue;
