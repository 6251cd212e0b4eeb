//! SCRAM client (RFC 5802, RFC 7677) as Kafka speaks it: SCRAM-SHA-256 and SCRAM-SHA-512, no
//! channel binding (`n,,`), no SASLprep.
//!
//! Kafka's own client does not apply SASLprep (RFC 4013) to the username or password: it sends
//! their UTF-8 bytes, escaping only `,` as `=2C` and `=` as `=3D` in the username. We do the same,
//! so a credential created with `kafka-configs` works byte for byte; a password that SASLprep
//! would normalise differently still works because the broker does not normalise either.
//!
//! One state machine, generic over the hash: [`ScramSha256`] and [`ScramSha512`] only pick the
//! digest. HMAC and PBKDF2 come from the `hmac` and `pbkdf2` crates.

use std::fmt;
use std::marker::PhantomData;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::digest::core_api::BlockSizeUser;
use hmac::digest::Digest;
use hmac::{Mac, SimpleHmac};
use rand::distributions::Alphanumeric;
use rand::Rng;

use super::{SaslError, SaslStep};

/// A hash function SCRAM can run on. Implemented by marker types; the client is generic over it.
pub trait ScramHash {
    /// The IANA mechanism name, e.g. `SCRAM-SHA-256`.
    const MECHANISM: &'static str;
    /// The digest used for H(), HMAC() and Hi().
    type Digest: Digest + BlockSizeUser + Clone + Sync;
}

/// SCRAM-SHA-256 (RFC 7677).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramSha256 {}

impl ScramHash for ScramSha256 {
    const MECHANISM: &'static str = "SCRAM-SHA-256";
    type Digest = sha2::Sha256;
}

/// SCRAM-SHA-512 (same construction as RFC 7677, with SHA-512).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramSha512 {}

impl ScramHash for ScramSha512 {
    const MECHANISM: &'static str = "SCRAM-SHA-512";
    type Digest = sha2::Sha512;
}

/// Fewest PBKDF2 iterations we accept. Kafka's own client refuses fewer than 4096 for both
/// mechanisms: a server asking for less would make a captured exchange cheap to brute-force.
pub(crate) const MIN_ITERATIONS: u32 = 4096;

/// Most PBKDF2 iterations we accept. Kafka's tooling caps credentials at 16384; this bound is far
/// above that and only stops a hostile server from making us burn minutes of CPU.
pub(crate) const MAX_ITERATIONS: u32 = 1_000_000;

/// Length of the random client nonce. 32 alphanumeric characters carry about 190 bits.
const NONCE_LEN: usize = 32;

/// `n,,`: no channel binding, no authzid. Its base64 is the `c=` attribute of client-final.
const GS2_HEADER: &str = "n,,";

type HmacOf<H> = SimpleHmac<<H as ScramHash>::Digest>;

enum State {
    /// `client_first` has not been called yet.
    Initial,
    /// client-first was produced; waiting for server-first.
    ClientFirstSent,
    /// client-final was produced; waiting for server-final. Keeps what is needed to check the
    /// server's signature.
    ClientFinalSent {
        server_key: Vec<u8>,
        auth_message: String,
    },
    /// The server proved it knows the password.
    Done,
    /// An earlier step failed; the exchange cannot continue.
    Failed,
}

impl State {
    fn name(&self) -> &'static str {
        match self {
            State::Initial => "initial (client-first not sent yet)",
            State::ClientFirstSent => "awaiting server-first",
            State::ClientFinalSent { .. } => "awaiting server-final",
            State::Done => "done",
            State::Failed => "failed",
        }
    }
}

/// The client side of one SCRAM exchange over hash `H`.
pub struct ScramClient<H: ScramHash> {
    password: String,
    client_nonce: String,
    /// `n=<escaped user>,r=<nonce>`: part of the AuthMessage both sides sign.
    client_first_bare: String,
    state: State,
    _hash: PhantomData<H>,
}

impl<H: ScramHash> fmt::Debug for ScramClient<H> {
    // Never print the password or derived keys.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramClient")
            .field("mechanism", &H::MECHANISM)
            .field("client_first_bare", &self.client_first_bare)
            .field("state", &self.state.name())
            .finish_non_exhaustive()
    }
}

