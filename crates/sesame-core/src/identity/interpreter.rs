//! Which programs are interpreters, and what an interpreter's command line says it runs.
//!
//! The kernel only tells us the interpreter (`/proc/<pid>/exe`); the script comes from the
//! command line, which the process wrote itself and may rewrite at will. So the script part
//! of an identity is the interpreter's own account of what it runs: good for telling the
//! user's programs apart, not a defence against hostile code of the same user.

use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Interpreter {
    Python,
    Node,
    Shell,
    Fish,
    Perl,
    Ruby,
    Php,
    Lua,
    Tcl,
    Java,
}

/// What an interpreter was asked to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Invocation {
    /// A program file, as written on the command line (not yet resolved). `chdir` is a
    /// directory the interpreter changes into before looking the file up (`ruby -C`).
    Script { path: OsString, chdir: Option<OsString> },
    /// A module found by name at run time (`python -m`, `java -m`).
    Module(String),
    /// Code on the command line (`-c`, `-e`, …): nothing on disk to pin it to.
    Inline,
    /// A REPL, a program read from stdin, or nothing we can recognise.
    Interactive,
}

impl Interpreter {
    /// Decides by file name, ignoring a version suffix: `python3.11`, `perl5.36.0`,
    /// `lua5.4`, `tclsh8.6` and `ruby3.1` all count.
    pub(crate) fn of(exe: &Path) -> Option<Interpreter> {
        let name = exe.file_name()?.to_str()?;
        let base = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        Some(match base {
            "python" | "pypy" => Interpreter::Python,
            "node" | "nodejs" => Interpreter::Node,
            "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "yash" => Interpreter::Shell,
            "fish" => Interpreter::Fish,
            "perl" => Interpreter::Perl,
            "ruby" => Interpreter::Ruby,
            "php" => Interpreter::Php,
            "lua" | "luajit" => Interpreter::Lua,
            "tclsh" | "wish" => Interpreter::Tcl,
            "java" => Interpreter::Java,
            _ => return None,
        })
    }

    /// How this interpreter spells "code on the command line", one spelling per interpreter
    /// (`perl -E` and `node --print` count as `-e`): what inline code is called in its
    /// identity, so all of an interpreter's inline code is one identity.
    pub(crate) fn inline_flag(self) -> &'static str {
        match self {
            Interpreter::Python | Interpreter::Shell | Interpreter::Fish => "-c",
            Interpreter::Perl | Interpreter::Ruby | Interpreter::Node | Interpreter::Lua => "-e",
            Interpreter::Php => "-r",
            // No inline form: their parsers never answer `Inline`.
            Interpreter::Tcl | Interpreter::Java => "-c",
        }
    }

    /// The shells a command line is handed to (`system()`, `popen()`, `sh -c`).
    pub(crate) fn is_shell(self) -> bool {
        matches!(self, Interpreter::Shell | Interpreter::Fish)
    }

    /// `python3 somedir/` runs `somedir/__main__.py`; other interpreters want a file.
    pub(crate) fn accepts_directory(self) -> bool {
        self == Interpreter::Python
    }

    /// `args` excludes argv[0].
    pub(crate) fn parse(self, args: &[OsString]) -> Invocation {
        match self {
            Interpreter::Tcl => parse_tcl(args),
            Interpreter::Java => parse_java(args),
            other => parse_getopt(other.spec(), args),
        }
    }

    fn spec(self) -> &'static Spec {
        match self {
            Interpreter::Python => &PYTHON,
            Interpreter::Node => &NODE,
            Interpreter::Shell => &SHELL,
            Interpreter::Fish => &FISH,
            Interpreter::Perl => &PERL,
            Interpreter::Ruby => &RUBY,
            Interpreter::Php => &PHP,
            Interpreter::Lua => &LUA,
            Interpreter::Tcl | Interpreter::Java => unreachable!("parsed by their own functions"),
        }
    }
}

/// The option grammar of a getopt-like interpreter. Short options may be clustered
/// (`-uc`, `-lne`, `-ec`); a letter that takes a value takes the rest of its cluster, or
/// the next argument when the rest is empty. Getting a value-taking option wrong only ever
/// shifts us onto a word that does not name a file, which falls back to the plain
/// interpreter identity.
struct Spec {
    /// Letters whose presence means code on the command line (`python -c`, `perl -e`, `sh -c`).
    inline: &'static [u8],
    /// Letters that read the program from stdin (`sh -s`).
    stdin: &'static [u8],
    /// Letters naming a module to run (`python -m mod`).
    module: &'static [u8],
    /// Letters whose value is the program file (`php -f file`).
    script: &'static [u8],
    /// Letters taking a value (attached, or the next argument).
    value: &'static [u8],
    /// Letters taking an optional value glued to them only (`perl -Mstrict`, `perl -i.bak`).
    attached: &'static [u8],
    /// Letters followed by optional digits, after which the cluster goes on (`perl -l0ne`).
    digits: &'static [u8],
    /// The letter that changes directory before the script is looked up (`ruby -C dir`).
    chdir: Option<u8>,
    long_inline: &'static [&'static str],
    long_script: &'static [&'static str],
    long_value: &'static [&'static str],
    /// Shells also take options as `+o name`.
    plus: bool,
}

