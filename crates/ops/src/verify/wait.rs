//! Waiting for the payment: polls first activation with a once-a-second countdown; Ctrl-C ends the wait.

use std::future::Future;
use std::io::{IsTerminal, Write};
use std::pin::Pin;
use std::time::{Duration, Instant};

use nyra_client::types::LicenseStatus;
use nyra_client::{Desktop, DesktopError};

use super::Options;
use super::checks::{Check, Checkout, describe_status};

/// Seconds between two activation polls.
const POLL_EVERY: u64 = 3;

/// Refusals that mean "not paid yet" (or the webhooks are still on their way): keep polling.
const NOT_YET: [&str; 2] = ["checkout_not_found", "subscription_inactive"];

/// How the wait ended.
#[derive(Debug)]
pub enum Outcome {
    /// The Worker answered active.
    Active(Box<LicenseStatus>),
    /// The deadline passed; the last answer seen.
    TimedOut(String),
    /// The Worker refused in a way waiting cannot fix.
    Refused(String),
    /// The operator pressed Ctrl-C.
    Interrupted,
}

/// The result of polling first activation.
#[derive(Debug)]
pub struct Polled {
    /// How it ended.
    pub outcome: Outcome,
    /// Time from the first poll to the end.
    pub elapsed: Duration,
    /// Activation requests sent.
    pub polls: u32,
    /// Ctrl-C ended the wait.
    pub interrupted: bool,
}

impl Polled {
    /// The `payment` item of a run where a person pays.
    pub fn payment_check(&self) -> Check<()> {
        let seconds = self.elapsed.as_secs();
        match &self.outcome {
            Outcome::Active(_) => Ok((
                (),
                format!("paid: first activation active after {seconds} s"),
            )),
            Outcome::TimedOut(last) => Err(format!(
                "no payment seen within {seconds} s (last answer: {last})"
            )),
            Outcome::Refused(why) => Err(format!("activation refused while waiting: {why}")),
            Outcome::Interrupted => Err(format!(
                "interrupted by Ctrl-C after {seconds} s; nothing else was sent"
            )),
        }
    }

    /// The `activation` item: active, with a device token and a license.
    pub fn activation_check(self) -> Check<LicenseStatus> {
        let polls = self.polls;
        let status = match self.outcome {
            Outcome::Active(status) => *status,
            Outcome::TimedOut(last) => {
                return Err(format!("not active after {polls} polls: {last}"));
            }
            Outcome::Refused(why) => return Err(why),
            Outcome::Interrupted => return Err("interrupted by Ctrl-C".to_owned()),
        };
        if status.device_access_token.is_none() || status.license.is_none() {
            return Err(format!(
                "active but without a device token or license ({})",
                describe_status(&status)
            ));
        }
        let detail = format!("{} after {polls} poll(s)", describe_status(&status));
        Ok((status, detail))
    }
}

/// Prints the checkout URL and how to pay (stderr).
pub fn announce(url: &str) {
    eprintln!(
        "\nOpen the checkout page and pay with a Stripe test card (4242 4242 4242 4242, any future expiry, any CVC):\n\n  {url}\n"
    );
}

