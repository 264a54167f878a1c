#!/usr/bin/env bash
# Installs the tools the real-VS-Code suite drives, with only Debian's apt and
# the npm registry reachable (no GitHub or browser downloads), and prints the
# folder that holds them. Does nothing but print it when they are already there.
#
#   install-tools.sh              -> ${XDG_CACHE_HOME:-~/.cache}/subcell-vscode-e2e/tools-<key>
#   SUBCELL_E2E_CACHE=DIR ...     -> DIR/tools-<key>
#
#   <tools>/cs/node_modules/.bin/code-server   code-server 4.100.3 (VS Code 1.100.3, the newest 4.x for node 20)
#   <tools>/pw/node_modules/playwright-core    the browser driver only (no browser download)
#   /usr/bin/chromium                          Debian's Chromium (apt)
#   /usr/bin/python3 with numpy, pandas, matplotlib (apt: the step that runs a
#   notebook on another Python than the server's)
#
# Why not a plain `npm install code-server`: its postinstall refuses to run as
# root unless npm_config_unsafe_perm=true, and then fails in @vscode/ripgrep's
# postinstall, which downloads rg from GitHub. So: --ignore-scripts, rebuild the
# native modules against the node headers of the installed nodejs package,
# use Debian's ripgrep, and do the rest of code-server's postinstall.sh by hand.
#
# The tools are built in a temporary folder and renamed into place only when
# every step passed, so an interrupted install is redone, never half-used.
# Progress goes to stderr; the only line on stdout is the tools folder.
set -euo pipefail

CODE_SERVER_VERSION=4.100.3
PLAYWRIGHT_VERSION=1.65.1
KEY="cs${CODE_SERVER_VERSION}-pw${PLAYWRIGHT_VERSION}"
CACHE=${SUBCELL_E2E_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/subcell-vscode-e2e}
TOOLS="$CACHE/tools-$KEY"
APT_PACKAGES=(chromium ripgrep fonts-dejavu-core build-essential python3 pkg-config libsecret-1-dev libkrb5-dev
  python3-numpy python3-pandas python3-matplotlib)

log() { echo "install-tools: $*" >&2; }

node_major() { node -p 'process.versions.node.split(".")[0]' 2>/dev/null || echo none; }

# Debian packages: only those that are missing (sudo only when not root).
install_apt_packages() {
  local missing=() p sudo=""
  for p in "${APT_PACKAGES[@]}"; do
    dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
  done
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
  ((${#missing[@]})) || return 0
  log "apt-get install ${missing[*]}"
  [ "$(id -u)" = 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

npm_quiet() { npm --no-audit --no-fund --loglevel=error "$@" >&2; }

install_code_server() {
  local dir=$1
  mkdir -p "$dir/cs" && cd "$dir/cs"
  echo '{"name":"subcell-e2e-code-server","private":true}' >package.json
  npm_quiet install --ignore-scripts "code-server@$CODE_SERVER_VERSION"
  export npm_config_nodedir=/usr   # the nodejs package's headers: node-gyp downloads none

  cd "$dir/cs/node_modules/code-server/lib/vscode"
  npm_quiet install --omit=dev --ignore-scripts
  # node-pty's install script ends with `npx node-gyp configure -- -f compile_commands_json`,
  # which fails (npx will not fetch node-gyp without asking) after pty.node is built:
  # the loop below checks what matters, the .node files.
  npm rebuild --foreground-scripts kerberos @parcel/watcher @vscode/spdlog native-watchdog \
    @vscode/deviceid node-pty >"$dir/native-rebuild.log" 2>&1 || true
  local f
  for f in node_modules/node-pty/build/Release/pty.node node_modules/@vscode/spdlog/build/Release/spdlog.node \
           node_modules/kerberos/build/Release/kerberos.node node_modules/native-watchdog/build/Release/watchdog.node; do
    [ -f "$f" ] || { log "native module missing: $f (see $dir/native-rebuild.log)"; return 1; }
  done
  mkdir -p node_modules/@vscode/ripgrep/bin && ln -sf /usr/bin/rg node_modules/@vscode/ripgrep/bin/rg
  # The rest of code-server's postinstall.sh.
  ln -sfn node_modules node_modules.asar
  (cd bin/remote-cli && ln -sf code-linux.sh code-server)
  (cd bin/helpers && ln -sf browser-linux.sh browser.sh)
  (cd extensions && npm install --omit=dev --no-audit --no-fund >>"$dir/native-rebuild.log" 2>&1)

  cd "$dir/cs" && npm rebuild --foreground-scripts argon2 >>"$dir/native-rebuild.log" 2>&1
}

install_playwright() {
  local dir=$1
  mkdir -p "$dir/pw" && cd "$dir/pw"
  echo '{"name":"subcell-e2e-playwright","private":true}' >package.json
  npm_quiet install "playwright-core@$PLAYWRIGHT_VERSION"
}

# Runs both tools once, with throw-away config folders (code-server would
# otherwise write under ~/.config).
smoke_check() {
  local dir=$1 scratch
  scratch=$(mktemp -d)
  XDG_CONFIG_HOME="$scratch/config" XDG_DATA_HOME="$scratch/data" \
    "$dir/cs/node_modules/.bin/code-server" --version >&2
  rm -rf "$scratch"
  /usr/bin/chromium --version >&2
  node -p "'playwright-core ' + require('$dir/pw/node_modules/playwright-core/package.json').version" >&2
}

main() {
  install_apt_packages
  [ "$(node_major)" = 20 ] || { log "code-server $CODE_SERVER_VERSION needs node 20, found $(node --version 2>&1)"; exit 1; }
  if [ -x "$TOOLS/cs/node_modules/.bin/code-server" ] && [ -f "$TOOLS/.complete" ]; then
    echo "$TOOLS"
    return 0
  fi
  log "installing code-server $CODE_SERVER_VERSION and playwright-core $PLAYWRIGHT_VERSION into $TOOLS"
  mkdir -p "$CACHE"
  local work
  work=$(mktemp -d "$CACHE/partial.XXXXXX")
  trap 'rm -rf "$work"' EXIT
  install_code_server "$work"
  install_playwright "$work"
  smoke_check "$work"
  touch "$work/.complete"
  rm -rf "$TOOLS"
  mv "$work" "$TOOLS"
  trap - EXIT
  echo "$TOOLS"
}

main "$@"
