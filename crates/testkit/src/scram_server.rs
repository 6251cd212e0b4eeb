//! The server side of SCRAM-SHA-256/512 (RFC 5802 / RFC 7677) and a PLAIN verifier, for the
//! test front.
//!
//! Written independently of the client in `kreplicate-wire` (its own parsing, its own key
//! derivation on concrete `Hmac<Sha256>` / `Hmac<Sha512>` types) so that a bug in one side shows
//! up as a failed exchange instead of being mirrored by the other.

use std::collections::HashMap;
use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::STANDARD as BASE64;
use base64::Engine;
use hmac::{Hmac, Mac};
use rand::distributions::Alphanumeric;
use rand::{Rng, RngCore};
use sha2::{Digest, Sha256, Sha512};

/// Iterations used when deriving stored credentials (Kafka's minimum and default).
pub const DEFAULT_ITERATIONS: u32 = 4096;

/// The hash of a SCRAM mechanism.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScramAlgorithm {
    Sha256,
    Sha512,
}

impl ScramAlgorithm {
    /// The IANA mechanism name.
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramAlgorithm::Sha256 => "SCRAM-SHA-256",
            ScramAlgorithm::Sha512 => "SCRAM-SHA-512",
        }
    }

    fn hash(self, data: &[u8]) -> Vec<u8> {
        match self {
            ScramAlgorithm::Sha256 => Sha256::digest(data).to_vec(),
            ScramAlgorithm::Sha512 => Sha512::digest(data).to_vec(),
        }
    }

    fn hmac(self, key: &[u8], data: &[u8]) -> Vec<u8> {
        match self {
            ScramAlgorithm::Sha256 => {
                let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(key)
                    .expect("HMAC accepts keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
            ScramAlgorithm::Sha512 => {
                let mut mac = <Hmac<Sha512> as Mac>::new_from_slice(key)
                    .expect("HMAC accepts keys of any length");
                mac.update(data);
                mac.finalize().into_bytes().to_vec()
            }
        }
    }

    fn salted_password(self, password: &[u8], salt: &[u8], iterations: u32) -> Vec<u8> {
        match self {
            ScramAlgorithm::Sha256 => {
                pbkdf2::pbkdf2_hmac_array::<Sha256, 32>(password, salt, iterations).to_vec()
            }
            ScramAlgorithm::Sha512 => {
                pbkdf2::pbkdf2_hmac_array::<Sha512, 64>(password, salt, iterations).to_vec()
            }
        }
    }
}

/// What a broker stores per user: never the password itself.
#[derive(Clone)]
struct StoredCredential {
    salt: Vec<u8>,
    iterations: u32,
    stored_key: Vec<u8>,
    server_key: Vec<u8>,
}

/// Credentials of every user for one algorithm, derived once with a random salt per user.
pub struct ScramUsers {
    algorithm: ScramAlgorithm,
    users: HashMap<String, StoredCredential>,
}

impl fmt::Debug for ScramUsers {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&String> = self.users.keys().collect();
        names.sort();
        f.debug_struct("ScramUsers")
            .field("algorithm", &self.algorithm)
            .field("users", &names)
            .finish()
    }
}

impl ScramUsers {
    /// Derives credentials for `users` (name → password) with [`DEFAULT_ITERATIONS`].
    pub fn new(algorithm: ScramAlgorithm, users: &HashMap<String, String>) -> Self {
        Self::with_iterations(algorithm, users, DEFAULT_ITERATIONS)
    }

    /// Derives credentials with a chosen iteration count (e.g. a too-low one, to check that a
    /// client refuses it).
    pub fn with_iterations(
        algorithm: ScramAlgorithm,
        users: &HashMap<String, String>,
        iterations: u32,
    ) -> Self {
        let users = users
            .iter()
            .map(|(name, password)| {
                let mut salt = vec![0u8; 16];
                rand::thread_rng().fill_bytes(&mut salt);
                let salted = algorithm.salted_password(password.as_bytes(), &salt, iterations);
                let client_key = algorithm.hmac(&salted, b"Client Key");
                let credential = StoredCredential {
                    stored_key: algorithm.hash(&client_key),
                    server_key: algorithm.hmac(&salted, b"Server Key"),
                    salt,
                    iterations,
                };
                (name.clone(), credential)
            })
            .collect();
        ScramUsers { algorithm, users }
    }