/// Polls first activation until active, refused, the deadline, or Ctrl-C (when interactive).
pub async fn activation(options: &Options, checkout: &Checkout, countdown: bool) -> Polled {
    let desktop = Desktop::new(options.base.clone(), options.device_id.clone())
        .with_activation_code(checkout.activation_code.clone());
    let session = checkout.session_id.as_str();
    let mut interrupt = Interrupt::new(options.interactive);
    let started = Instant::now();
    let mut polls = 0;
    let mut last = "no answer yet".to_owned();
    let mut ticker = tokio::time::interval(Duration::from_secs(1));
    ticker.tick().await;
    let outcome = loop {
        let left = options.wait.saturating_sub(started.elapsed());
        if started.elapsed().as_secs() >= u64::from(polls) * POLL_EVERY {
            polls += 1;
            let token = options.secrets.license_api_token.as_str();
            tokio::select! {
                answer = poll(&desktop, token, session) => match answer {
                    Ok(status) => break Outcome::Active(Box::new(status)),
                    Err(Poll::NotYet(why)) => last = why,
                    Err(Poll::Refused(why)) => break Outcome::Refused(why),
                },
                _ = interrupt.wait() => break Outcome::Interrupted,
            }
        }
        if left.is_zero() {
            break Outcome::TimedOut(last);
        }
        if countdown {
            show_countdown(left.as_millis().div_ceil(1000));
        }
        tokio::select! {
            _ = ticker.tick() => {}
            _ = interrupt.wait() => break Outcome::Interrupted,
        }
    };
    finish(outcome, started, polls, countdown && options.interactive)
}

/// Clears the countdown line and says so when the operator interrupted.
fn finish(outcome: Outcome, started: Instant, polls: u32, console: bool) -> Polled {
    let interrupted = matches!(outcome, Outcome::Interrupted);
    if console {
        clear_countdown();
    }
    if interrupted {
        eprintln!("\ninterrupted: stopped waiting for the payment; nothing else was sent");
    }
    Polled {
        outcome,
        elapsed: started.elapsed(),
        polls,
        interrupted,
    }
}

/// Ctrl-C, listened to for the whole wait (one listener, so no press between polls is lost).
struct Interrupt(Option<Pin<Box<dyn Future<Output = std::io::Result<()>> + Send>>>);

impl Interrupt {
    fn new(listen: bool) -> Interrupt {
        Interrupt(listen.then(|| Box::pin(tokio::signal::ctrl_c()) as _))
    }

    /// Resolves on Ctrl-C; never when not listening (or when the handler cannot be installed).
    async fn wait(&mut self) {
        if let Some(signal) = &mut self.0 {
            if signal.await.is_ok() {
                return;
            }
            self.0 = None;
        }
        std::future::pending::<()>().await;
    }
}

/// Why a poll did not find the device active.
enum Poll {
    /// Worth another poll.
    NotYet(String),
    /// Waiting will not help.
    Refused(String),
}

async fn poll(desktop: &Desktop, token: &str, session: &str) -> Result<LicenseStatus, Poll> {
    match desktop.activate(token, session).await {
        Ok(status) if status.active => Ok(status),
        Ok(status) => Err(Poll::NotYet(format!(
            "not active ({})",
            describe_status(&status)
        ))),
        Err(DesktopError::Refused(problem))
            if NOT_YET.contains(&problem.code.to_string().as_str()) =>
        {
            Err(Poll::NotYet(format!("{} {}", problem.status, problem.code)))
        }
        Err(error) if error.stay_in_grace() => Err(Poll::NotYet(error.to_string())),
        Err(DesktopError::Refused(problem)) => Err(Poll::Refused(refusal(&problem))),
        Err(error) => Err(Poll::Refused(error.to_string())),
    }
}

/// A refusal, with what to do about the likely ones.
fn refusal(problem: &nyra_client::types::Problem) -> String {
    let hint = match problem.code.to_string().as_str() {
        "unauthorized" => ": NYRA_LICENSE_API_TOKEN is not the Worker's app token",
        _ => "",
    };
    format!("{} {}{hint}", problem.status, problem.code)
}

fn show_countdown(seconds_left: u128) {
    let text = format!("waiting for the payment: {seconds_left:>4} s left (Ctrl-C to stop)");
    let mut err = std::io::stderr().lock();
    if err.is_terminal() {
        let _ = write!(err, "\r{text}");
    } else {
        let _ = writeln!(err, "{text}");
    }
    let _ = err.flush();
}

fn clear_countdown() {
    let mut err = std::io::stderr().lock();
    if err.is_terminal() {
        let _ = write!(err, "\r{:60}\r", "");
    }
}
