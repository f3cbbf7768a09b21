//! Webhooks' rules: what an endpoint is (URL, event filter, scope, secrets), which
//! events it wants, when a failed delivery is tried again, when an endpoint that keeps
//! failing is disabled, and which network addresses a delivery may never reach.
//!
//! Deliveries follow Svix's schedule, which Standard Webhooks receivers expect: an
//! immediate attempt, then retries 5 s, 5 min, 30 min, 2 h, 5 h, 10 h and 10 h after
//! each failure ([`RETRY_DELAYS_SECONDS`]), then the delivery is failed. An endpoint
//! all of whose attempts failed for [`DISABLE_AFTER_MICROS`] (five days, from its first
//! failure after its last success) is disabled. Secrets are `whsec_` and the base64 of
//! random bytes; a rotated secret stays valid for [`ROTATION_OVERLAP_MICROS`], and
//! deliveries are signed with both meanwhile. Nothing here does IO: resolving a host
//! and refusing what it resolves to is the worker's job, with [`is_public_address`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::{FieldError, Timestamp};

/// Seconds after each failed attempt before the next: the 1st retry 5 s after the
/// first attempt failed, ..., the 7th 10 h after the 6th retry failed. The attempt
/// after the last of these is the last one.
pub const RETRY_DELAYS_SECONDS: [i64; 7] = [5, 300, 1_800, 7_200, 18_000, 36_000, 36_000];

/// How many attempts a delivery gets at most: the first and one per retry delay.
pub const MAX_ATTEMPTS: u32 = RETRY_DELAYS_SECONDS.len() as u32 + 1;

/// An endpoint whose every attempt has failed for this long (since the first failure
/// after its last success) is disabled: five days.
pub const DISABLE_AFTER_MICROS: i64 = 5 * 86_400 * 1_000_000;

/// How long a rotated-out secret still signs deliveries beside the new one: a day, for
/// the receiver to deploy the new secret.
pub const ROTATION_OVERLAP_MICROS: i64 = 86_400 * 1_000_000;

/// The event written when an endpoint is disabled for failing.
pub const ENDPOINT_DISABLED: &str = "webhook.endpoint_disabled";

/// Every event type an endpoint may ask for: the domain's events
/// ([`crate::DomainEvent::TYPE_NAMES`]) and the webhooks' own.
pub fn event_types() -> impl Iterator<Item = &'static str> {
    crate::DomainEvent::TYPE_NAMES
        .into_iter()
        .chain([ENDPOINT_DISABLED])
}

/// Whether `t` is one of [`event_types`].
pub fn is_event_type(t: &str) -> bool {
    event_types().any(|k| k == t)
}

/// Longest URL an endpoint may have.
pub const MAX_URL_LEN: usize = 2048;

/// When the delivery that has failed `failed_attempts` times (1 or more) is tried
/// again, after a failure at `now`; `None` when it has had all its attempts.
pub fn next_attempt_after(failed_attempts: u32, now: Timestamp) -> Option<Timestamp> {
    let i = usize::try_from(failed_attempts.checked_sub(1)?).ok()?;
    RETRY_DELAYS_SECONDS
        .get(i)
        .map(|s| Timestamp(now.0 + s * 1_000_000))
}

/// Whether an endpoint failing since `failing_since` (its first failed attempt since
/// its last success) is to be disabled after another failure at `now`.
pub fn failing_long_enough(failing_since: Timestamp, now: Timestamp) -> bool {
    now.0 - failing_since.0 >= DISABLE_AFTER_MICROS
}

/// Where a delivery is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeliveryState {
    /// Waiting for its next attempt (or being attempted).
    Pending,
    /// A 2xx was received.
    Succeeded,
    /// All its attempts failed; a replay or a recovery sends it again.
    Failed,
    /// Its endpoint was disabled when the event came: kept so a recovery sends it.
    Skipped,
}

impl DeliveryState {
    pub const ALL: [DeliveryState; 4] = [
        DeliveryState::Pending,
        DeliveryState::Succeeded,
        DeliveryState::Failed,
        DeliveryState::Skipped,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryState::Pending => "pending",
            DeliveryState::Succeeded => "succeeded",
            DeliveryState::Failed => "failed",
            DeliveryState::Skipped => "skipped",
        }
    }

    pub fn parse(s: &str) -> Option<DeliveryState> {
        DeliveryState::ALL.into_iter().find(|d| d.as_str() == s)
    }
}