impl<H: ScramHash> ScramClient<H> {
    /// Starts an exchange with a fresh random nonce.
    pub fn new(username: &str, password: &str) -> Result<Self, SaslError> {
        let nonce: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(NONCE_LEN)
            .map(char::from)
            .collect();
        Self::with_nonce(username, password, &nonce)
    }

    /// Starts an exchange with a fixed client nonce (for tests against published vectors).
    /// The nonce must be printable ASCII without `,`.
    pub(crate) fn with_nonce(
        username: &str,
        password: &str,
        nonce: &str,
    ) -> Result<Self, SaslError> {
        if username.is_empty() {
            return Err(SaslError::InvalidCredentials(format!(
                "{} username is empty",
                H::MECHANISM
            )));
        }
        if username.contains('\0') || password.contains('\0') {
            return Err(SaslError::InvalidCredentials(format!(
                "{} username or password contains a NUL character",
                H::MECHANISM
            )));
        }
        if nonce.is_empty()
            || !nonce
                .bytes()
                .all(|b| (0x21..=0x7e).contains(&b) && b != b',')
        {
            return Err(SaslError::InvalidCredentials(format!(
                "client nonce {nonce:?} must be non-empty printable ASCII without ','"
            )));
        }
        Ok(ScramClient {
            password: password.to_string(),
            client_nonce: nonce.to_string(),
            client_first_bare: format!("n={},r={nonce}", escape_username(username)),
            state: State::Initial,
            _hash: PhantomData,
        })
    }

    /// The IANA mechanism name of this exchange.
    pub fn mechanism(&self) -> &'static str {
        H::MECHANISM
    }

    /// The client-first message: `n,,n=<escaped user>,r=<nonce>`.
    pub fn client_first(&mut self) -> Vec<u8> {
        if matches!(self.state, State::Initial) {
            self.state = State::ClientFirstSent;
        }
        format!("{GS2_HEADER}{}", self.client_first_bare).into_bytes()
    }

    /// Feeds a server message. The first call takes server-first and returns client-final to
    /// send; the second takes server-final and returns `Done` once the server's signature
    /// verified. Any error ends the exchange.
    pub fn step(&mut self, server: &[u8]) -> Result<SaslStep, SaslError> {
        let state = std::mem::replace(&mut self.state, State::Failed);
        match state {
            State::ClientFirstSent => self.on_server_first(server),
            State::ClientFinalSent {
                server_key,
                auth_message,
            } => on_server_final::<H>(server, &server_key, &auth_message).map(|()| {
                self.state = State::Done;
                SaslStep::Done
            }),
            other => Err(SaslError::UnexpectedMessage {
                state: other.name(),
            }),
        }
    }

    fn on_server_first(&mut self, server: &[u8]) -> Result<SaslStep, SaslError> {
        const WHAT: &str = "SCRAM server-first message";
        let server_first = std::str::from_utf8(server).map_err(|_| SaslError::Malformed {
            message: WHAT,
            reason: "not valid UTF-8".into(),
        })?;
        let attrs = parse_attributes(server_first, WHAT)?;
        if let Some(error) = attribute(&attrs, 'e') {
            return Err(SaslError::Server(error.to_string()));
        }
        if attribute(&attrs, 'm').is_some() {
            return Err(SaslError::Malformed {
                message: WHAT,
                reason: "mandatory extension (m=) is not supported".into(),
            });
        }
        let nonce = required(&attrs, 'r', "nonce", WHAT)?;
        let salt_b64 = required(&attrs, 's', "salt", WHAT)?;
        let iterations_text = required(&attrs, 'i', "iteration count", WHAT)?;

        if !nonce.starts_with(&self.client_nonce) {
            return Err(SaslError::NonceMismatch {
                client: self.client_nonce.clone(),
                server: nonce.to_string(),
            });
        }
        let salt = BASE64.decode(salt_b64).map_err(|e| SaslError::Malformed {
            message: WHAT,
            reason: format!("salt s={salt_b64:?} is not valid base64: {e}"),
        })?;
        if salt.is_empty() {
            return Err(SaslError::Malformed {
                message: WHAT,
                reason: "salt s= is empty".into(),
            });
        }
        let iterations = parse_iterations(iterations_text)?;

        let salted_password = hi::<H>(self.password.as_bytes(), &salt, iterations);
        let client_key = hmac::<H>(&salted_password, b"Client Key");
        let stored_key = <H::Digest as Digest>::digest(&client_key);
        let server_key = hmac::<H>(&salted_password, b"Server Key");

        let client_final_without_proof =
            format!("c={},r={nonce}", BASE64.encode(GS2_HEADER.as_bytes()));
        let auth_message = format!(
            "{},{server_first},{client_final_without_proof}",
            self.client_first_bare
        );
        let client_signature = hmac::<H>(&stored_key, auth_message.as_bytes());
        let proof: Vec<u8> = client_key
            .iter()
            .zip(&client_signature)
            .map(|(k, s)| k ^ s)
            .collect();
        let client_final = format!("{client_final_without_proof},p={}", BASE64.encode(proof));

        self.state = State::ClientFinalSent {
            server_key,
            auth_message,
        };
        Ok(SaslStep::Send(client_final.into_bytes()))
    }
}