    /// The algorithm these credentials are for.
    pub fn algorithm(&self) -> ScramAlgorithm {
        self.algorithm
    }
}

/// Why the server refused a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramServerError {
    /// The client message does not follow the grammar.
    Malformed(String),
    /// No such user.
    UnknownUser(String),
    /// The proof is wrong: the client does not know the password.
    InvalidProof { user: String },
    /// A message arrived when none was expected.
    UnexpectedMessage,
}

impl fmt::Display for ScramServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ScramServerError::Malformed(why) => write!(f, "malformed SCRAM client message: {why}"),
            ScramServerError::UnknownUser(u) => write!(f, "unknown SCRAM user {u:?}"),
            ScramServerError::InvalidProof { user } => {
                write!(f, "invalid SCRAM proof for user {user:?}")
            }
            ScramServerError::UnexpectedMessage => write!(f, "unexpected SCRAM client message"),
        }
    }
}

impl std::error::Error for ScramServerError {}

/// What the server sends next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScramServerStep {
    /// server-first; the exchange continues.
    Challenge(Vec<u8>),
    /// server-final (`v=...`); `user` is authenticated.
    Success { server_final: Vec<u8>, user: String },
}

enum ServerState {
    AwaitClientFirst,
    AwaitClientFinal {
        user: String,
        credential: StoredCredential,
        nonce: String,
        client_first_bare: String,
        server_first: String,
    },
    Finished,
}

/// One server-side SCRAM exchange (sans-io).
pub struct ScramServer {
    users: Arc<ScramUsers>,
    verify_proof: bool,
    state: ServerState,
}

impl fmt::Debug for ScramServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScramServer")
            .field("algorithm", &self.users.algorithm)
            .field("verify_proof", &self.verify_proof)
            .finish_non_exhaustive()
    }
}

impl ScramServer {
    /// A server that authenticates against `users`.
    pub fn new(users: Arc<ScramUsers>) -> Self {
        ScramServer {
            users,
            verify_proof: true,
            state: ServerState::AwaitClientFirst,
        }
    }

    /// An impostor for negative tests: it accepts any proof and signs with its own (possibly
    /// wrong) credential, so a client must notice the server signature does not match.
    pub fn without_proof_check(users: Arc<ScramUsers>) -> Self {
        ScramServer {
            verify_proof: false,
            ..Self::new(users)
        }
    }

    /// Feeds one client message: client-first yields a challenge, client-final a success.
    pub fn step(&mut self, client: &[u8]) -> Result<ScramServerStep, ScramServerError> {
        match std::mem::replace(&mut self.state, ServerState::Finished) {
            ServerState::AwaitClientFirst => self.client_first(client),
            ServerState::AwaitClientFinal {
                user,
                credential,
                nonce,
                client_first_bare,
                server_first,
            } => self.client_final(
                client,
                user,
                &credential,
                &nonce,
                &client_first_bare,
                &server_first,
            ),
            ServerState::Finished => Err(ScramServerError::UnexpectedMessage),
        }
    }

    fn client_first(&mut self, msg: &[u8]) -> Result<ScramServerStep, ScramServerError> {
        let text = utf8(msg)?;
        // gs2-header: "n,," (no channel binding, no authzid) is all Kafka clients send; we also
        // accept "y,," and an authzid equal to the user.
        let (cbind, rest) = text
            .split_once(',')
            .ok_or_else(|| malformed("client-first has no GS2 header"))?;
        if cbind != "n" && cbind != "y" {
            return Err(malformed(&format!(
                "channel binding flag {cbind:?} is not supported"
            )));
        }
        let (authzid, bare) = rest
            .split_once(',')
            .ok_or_else(|| malformed("client-first has no authzid field"))?;
        let mut fields = bare.split(',');
        let user_field = fields.next().unwrap_or_default();
        let nonce_field = fields.next().unwrap_or_default();
        let escaped_user = user_field
            .strip_prefix("n=")
            .ok_or_else(|| malformed("client-first has no n= username"))?;
        let client_nonce = nonce_field
            .strip_prefix("r=")
            .filter(|n| !n.is_empty())
            .ok_or_else(|| malformed("client-first has no r= nonce"))?;
        let user = unescape_saslname(escaped_user)?;
        if !authzid.is_empty() && authzid != format!("a={escaped_user}") {
            return Err(malformed("authzid differs from the username"));
        }
        let credential = self
            .users
            .users
            .get(&user)
            .cloned()
            .ok_or_else(|| ScramServerError::UnknownUser(user.clone()))?;
        let server_part: String = rand::thread_rng()
            .sample_iter(&Alphanumeric)
            .take(24)
            .map(char::from)
            .collect();
        let nonce = format!("{client_nonce}{server_part}");
        let server_first = format!(
            "r={nonce},s={},i={}",
            BASE64.encode(&credential.salt),
            credential.iterations
        );
        let challenge = server_first.clone().into_bytes();
        self.state = ServerState::AwaitClientFinal {
            user,
            credential,
            nonce,
            client_first_bare: bare.to_string(),
            server_first,
        };
        Ok(ScramServerStep::Challenge(challenge))
    }

