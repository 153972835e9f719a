//! Token verification. Each configured key carries its own algorithm; a token is only ever
//! checked with a key whose algorithm equals the token's `alg`, so the token cannot choose
//! how it is verified (no `none`, no HS256 keyed with an RSA public key).

use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use anyhow::{Context as _, bail};
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

use crate::auth::jwks::RemoteKeys;
use crate::auth::verified_tokens::VerifiedTokens;
use crate::config::{Config, Mode};

/// Tokens longer than this are refused before any parsing.
pub const MAX_TOKEN_BYTES: usize = 8 * 1024;
/// The shortest HS256 secret production accepts.
pub const MIN_SECRET_BYTES: usize = 32;

/// The claims Posko reads (CONTRACT.md, Tokens).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub role: String,
    pub agency: String,
    pub exp: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Checked, and required, when `POSKO_JWT_ISSUER` is set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iss: Option<String>,
    /// Checked, and required, when `POSKO_JWT_AUDIENCE` is set; a string or a list, as
    /// identity providers differ.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aud: Option<serde_json::Value>,
}

/// Why a token was refused. The text is general on purpose and never echoes the token.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum TokenError {
    MalformedHeader,
    TooLarge,
    Malformed,
    UnsupportedAlgorithm,
    UnknownKey,
    BadSignature,
    Expired,
    NotYetValid,
    WrongIssuer,
    WrongAudience,
    MissingClaim,
    UnknownAgency,
    RoleDoesNotFitAgency,
    UnknownRole,
    IssuedInTheFuture,
}

impl TokenError {
    /// The reason a client reads.
    pub fn reason(self) -> &'static str {
        match self {
            Self::MalformedHeader => "the Authorization header is not `Bearer <token>`",
            Self::TooLarge => "the token is too large",
            Self::Malformed => "the token is malformed",
            Self::UnsupportedAlgorithm => "the token's algorithm is not accepted",
            Self::UnknownKey => "the token's key id is unknown",
            Self::BadSignature => "the token's signature is invalid",
            Self::Expired => "the token has expired",
            Self::NotYetValid => "the token is not valid yet",
            Self::WrongIssuer => "the token's issuer is not accepted",
            Self::WrongAudience => "the token's audience is not accepted",
            Self::MissingClaim => "the token lacks a required claim",
            Self::UnknownAgency => "the token's agency is unknown",
            Self::RoleDoesNotFitAgency => "the token's role does not fit its agency",
            Self::UnknownRole => "the token's role is unknown",
            Self::IssuedInTheFuture => "the token was issued in the future",
        }
    }
}

/// One key tokens may be verified with, and the only algorithm it verifies.
#[derive(Clone)]
pub struct VerifyingKey {
    kid: Option<String>,
    algorithm: Algorithm,
    key: DecodingKey,
}

/// Verifies bearer tokens against the configured keys.
pub struct Verifier {
    keys: Vec<VerifyingKey>,
    /// Keys published at `POSKO_JWT_JWKS_URL`, beside the configured ones.
    remote: Option<RemoteKeys>,
    issuer: Option<String>,
    audience: Option<String>,
    leeway: u64,
    /// The HS256 secret, kept for `posko token` and development tokens.
    signing_secret: Option<Vec<u8>>,
    /// Tokens that passed, reused while their keys and clock still let them pass.
    verified: VerifiedTokens,
}

fn pinned_algorithm(name: &str) -> anyhow::Result<Algorithm> {
    match name {
        "RS256" => Ok(Algorithm::RS256),
        "ES256" => Ok(Algorithm::ES256),
        "EdDSA" => Ok(Algorithm::EdDSA),
        other => bail!("POSKO_JWT_ALGORITHM must be RS256, ES256 or EdDSA, not {other:?}"),
    }
}

fn pem_key(algorithm: Algorithm, pem: &[u8]) -> anyhow::Result<DecodingKey> {
    Ok(match algorithm {
        Algorithm::RS256 => DecodingKey::from_rsa_pem(pem)?,
        Algorithm::ES256 => DecodingKey::from_ec_pem(pem)?,
        Algorithm::EdDSA => DecodingKey::from_ed_pem(pem)?,
        other => bail!("unsupported algorithm {other:?}"),
    })
}

