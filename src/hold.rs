use std::time::Duration;

use crate::clock::Timestamp;
use crate::contact::Contact;

/// A 30-day (by default) hold on sensitive operations after a recovery replaced
/// all of an account's security info.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hold {
    /// When the hold ends by itself.
    pub until: Timestamp,
    /// The verified contacts the account had before the recovery that opened the
    /// window; proving any of them but those in `through` ends the hold early.
    pub originals: Vec<Contact>,
    /// The contacts the window's recoveries went through: they cannot end the
    /// hold (an attacker may hold them).
    pub through: Vec<Contact>,
}

/// An open recovery window: what the account looked like before its first
/// recovery in the window.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Recovered {
    /// The latest recovery; the window ends one hold period after it.
    pub at: Timestamp,
    /// The verified contacts before the first recovery of the window.
    pub originals: Vec<Contact>,
    /// The contacts the window's recoveries went through.
    pub through: Vec<Contact>,
}

impl Hold {
    /// The originals that can end the hold: all but those the window's
    /// recoveries went through.
    pub fn releasers(&self) -> impl Iterator<Item = &Contact> {
        self.originals.iter().filter(|o| !self.through.contains(o))
    }
}

/// Where an account is in the hold's life. See the [module docs](crate::store::HoldState).
///
/// # The replacement hold
///
/// The replacement hold as a pure state machine: what a recovery starts, what
/// starts a hold, and what ends it. Time is an argument.
///
/// ```text
///           recovery                     every original gone
///  Idle ─────────────▶ Watching ───────────────────────────▶ Held
///   ▲   (originals =    │  ▲ │ recovery: the window moves,     │
///   │    verified now)  │  └─┘ the originals stay             │ recovery: nothing changes
///   │   window passed   │                                     │ proof of an original,
///   └───────────────────┴─────────────────────────────────────┘ or the hold period passed
/// ```
///
/// As on Microsoft accounts: if, within the hold period after a recovery, the
/// account ends up with **none** of the contacts it had before that recovery, a
/// hold of that period starts, during which sensitive operations wait (see
/// [`AccountSecurity`](crate::AccountSecurity)). The rules that make it hold against an attacker who has
/// recovered the account:
///
/// * **The originals are fixed by the first recovery of a window.** A later
///   recovery (through a contact the attacker added) moves the window's end but
///   never replaces them, so recover → add A → recover via A → remove the owner's
///   contact still starts a hold.
/// * **A recovery during a hold changes nothing.** The hold keeps its end and its
///   originals.
/// * **Only a proof from an original that no recovery of the window went through
///   ends a hold early**, and ending it closes the window: the account is back to
///   idle, with no originals an attacker could own. Every takeover by recovery
///   goes through an original, so that original is exactly the one the attacker
///   may hold (a compromised mailbox); any *other* original is the owner's. An
///   owner who holds another original can always end the hold; an account whose
///   only original was the one recovered through waits for the hold period.
/// * **Security info added during a window or a hold cannot be used for
///   recovery until it ends** (as Microsoft accounts treat new security info):
///   only the originals are offered. So an attacker cannot recover again through
///   the contact they just added, nor redeem a new ticket through it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub enum HoldState {
    /// No recovery window and no hold.
    #[default]
    Idle,
    /// A recovery happened within the hold period.
    Watching(Recovered),
    /// A hold runs.
    Held(Hold),
}

impl HoldState {
    /// The state read back from storage: a hold wins over a window.
    pub fn from_parts(recovered: Option<Recovered>, hold: Option<Hold>) -> Self {
        match (hold, recovered) {
            (Some(h), _) => HoldState::Held(h),
            (None, Some(r)) => HoldState::Watching(r),
            (None, None) => HoldState::Idle,
        }
    }

    /// The window and the hold, for storage (at most one is `Some`).
    pub fn to_parts(&self) -> (Option<Recovered>, Option<Hold>) {
        match self {
            HoldState::Idle => (None, None),
            HoldState::Watching(r) => (Some(r.clone()), None),
            HoldState::Held(h) => (None, Some(h.clone())),
        }
    }

    /// Moves past a window or a hold whose time has run out.
    fn settle(&mut self, period: Duration, now: Timestamp) {
        let over = match self {
            HoldState::Idle => false,
            HoldState::Watching(r) => now >= r.at + period,
            HoldState::Held(h) => now >= h.until,
        };
        if over {
            *self = HoldState::Idle;
        }
    }

    /// The running hold at `now`, if any.
    pub fn hold(&self, now: Timestamp) -> Option<&Hold> {
        match self {
            HoldState::Held(h) if now < h.until => Some(h),
            _ => None,
        }
    }

    /// The open recovery window, if any (it may have run out by now).
    pub fn recovered(&self) -> Option<&Recovered> {
        match self {
            HoldState::Watching(r) => Some(r),
            _ => None,
        }
    }

