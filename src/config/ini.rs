//! flytekit's legacy INI config files (`./flytekit.config`, `~/.flyte/config`), read the way
//! Python's `configparser.ConfigParser()` reads them with its defaults, which is what flytekit
//! uses: `key = value` or `key: value`, keys case-insensitive, whole-line `#`/`;` comments,
//! indented continuation lines, a `[DEFAULT]` section inherited by every section, duplicate
//! sections or keys rejected, and `%(name)s` / `%%` interpolation when a value is read.
//!
//! Only the parsing lives here; which keys mean what is decided in [`crate::config`].

/// One value as written, with the 1-based line of its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct IniValue {
    /// The raw value (continuation lines joined with `\n`), before interpolation.
    pub raw: String,
    /// The line of the key.
    pub line: usize,
}

/// A parsed INI file: sections in file order, each with its options in file order.
#[derive(Debug, Default)]
pub(crate) struct Ini {
    defaults: Vec<(String, IniValue)>,
    sections: Vec<(String, Vec<(String, IniValue)>)>,
}

impl Ini {
    /// Parse `text`; an error names the line, as configparser's `ParsingError` does.
    pub(crate) fn parse(text: &str) -> Result<Ini, String> {
        let mut ini = Ini::default();
        // Where the current section's options go: None before any header, Some(None) for
        // DEFAULT, Some(Some(i)) for sections[i].
        let mut current: Option<Option<usize>> = None;
        // The option being read (for continuation lines) and the indent of its key.
        let mut open: Option<(String, usize)> = None;
        let mut pending_blank = 0usize;
        for (i, line) in text.lines().enumerate() {
            let number = i + 1;
            let content = line.trim();
            if content.starts_with('#') || content.starts_with(';') {
                continue;
            }
            if content.is_empty() {
                if open.is_some() {
                    pending_blank += 1;
                }
                continue;
            }
            let indent = line.len() - line.trim_start().len();
            if let (Some((option, option_indent)), Some(target)) = (&open, current) {
                if indent > *option_indent {
                    let value = ini
                        .options_mut(target)
                        .iter_mut()
                        .rev()
                        .find(|(k, _)| k == option)
                        .map(|(_, v)| v);
                    if let Some(value) = value {
                        for _ in 0..=pending_blank {
                            value.raw.push('\n');
                        }
                        value.raw.push_str(content);
                    }
                    pending_blank = 0;
                    continue;
                }
            }
            pending_blank = 0;
            open = None;
            if let Some(rest) = content.strip_prefix('[') {
                let Some(end) = rest.rfind(']').filter(|&e| e > 0) else {
                    return Err(format!("line {number}: a section header must be [name]"));
                };
                let name = &rest[..end];
                if name == "DEFAULT" {
                    current = Some(None);
                    continue;
                }
                if ini.sections.iter().any(|(s, _)| s == name) {
                    return Err(format!("line {number}: section [{name}] appears twice"));
                }
                ini.sections.push((name.to_owned(), Vec::new()));
                current = Some(Some(ini.sections.len() - 1));
                continue;
            }
            let Some(target) = current else {
                return Err(format!(
                    "line {number}: a key before the first [section] header"
                ));
            };
            let Some(split) = content.find(['=', ':']) else {
                return Err(format!(
                    "line {number}: expected `key = value` or a [section] header"
                ));
            };
            let key = content[..split].trim_end().to_lowercase();
            if key.is_empty() {
                return Err(format!("line {number}: a value without a key"));
            }
            let value = content[split + 1..].trim().to_owned();
            let options = ini.options_mut(target);
            if options.iter().any(|(k, _)| *k == key) {
                return Err(format!(
                    "line {number}: key '{key}' appears twice in its section"
                ));
            }
            options.push((
                key.clone(),
                IniValue {
                    raw: value,
                    line: number,
                },
            ));
            open = Some((key, indent));
        }
        Ok(ini)
    }

    fn options_mut(&mut self, target: Option<usize>) -> &mut Vec<(String, IniValue)> {
        match target {
            None => &mut self.defaults,
            Some(i) => &mut self.sections[i].1,
        }
    }

    /// Whether the file has `[section]`.
    pub(crate) fn has_section(&self, section: &str) -> bool {
        self.sections.iter().any(|(s, _)| s == section)
    }