impl Verifier {
    /// Builds the verifier, enforcing the production rules: a key is required and an HS256
    /// secret has at least 32 bytes. In development without any key, a random secret is
    /// generated once and kept (owner-only) in the secret file.
    pub fn from_config(config: &Config) -> anyhow::Result<Self> {
        let mut keys = Vec::new();
        let mut signing_secret = config.jwt_secret.as_ref().map(|s| s.as_bytes().to_vec());
        if let Some(path) = &config.jwt_public_key {
            let algorithm = pinned_algorithm(&config.jwt_algorithm)?;
            let pem = std::fs::read(path)
                .with_context(|| format!("POSKO_JWT_PUBLIC_KEY: cannot read {}", path.display()))?;
            let key = pem_key(algorithm, &pem).with_context(|| {
                format!(
                    "POSKO_JWT_PUBLIC_KEY: {} is not a {:?} public key in PEM",
                    path.display(),
                    algorithm
                )
            })?;
            keys.push(VerifyingKey {
                kid: None,
                algorithm,
                key,
            });
        }
        if let Some(path) = &config.jwt_jwks {
            keys.extend(load_jwks(path)?);
        }
        let remote = match &config.jwt_jwks_url {
            Some(url) => Some(RemoteKeys::new(
                url.clone(),
                Duration::from_secs(config.jwt_jwks_min_refresh_secs),
            )?),
            None => None,
        };
        if let Some(secret) = &signing_secret {
            // In every mode: an empty or short HMAC key lets anyone who guesses it sign an
            // ADMIN token, and development servers are reachable too.
            if secret.len() < MIN_SECRET_BYTES {
                bail!(
                    "POSKO_JWT_SECRET must be at least {MIN_SECRET_BYTES} bytes (unset it in development to have one generated)"
                );
            }
        } else if keys.is_empty() && remote.is_none() {
            if config.mode == Mode::Production {
                bail!(
                    "production mode needs POSKO_JWT_SECRET, POSKO_JWT_PUBLIC_KEY, POSKO_JWT_JWKS or POSKO_JWT_JWKS_URL"
                );
            }
            signing_secret = Some(development_secret(config)?);
        }
        if let Some(secret) = &signing_secret {
            keys.push(VerifyingKey {
                kid: None,
                algorithm: Algorithm::HS256,
                key: DecodingKey::from_secret(secret),
            });
        }
        Ok(Self {
            keys,
            remote,
            issuer: config.jwt_issuer.clone(),
            audience: config.jwt_audience.clone(),
            leeway: config.jwt_leeway,
            signing_secret,
            verified: VerifiedTokens::new(config.jwt_leeway),
        })
    }

    /// Fetches the remote key set, if one is configured (at start: a provider that cannot
    /// be reached then is a start-up error, not a service that refuses every token).
    pub async fn load_remote_keys(&self) -> anyhow::Result<()> {
        if let Some(remote) = &self.remote {
            let count = remote.fetch().await?;
            tracing::info!(keys = count, "fetched the JWKS");
        }
        Ok(())
    }

    /// Refreshes the remote key set if it is due (the periodic refresh).
    pub async fn refresh_remote_keys(&self) {
        if let Some(remote) = &self.remote {
            remote.refresh_if_due().await;
        }
    }

    /// Whether keys come from a URL (and so need a periodic refresh).
    pub fn has_remote_keys(&self) -> bool {
        self.remote.is_some()
    }

    /// `verify_header`, refreshing the remote key set once (rate-limited) when the token
    /// names a key not yet known: the provider may have rotated.
    pub async fn verify_header_refreshing(&self, header: &str) -> Result<Claims, TokenError> {
        match self.verify_header(header) {
            Err(TokenError::UnknownKey) => match &self.remote {
                Some(remote) if remote.refresh_if_due().await => self.verify_header(header),
                _ => Err(TokenError::UnknownKey),
            },
            other => other,
        }
    }