/// Why an endpoint is disabled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DisabledReason {
    /// Its operator disabled it.
    Manual,
    /// Its deliveries failed for [`DISABLE_AFTER_MICROS`].
    Failing,
}

impl DisabledReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DisabledReason::Manual => "manual",
            DisabledReason::Failing => "failing",
        }
    }

    pub fn parse(s: &str) -> Option<DisabledReason> {
        match s {
            "manual" => Some(DisabledReason::Manual),
            "failing" => Some(DisabledReason::Failing),
            _ => None,
        }
    }
}

/// An endpoint's URL: absolute `http` or `https`, with a host, at most
/// [`MAX_URL_LEN`] bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookUrl(String);

impl WebhookUrl {
    /// Checks `raw` (field `url`). A host that is a literal address is refused unless
    /// it is public or `allow_private` (the `[webhooks] allow_private_addresses`
    /// setting) says otherwise; names are checked when a delivery resolves them.
    pub fn parse(raw: &str, allow_private: bool) -> Result<WebhookUrl, FieldError> {
        let url = outbound_url(raw, allow_private, "[webhooks] allow_private_addresses")?;
        Ok(WebhookUrl(url.to_string()))
    }

    /// A URL as stored (checked when it was created).
    pub fn stored(s: impl Into<String>) -> WebhookUrl {
        WebhookUrl(s.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Checks a URL the hub will send requests to (field `url`): a webhook endpoint, a
/// change feed. `http` or `https` with a host; no fragment, credentials or port 0; a
/// host that is a literal address refused unless it is public or `allow_private` (the
/// configuration's `setting`, named in the refusal) says otherwise. Names are checked
/// when a request resolves them.
pub fn outbound_url(raw: &str, allow_private: bool, setting: &str) -> Result<url::Url, FieldError> {
    let bad = |m: &str| FieldError::new("url", m);
    let raw = raw.trim();
    if raw.len() > MAX_URL_LEN {
        return Err(bad(&format!("must be at most {MAX_URL_LEN} characters")));
    }
    let url = url::Url::parse(raw).map_err(|e| bad(&format!("is not a URL ({e})")))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("must be an http or https URL"));
    }
    let Some(host) = url.host() else {
        return Err(bad("must name a host"));
    };
    let literal = match host {
        url::Host::Ipv4(a) => Some(IpAddr::V4(a)),
        url::Host::Ipv6(a) => Some(IpAddr::V6(a)),
        url::Host::Domain(_) => None,
    };
    if let Some(ip) = literal {
        if !allow_private && !is_public_address(ip) {
            return Err(bad(&format!(
                "{ip} is a loopback, private, link-local or reserved address, which \
                 the hub's requests may not reach ({setting})"
            )));
        }
    }
    if url.fragment().is_some() {
        return Err(bad("must not have a fragment"));
    }
    // Credentials in the URL would be shown to everyone who reads the endpoint or
    // feed (URLs are not sealed as secrets are): webhook receivers verify the
    // signature, change lists take headers.
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad("must not carry a user name or password"));
    }
    if url.port() == Some(0) {
        return Err(bad("port 0 cannot be connected to"));
    }
    Ok(url)
}

/// Whether the hub's outbound requests (webhook deliveries, change feed polls) may
/// reach `ip` when private addresses are not allowed: not
/// loopback, private (RFC 1918, unique local fc00::/7), link-local, unspecified,
/// shared (CGNAT 100.64/10), documentation, benchmarking, multicast, broadcast or
/// otherwise reserved. IPv4 addresses written as IPv6 (mapped, compatible, NAT64) are
/// judged as the IPv4 address they carry.
pub fn is_public_address(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(a) => is_public_v4(a),
        IpAddr::V6(a) => is_public_v6(a),
    }
}

