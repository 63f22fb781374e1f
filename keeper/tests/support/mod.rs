//! A throwaway PostgreSQL server for tests: initdb + pg_ctl on a free loopback port, as the
//! `postgres` user when running as root (the server refuses root). Stopped on drop.

use std::path::PathBuf;
use std::process::Command;

/// A running PostgreSQL cluster.
pub struct Postgres {
    dir: PathBuf,
    bin: PathBuf,
    pub port: u16,
}

fn bin_dir() -> PathBuf {
    let candidates = std::fs::read_dir("/usr/lib/postgresql")
        .map(|d| d.filter_map(|e| e.ok()).map(|e| e.path().join("bin")).collect::<Vec<_>>())
        .unwrap_or_default();
    candidates
        .into_iter()
        .find(|p| p.join("initdb").exists())
        .expect("PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)")
}

fn as_postgres(bin: &std::path::Path, tool: &str) -> Command {
    let is_root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    if is_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(bin.join(tool));
        c
    } else {
        Command::new(bin.join(tool))
    }
}

impl Postgres {
    /// Starts a fresh cluster with trust authentication on 127.0.0.1.
    pub fn start() -> Self {
        let bin = bin_dir();
        let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
        let dir = std::env::temp_dir().join(format!("agentrail-pg-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let _ = Command::new("chown").args(["postgres:postgres", dir.to_str().unwrap()]).status();
        let data = dir.join("data");
        let ok = as_postgres(&bin, "initdb")
            .args(["-D", data.to_str().unwrap(), "-A", "trust", "-U", "postgres", "--no-sync"])
            .output()
            .expect("run initdb");
        assert!(ok.status.success(), "initdb failed: {}", String::from_utf8_lossy(&ok.stderr));
        let opts = format!("-p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off", dir.display());
        let ok = as_postgres(&bin, "pg_ctl")
            .args(["-D", data.to_str().unwrap(), "-o", &opts, "-l", dir.join("log").to_str().unwrap(), "-w", "start"])
            .output()
            .expect("run pg_ctl");
        assert!(ok.status.success(), "pg_ctl start failed: {}", String::from_utf8_lossy(&ok.stderr));
        Postgres { dir, bin, port }
    }

    /// A connection URL for database `postgres`.
    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let data = self.dir.join("data");
        let _ =
            as_postgres(&self.bin, "pg_ctl").args(["-D", data.to_str().unwrap(), "-m", "immediate", "stop"]).output();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