const NONE: &[u8] = b"";

/// A grammar with no options at all; the specs below name only what differs.
const PLAIN: Spec = Spec {
    inline: NONE,
    stdin: NONE,
    module: NONE,
    script: NONE,
    value: NONE,
    attached: NONE,
    digits: NONE,
    chdir: None,
    long_inline: &[],
    long_script: &[],
    long_value: &[],
    plus: false,
};

static PYTHON: Spec = Spec {
    inline: b"c",
    module: b"m",
    value: b"WXQ",
    long_value: &["--check-hash-based-pycs"],
    ..PLAIN
};

static NODE: Spec = Spec {
    inline: b"ep",
    value: b"rC",
    long_inline: &["--eval", "--print"],
    // Node's own string options accept a separate value; V8's (--max-old-space-size) need '='.
    long_value: &[
        "--require",
        "--import",
        "--loader",
        "--experimental-loader",
        "--conditions",
        "--input-type",
        "--env-file",
        "--env-file-if-exists",
        "--title",
        "--inspect-port",
        "--redirect-warnings",
        "--disable-warning",
        "--watch-path",
        "--test-name-pattern",
        "--test-reporter",
        "--test-reporter-destination",
        "--openssl-config",
        "--icu-data-dir",
        "--diagnostic-dir",
        "--report-dir",
    ],
    ..PLAIN
};

static SHELL: Spec = Spec {
    inline: b"c",
    stdin: b"s",
    value: b"oO",
    long_value: &["--rcfile", "--init-file"],
    plus: true,
    ..PLAIN
};

static FISH: Spec = Spec {
    inline: b"c",
    value: b"CdofpD",
    long_inline: &["--command"],
    long_value: &[
        "--init-command",
        "--debug",
        "--debug-output",
        "--features",
        "--profile",
        "--profile-startup",
    ],
    ..PLAIN
};

static PERL: Spec = Spec {
    inline: b"eE",
    // -I accepts a separate value; -M/-m do not ("Missing argument to -M").
    value: b"I",
    attached: b"mMCdDixVF",
    digits: b"l0",
    ..PLAIN
};

static RUBY: Spec = Spec {
    inline: b"e",
    value: b"IrCE",
    attached: b"xFTWK",
    digits: b"0",
    chdir: Some(b'C'),
    long_value: &[
        "--encoding",
        "--external-encoding",
        "--internal-encoding",
        "--enable",
        "--disable",
        "--dump",
    ],
    ..PLAIN
};

static PHP: Spec = Spec {
    inline: b"rBRE",
    script: b"fF",
    value: b"cdztS",
    long_inline: &["--run", "--process-begin", "--process-code", "--process-end"],
    long_script: &["--file", "--process-file"],
    long_value: &[
        "--php-ini",
        "--define",
        "--zend-extension",
        "--docroot",
        "--server",
        "--rf",
        "--rc",
        "--re",
        "--rz",
        "--ri",
    ],
    ..PLAIN
};

static LUA: Spec = Spec { inline: b"e", value: b"l", ..PLAIN };

fn script(path: &[u8], chdir: Option<&[u8]>) -> Invocation {
    if path == b"-" || path.is_empty() {
        return Invocation::Interactive;
    }
    Invocation::Script {
        path: OsStr::from_bytes(path).to_os_string(),
        chdir: chdir.map(|d| OsStr::from_bytes(d).to_os_string()),
    }
}

fn module(name: Option<&[u8]>) -> Invocation {
    match name {
        Some(n) if !n.is_empty() => Invocation::Module(String::from_utf8_lossy(n).into_owned()),
        _ => Invocation::Interactive,
    }
}