    /// Verifies an `Authorization` header value and returns its claims.
    pub fn verify_header(&self, header: &str) -> Result<Claims, TokenError> {
        let (scheme, token) = header
            .trim()
            .split_once(' ')
            .ok_or(TokenError::MalformedHeader)?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(TokenError::MalformedHeader);
        }
        self.verify(token.trim())
    }

    /// Verifies a bare token: once in full, then, while the same key set is in force, by
    /// its digest and the clock alone (`verified_tokens`).
    pub fn verify(&self, token: &str) -> Result<Claims, TokenError> {
        self.verify_at(token, unix_now())
    }

    fn verify_at(&self, token: &str, now: u64) -> Result<Claims, TokenError> {
        if token.len() > MAX_TOKEN_BYTES {
            return Err(TokenError::TooLarge);
        }
        if token.is_empty() {
            return Err(TokenError::MalformedHeader);
        }
        let remote = self.remote.as_ref().map(RemoteKeys::current);
        let digest = VerifiedTokens::digest(token);
        if let Some(verified) = self.verified.get(&digest, remote.as_ref()) {
            check_times(&verified.claims, now, self.leeway)?;
            return Ok(verified.claims.clone());
        }
        let claims = self.verify_signature(token, remote.as_deref().map(Vec::as_slice))?;
        check_times(&claims, now, self.leeway)?;
        self.verified.keep(digest, claims.clone(), remote.as_ref());
        Ok(claims)
    }

    /// How many verified tokens this verifier keeps (for tests).
    pub fn verified_tokens(&self) -> u64 {
        self.verified.settled_len()
    }

    /// The full verification: header, key, signature and the claims jsonwebtoken checks.
    fn verify_signature(
        &self,
        token: &str,
        remote: Option<&[VerifyingKey]>,
    ) -> Result<Claims, TokenError> {
        let header = jsonwebtoken::decode_header(token).map_err(|err| match err.kind() {
            ErrorKind::InvalidAlgorithmName => TokenError::UnsupportedAlgorithm,
            _ => TokenError::Malformed,
        })?;
        let keys = || self.keys.iter().chain(remote.into_iter().flatten());
        let key = match &header.kid {
            Some(kid) if keys().any(|k| k.kid.is_some()) || self.remote.is_some() => keys()
                .find(|k| k.kid.as_deref() == Some(kid.as_str()))
                .ok_or(TokenError::UnknownKey)?,
            _ => keys()
                .find(|k| k.kid.is_none() && k.algorithm == header.alg)
                .ok_or(TokenError::UnsupportedAlgorithm)?,
        };
        if key.algorithm != header.alg {
            return Err(TokenError::UnsupportedAlgorithm);
        }
        let mut validation = Validation::new(key.algorithm);
        validation.leeway = self.leeway;
        validation.validate_exp = true;
        validation.validate_nbf = true;
        // A configured issuer or audience is required, not merely checked when present: a
        // token minted for another service without them must not pass here.
        let mut required = vec!["exp", "sub"];
        if self.issuer.is_some() {
            required.push("iss");
        }
        if self.audience.is_some() {
            required.push("aud");
        }
        validation.set_required_spec_claims(&required);
        match &self.issuer {
            Some(issuer) => validation.set_issuer(&[issuer]),
            None => validation.iss = None,
        }
        match &self.audience {
            Some(audience) => validation.set_audience(&[audience]),
            None => validation.validate_aud = false,
        }
        let claims = jsonwebtoken::decode::<Claims>(token, &key.key, &validation)
            .map(|data| data.claims)
            .map_err(|err| match err.kind() {
                ErrorKind::InvalidSignature => TokenError::BadSignature,
                ErrorKind::ExpiredSignature => TokenError::Expired,
                ErrorKind::ImmatureSignature => TokenError::NotYetValid,
                ErrorKind::InvalidIssuer => TokenError::WrongIssuer,
                ErrorKind::InvalidAudience => TokenError::WrongAudience,
                ErrorKind::MissingRequiredClaim(_) => TokenError::MissingClaim,
                ErrorKind::InvalidAlgorithm => TokenError::UnsupportedAlgorithm,
                ErrorKind::Json(_) | ErrorKind::InvalidClaimFormat(_) => TokenError::MissingClaim,
                _ => TokenError::Malformed,
            })?;
        Ok(claims)
    }

    /// Signs HS256 claims with the configured (or development) secret, adding the
    /// configured issuer and audience where the claims name none.
    pub fn mint(&self, claims: &Claims) -> anyhow::Result<String> {
        let secret = self
            .signing_secret
            .as_ref()
            .context("no HS256 secret is configured (POSKO_JWT_SECRET)")?;
        let mut claims = claims.clone();
        if claims.iss.is_none() {
            claims.iss.clone_from(&self.issuer);
        }
        if claims.aud.is_none() {
            claims.aud = self.audience.clone().map(serde_json::Value::String);
        }
        Ok(jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret),
        )?)
    }
}

