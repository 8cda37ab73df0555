//! The pure parsers: interpreter command lines and desktop Exec lines.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::desktop::{exec_target, parse_entry_text, split_exec};
use super::interpreter::{Interpreter, Invocation};

fn which(program: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap();
    let found = std::env::split_paths(&path).map(|d| d.join(program)).find(|p| p.is_file());
    std::fs::canonicalize(found.unwrap_or_else(|| panic!("{program} not in PATH"))).unwrap()
}

fn args(words: &[&str]) -> Vec<OsString> {
    words.iter().map(OsString::from).collect()
}

fn script(path: &str) -> Invocation {
    Invocation::Script { path: path.into(), chdir: None }
}

#[test]
fn interpreter_names() {
    for name in [
        "python3.11",
        "python3",
        "python",
        "pypy3",
        "node",
        "nodejs",
        "bash",
        "sh",
        "dash",
        "zsh",
        "fish",
    ] {
        assert!(Interpreter::of(Path::new(name)).is_some(), "{name}");
    }
    for name in ["perl5.36.0", "ruby3.1", "php8.2", "lua5.4", "tclsh8.6", "java"] {
        assert!(Interpreter::of(Path::new(name)).is_some(), "{name}");
    }
    for name in ["sleep", "python3-config", "msmtp", "3", "shell"] {
        assert_eq!(Interpreter::of(Path::new(name)), None, "{name}");
    }
}

#[test]
fn interpreter_command_lines() {
    use Interpreter::*;
    let module = |m: &str| Invocation::Module(m.into());
    let cases: &[(Interpreter, &[&str], Invocation)] = &[
        (Python, &["a.py", "--flag"], script("a.py")),
        (Python, &["-u", "b.py"], script("b.py")),
        (Python, &["-W", "ignore", "-X", "dev", "s.py"], script("s.py")),
        (Python, &["-Wignore", "-i", "s.py"], script("s.py")),
        (Python, &["--check-hash-based-pycs", "always", "s.py"], script("s.py")),
        (Python, &["--", "-odd.py"], script("-odd.py")),
        (Python, &["-c", "print(1)"], Invocation::Inline),
        (Python, &["-uc", "print(1)"], Invocation::Inline),
        (Python, &["-m", "mypkg.tool", "x.py"], module("mypkg.tool")),
        (Python, &["-Bmmypkg"], module("mypkg")),
        (Python, &[], Invocation::Interactive),
        (Python, &["-"], Invocation::Interactive),
        (Node, &["-r", "dotenv/config", "app.js"], script("app.js")),
        (Node, &["--require=x", "--max-old-space-size=100", "app.js"], script("app.js")),
        (Node, &["--import", "tsx", "app.ts"], script("app.ts")),
        (Node, &["-pe", "1+1"], Invocation::Inline),
        (Node, &["--eval=1"], Invocation::Inline),
        (Shell, &["-c", "sleep 1", "name"], Invocation::Inline),
        (Shell, &["-ec", "x"], Invocation::Inline),
        (Shell, &["-o", "pipefail", "+O", "extglob", "s.sh"], script("s.sh")),
        (Shell, &["--login", "--rcfile", "rc", "-x", "s.sh"], script("s.sh")),
        (Shell, &["-s", "arg"], Invocation::Interactive),
        (Shell, &["-i"], Invocation::Interactive),
        (Fish, &["-C", "init", "s.fish"], script("s.fish")),
        (Fish, &["--command=ls"], Invocation::Inline),
        (Perl, &["-lne", "print"], Invocation::Inline),
        (Perl, &["-le", "print"], Invocation::Inline),
        (Perl, &["-0777", "-ne", "x"], Invocation::Inline),
        (Perl, &["-I", "lib", "-Mstrict", "-w", "s.pl"], script("s.pl")),
        (Perl, &["-pi.bak", "s.pl"], script("s.pl")),
        (Ruby, &["-rjson", "-e", "x"], Invocation::Inline),
        (Ruby, &["-I", "lib", "s.rb"], script("s.rb")),
        (Php, &["-d", "a=b", "-f", "x.php"], script("x.php")),
        (Php, &["-r", "echo 1;"], Invocation::Inline),
        (Lua, &["-l", "mod", "s.lua"], script("s.lua")),
        (Lua, &["-e", "x"], Invocation::Inline),
        (Tcl, &["-encoding", "utf-8", "s.tcl"], script("s.tcl")),
        (Java, &["-Xmx1g", "-cp", "x", "-jar", "app.jar"], script("app.jar")),
        (Java, &["-cp", "lib", "com.example.Main"], Invocation::Interactive),
        (Java, &["Main.java"], script("Main.java")),
        (Java, &["-m", "mod/com.Main"], module("mod/com.Main")),
    ];
    for (interpreter, words, expected) in cases {
        assert_eq!(&interpreter.parse(&args(words)), expected, "{interpreter:?} {words:?}");
    }
    assert_eq!(
        Ruby.parse(&args(&["-C", "/srv", "s.rb"])),
        Invocation::Script { path: "s.rb".into(), chdir: Some("/srv".into()) }
    );
}

#[test]
fn desktop_exec_lines() {
    assert_eq!(
        split_exec(r#"env A=1 "/opt/my app/run" --x=\"y\" %U"#),
        ["env", "A=1", "/opt/my app/run", "--x=\"y\"", "%U"]
    );
    assert_eq!(split_exec("sh -c 'a b'"), ["sh", "-c", "a b"]);
    let path = std::env::var_os("PATH").unwrap();
    let sleep = which("sleep");
    assert_eq!(exec_target("sleep %f", &path), Some(sleep.clone()));
    assert_eq!(exec_target("env -u X LANG=C sleep 1", &path), Some(sleep.clone()));
    assert_eq!(exec_target("FOO=1 sleep", &path), Some(sleep));
    assert_eq!(exec_target("sh -c 'exec sleep 1'", &path), None, "inline code names no file");
    assert_eq!(exec_target("no-such-program-here", &path), None);
    assert_eq!(exec_target("relative/prog", &path), None);

    let entry =
        parse_entry_text("[Desktop Entry]\nName=A\\sB\nExec=x\n[Desktop Action new]\nName=Other\n")
            .unwrap();
    assert_eq!(entry.name, "A B");
    assert!(parse_entry_text("[Desktop Entry]\nType=Link\nName=L\n").is_none());
}