fn is_public_v4(a: Ipv4Addr) -> bool {
    let [b0, b1, b2, _] = a.octets();
    let reserved = b0 == 0 // "this network"
        || b0 == 10
        || b0 == 127
        || (b0 == 100 && (64..128).contains(&b1)) // shared address space (CGNAT)
        || (b0 == 169 && b1 == 254)
        || (b0 == 172 && (16..32).contains(&b1))
        || (b0 == 192 && b1 == 0 && b2 == 0) // IETF protocol assignments
        || (b0 == 192 && b1 == 0 && b2 == 2) // TEST-NET-1
        || (b0 == 192 && b1 == 88 && b2 == 99) // 6to4 relay anycast
        || (b0 == 192 && b1 == 168)
        || (b0 == 198 && (b1 == 18 || b1 == 19)) // benchmarking
        || (b0 == 198 && b1 == 51 && b2 == 100) // TEST-NET-2
        || (b0 == 203 && b1 == 0 && b2 == 113) // TEST-NET-3
        || b0 >= 224; // multicast, reserved, broadcast
    !reserved
}

fn is_public_v6(a: Ipv6Addr) -> bool {
    if let Some(v4) = embedded_v4(a) {
        return is_public_v4(v4);
    }
    let s = a.segments();
    let reserved = a.is_unspecified()
        || a.is_loopback()
        || (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local (deprecated) fec0::/10
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x2001 && s[1] == 0) // Teredo: tunnels to any IPv4
        || s[0] == 0x2002 // 6to4: tunnels to any IPv4
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0) // discard-only
        || (s[0] & 0xe000) != 0x2000; // outside global unicast 2000::/3
    !reserved
}

/// The IPv4 address an IPv6 address carries: mapped (`::ffff:a.b.c.d`), compatible
/// (`::a.b.c.d`, deprecated) or NAT64 (`64:ff9b::a.b.c.d`).
fn embedded_v4(a: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = a.segments();
    let low = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    let head_zero = s[..5].iter().all(|&x| x == 0);
    if head_zero && (s[5] == 0xffff || (s[5] == 0 && (s[6] != 0 || s[7] > 1))) {
        return Some(low);
    }
    if s[0] == 0x64 && s[1] == 0xff9b && s[2..6].iter().all(|&x| x == 0) {
        return Some(low);
    }
    None
}

/// Which event types an endpoint receives: all of them, or those listed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum EventFilter {
    #[default]
    All,
    /// Sorted, without repeats, never empty.
    Only(Vec<String>),
}

impl EventFilter {
    /// The filter for the `events` field: absent is every type; listed types must be
    /// known ([`event_types`]), at least one.
    pub fn parse(events: Option<&[String]>) -> Result<EventFilter, FieldError> {
        let Some(events) = events else {
            return Ok(EventFilter::All);
        };
        if events.is_empty() {
            return Err(FieldError::new(
                "events",
                "must list at least one event type (leave it out for all of them)",
            ));
        }
        let mut types = Vec::with_capacity(events.len());
        for (i, t) in events.iter().enumerate() {
            let t = t.trim();
            if !is_event_type(t) {
                return Err(FieldError::new(
                    format!("events[{i}]"),
                    format!("unknown event type '{t}' (the README lists them)"),
                ));
            }
            types.push(t.to_string());
        }
        types.sort();
        types.dedup();
        Ok(EventFilter::Only(types))
    }

    pub fn wants(&self, event_type: &str) -> bool {
        match self {
            EventFilter::All => true,
            EventFilter::Only(types) => types
                .binary_search_by(|t| t.as_str().cmp(event_type))
                .is_ok(),
        }
    }

    /// The listed types, `None` for all.
    pub fn types(&self) -> Option<&[String]> {
        match self {
            EventFilter::All => None,
            EventFilter::Only(t) => Some(t),
        }
    }
}

/// A signing secret: `whsec_` and the base64 of its key bytes.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookSecret(String);

impl std::fmt::Debug for WebhookSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("\"whsec_***\"")
    }
}

/// The prefix Standard Webhooks secrets carry.
pub const SECRET_PREFIX: &str = "whsec_";

impl WebhookSecret {
    /// The secret whose key is `bytes` (random, from the caller).
    pub fn from_key(bytes: &[u8]) -> WebhookSecret {
        use base64::Engine;
        WebhookSecret(format!(
            "{SECRET_PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(bytes)
        ))
    }

    /// A stored secret, or one a client gave.
    pub fn parse(s: &str) -> Result<WebhookSecret, FieldError> {
        let secret = WebhookSecret(s.to_string());
        match secret.key() {
            Some(k) if k.len() >= 16 => Ok(secret),
            _ => Err(FieldError::new(
                "secret",
                "must be whsec_ and the base64 of at least 16 bytes",
            )),
        }
    }