fn on_server_final<H: ScramHash>(
    server: &[u8],
    server_key: &[u8],
    auth_message: &str,
) -> Result<(), SaslError> {
    const WHAT: &str = "SCRAM server-final message";
    let text = std::str::from_utf8(server).map_err(|_| SaslError::Malformed {
        message: WHAT,
        reason: "not valid UTF-8".into(),
    })?;
    let attrs = parse_attributes(text, WHAT)?;
    match attrs.first() {
        Some(('e', error)) => Err(SaslError::Server(error.to_string())),
        Some(('v', verifier)) => {
            let signature = BASE64.decode(verifier).map_err(|e| SaslError::Malformed {
                message: WHAT,
                reason: format!("verifier v={verifier:?} is not valid base64: {e}"),
            })?;
            let mut mac = new_hmac::<H>(server_key);
            mac.update(auth_message.as_bytes());
            // verify_slice compares in constant time.
            mac.verify_slice(&signature)
                .map_err(|_| SaslError::ServerSignatureMismatch)
        }
        _ => Err(SaslError::Malformed {
            message: WHAT,
            reason: format!("expected v=<signature> or e=<error>, got {text:?}"),
        }),
    }
}

/// Escapes a username for the `n=` attribute (RFC 5802 §5.1): `=` → `=3D`, `,` → `=2C`.
fn escape_username(username: &str) -> String {
    username.replace('=', "=3D").replace(',', "=2C")
}

/// Splits `a=value,b=value,...` into (attribute, value) pairs, in order.
fn parse_attributes<'a>(
    text: &'a str,
    what: &'static str,
) -> Result<Vec<(char, &'a str)>, SaslError> {
    text.split(',')
        .map(|part| {
            let mut chars = part.chars();
            match (chars.next(), chars.next()) {
                (Some(name), Some('=')) if name.is_ascii_alphabetic() => Ok((name, &part[2..])),
                _ => Err(SaslError::Malformed {
                    message: what,
                    reason: format!("attribute {part:?} is not of the form x=value"),
                }),
            }
        })
        .collect()
}

fn attribute<'a>(attrs: &[(char, &'a str)], name: char) -> Option<&'a str> {
    attrs.iter().find(|(n, _)| *n == name).map(|(_, v)| *v)
}

fn required<'a>(
    attrs: &[(char, &'a str)],
    name: char,
    field: &str,
    what: &'static str,
) -> Result<&'a str, SaslError> {
    match attribute(attrs, name) {
        Some(v) if !v.is_empty() => Ok(v),
        Some(_) => Err(SaslError::Malformed {
            message: what,
            reason: format!("{field} ({name}=) is empty"),
        }),
        None => Err(SaslError::Malformed {
            message: what,
            reason: format!("{field} ({name}=) is missing"),
        }),
    }
}