    fn client_final(
        &mut self,
        msg: &[u8],
        user: String,
        credential: &StoredCredential,
        nonce: &str,
        client_first_bare: &str,
        server_first: &str,
    ) -> Result<ScramServerStep, ScramServerError> {
        let text = utf8(msg)?;
        let (without_proof, proof_b64) = text
            .rsplit_once(",p=")
            .ok_or_else(|| malformed("client-final has no p= proof"))?;
        let mut fields = without_proof.split(',');
        let binding = fields
            .next()
            .and_then(|f| f.strip_prefix("c="))
            .ok_or_else(|| malformed("client-final has no c= channel binding"))?;
        let binding = BASE64
            .decode(binding)
            .map_err(|_| malformed("c= is not base64"))?;
        if binding != b"n,," && binding != b"y,," {
            return Err(malformed(&format!(
                "c= carries GS2 header {:?}, expected \"n,,\"",
                String::from_utf8_lossy(&binding)
            )));
        }
        let echoed_nonce = fields
            .next()
            .and_then(|f| f.strip_prefix("r="))
            .ok_or_else(|| malformed("client-final has no r= nonce"))?;
        if echoed_nonce != nonce {
            return Err(malformed("client-final nonce differs from the server's"));
        }
        let proof = BASE64
            .decode(proof_b64)
            .map_err(|_| malformed("p= is not base64"))?;

        let auth_message = format!("{client_first_bare},{server_first},{without_proof}");
        let algorithm = self.users.algorithm;
        if self.verify_proof {
            let client_signature = algorithm.hmac(&credential.stored_key, auth_message.as_bytes());
            if proof.len() != client_signature.len() {
                return Err(ScramServerError::InvalidProof { user });
            }
            let client_key: Vec<u8> = proof
                .iter()
                .zip(&client_signature)
                .map(|(p, s)| p ^ s)
                .collect();
            let candidate = algorithm.hash(&client_key);
            // Constant-time comparison: fold the differences.
            let diff = candidate
                .iter()
                .zip(&credential.stored_key)
                .fold(0u8, |acc, (a, b)| acc | (a ^ b));
            if diff != 0 {
                return Err(ScramServerError::InvalidProof { user });
            }
        }
        let server_signature = algorithm.hmac(&credential.server_key, auth_message.as_bytes());
        Ok(ScramServerStep::Success {
            server_final: format!("v={}", BASE64.encode(server_signature)).into_bytes(),
            user,
        })
    }
}

/// Checks a SASL PLAIN message (`authzid NUL authcid NUL password`) against `users`; returns
/// the authenticated user.
pub fn verify_plain(
    users: &HashMap<String, String>,
    message: &[u8],
) -> Result<String, ScramServerError> {
    let mut parts = message.split(|b| *b == 0);
    let (Some(authzid), Some(authcid), Some(password), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(ScramServerError::Malformed(
            "PLAIN message must be authzid NUL authcid NUL password".into(),
        ));
    };
    let user = utf8(authcid)?.to_string();
    if !authzid.is_empty() && authzid != authcid {
        return Err(ScramServerError::Malformed(
            "PLAIN authzid differs from the username".into(),
        ));
    }
    match users.get(&user) {
        None => Err(ScramServerError::UnknownUser(user)),
        Some(expected) if expected.as_bytes() == password => Ok(user),
        Some(_) => Err(ScramServerError::InvalidProof { user }),
    }
}

