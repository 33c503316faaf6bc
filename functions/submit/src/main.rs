use std::sync::Arc;

use lambda_runtime::{Error, service_fn};

#[tokio::main]
async fn main() -> Result<(), Error> {
    iprod_aws::logging::init();
    let submit = Arc::new(iprod_submit::Submit::from_env().await?);
    lambda_runtime::run_concurrent(service_fn(move |event| {
        let submit = submit.clone();
        async move { submit.handle(event).await }
    }))
    .await
}
