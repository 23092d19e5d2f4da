//! The flyteadmin fixture (tests/fixtures/flyteadmin): a real gRPC server built from
//! flyteidl's generated Go service, serving AuthMetadataService (answered from an IdP's
//! discovery document) and AdminService/ListProjects (guarded by a token the IdP accepts);
//! its HTTP routes answer 404, like an ingress that routes only gRPC to flyteadmin.

use std::io::{Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

use serde_json::Value;

use super::Idp;

/// The fixture's binary, built once per test binary.
fn fixture_binary() -> PathBuf {
    static BUILT: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    BUILT
        .get_or_init(|| super::go_fixture("flyteadmin", "flyteadmin"))
        .clone()
}

/// The flyteadmin fixture: gRPC (h2c) only; its HTTP routes answer 404. Killed on drop.
pub struct Admin {
    child: Child,
    /// The port it listens on (loopback).
    pub port: u16,
}

impl Admin {
    pub fn start(args: &[&str]) -> Admin {
        let mut child = Command::new(fixture_binary())
            .arg("-exit-with-stdin")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start the flyteadmin fixture");
        let stdout = child.stdout.take().unwrap();
        let mut admin = Admin { child, port: 0 };
        let ready = super::ready_line(stdout, "the flyteadmin fixture", &mut admin.child);
        admin.port = ready["port"].as_u64().expect("port") as u16;
        admin
    }

    /// For the IdP: AuthMetadataService answered from its discovery document.
    pub fn for_idp(idp: &Idp) -> Admin {
        Admin::start(&["-idp", &idp.url])
    }

    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Calls per gRPC method (`/pkg.Service/Method`) and per HTTP route (`http GET /path`).
    pub fn stats(&self) -> Value {
        let mut s = std::net::TcpStream::connect(("127.0.0.1", self.port)).unwrap();
        write!(
            s,
            "GET /_test/stats HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
        )
        .unwrap();
        let mut resp = String::new();
        s.read_to_string(&mut resp).unwrap();
        let body = resp.split_once("\r\n\r\n").map(|(_, b)| b).unwrap_or("");
        serde_json::from_str(body).unwrap_or_else(|e| panic!("stats {body:?}: {e}"))
    }

    pub fn calls(&self, what: &str) -> u64 {
        self.stats()[what].as_u64().unwrap_or(0)
    }

    /// A client-credentials config naming only this endpoint (plaintext: `insecure`).
    pub fn cc_config(&self, extra: Value) -> String {
        super::cc_config_for(&format!("dns:///{}", self.endpoint()), extra)
    }
}

impl Drop for Admin {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
