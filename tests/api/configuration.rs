//! Start-up rules for keys (production refuses weak set-ups; development generates a secret).

use posko::auth::jwt::Verifier;

use crate::support::test_cli_with;

#[test]
fn production_refuses_to_start_without_a_key() {
    let mut cli = test_cli_with("sqlite://unused.db", &["--env", "production"]);
    cli.config.jwt_secret = None;
    let err = Verifier::from_config(&cli.config).err().expect("refused");
    assert!(err.to_string().contains("production mode needs"), "{err}");
}

#[test]
fn production_refuses_a_short_hs256_secret() {
    let mut cli = test_cli_with("sqlite://unused.db", &["--env", "production"]);
    cli.config.jwt_secret = Some("too-short".into());
    let err = Verifier::from_config(&cli.config).err().expect("refused");
    assert!(err.to_string().contains("at least 32 bytes"), "{err}");
}

#[test]
fn development_generates_a_secret_once_and_keeps_it_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("posko.db").display()
    );
    let mut cli = test_cli_with(&url, &[]);
    cli.config.jwt_secret = None;
    let first = Verifier::from_config(&cli.config).unwrap();
    let file = dir.path().join("posko.db.secret");
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let claims = posko::auth::jwt::Claims {
        sub: "dev".into(),
        role: "KPU".into(),
        agency: "KPU_DKI".into(),
        exp: u64::try_from(chrono::Utc::now().timestamp()).unwrap() + 60,
        iat: None,
        nbf: None,
        iss: None,
        aud: None,
    };
    let minted = first.mint(&claims).unwrap();
    // A restart reads the same secret, so earlier tokens stay valid.
    let second = Verifier::from_config(&cli.config).unwrap();
    assert_eq!(second.verify(&minted).unwrap().sub, "dev");
}

#[test]
fn a_public_key_that_does_not_parse_stops_the_start() {
    let path = format!("{}/Cargo.toml", env!("CARGO_MANIFEST_DIR"));
    let cli = test_cli_with(
        "sqlite://unused.db",
        &["--jwt-public-key", &path, "--jwt-algorithm", "RS256"],
    );
    let err = Verifier::from_config(&cli.config).err().expect("refused");
    assert!(
        format!("{err:#}").contains("POSKO_JWT_PUBLIC_KEY"),
        "{err:#}"
    );
}

fn posko_token(database_url: &str, args: &[&str]) -> std::process::Output {
    std::process::Command::new(env!("CARGO_BIN_EXE_posko"))
        .arg("token")
        .args(args)
        .env("POSKO_DATABASE_URL", database_url)
        .env("POSKO_JWT_SECRET", crate::support::TEST_SECRET)
        .env("POSKO_LOG", "error")
        .output()
        .expect("the posko binary runs")
}

#[test]
fn posko_token_mints_a_verifiable_token_and_refuses_bad_requests() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("posko.db").display()
    );
    let good = posko_token(
        &url,
        &[
            "--role",
            "POLICE",
            "--agency",
            "POLDA_METRO_JAYA",
            "--sub",
            "petugas-1",
            "--ttl",
            "8h",
        ],
    );
    assert!(
        good.status.success(),
        "{}",
        String::from_utf8_lossy(&good.stderr)
    );
    let minted = String::from_utf8(good.stdout).unwrap();
    let cli = test_cli_with(&url, &[]);
    let claims = Verifier::from_config(&cli.config)
        .unwrap()
        .verify(minted.trim())
        .unwrap();
    assert_eq!(
        (
            claims.role.as_str(),
            claims.agency.as_str(),
            claims.sub.as_str()
        ),
        ("POLICE", "POLDA_METRO_JAYA", "petugas-1")
    );
    let lifetime = claims.exp - claims.iat.unwrap();
    assert_eq!(lifetime, 8 * 3600);

    for (args, expected) in [
        (
            ["--role", "POLICE", "--agency", "KPU_DKI", "--sub", "x"],
            "does not fit",
        ),
        (
            ["--role", "KPU", "--agency", "KPU_ATLANTIS", "--sub", "x"],
            "unknown agency",
        ),
        (
            ["--role", "PUBLIC", "--agency", "KPU_DKI", "--sub", "x"],
            "--role must be",
        ),
    ] {
        let refused = posko_token(&url, &args);
        assert!(!refused.status.success(), "{args:?}");
        assert!(refused.stdout.is_empty(), "{args:?}: no token printed");
        let stderr = String::from_utf8_lossy(&refused.stderr);
        assert!(stderr.contains(expected), "{args:?}: {stderr}");
    }
}

#[test]
fn every_mode_refuses_an_empty_or_short_hs256_secret() {
    for mode in ["development", "production"] {
        for secret in ["", "short", "31-bytes-long-secret-xxxxxxxxxx"] {
            let mut cli = test_cli_with("sqlite://unused.db", &["--env", mode]);
            cli.config.jwt_secret = Some(secret.into());
            let err = Verifier::from_config(&cli.config)
                .err()
                .unwrap_or_else(|| panic!("{mode} accepted a {}-byte secret", secret.len()));
            assert!(err.to_string().contains("at least 32 bytes"), "{err}");
        }
    }
}

#[test]
fn posko_token_adds_the_configured_issuer_and_audience() {
    let cli = test_cli_with(
        "sqlite://unused.db",
        &[
            "--jwt-issuer",
            "https://sso.example",
            "--jwt-audience",
            "posko",
        ],
    );
    let verifier = Verifier::from_config(&cli.config).unwrap();
    let claims = posko::auth::jwt::Claims {
        sub: "cli".into(),
        role: "KPU".into(),
        agency: "KPU_DKI".into(),
        exp: u64::try_from(chrono::Utc::now().timestamp()).unwrap() + 60,
        iat: None,
        nbf: None,
        iss: None,
        aud: None,
    };
    let verified = verifier.verify(&verifier.mint(&claims).unwrap()).unwrap();
    assert_eq!(verified.iss.as_deref(), Some("https://sso.example"));
    assert_eq!(verified.aud, Some(serde_json::json!("posko")));
}

/// `posko --help` lists the server's options; a tool subcommand's help lists only what it
/// reads (not the ~40 options of the server).
#[test]
fn subcommands_show_only_their_own_options() {
    let help = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_posko"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let server = help(&["--help"]);
    for option in [
        "--listen",
        "--max-depth",
        "--trusted-proxies",
        "--jwt-jwks-url",
    ] {
        assert!(server.contains(option), "posko --help lacks {option}");
    }
    for sub in [
        "migrate",
        "verify-timeline",
        "recount-stats",
        "seed-demo",
        "token",
    ] {
        let text = help(&[sub, "--help"]);
        assert!(text.contains("--database-url"), "{sub}: {text}");
        for server_only in ["--listen", "--max-depth", "--trusted-proxies", "--ws-queue"] {
            assert!(
                !text.contains(server_only),
                "{sub} --help shows {server_only}"
            );
        }
        assert!(
            text.lines().count() < 45,
            "{sub} --help is {} lines",
            text.lines().count()
        );
    }
}
