# Sourced by scripts/demo.sh and scripts/run.sh before they build or start anything: the demo
# provider's port and the demo broker's socket must be free, else they stop with a sentence
# naming what holds them (another demo, the app, a daemon) instead of starting half a demo.

# "node (pid 123)" for whatever listens on 127.0.0.1:$1, from `ss` (iproute2) when it can
# tell; else "another program".
demo_port_holder() {
  local users
  users=$(ss -Hltnp "sport = :$1" 2>/dev/null | grep -o 'users:((.*))' | head -1 || true)
  if [[ $users =~ \"([^\"]+)\",pid=([0-9]+) ]]; then
    echo "${BASH_REMATCH[1]} (pid ${BASH_REMATCH[2]})"
  else
    echo "another program"
  fi
}

# Exits 1 with the reason when something accepts connections on 127.0.0.1:$1.
demo_check_port() {
  local port=$1
  if python3 -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1',$port))!=0)"; then
    echo "The demo provider's port 127.0.0.1:$port is taken by $(demo_port_holder "$port"), probably another Sesame demo (scripts/run.sh or scripts/demo.sh) still running: stop it first, or choose another port with SESAME_DEMO_PORT=<port>." >&2
    exit 1
  fi
}

# Exits 1 with the reason when a broker already serves the socket at $1 (a stale socket file
# that nobody answers on is fine: the broker replaces it).
demo_check_socket() {
  local socket=$1 holder pid
  [ -S "$socket" ] || return 0
  if python3 -c "import socket,sys; s=socket.socket(socket.AF_UNIX); sys.exit(s.connect_ex(sys.argv[1])!=0)" "$socket"; then
    holder="another Sesame broker"
    pid=$(ss -Hxlp 2>/dev/null | grep -F " $socket " | grep -o 'pid=[0-9]*' | head -1 | cut -d= -f2 || true)
    [ -n "$pid" ] && holder="$holder ($(cat /proc/"$pid"/comm 2>/dev/null || echo '?'), pid $pid)"
    echo "The demo's socket $socket is already served by $holder: that demo is still running. Leave it (its shell, or Quit in its app) before starting this one." >&2
    exit 1
  fi
}