fn parse_iterations(text: &str) -> Result<u32, SaslError> {
    if !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(SaslError::Malformed {
            message: "SCRAM server-first message",
            reason: format!("iteration count i={text:?} is not a number"),
        });
    }
    // More digits than u64 holds is certainly out of range.
    let count = text.parse::<u64>().unwrap_or(u64::MAX);
    if count < u64::from(MIN_ITERATIONS) || count > u64::from(MAX_ITERATIONS) {
        return Err(SaslError::IterationCount {
            count,
            min: MIN_ITERATIONS,
            max: MAX_ITERATIONS,
        });
    }
    Ok(count as u32)
}

fn new_hmac<H: ScramHash>(key: &[u8]) -> HmacOf<H> {
    // SimpleHmac hashes long keys and pads short ones: no key length is rejected.
    <HmacOf<H> as Mac>::new_from_slice(key).expect("HMAC accepts keys of any length")
}

fn hmac<H: ScramHash>(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = new_hmac::<H>(key);
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Hi() of RFC 5802: PBKDF2 with HMAC-H, output one digest long.
fn hi<H: ScramHash>(password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
    let mut out = vec![0u8; <H::Digest as Digest>::output_size()];
    pbkdf2::pbkdf2::<HmacOf<H>>(password, salt, iterations, &mut out)
        .expect("HMAC accepts keys of any length");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SCRAM-SHA-1, only to run the RFC 5802 §5 vector through the generic code.
    enum ScramSha1 {}
    impl ScramHash for ScramSha1 {
        const MECHANISM: &'static str = "SCRAM-SHA-1";
        type Digest = sha1::Sha1;
    }

    fn send(step: SaslStep) -> String {
        match step {
            SaslStep::Send(b) => String::from_utf8(b).unwrap(),
            SaslStep::Done => panic!("expected Send, got Done"),
        }
    }

    #[test]
    fn rfc5802_sha1_vector() {
        let mut c =
            ScramClient::<ScramSha1>::with_nonce("user", "pencil", "fyko+d2lbbFgONRv9qkxdawL")
                .unwrap();
        assert_eq!(c.client_first(), b"n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL");
        let client_final = send(
            c.step(b"r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096")
                .unwrap(),
        );
        assert_eq!(
            client_final,
            "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts="
        );
        assert_eq!(
            c.step(b"v=rmF9pqV8S7suAoZWja4dJRkFsKQ="),
            Ok(SaslStep::Done)
        );
    }

    const RFC7677_SERVER_FIRST: &[u8] =
        b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";

    fn rfc7677_client() -> ScramClient<ScramSha256> {
        let mut c =
            ScramClient::<ScramSha256>::with_nonce("user", "pencil", "rOprNGfwEbeRWgbNEkqO")
                .unwrap();
        assert_eq!(c.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        c
    }

    #[test]
    fn rfc7677_sha256_vector() {
        let mut c = rfc7677_client();
        assert_eq!(c.mechanism(), "SCRAM-SHA-256");
        let client_final = send(c.step(RFC7677_SERVER_FIRST).unwrap());
        assert_eq!(
            client_final,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,\
             p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        assert_eq!(
            c.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Ok(SaslStep::Done)
        );
        // The exchange is over: another message is a protocol error, not a second success.
        assert!(matches!(
            c.step(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(SaslError::UnexpectedMessage { state: "done" })
        ));
    }

    /// No RFC vector exists for SHA-512; this one was computed independently with Python's
    /// hashlib/hmac (pbkdf2_hmac("sha512", ...)).
    #[test]
    fn sha512_independent_vector() {
        let mut c =
            ScramClient::<ScramSha512>::with_nonce("user", "pencil", "rOprNGfwEbeRWgbNEkqO")
                .unwrap();
        assert_eq!(c.mechanism(), "SCRAM-SHA-512");
        assert_eq!(c.client_first(), b"n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let client_final = send(
            c.step(b"r=rOprNGfwEbeRWgbNEkqOsrvNonce512,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
                .unwrap(),
        );
        assert_eq!(
            client_final,
            "c=biws,r=rOprNGfwEbeRWgbNEkqOsrvNonce512,\
             p=0Grewehg3pEPoIDyRHDU+HPXIsMeSpnt4OYL1kEUTawdwrZY7MGI79P9WjuqplfeYqu18zhXMXYPmgH8z83lFQ=="
        );
        assert_eq!(
            c.step(
                b"v=DYL8wdKzPRPvkd0PDJCDh+Bi+ncJLdUUB13K+D8Y08n3qJBQEGDC7suuORc8IsoA9WkSetfyt1zeOThMe0agAg=="
            ),
            Ok(SaslStep::Done)
        );
    }

    /// Escaped username and a non-ASCII password, also computed independently with Python.
    #[test]
    fn escapes_username_and_signs_the_escaped_form() {
        let mut c = ScramClient::<ScramSha256>::with_nonce("us,er=", "pä,ss", "abc").unwrap();
        assert_eq!(c.client_first(), b"n,,n=us=2Cer=3D,r=abc");
        let client_final = send(c.step(b"r=abcdef,s=c2FsdA==,i=4096").unwrap());
        assert_eq!(
            client_final,
            "c=biws,r=abcdef,p=lajF4nTS4SPI++wtlGhxhXKslOePER9QVoYJxhJCV9I="
        );
        assert_eq!(
            c.step(b"v=ikhi3z0EGxiV8mV9A+ZG/O7WrcuJKJ7UTmOp8jzuTaA="),
            Ok(SaslStep::Done)
        );
    }

    #[test]
    fn random_nonce_is_printable_and_fresh() {
        let mut a = ScramClient::<ScramSha256>::new("u", "p").unwrap();
        let mut b = ScramClient::<ScramSha256>::new("u", "p").unwrap();
        let fa = String::from_utf8(a.client_first()).unwrap();
        let fb = String::from_utf8(b.client_first()).unwrap();
        let na = fa.strip_prefix("n,,n=u,r=").unwrap();
        let nb = fb.strip_prefix("n,,n=u,r=").unwrap();
        assert_eq!(na.len(), NONCE_LEN);
        assert!(na.bytes().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(na, nb);
    }

    #[test]
    fn rejects_server_nonce_not_extending_ours() {
        let mut c = rfc7677_client();
        let err = c
            .step(b"r=XXXXNGfwEbeRWgbNEkqO%hvYDp,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap_err();
        assert_eq!(
            err,
            SaslError::NonceMismatch {
                client: "rOprNGfwEbeRWgbNEkqO".into(),
                server: "XXXXNGfwEbeRWgbNEkqO%hvYDp".into()
            }
        );
        // A failed exchange stays failed.
        assert!(matches!(
            c.step(RFC7677_SERVER_FIRST),
            Err(SaslError::UnexpectedMessage { state: "failed" })
        ));
    }

    #[test]
    fn rejects_bad_base64_salt() {
        let mut c = rfc7677_client();
        let err = c
            .step(b"r=rOprNGfwEbeRWgbNEkqOabc,s=!!notbase64!!,i=4096")
            .unwrap_err();
        match err {
            SaslError::Malformed { message, reason } => {
                assert_eq!(message, "SCRAM server-first message");
                assert!(
                    reason.contains("salt s=\"!!notbase64!!\" is not valid base64"),
                    "{reason}"
                );
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn rejects_missing_attributes() {
        for (msg, field) in [
            (
                &b"s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096"[..],
                "nonce (r=) is missing",
            ),
            (b"r=rOprNGfwEbeRWgbNEkqOx,i=4096", "salt (s=) is missing"),
            (
                b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==",
                "iteration count (i=) is missing",
            ),
            (b"r=rOprNGfwEbeRWgbNEkqOx,s=,i=4096", "salt (s=) is empty"),
            (
                b"garbage",
                "attribute \"garbage\" is not of the form x=value",
            ),
        ] {
            let err = rfc7677_client().step(msg).unwrap_err();
            assert!(
                err.to_string().contains(field),
                "{err} should mention {field}"
            );
        }
    }

    #[test]
    fn rejects_iteration_counts_out_of_range() {
        for (i, expected) in [
            ("4095", 4095u64),
            ("1000001", 1_000_001),
            ("99999999999999999999999", u64::MAX),
        ] {
            let msg = format!("r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i={i}");
            assert_eq!(
                rfc7677_client().step(msg.as_bytes()),
                Err(SaslError::IterationCount {
                    count: expected,
                    min: MIN_ITERATIONS,
                    max: MAX_ITERATIONS
                })
            );
        }
        let err = rfc7677_client()
            .step(b"r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=-5")
            .unwrap_err();
        assert!(
            err.to_string().contains("i=\"-5\" is not a number"),
            "{err}"
        );
    }

    #[test]
    fn rejects_mandatory_extension() {
        let err = rfc7677_client()
            .step(b"m=ext,r=rOprNGfwEbeRWgbNEkqOx,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096")
            .unwrap_err();
        assert!(err.to_string().contains("mandatory extension"), "{err}");
    }

    #[test]
    fn bad_server_signature_is_detected() {
        let mut c = rfc7677_client();
        send(c.step(RFC7677_SERVER_FIRST).unwrap());
        // Right length, first byte changed.
        assert_eq!(
            c.step(b"v=7rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(SaslError::ServerSignatureMismatch)
        );
        let mut c = rfc7677_client();
        send(c.step(RFC7677_SERVER_FIRST).unwrap());
        // Truncated signature.
        assert_eq!(
            c.step(b"v=6rriTRBi"),
            Err(SaslError::ServerSignatureMismatch)
        );
    }

    #[test]
    fn server_error_attribute_is_reported() {
        let mut c = rfc7677_client();
        send(c.step(RFC7677_SERVER_FIRST).unwrap());
        let err = c.step(b"e=invalid-proof").unwrap_err();
        assert_eq!(err, SaslError::Server("invalid-proof".into()));
        assert_eq!(
            err.to_string(),
            "server rejected authentication: invalid-proof"
        );
        // Also in place of server-first.
        assert_eq!(
            rfc7677_client().step(b"e=unknown-user"),
            Err(SaslError::Server("unknown-user".into()))
        );
    }

    #[test]
    fn malformed_server_final() {
        let mut c = rfc7677_client();
        send(c.step(RFC7677_SERVER_FIRST).unwrap());
        let err = c.step(b"x=1").unwrap_err();
        assert!(
            err.to_string()
                .contains("expected v=<signature> or e=<error>"),
            "{err}"
        );
        let mut c = rfc7677_client();
        send(c.step(RFC7677_SERVER_FIRST).unwrap());
        let err = c.step(b"v=%%%").unwrap_err();
        assert!(
            err.to_string()
                .contains("verifier v=\"%%%\" is not valid base64"),
            "{err}"
        );
    }

    #[test]
    fn step_before_client_first_is_an_error() {
        let mut c = ScramClient::<ScramSha256>::with_nonce("user", "pencil", "abc").unwrap();
        assert!(matches!(
            c.step(RFC7677_SERVER_FIRST),
            Err(SaslError::UnexpectedMessage { .. })
        ));
    }

    #[test]
    fn rejects_unusable_credentials_and_nonces() {
        assert!(matches!(
            ScramClient::<ScramSha256>::new("", "p"),
            Err(SaslError::InvalidCredentials(_))
        ));
        assert!(matches!(
            ScramClient::<ScramSha256>::new("u", "p\0"),
            Err(SaslError::InvalidCredentials(_))
        ));
        for nonce in ["", "a,b", "sp ace", "é"] {
            assert!(
                matches!(
                    ScramClient::<ScramSha256>::with_nonce("u", "p", nonce),
                    Err(SaslError::InvalidCredentials(_))
                ),
                "nonce {nonce:?} should be rejected"
            );
        }
    }

    #[test]
    fn debug_hides_the_password() {
        let c = ScramClient::<ScramSha512>::with_nonce("alice", "hunter2", "n0nce").unwrap();
        let shown = format!("{c:?}");
        assert!(shown.contains("SCRAM-SHA-512") && shown.contains("alice"));
        assert!(!shown.contains("hunter2"));
    }
}
