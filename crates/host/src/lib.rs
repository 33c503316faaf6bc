//! What a process of either runtime does the same way with the outside world: deliver webhooks
//! (the embedded notifier and the notify Lambda both post through [`webhook::WebhookPoster`])
//! and stop on a signal (`iprod serve`, `process --worker`). Neither runtime's crate depends on
//! the other for these.

pub mod shutdown;
pub mod webhook;