/// Seconds since the epoch, as the token's claims count them. A clock before 1970 reads
/// as the end of time, so every token counts as expired rather than none.
pub(crate) fn unix_now() -> u64 {
    u64::try_from(chrono::Utc::now().timestamp()).unwrap_or(u64::MAX)
}

/// What the clock decides of a verified token, with `leeway` seconds of skew: the rules
/// jsonwebtoken applies to `exp` and `nbf`, and `iat`, which jsonwebtoken does not look at
/// (a token dated ahead of the clock beyond the leeway was minted by a skewed or forged
/// issuer). Run after every verification, full or reused, so a kept token expires on time.
pub(crate) fn check_times(claims: &Claims, now: u64, leeway: u64) -> Result<(), TokenError> {
    if claims.exp.saturating_add(leeway) < now {
        return Err(TokenError::Expired);
    }
    if claims
        .nbf
        .is_some_and(|nbf| nbf > now.saturating_add(leeway))
    {
        return Err(TokenError::NotYetValid);
    }
    if claims
        .iat
        .is_some_and(|iat| iat > now.saturating_add(leeway))
    {
        return Err(TokenError::IssuedInTheFuture);
    }
    Ok(())
}

fn load_jwks(path: &Path) -> anyhow::Result<Vec<VerifyingKey>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("POSKO_JWT_JWKS: cannot read {}", path.display()))?;
    keys_from_jwks(&text, "POSKO_JWT_JWKS")
        .with_context(|| format!("POSKO_JWT_JWKS: {}", path.display()))
}

/// The keys of a JWKS document; `source` names the setting in errors.
pub fn keys_from_jwks(text: &str, source: &str) -> anyhow::Result<Vec<VerifyingKey>> {
    let set: JwkSet =
        serde_json::from_str(text).with_context(|| format!("{source}: not a JWKS document"))?;
    let mut keys = Vec::new();
    for jwk in &set.keys {
        let kid = jwk
            .common
            .key_id
            .clone()
            .with_context(|| format!("{source}: every key needs a `kid`"))?;
        let alg = jwk.common.key_algorithm.with_context(|| {
            format!(
                "{source}: key {kid} needs an `alg` (the algorithm is never taken from a token)"
            )
        })?;
        let algorithm = Algorithm::from_str(&alg.to_string())
            .with_context(|| format!("{source}: key {kid} has an unsupported alg"))?;
        if !matches!(
            algorithm,
            Algorithm::RS256 | Algorithm::ES256 | Algorithm::EdDSA
        ) {
            bail!("{source}: key {kid} must be RS256, ES256 or EdDSA");
        }
        let key = DecodingKey::from_jwk(jwk)
            .with_context(|| format!("{source}: key {kid} is invalid"))?;
        keys.push(VerifyingKey {
            kid: Some(kid),
            algorithm,
            key,
        });
    }
    Ok(keys)
}

/// Where development mode keeps its secret: `POSKO_SECRET_FILE`, else next to the SQLite
/// file, else `posko.secret` in the working directory.
pub fn secret_file(config: &Config) -> std::path::PathBuf {
    if let Some(path) = &config.secret_file {
        return path.clone();
    }
    match config.sqlite_path() {
        Some(db) => {
            let mut name = db.file_name().map(|n| n.to_os_string()).unwrap_or_default();
            name.push(".secret");
            db.with_file_name(name)
        }
        None => std::path::PathBuf::from("posko.secret"),
    }
}

