//! Reading an event function's environment variables: absent means the default; a bad value
//! is an error that names the variable, the value and what is allowed.

use std::ops::RangeInclusive;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{name} {problem}")]
pub struct SettingError {
    pub name: &'static str,
    pub problem: String,
}

/// Reads variables through `lookup`, so tests need not touch the process environment.
pub struct Settings<F: Fn(&str) -> Option<String>> {
    lookup: F,
}

impl Settings<fn(&str) -> Option<String>> {
    pub fn from_env() -> Self {
        Settings {
            lookup: |name| std::env::var(name).ok(),
        }
    }
}

impl<F: Fn(&str) -> Option<String>> Settings<F> {
    pub fn new(lookup: F) -> Self {
        Settings { lookup }
    }

    /// The value, with empty text counted as absent.
    pub fn text(&self, name: &str) -> Option<String> {
        (self.lookup)(name).filter(|v| !v.trim().is_empty())
    }

    /// A variable the function cannot work without.
    pub fn required_text(&self, name: &'static str) -> Result<String, SettingError> {
        self.text(name).ok_or_else(|| SettingError {
            name,
            problem: "must be set".to_owned(),
        })
    }

    pub fn bool(&self, name: &'static str, default: bool) -> Result<bool, SettingError> {
        match self.text(name) {
            None => Ok(default),
            Some(v) if v.eq_ignore_ascii_case("true") || v == "1" => Ok(true),
            Some(v) if v.eq_ignore_ascii_case("false") || v == "0" => Ok(false),
            Some(v) => Err(SettingError {
                name,
                problem: format!("must be true or false, got \"{v}\""),
            }),
        }
    }

    pub fn int(
        &self,
        name: &'static str,
        default: i64,
        range: RangeInclusive<i64>,
    ) -> Result<i64, SettingError> {
        let Some(text) = self.text(name) else {
            return Ok(default);
        };
        match text.trim().parse::<i64>() {
            Ok(n) if range.contains(&n) => Ok(n),
            _ => Err(SettingError {
                name,
                problem: format!(
                    "must be a whole number from {} to {}, got \"{text}\"",
                    range.start(),
                    range.end()
                ),
            }),
        }
    }

    /// A comma-separated list; blanks dropped.
    pub fn list(&self, name: &str) -> Vec<String> {
        self.text(name)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn settings(vars: &[(&str, &str)]) -> Settings<impl Fn(&str) -> Option<String>> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Settings::new(move |name| map.get(name).cloned())
    }

    #[test]
    fn defaults_values_and_errors() {
        let s = settings(&[
            ("DRY_RUN", "TRUE"),
            ("N", "16"),
            ("BAD", "maybe"),
            ("EMPTY", " "),
            ("L", "a, b,,c"),
        ]);
        assert_eq!(s.bool("DRY_RUN", false), Ok(true));
        assert_eq!(s.bool("ABSENT", true), Ok(true));
        assert_eq!(s.bool("EMPTY", false), Ok(false));
        assert_eq!(
            s.bool("BAD", false).expect_err("bad").to_string(),
            "BAD must be true or false, got \"maybe\""
        );
        assert_eq!(s.int("N", 4, 1..=64), Ok(16));
        assert_eq!(
            s.int("N", 4, 1..=8).expect_err("range").to_string(),
            "N must be a whole number from 1 to 8, got \"16\""
        );
        assert_eq!(s.list("L"), ["a", "b", "c"]);
        assert!(s.list("ABSENT").is_empty());
    }
}
