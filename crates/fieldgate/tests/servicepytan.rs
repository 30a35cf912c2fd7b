//! The published servicepytan client, installed from PyPI, reads both environments of a
//! `fieldgate demo` started as a user starts it, with only its two base URLs swapped.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A virtualenv with servicepytan, kept under target/ so reruns skip the install.
fn venv_python() -> PathBuf {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("servicepytan-venv");
    let python = venv.join("bin/python");
    if !python.exists() {
        let made = Command::new("python3")
            .args(["-m", "venv"])
            .arg(&venv)
            .status()
            .unwrap();
        assert!(made.success(), "python3 -m venv failed");
    }
    let installed = Command::new(&python)
        .args([
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "servicepytan",
        ])
        .status()
        .unwrap();
    assert!(installed.success(), "pip install servicepytan failed");
    python
}

#[test]
fn servicepytan_reads_both_environments() {
    let python = venv_python();
    let dir = tempfile::tempdir().unwrap();
    let credentials = dir.path().join("credentials.json");

    let mut command = Command::new(env!("CARGO_BIN_EXE_fieldgate"));
    command
        .args(["--data-dir"])
        .arg(dir.path().join("data"))
        .args(["demo", "--scale", "120", "--credentials-out"])
        .arg(&credentials)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // Free ports, and export pages small enough that the walk takes several pages.
    for (name, value) in [
        ("FIELDGATE_INTEGRATION__AUTH_LISTEN", "127.0.0.1:0"),
        ("FIELDGATE_INTEGRATION__API_LISTEN", "127.0.0.1:0"),
        ("FIELDGATE_PRODUCTION__AUTH_LISTEN", "127.0.0.1:0"),
        ("FIELDGATE_PRODUCTION__API_LISTEN", "127.0.0.1:0"),
        ("FIELDGATE_INTEGRATION__AUTH_URL", "http://127.0.0.1:0"),
        ("FIELDGATE_INTEGRATION__API_URL", "http://127.0.0.1:0"),
        ("FIELDGATE_PRODUCTION__AUTH_URL", "http://127.0.0.1:0"),
        ("FIELDGATE_PRODUCTION__API_URL", "http://127.0.0.1:0"),
        ("FIELDGATE_EXPORT_PAGE_SIZE", "50"),
        ("FIELDGATE_OPS_LISTEN", "127.0.0.1:0"),
        ("FIELDGATE_WEB_LISTEN", "127.0.0.1:0"),
        ("FIELDGATE_WEB_URL", "http://127.0.0.1:0"),
        ("FIELDGATE_ADMIN_LISTEN", "127.0.0.1:0"),
    ] {
        command.env(name, value);
    }
    let _server = Server(command.spawn().unwrap());

    // The credentials file is written once the demo exists; the listeners are bound before.
    let started = Instant::now();
    while !credentials.exists() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the demo did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_millis(300));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/servicepytan/check.py");
    let output = Command::new(python)
        .arg(script)
        .arg(&credentials)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "servicepytan check failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("servicepytan: ok"), "{stdout}");
}