    /// The options of `[section]` (its own, then the inherited `[DEFAULT]` ones it does not
    /// set), or none when the section is absent.
    pub(crate) fn options(&self, section: &str) -> Vec<(&str, &IniValue)> {
        let Some((_, own)) = self.sections.iter().find(|(s, _)| s == section) else {
            return Vec::new();
        };
        let mut all: Vec<(&str, &IniValue)> = own.iter().map(|(k, v)| (k.as_str(), v)).collect();
        for (k, v) in &self.defaults {
            if !own.iter().any(|(o, _)| o == k) {
                all.push((k.as_str(), v));
            }
        }
        all
    }

    /// `[section] option`, interpolated (`%(name)s` from the same section or `[DEFAULT]`,
    /// `%%` for `%`), with the line of its key. `None` when the section or option is absent,
    /// or when interpolation fails: flytekit catches configparser's errors and treats the
    /// entry as unset.
    pub(crate) fn get(&self, section: &str, option: &str) -> Option<(String, usize)> {
        let options = self.options(section);
        let lookup = |name: &str| options.iter().find(|(k, _)| *k == name).map(|(_, v)| *v);
        let value = lookup(option)?;
        let text = interpolate(&value.raw, &lookup, 0)?;
        Some((text, value.line))
    }
}

/// configparser's BasicInterpolation; `None` on a syntax error, a missing reference or a
/// depth beyond configparser's limit of 10.
fn interpolate<'a>(
    raw: &str,
    lookup: &dyn Fn(&str) -> Option<&'a IniValue>,
    depth: usize,
) -> Option<String> {
    if depth > 10 {
        return None;
    }
    let mut out = String::with_capacity(raw.len());
    let mut rest = raw;
    while let Some(at) = rest.find('%') {
        out.push_str(&rest[..at]);
        rest = &rest[at + 1..];
        if let Some(after) = rest.strip_prefix('%') {
            out.push('%');
            rest = after;
        } else if let Some(after) = rest.strip_prefix('(') {
            let end = after.find(")s")?;
            let name = after[..end].to_lowercase();
            let referenced = lookup(&name)?;
            out.push_str(&interpolate(&referenced.raw, lookup, depth + 1)?);
            rest = &after[end + 2..];
        } else {
            return None;
        }
    }
    out.push_str(rest);
    Some(out)
}

/// configparser's `getboolean`: `1/yes/true/on` and `0/no/false/off`, in any case.
pub(crate) fn parse_bool(value: &str) -> Option<bool> {
    match value.to_lowercase().as_str() {
        "1" | "yes" | "true" | "on" => Some(true),
        "0" | "no" | "false" | "off" => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn configparser_rules() {
        let ini = Ini::parse(
            "# comment\n[DEFAULT]\nroot = /r\n\n[platform]\nURL = dns:///x.io\ninsecure: True\n; c\n[credentials]\ncommand = a,\n   b\nscopes=%(root)s/all,100%%\nbad = %(nope)s\n",
        )
        .unwrap();
        assert_eq!(ini.get("platform", "url"), Some(("dns:///x.io".into(), 6)));
        assert_eq!(ini.get("platform", "insecure").unwrap().0, "True");
        assert_eq!(ini.get("credentials", "command").unwrap().0, "a,\nb");
        assert_eq!(ini.get("credentials", "scopes").unwrap().0, "/r/all,100%");
        assert_eq!(ini.get("credentials", "bad"), None);
        assert_eq!(ini.get("credentials", "root").unwrap().0, "/r");
        assert_eq!(ini.get("nosuch", "root"), None);
        assert!(ini.has_section("platform") && !ini.has_section("DEFAULT"));
        assert_eq!(parse_bool("On"), Some(true));
        assert_eq!(parse_bool("truee"), None);
    }

    #[test]
    fn configparser_errors() {
        for (text, what) in [
            ("url = x\n", "before the first"),
            ("[a]\nnot a pair\n", "line 2"),
            ("[a]\n[a]\n", "twice"),
            ("[a]\nk=1\nK=2\n", "twice"),
        ] {
            let e = Ini::parse(text).unwrap_err();
            assert!(e.contains(what), "{text:?}: {e}");
        }
    }
}
