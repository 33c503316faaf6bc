use std::sync::Arc;

use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    iprod_aws::logging::init();
    let notify = Arc::new(iprod_notify::Notify::from_env().await?);
    lambda_runtime::run_concurrent(service_fn(move |event| {
        let notify = notify.clone();
        async move { notify.handle(event).await }
    }))
    .await
}
