//! How the demo talks to a person: headings, one block per step, colour and a progress counter
//! on a terminal, plain text otherwise, and the closing summary table.

use std::io::IsTerminal;

pub struct Style {
    colour: bool,
}

impl Style {
    pub fn detect() -> Style {
        Style {
            colour: std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none(),
        }
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.colour {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }
    pub fn heading(&self, text: &str) -> String {
        self.paint("1", text)
    }
    pub fn ok(&self, text: &str) -> String {
        self.paint("32", text)
    }
    pub fn bad(&self, text: &str) -> String {
        self.paint("31", text)
    }
    pub fn dim(&self, text: &str) -> String {
        self.paint("2", text)
    }
    pub fn layer(&self, text: &str) -> String {
        self.paint("1;36", text)
    }
}

pub struct Step {
    pub layer: String,
    pub name: String,
    pub passed: bool,
    pub millis: u128,
    pub detail: String,
}

/// The running account of the demo.
pub struct Report {
    pub style: Style,
    pub steps: Vec<Step>,
    pub total: usize,
    layer: String,
}

/// Long attribute values (alarm name lists) are cut for the screen.
const MAX_SHOWN: usize = 110;

pub fn shorten(text: &str) -> String {
    match text.char_indices().nth(MAX_SHOWN) {
        Some((cut, _)) => format!("{}… ({} characters)", &text[..cut], text.chars().count()),
        None => text.to_owned(),
    }
}

impl Report {
    pub fn new(total: usize) -> Report {
        Report {
            style: Style::detect(),
            steps: Vec::new(),
            total,
            layer: String::new(),
        }
    }

    pub fn layer(&mut self, name: &str, what: &str) {
        self.layer = name.to_owned();
        println!(
            "\n{} {}",
            self.style.layer(&format!("== {name}")),
            self.style.dim(what)
        );
    }

    /// Prints the step's heading and what was asked.
    pub fn begin(&self, name: &str, asked: &str) {
        let progress = format!("[{}/{}]", self.steps.len() + 1, self.total);
        println!(
            "\n{} {}",
            self.style.dim(&progress),
            self.style.heading(name)
        );
        println!("  asked:    {asked}");
    }

    pub fn line(&self, label: &str, text: &str) {
        println!("  {:<9} {text}", format!("{label}:"));
    }

    pub fn finish(&mut self, name: &str, passed: bool, millis: u128, detail: String) {
        let shown = if passed {
            self.style.ok("ok")
        } else {
            self.style.bad("FAILED")
        };
        println!("  result:   {shown} in {millis} ms");
        self.steps.push(Step {
            layer: self.layer.clone(),
            name: name.to_owned(),
            passed,
            millis,
            detail,
        });
    }

    pub fn failed(&self) -> usize {
        self.steps.iter().filter(|s| !s.passed).count()
    }

    pub fn summary(&self, elapsed_ms: u128) {
        println!("\n{}", self.style.heading("Summary"));
        println!(
            "  {:<11} {:<46} {:>7}  {:<6} answer",
            "layer", "step", "ms", "result"
        );
        for step in &self.steps {
            let result = if step.passed {
                self.style.ok("ok    ")
            } else {
                self.style.bad("FAILED")
            };
            println!(
                "  {:<11} {:<46} {:>7}  {result} {}",
                step.layer,
                step.name,
                step.millis,
                shorten(&step.detail)
            );
        }
        let failed = self.failed();
        println!(
            "\n{} steps: {} passed, {} failed ({elapsed_ms} ms in all)",
            self.steps.len(),
            self.steps.len() - failed,
            failed
        );
    }
}
