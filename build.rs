//! Bundles GraphiQL's browser assets into the binary so `/graphiql` works on a closed
//! network. They come from npm (`web/package-lock.json` pins them); when `web/node_modules`
//! is missing, the build installs it with `npm ci` if npm is available, and otherwise
//! builds without them (the page then says how to install them).

use std::path::{Path, PathBuf};
use std::process::Command;

const ASSETS: &[(&str, &str)] = &[
    ("react.js", "react/umd/react.production.min.js"),
    ("react-dom.js", "react-dom/umd/react-dom.production.min.js"),
    ("graphiql.js", "graphiql/graphiql.min.js"),
    ("graphiql.css", "graphiql/graphiql.min.css"),
];

fn main() {
    println!("cargo:rerun-if-changed=web/package-lock.json");
    println!("cargo:rerun-if-changed=web/graphiql.html");
    println!("cargo:rerun-if-env-changed=POSKO_SKIP_NPM");
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let modules = root.join("web/node_modules");
    let present = |dir: &Path| ASSETS.iter().all(|(_, path)| dir.join(path).is_file());
    if !present(&modules)
        && std::env::var_os("POSKO_SKIP_NPM").is_none()
        && root.join("web/package-lock.json").is_file()
    {
        let status = Command::new("npm")
            .args([
                "ci",
                "--prefix",
                "web",
                "--no-audit",
                "--no-fund",
                "--loglevel=error",
            ])
            .current_dir(&root)
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            println!(
                "cargo:warning=GraphiQL assets not installed (npm ci --prefix web failed or npm is missing)"
            );
        }
    }
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("graphiql");
    let _ = std::fs::create_dir_all(&out);
    let complete = present(&modules);
    for (name, path) in ASSETS {
        let bytes = if complete {
            std::fs::read(modules.join(path)).unwrap_or_default()
        } else {
            Vec::new()
        };
        let _ = std::fs::write(out.join(name), bytes);
    }
    let page = std::fs::read_to_string(root.join("web/graphiql.html")).unwrap_or_default();
    let _ = std::fs::write(out.join("graphiql.html"), page);
    if complete {
        for (_, path) in ASSETS {
            println!("cargo:rerun-if-changed=web/node_modules/{path}");
        }
    }
}