    /// The key HMACs are computed with: the base64-decoded bytes after `whsec_`.
    pub fn key(&self) -> Option<Vec<u8>> {
        use base64::Engine;
        let b64 = self.0.strip_prefix(SECRET_PREFIX)?;
        base64::engine::general_purpose::STANDARD.decode(b64).ok()
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// A secret rotated out, still signing until `until`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PreviousSecret {
    pub secret: WebhookSecret,
    pub until: Timestamp,
}

/// Where events of an operator (or of one of its sellers) are POSTed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WebhookEndpoint {
    pub id: String,
    pub operator_id: String,
    /// `None`: every seller of the operator, and the operator's own events.
    pub seller_id: Option<String>,
    pub url: WebhookUrl,
    pub events: EventFilter,
    pub description: String,
    pub enabled: bool,
    /// Why it is disabled (`None` while enabled).
    pub disabled_reason: Option<DisabledReason>,
    pub secret: WebhookSecret,
    pub previous_secret: Option<PreviousSecret>,
    /// The time of its first failed attempt since its last success; `None` while its
    /// last attempt succeeded (or none was made).
    pub failing_since: Option<Timestamp>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    /// Moves with every write, so a change decided on an old read is refused stale.
    pub version: i64,
}

impl WebhookEndpoint {
    /// Whether an event of `event_type` of (`operator_id`, `seller_id`) goes to this
    /// endpoint (enabled or not): its operator's, of its seller if it has one, of a
    /// type its filter wants. Operator-wide events (no seller) reach operator-wide
    /// endpoints only.
    pub fn wants(&self, operator_id: &str, seller_id: Option<&str>, event_type: &str) -> bool {
        self.operator_id == operator_id
            && self
                .seller_id
                .as_deref()
                .is_none_or(|s| Some(s) == seller_id)
            && self.events.wants(event_type)
    }

    /// The secrets a delivery at `now` is signed with: the current one first, then
    /// the rotated-out one while it is still valid.
    pub fn signing_secrets(&self, now: Timestamp) -> Vec<&WebhookSecret> {
        let mut s = vec![&self.secret];
        if let Some(p) = &self.previous_secret {
            if now < p.until {
                s.push(&p.secret);
            }
        }
        s
    }

    /// Takes `new` as its secret at `now`; the current one keeps signing for
    /// [`ROTATION_OVERLAP_MICROS`] (a secret rotated out earlier stops now).
    pub fn rotate(&mut self, new: WebhookSecret, now: Timestamp) {
        let old = std::mem::replace(&mut self.secret, new);
        self.previous_secret = Some(PreviousSecret {
            secret: old,
            until: Timestamp(now.0 + ROTATION_OVERLAP_MICROS),
        });
        self.updated_at = now;
    }