fn utf8(msg: &[u8]) -> Result<&str, ScramServerError> {
    std::str::from_utf8(msg).map_err(|_| malformed("not valid UTF-8"))
}

fn malformed(why: &str) -> ScramServerError {
    ScramServerError::Malformed(why.to_string())
}

/// Reverses `=2C` / `=3D` escaping; any other `=` is an error (RFC 5802 §5.1).
fn unescape_saslname(escaped: &str) -> Result<String, ScramServerError> {
    let mut out = String::with_capacity(escaped.len());
    let mut rest = escaped;
    while let Some(pos) = rest.find('=') {
        out.push_str(&rest[..pos]);
        let code = rest.get(pos + 1..pos + 3);
        match code {
            Some("2C") => out.push(','),
            Some("3D") => out.push('='),
            _ => return Err(malformed(&format!("bad escape in username {escaped:?}"))),
        }
        rest = &rest[pos + 3..];
    }
    out.push_str(rest);
    if out.is_empty() {
        return Err(malformed("empty username"));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kreplicate_wire::sasl::{
        SaslError, SaslStep, ScramClient, ScramHash, ScramSha256, ScramSha512,
    };

    fn users(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(u, p)| (u.to_string(), p.to_string()))
            .collect()
    }

    /// Runs a whole exchange; returns the client's final result and the server's.
    fn exchange<H: ScramHash>(
        mut client: ScramClient<H>,
        mut server: ScramServer,
    ) -> (
        Result<SaslStep, SaslError>,
        Result<ScramServerStep, ScramServerError>,
    ) {
        let challenge = match server.step(&client.client_first()) {
            Ok(ScramServerStep::Challenge(c)) => c,
            other => panic!("expected a challenge, got {other:?}"),
        };
        let client_final = match client.step(&challenge) {
            Ok(SaslStep::Send(b)) => b,
            other => panic!("expected client-final, got {other:?}"),
        };
        match server.step(&client_final) {
            Ok(ScramServerStep::Success { server_final, user }) => {
                let r = client.step(&server_final);
                (r, Ok(ScramServerStep::Success { server_final, user }))
            }
            other => (Ok(SaslStep::Send(Vec::new())), other),
        }
    }

    fn check_success<H: ScramHash>(algorithm: ScramAlgorithm) {
        let store = Arc::new(ScramUsers::new(
            algorithm,
            &users(&[("al,i=ce", "s3cr3t"), ("bob", "x")]),
        ));
        let client = ScramClient::<H>::new("al,i=ce", "s3cr3t").unwrap();
        let (c, s) = exchange(client, ScramServer::new(store));
        assert_eq!(c, Ok(SaslStep::Done));
        match s {
            Ok(ScramServerStep::Success { user, server_final }) => {
                assert_eq!(user, "al,i=ce");
                assert!(server_final.starts_with(b"v="));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn wire_client_logs_in_sha256() {
        check_success::<ScramSha256>(ScramAlgorithm::Sha256);
    }

    #[test]
    fn wire_client_logs_in_sha512() {
        check_success::<ScramSha512>(ScramAlgorithm::Sha512);
    }

    fn check_wrong_password<H: ScramHash>(algorithm: ScramAlgorithm) {
        let store = Arc::new(ScramUsers::new(algorithm, &users(&[("alice", "right")])));
        let client = ScramClient::<H>::new("alice", "wrong").unwrap();
        let (_, s) = exchange(client, ScramServer::new(store));
        assert_eq!(
            s,
            Err(ScramServerError::InvalidProof {
                user: "alice".into()
            })
        );
    }

    #[test]
    fn wrong_password_is_rejected_by_the_server() {
        check_wrong_password::<ScramSha256>(ScramAlgorithm::Sha256);
        check_wrong_password::<ScramSha512>(ScramAlgorithm::Sha512);
    }

    fn check_impostor<H: ScramHash>(algorithm: ScramAlgorithm) {
        // The server holds a credential made from another password and does not check the
        // proof: the client must refuse its signature.
        let store = Arc::new(ScramUsers::new(algorithm, &users(&[("alice", "other")])));
        let client = ScramClient::<H>::new("alice", "right").unwrap();
        let (c, s) = exchange(client, ScramServer::without_proof_check(store));
        assert!(matches!(s, Ok(ScramServerStep::Success { .. })));
        assert_eq!(c, Err(SaslError::ServerSignatureMismatch));
    }

    #[test]
    fn client_detects_a_server_that_does_not_know_the_password() {
        check_impostor::<ScramSha256>(ScramAlgorithm::Sha256);
        check_impostor::<ScramSha512>(ScramAlgorithm::Sha512);
    }

    #[test]
    fn mismatched_mechanisms_fail() {
        // A SHA-512 client against a SHA-256 server: the proof has the wrong length.
        let store = Arc::new(ScramUsers::new(
            ScramAlgorithm::Sha256,
            &users(&[("alice", "pw")]),
        ));
        let client = ScramClient::<ScramSha512>::new("alice", "pw").unwrap();
        let (_, s) = exchange(client, ScramServer::new(store));
        assert_eq!(
            s,
            Err(ScramServerError::InvalidProof {
                user: "alice".into()
            })
        );
    }

    #[test]
    fn unknown_user_and_low_iterations() {
        let store = Arc::new(ScramUsers::new(
            ScramAlgorithm::Sha256,
            &users(&[("alice", "pw")]),
        ));
        let mut server = ScramServer::new(store);
        assert_eq!(
            server.step(b"n,,n=mallory,r=abc"),
            Err(ScramServerError::UnknownUser("mallory".into()))
        );
        // A server asking for fewer than 4096 iterations is refused by the client.
        let weak = Arc::new(ScramUsers::with_iterations(
            ScramAlgorithm::Sha256,
            &users(&[("alice", "pw")]),
            1000,
        ));
        let mut server = ScramServer::new(weak);
        let mut client = ScramClient::<ScramSha256>::new("alice", "pw").unwrap();
        let ScramServerStep::Challenge(ch) = server.step(&client.client_first()).unwrap() else {
            panic!("expected a challenge")
        };
        assert!(matches!(
            client.step(&ch),
            Err(SaslError::IterationCount { count: 1000, .. })
        ));
    }

    #[test]
    fn server_rejects_malformed_client_messages() {
        let store = Arc::new(ScramUsers::new(
            ScramAlgorithm::Sha256,
            &users(&[("a", "pw")]),
        ));
        for msg in [
            &b"p=tls-unique,,n=a,r=x"[..],
            b"n,,r=x",
            b"n,,n=a",
            b"n,,n=a=ZZ,r=x",
            b"\xff",
        ] {
            assert!(
                matches!(
                    ScramServer::new(store.clone()).step(msg),
                    Err(ScramServerError::Malformed(_))
                ),
                "{msg:?}"
            );
        }
        let mut server = ScramServer::new(store);
        server.step(b"n,,n=a,r=x").unwrap();
        assert!(matches!(
            server.step(b"c=biws,r=WRONG,p=AAAA"),
            Err(ScramServerError::Malformed(_))
        ));
        assert_eq!(
            server.step(b"again"),
            Err(ScramServerError::UnexpectedMessage)
        );
    }

    #[test]
    fn plain_verifier() {
        let u = users(&[("alice", "pw")]);
        assert_eq!(verify_plain(&u, b"\0alice\0pw"), Ok("alice".into()));
        assert_eq!(verify_plain(&u, b"alice\0alice\0pw"), Ok("alice".into()));
        assert_eq!(
            verify_plain(&u, b"\0alice\0nope"),
            Err(ScramServerError::InvalidProof {
                user: "alice".into()
            })
        );
        assert_eq!(
            verify_plain(&u, b"\0bob\0pw"),
            Err(ScramServerError::UnknownUser("bob".into()))
        );
        assert!(matches!(
            verify_plain(&u, b"alice:pw"),
            Err(ScramServerError::Malformed(_))
        ));
        assert!(matches!(
            verify_plain(&u, b"eve\0alice\0pw"),
            Err(ScramServerError::Malformed(_))
        ));
        // The wire client's PLAIN message is accepted.
        let mut client = kreplicate_wire::sasl::PlainClient::new("alice", "pw");
        assert_eq!(
            verify_plain(&u, &client.initial_response()),
            Ok("alice".into())
        );
    }
}
