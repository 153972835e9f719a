//! Minting tokens, good and bad, for the test server.

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::TEST_SECRET;

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Claims for a role and agency, valid for an hour.
pub fn claims(role: &str, agency: &str) -> Value {
    json!({ "sub": format!("{}-officer", role.to_lowercase()), "role": role, "agency": agency,
            "iat": now(), "nbf": now() - 1, "exp": now() + 3600 })
}

/// Signs claims with HS256 and the given secret.
pub fn hs256(claims: &Value, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .unwrap()
}

/// A valid token of the test server for a role and agency.
pub fn token(role: &str, agency: &str) -> String {
    hs256(&claims(role, agency), TEST_SECRET.as_bytes())
}

/// Reads a fixture key file.
pub fn fixture(name: &str) -> Vec<u8> {
    std::fs::read(fixture_path(name)).unwrap()
}

/// The path of a fixture key file.
pub fn fixture_path(name: &str) -> String {
    format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// Signs claims with an asymmetric private key (PEM), optionally naming a `kid`.
pub fn signed(
    algorithm: Algorithm,
    private_pem: &str,
    kid: Option<&str>,
    claims: &Value,
) -> String {
    let pem = fixture(private_pem);
    let key = match algorithm {
        Algorithm::RS256 => EncodingKey::from_rsa_pem(&pem).unwrap(),
        Algorithm::ES256 => EncodingKey::from_ec_pem(&pem).unwrap(),
        Algorithm::EdDSA => EncodingKey::from_ed_pem(&pem).unwrap(),
        other => panic!("no fixture for {other:?}"),
    };
    let mut header = Header::new(algorithm);
    header.kid = kid.map(str::to_owned);
    jsonwebtoken::encode(&header, claims, &key).unwrap()
}

/// A token with `alg: none` and no signature.
pub fn unsigned(claims: &Value) -> String {
    use base64::Engine as _;
    let b64 = |v: &Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
    format!(
        "{}.{}.",
        b64(&json!({"alg": "none", "typ": "JWT"})),
        b64(claims)
    )
}
