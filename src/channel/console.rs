use std::io::Write;

use crate::channel::{DeliveryChannel, Message};
use crate::error::BoxError;

/// A channel that writes each message, code included, to standard output: for
/// demos and local development only.
#[derive(Clone, Copy, Debug, Default)]
pub struct ConsoleChannel;

impl DeliveryChannel for ConsoleChannel {
    async fn deliver(&self, message: &Message) -> Result<(), BoxError> {
        let mut out = std::io::stdout().lock();
        writeln!(
            out,
            "[to {}] {}\n  {}",
            message.to().expose(),
            message.subject(),
            message.body()
        )?;
        Ok(())
    }
}
