//! Creates the job table exactly as `template.yaml` declares it, for an emulator:
//! `cargo run -p iprod-aws --example create-table -- NAME` (endpoint and region from the standard
//! AWS environment, e.g. `AWS_ENDPOINT_URL=http://127.0.0.1:5000`).

use iprod_aws::AwsClients;
use iprod_aws::dynamo::schema::create_table;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let name = std::env::args().nth(1).ok_or("usage: create-table TABLE_NAME")?;
    let clients = AwsClients::from_env().await;
    create_table(&clients.dynamodb, &name).await?;
    println!("created table {name}");
    Ok(())
}