fn parse_getopt(spec: &Spec, args: &[OsString]) -> Invocation {
    let mut chdir: Option<&[u8]> = None;
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        if arg == b"--" {
            i += 1;
            break;
        }
        if let Some(long) = arg.strip_prefix(b"--") {
            let (name, inline_value) = match long.iter().position(|b| *b == b'=') {
                Some(eq) => (&arg[..eq + 2], Some(&long[eq + 1..])),
                None => (arg, None),
            };
            let name = std::str::from_utf8(name).unwrap_or("");
            if spec.long_inline.contains(&name) {
                return Invocation::Inline;
            }
            let takes_value = spec.long_script.contains(&name) || spec.long_value.contains(&name);
            let value = match inline_value {
                Some(v) => Some(v),
                None if takes_value => {
                    i += 1;
                    args.get(i).map(|a| a.as_bytes())
                }
                None => None,
            };
            if spec.long_script.contains(&name) {
                return value.map_or(Invocation::Interactive, |v| script(v, chdir));
            }
            i += 1;
            continue;
        }
        let is_option = arg.len() > 1 && (arg[0] == b'-' || (spec.plus && arg[0] == b'+'));
        if !is_option {
            break;
        }
        let mut j = 1;
        while j < arg.len() {
            let letter = arg[j];
            let rest = &arg[j + 1..];
            if spec.inline.contains(&letter) {
                return Invocation::Inline;
            }
            if spec.stdin.contains(&letter) {
                return Invocation::Interactive;
            }
            if spec.attached.contains(&letter) {
                break;
            }
            if spec.digits.contains(&letter) {
                j += 1 + digit_run(rest);
                continue;
            }
            let is_module = spec.module.contains(&letter);
            let is_script = spec.script.contains(&letter);
            if is_module || is_script || spec.value.contains(&letter) {
                let value = if rest.is_empty() {
                    i += 1;
                    args.get(i).map(|a| a.as_bytes())
                } else {
                    Some(rest)
                };
                if is_module {
                    return module(value);
                }
                if is_script {
                    return value.map_or(Invocation::Interactive, |v| script(v, chdir));
                }
                if spec.chdir == Some(letter) {
                    chdir = value;
                }
                break;
            }
            j += 1;
        }
        i += 1;
    }
    args.get(i).map_or(Invocation::Interactive, |a| script(a.as_bytes(), chdir))
}

/// Length of the number after `perl -l`/`-0` (`-0777`, `-0x1F`, `-l015`): octal digits,
/// or `x` and hex digits.
fn digit_run(rest: &[u8]) -> usize {
    match rest.first() {
        Some(b'x') | Some(b'X') => {
            1 + rest[1..].iter().take_while(|b| b.is_ascii_hexdigit()).count()
        }
        _ => rest.iter().take_while(|b| (b'0'..=b'7').contains(b)).count(),
    }
}

/// `tclsh ?-encoding name? ?fileName arg …?`: the first argument is the script unless it
/// starts with '-'.
fn parse_tcl(args: &[OsString]) -> Invocation {
    let mut rest = args;
    if rest.first().is_some_and(|a| a.as_bytes() == b"-encoding") {
        rest = rest.get(2..).unwrap_or(&[]);
    }
    match rest.first() {
        Some(a) if !a.as_bytes().starts_with(b"-") => script(a.as_bytes(), None),
        _ => Invocation::Interactive,
    }
}

/// `java -jar app.jar` → the jar; `java Main.java` (source-file mode) → the source;
/// `java -m mod/Main` → the module. A main class name is not a file, so `java Main` is
/// the plain `java` identity, like `@argfiles` whose options we cannot see.
fn parse_java(args: &[OsString]) -> Invocation {
    const VALUE: &[&str] = &[
        "-cp",
        "-classpath",
        "--class-path",
        "-p",
        "--module-path",
        "--upgrade-module-path",
        "--add-modules",
        "--limit-modules",
        "--add-reads",
        "--add-exports",
        "--add-opens",
        "--patch-module",
        "--source",
        "--enable-native-access",
    ];
    let mut i = 0;
    while i < args.len() {
        let arg = args[i].as_bytes();
        match arg {
            b"-jar" => {
                return args
                    .get(i + 1)
                    .map_or(Invocation::Interactive, |a| script(a.as_bytes(), None))
            }
            b"-m" | b"--module" => return module(args.get(i + 1).map(|a| a.as_bytes())),
            _ => {}
        }
        if let Some(m) = arg.strip_prefix(b"--module=") {
            return module(Some(m));
        }
        if arg.starts_with(b"@") {
            return Invocation::Interactive;
        }
        if !arg.starts_with(b"-") {
            return if arg.ends_with(b".java") {
                script(arg, None)
            } else {
                Invocation::Interactive
            };
        }
        let takes_value = std::str::from_utf8(arg).is_ok_and(|a| VALUE.contains(&a));
        i += if takes_value { 2 } else { 1 };
    }
    Invocation::Interactive
}