fn development_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;

    let path = secret_file(config);
    if let Ok(existing) = std::fs::read_to_string(&path) {
        let secret = existing.trim().as_bytes().to_vec();
        if secret.len() >= MIN_SECRET_BYTES {
            tracing::warn!(file = %path.display(), "development mode: using the generated JWT secret kept in this file");
            return Ok(secret);
        }
    }
    let mut bytes = [0u8; 32];
    rand::RngCore::fill_bytes(&mut rand::rng(), &mut bytes);
    let secret = hex::encode(bytes);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("cannot write the development secret to {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    tracing::warn!(
        file = %path.display(),
        "development mode: generated a JWT secret and kept it in this file (owner-only); set POSKO_JWT_SECRET or a public key for production"
    );
    Ok(secret.into_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "clock-rules-clock-rules-clock-rules-0123";

    fn claims_expiring(exp: u64) -> Claims {
        Claims {
            sub: "s".into(),
            role: "KPU".into(),
            agency: "KPU_DKI".into(),
            exp,
            iat: None,
            nbf: None,
            iss: None,
            aud: None,
        }
    }

    fn sign(claims: &Claims) -> String {
        jsonwebtoken::encode(
            &Header::new(Algorithm::HS256),
            claims,
            &EncodingKey::from_secret(SECRET.as_bytes()),
        )
        .unwrap()
    }

    /// `check_times` decides a kept token's clock; at the edges of `exp` and `nbf`, one
    /// second either side, it must decide as jsonwebtoken's full verification does.
    #[test]
    fn the_clock_rules_match_jsonwebtoken_at_their_edges() {
        let leeway = 30;
        let full = |claims: &Claims| {
            let mut validation = Validation::new(Algorithm::HS256);
            validation.leeway = leeway;
            validation.validate_nbf = true;
            validation.set_required_spec_claims(&["exp"]);
            let decoded = jsonwebtoken::decode::<Claims>(
                &sign(claims),
                &DecodingKey::from_secret(SECRET.as_bytes()),
                &validation,
            );
            match decoded {
                Ok(_) => Ok(()),
                Err(err) if *err.kind() == ErrorKind::ExpiredSignature => Err(TokenError::Expired),
                Err(err) if *err.kind() == ErrorKind::ImmatureSignature => {
                    Err(TokenError::NotYetValid)
                }
                Err(err) => panic!("{err}"),
            }
        };
        for offset in [-1i64, 0, 1] {
            // jsonwebtoken reads the clock itself: a comparison is kept only when the
            // second did not turn while it ran.
            let decided = (0..10).find_map(|_| {
                let now = jsonwebtoken::get_current_timestamp();
                let expiring =
                    claims_expiring(now.saturating_sub(leeway).saturating_add_signed(offset));
                let starting = Claims {
                    nbf: Some(now.saturating_add(leeway).saturating_add_signed(offset)),
                    ..claims_expiring(now + 3600)
                };
                let answers = (
                    (check_times(&expiring, now, leeway), full(&expiring)),
                    (check_times(&starting, now, leeway), full(&starting)),
                );
                (jsonwebtoken::get_current_timestamp() == now).then_some(answers)
            });
            let ((exp_ours, exp_theirs), (nbf_ours, nbf_theirs)) =
                decided.expect("the clock held still for one comparison");
            assert_eq!(exp_ours, exp_theirs, "exp {offset}");
            assert_eq!(nbf_ours, nbf_theirs, "nbf {offset}");
        }
        let now = unix_now();
        let ahead = Claims {
            iat: Some(now + leeway + 5),
            ..claims_expiring(now + 3600)
        };
        assert_eq!(
            check_times(&ahead, now, leeway),
            Err(TokenError::IssuedInTheFuture)
        );
        let skewed = Claims {
            iat: Some(now + leeway - 5),
            ..claims_expiring(now + 3600)
        };
        assert_eq!(check_times(&skewed, now, leeway), Ok(()));
    }

    /// A kept token is refused once the clock passes its `exp`, though its entry is still
    /// kept: the reuse itself checks the clock.
    #[test]
    fn a_kept_token_is_refused_past_its_expiry() {
        let cli = <crate::cli::Cli as clap::Parser>::try_parse_from([
            "posko",
            "--database-url",
            "sqlite://unused.db",
            "--jwt-secret",
            SECRET,
            "--jwt-leeway",
            "5",
        ])
        .unwrap();
        let verifier = Verifier::from_config(&cli.config).unwrap();
        let now = unix_now();
        let token = sign(&claims_expiring(now + 60));
        assert!(verifier.verify_at(&token, now).is_ok());
        assert_eq!(verifier.verified_tokens(), 1);
        assert!(
            verifier.verify_at(&token, now + 65).is_ok(),
            "inside the leeway"
        );
        assert_eq!(
            verifier.verify_at(&token, now + 66).err(),
            Some(TokenError::Expired)
        );
        assert_eq!(verifier.verified_tokens(), 1, "refused from the kept entry");
    }
}
