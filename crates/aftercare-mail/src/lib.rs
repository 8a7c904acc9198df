//! Aftercare's mail adapter: [`parse`] turns a received mail into the app's
//! [`InboundMail`](aftercare_app::ports::InboundMail) whatever its charset (UTF-8, GBK,
//! GB18030, Big5, …), and [`SmtpMailer`] is the app's
//! [`Mailer`](aftercare_app::ports::Mailer) over SMTP; [`poll_imap`] takes in the unread
//! mail of a mailbox over IMAP.

mod imap;
mod parse;
mod smtp;

pub use imap::{ImapConfig, ImapError, ImapPolling, PollReport, poll_imap};
pub use parse::{ParseError, RfcMailParser, parse};
pub use smtp::{Security, SmtpConfig, SmtpMailer};