    /// A recovery through `through` (`None`: with the recovery code, through no
    /// contact) completed at `now`; `verified` are the
    /// account's verified contacts at that moment (before anything the recovery
    /// lets change).
    pub fn on_recovery<'a>(
        &mut self,
        verified: impl Iterator<Item = &'a Contact>,
        through: Option<&Contact>,
        period: Duration,
        now: Timestamp,
    ) {
        self.settle(period, now);
        match self {
            HoldState::Idle => {
                *self = HoldState::Watching(Recovered {
                    at: now,
                    originals: verified.cloned().collect(),
                    through: through.into_iter().cloned().collect(),
                });
            }
            HoldState::Watching(r) => {
                r.at = now;
                if let Some(through) = through.filter(|t| !r.through.contains(t)) {
                    r.through.push(through.clone());
                }
            }
            HoldState::Held(_) => {}
        }
    }

    /// Whether `contact` may be used for recovery at `now`: always, unless a
    /// window or a hold runs, during which only the originals may.
    pub fn usable_for_recovery(&self, contact: &Contact, period: Duration, now: Timestamp) -> bool {
        match self {
            HoldState::Watching(r) if now < r.at + period => r.originals.contains(contact),
            HoldState::Held(h) if now < h.until => h.originals.contains(contact),
            _ => true,
        }
    }

    /// After a change of security info: in a window where none of the originals is
    /// verified any more, a hold of `period` starts. Returns its end if one started.
    pub fn after_change<'a>(
        &mut self,
        verified: impl Iterator<Item = &'a Contact> + Clone,
        period: Duration,
        now: Timestamp,
    ) -> Option<Timestamp> {
        self.settle(period, now);
        let HoldState::Watching(r) = self else {
            return None;
        };
        if r.originals.iter().any(|o| verified.clone().any(|v| v == o)) {
            return None;
        }
        let until = now + period;
        *self = HoldState::Held(Hold {
            until,
            originals: std::mem::take(&mut r.originals),
            through: std::mem::take(&mut r.through),
        });
        Some(until)
    }

    /// A proof of `proven` arrived: a running hold ends if it is one of the
    /// originals that no recovery of the window went through, and the account
    /// is idle again. Returns whether it ended.
    pub fn release(&mut self, proven: &Contact, now: Timestamp) -> bool {
        let ends = self
            .hold(now)
            .is_some_and(|h| h.releasers().any(|o| o == proven));
        if ends {
            *self = HoldState::Idle;
        }
        ends
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: Timestamp = Timestamp::from_unix_millis(1_000_000_000);
    const DAY: Duration = Duration::from_secs(86_400);
    const PERIOD: Duration = Duration::from_secs(30 * 86_400);

    fn c(s: &str) -> Contact {
        Contact::parse(s).unwrap()
    }

    #[test]
    fn replacing_every_original_starts_a_hold() {
        let (v, p, a) = (c("v@example.org"), c("+14255550123"), c("a@example.org"));
        let mut s = HoldState::Idle;
        s.on_recovery([&v, &p].into_iter(), Some(&v), PERIOD, T0);
        assert_eq!(s.after_change([&v, &a].into_iter(), PERIOD, T0), None);
        let until = s.after_change([&a].into_iter(), PERIOD, T0 + DAY);
        assert_eq!(until, Some(T0 + DAY + PERIOD));
        assert_eq!(s.hold(T0 + DAY).unwrap().originals, [v.clone(), p.clone()]);
        assert!(!s.release(&a, T0 + DAY), "an added contact does not end it");
        assert!(
            !s.release(&v, T0 + DAY),
            "the original the recovery went through does not end it"
        );
        assert!(s.release(&p, T0 + DAY), "any other original does");
        assert_eq!(s, HoldState::Idle);
    }

    #[test]
    fn only_originals_recover_during_a_window_or_a_hold() {
        let (v, a) = (c("v@example.org"), c("a@example.org"));
        let mut s = HoldState::Idle;
        assert!(s.usable_for_recovery(&a, PERIOD, T0));
        s.on_recovery([&v].into_iter(), Some(&v), PERIOD, T0);
        assert!(s.usable_for_recovery(&v, PERIOD, T0 + DAY));
        assert!(!s.usable_for_recovery(&a, PERIOD, T0 + DAY));
        s.after_change([&a].into_iter(), PERIOD, T0 + DAY);
        assert!(!s.usable_for_recovery(&a, PERIOD, T0 + 2 * DAY));
        let end = T0 + DAY + PERIOD;
        assert!(s.usable_for_recovery(&a, PERIOD, end), "once the hold ends");
    }

    #[test]
    fn a_later_recovery_keeps_the_originals() {
        let (v, a) = (c("v@example.org"), c("a@example.org"));
        let mut s = HoldState::Idle;
        s.on_recovery([&v].into_iter(), Some(&v), PERIOD, T0);
        s.on_recovery([&v, &a].into_iter(), Some(&a), PERIOD, T0 + DAY);
        assert_eq!(s.recovered().unwrap().originals, std::slice::from_ref(&v));
        assert_eq!(s.recovered().unwrap().at, T0 + DAY);
        assert!(s.after_change([&a].into_iter(), PERIOD, T0 + DAY).is_some());
    }

    #[test]
    fn a_recovery_during_a_hold_changes_nothing_and_windows_close() {
        let (v, a) = (c("v@example.org"), c("a@example.org"));
        let mut s = HoldState::Idle;
        s.on_recovery([&v].into_iter(), Some(&v), PERIOD, T0);
        s.after_change([&a].into_iter(), PERIOD, T0);
        let held = s.clone();
        s.on_recovery([&a].into_iter(), Some(&a), PERIOD, T0 + DAY);
        assert_eq!(s, held);
        // The hold runs out by itself; a window does too.
        assert!(s.hold(T0 + PERIOD).is_none());
        let mut w = HoldState::Idle;
        w.on_recovery([&v].into_iter(), Some(&v), PERIOD, T0);
        assert_eq!(w.after_change([&a].into_iter(), PERIOD, T0 + PERIOD), None);
        assert_eq!(w, HoldState::Idle);
    }

    #[test]
    fn parts_round_trip() {
        let v = c("+14255550123");
        for s in [
            HoldState::Idle,
            HoldState::Watching(Recovered {
                at: T0,
                originals: vec![v.clone()],
                through: vec![v.clone()],
            }),
            HoldState::Held(Hold {
                until: T0,
                originals: vec![v.clone()],
                through: vec![],
            }),
        ] {
            let (r, h) = s.to_parts();
            assert_eq!(HoldState::from_parts(r, h), s);
        }
    }
}
