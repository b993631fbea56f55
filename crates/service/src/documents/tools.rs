//! Running the Debian command-line tools documents are read with (poppler's pdfinfo,
//! pdftotext and pdftoppm; Tesseract). A shell-out to a well-kept tool is simpler and
//! safer than a binding: the tool runs in its own process, so a hostile file that crashes
//! or hangs it costs that process (killed at its deadline), never the server.

use std::ffi::OsStr;
use std::time::Duration;

use super::DocumentError;

/// A tool, and the Debian package that installs it (named in the error when it is missing).
#[derive(Debug, Clone, Copy)]
pub struct Tool {
    pub command: &'static str,
    pub package: &'static str,
}

pub const PDFINFO: Tool = Tool {
    command: "pdfinfo",
    package: "poppler-utils",
};
pub const PDFTOTEXT: Tool = Tool {
    command: "pdftotext",
    package: "poppler-utils",
};
pub const PDFTOPPM: Tool = Tool {
    command: "pdftoppm",
    package: "poppler-utils",
};
pub const TESSERACT: Tool = Tool {
    command: "tesseract",
    package: "tesseract-ocr tesseract-ocr-eng",
};

/// What a tool printed, once it exited.
#[derive(Debug)]
pub struct Ran {
    pub success: bool,
    pub stdout: Vec<u8>,
    pub stderr: String,
}

impl Ran {
    /// The first lines of what the tool said on stderr, for an error message.
    pub fn said(&self) -> String {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .take(3)
            .collect();
        let text = lines.join("; ");
        text.chars().take(300).collect()
    }
}

/// Run `tool` with `args`, killed when `deadline` passes. Tesseract is held to one thread,
/// so one document uses one core and several documents share the machine evenly.
pub async fn run<S: AsRef<OsStr>>(tool: Tool, args: &[S], deadline: Duration) -> Result<Ran, DocumentError> {
    let mut cmd = tokio::process::Command::new(tool.command);
    cmd.args(args)
        .env("OMP_THREAD_LIMIT", "1")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .kill_on_drop(true);
    let child = cmd.spawn().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            DocumentError::ToolMissing {
                tool: tool.command,
                package: tool.package,
            }
        } else {
            DocumentError::ToolFailed {
                tool: tool.command,
                message: format!("could not start it: {e}"),
            }
        }
    })?;
    let out = tokio::time::timeout(deadline, child.wait_with_output())
        .await
        .map_err(|_| DocumentError::TimedOut {
            tool: tool.command,
            seconds: deadline.as_secs(),
        })?
        .map_err(|e| DocumentError::ToolFailed {
            tool: tool.command,
            message: e.to_string(),
        })?;
    Ok(Ran {
        success: out.status.success(),
        stdout: out.stdout,
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    })
}