    /// Enables or disables it by hand. Enabling starts its failure count anew, so the
    /// next failure does not disable it again at once.
    pub fn set_enabled(&mut self, enabled: bool, now: Timestamp) {
        if enabled {
            self.enabled = true;
            self.disabled_reason = None;
            self.failing_since = None;
        } else if self.enabled {
            self.enabled = false;
            self.disabled_reason = Some(DisabledReason::Manual);
        }
        self.updated_at = now;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_is_svix_s_and_ends_after_eight_attempts() {
        let t0 = Timestamp(0);
        let delays: Vec<i64> = (1..=7)
            .map(|n| next_attempt_after(n, t0).unwrap().0 / 1_000_000)
            .collect();
        assert_eq!(delays, [5, 300, 1800, 7200, 18000, 36000, 36000]);
        assert_eq!(next_attempt_after(8, t0), None);
        assert_eq!(next_attempt_after(0, t0), None);
        assert_eq!(MAX_ATTEMPTS, 8);
    }

    #[test]
    fn every_domain_event_type_is_known() {
        for t in crate::DomainEvent::TYPE_NAMES {
            assert!(is_event_type(t), "{t}");
        }
        assert!(is_event_type(ENDPOINT_DISABLED));
        assert!(!is_event_type("order.nope"));
    }

    #[test]
    fn five_days_of_failures_disable() {
        let since = Timestamp(1_000);
        assert!(!failing_long_enough(
            since,
            Timestamp(since.0 + DISABLE_AFTER_MICROS - 1)
        ));
        assert!(failing_long_enough(
            since,
            Timestamp(since.0 + DISABLE_AFTER_MICROS)
        ));
    }

    #[test]
    fn private_and_reserved_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.16.0.9",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.255",
            "0.0.0.0",
            "0.1.2.3",
            "224.0.0.1",
            "255.255.255.255",
            "198.18.0.1",
            "192.0.2.1",
            "192.0.0.8",
            "::",
            "::1",
            "fc00::1",
            "fd00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2001:db8::1",
            "2002:7f00:1::",
            "2001:0:4136:e378::",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(!is_public_address(ip), "{ip} must not be public");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "192.169.0.1",
            "200.147.67.142",
            "2606:4700:4700::1111",
            "2804:14c::1",
            "::ffff:8.8.8.8",
            "64:ff9b::808:808",
        ] {
            let ip: IpAddr = ip.parse().unwrap();
            assert!(is_public_address(ip), "{ip} is public");
        }
    }

    #[test]
    fn urls_are_http_or_https_with_a_public_literal_host() {
        assert!(WebhookUrl::parse("https://hooks.example.com/in?x=1", false).is_ok());
        assert!(WebhookUrl::parse("http://8.8.8.8:8080/", false).is_ok());
        for bad in [
            "ftp://example.com/",
            "not a url",
            "http://127.0.0.1/hook",
            "http://[::1]:9000/",
            "http://169.254.169.254/latest",
            "http://10.0.0.1/",
            "https://example.com/#frag",
            "http://user:p%40ss@8.8.8.8/hook",
            "https://user@example.com/",
            "http://8.8.8.8:0/",
        ] {
            let e = WebhookUrl::parse(bad, false).unwrap_err();
            assert_eq!(e.field, "url", "{bad}");
        }
        assert!(WebhookUrl::parse("http://127.0.0.1:9000/hook", true).is_ok());
    }

    #[test]
    fn filters_name_known_types() {
        assert_eq!(EventFilter::parse(None).unwrap(), EventFilter::All);
        let f = EventFilter::parse(Some(&[
            "order.status_changed".into(),
            "ticket.opened".into(),
            "order.status_changed".into(),
        ]))
        .unwrap();
        assert!(f.wants("order.status_changed") && f.wants("ticket.opened"));
        assert!(!f.wants("order.invoiced"));
        let e = EventFilter::parse(Some(&["order.status_changed".into(), "order.nope".into()]))
            .unwrap_err();
        assert_eq!(e.field, "events[1]");
        assert_eq!(EventFilter::parse(Some(&[])).unwrap_err().field, "events");
    }

    #[test]
    fn secrets_rotate_with_an_overlap() {
        let s1 = WebhookSecret::from_key(&[1; 24]);
        assert!(s1.expose().starts_with("whsec_"));
        assert_eq!(s1.key().unwrap(), vec![1; 24]);
        assert!(WebhookSecret::parse(s1.expose()).is_ok());
        assert!(WebhookSecret::parse("whsec_!!").is_err());
        let mut e = WebhookEndpoint {
            id: "e".into(),
            operator_id: "o".into(),
            seller_id: None,
            url: WebhookUrl::stored("https://example.com/"),
            events: EventFilter::All,
            description: String::new(),
            enabled: true,
            disabled_reason: None,
            secret: s1.clone(),
            previous_secret: None,
            failing_since: None,
            created_at: Timestamp(0),
            updated_at: Timestamp(0),
            version: 1,
        };
        let s2 = WebhookSecret::from_key(&[2; 24]);
        e.rotate(s2.clone(), Timestamp(10));
        assert_eq!(e.signing_secrets(Timestamp(11)), vec![&s2, &s1]);
        assert_eq!(
            e.signing_secrets(Timestamp(10 + ROTATION_OVERLAP_MICROS)),
            vec![&s2]
        );
        assert!(e.wants("o", Some("any"), "order.invoiced"));
        e.seller_id = Some("s".into());
        assert!(e.wants("o", Some("s"), "order.invoiced"));
        assert!(!e.wants("o", Some("t"), "order.invoiced"));
        assert!(!e.wants("o", None, "order.invoiced"));
        assert!(!e.wants("p", Some("s"), "order.invoiced"));
    }
}
