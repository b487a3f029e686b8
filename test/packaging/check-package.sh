#!/usr/bin/env bash
# The packaging check for issue 18, run by hand (not part of npm test: it packs and installs).
#
#   test/packaging/check-package.sh [--keep]
#
# 1. Copies the working tree (tracked and untracked, not ignored files; node_modules copied, so
#    nothing writes into the checkout's) to a scratch directory and runs `npm pack` there.
# 2. In an empty directory, `npm install`s the tarball with a PATH that has no C/C++ compiler and
#    no make, so the install script must use the shipped prebuild.
# 3. Runs `npx wirekit --version` and `npx wirekit ping -c1 127.0.0.1` there (ping needs root or
#    ping sockets), and checks which addon file was loaded and that nothing was compiled.
# 4. Runs `npx wirekit --version` inside the copied checkout and checks that it rebuilt neither
#    dist/ nor build/.
# npm resolves the package's dependencies from its cache when it can (--prefer-offline).
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
WORK=$(mktemp -d /tmp/wirekit-pack.XXXXXX)
[[ "${1:-}" == "--keep" ]] || trap 'rm -rf "$WORK"' EXIT
say() { printf '\n== %s\n' "$*"; }

# A PATH with everything in /usr/bin and /usr/local/bin except compilers, linkers' drivers and make.
NOCC="$WORK/nocc-bin"
mkdir -p "$NOCC"
for dir in /usr/local/bin /usr/bin; do
  for f in "$dir"/*; do
    name=$(basename "$f")
    case "$name" in
      gcc* | g++* | cc | c++ | c89* | c99* | cpp* | make | gmake | clang* | *-gcc* | *-g++* | *-c++* | *-cpp*) continue ;;
    esac
    [[ -e "$NOCC/$name" ]] || ln -s "$f" "$NOCC/$name"
  done
done
# python3 and node may live outside /usr/bin (pyenv, nvm): keep the ones in use.
for t in node python3; do p=$(command -v "$t" || true); [[ -n "$p" ]] && ln -sf "$(readlink -f "$p")" "$NOCC/$t"; done
if env PATH="$NOCC" bash -c 'command -v g++ || command -v gcc || command -v cc || command -v make'; then
  echo "check-package: the no-compiler PATH still has a compiler" >&2
  exit 1
fi

say "copy the checkout to $WORK/src and npm pack"
mkdir -p "$WORK/src"
(cd "$ROOT" && git ls-files -co --exclude-standard -z | xargs -0 cp --parents -t "$WORK/src")
cp -a "$(readlink -f "$ROOT/node_modules")" "$WORK/src/node_modules"
(cd "$WORK/src" && npm pack --silent --pack-destination "$WORK" >/dev/null 2>"$WORK/pack.log") || { cat "$WORK/pack.log"; exit 1; }
TGZ=$(ls "$WORK"/wirekit-*.tgz)
ls -l "$TGZ" | awk '{print $5, $NF}'
tar -tzvf "$TGZ" | grep -E 'prebuilds/|binding.gyp' | awk '{print $3, $6}'
if tar -tzf "$TGZ" | grep -q '^package/build/'; then echo "check-package: the tarball holds build/" >&2; exit 1; fi

say "npm install the tarball without a compiler (PATH=$NOCC)"
mkdir -p "$WORK/app"
cd "$WORK/app"
echo '{ "name": "app", "version": "1.0.0", "private": true }' > package.json
env PATH="$NOCC" npm install --prefer-offline --no-audit --no-fund --foreground-scripts "$TGZ" 2>&1 | grep -v '^$' | sed 's/^/  /'
PKG="$WORK/app/node_modules/wirekit"
[[ ! -e "$PKG/build" ]] || { echo "check-package: the install compiled into $PKG/build" >&2; exit 1; }

say "npx wirekit --version"
env PATH="$NOCC" npx wirekit --version
say "npx wirekit ping -c1 127.0.0.1"
env PATH="$NOCC" npx wirekit ping -c1 127.0.0.1
say "which addon file loaded"
node --input-type=module -e "
  const n = await import('$PKG/dist/src/core/native.js');
  const a = n.loadAddon('addon');
  console.log(n.loadedAddonPath().replace('$WORK/', ''), Object.keys(a).join(' '));"

say "npx wirekit --version inside the copied checkout, as a clone after npm install (must not rebuild dist/ or build/)"
cd "$WORK/src"
# A clone after `npm install` with a compiler has a local build too: give the copy one.
if [[ -f "$ROOT/build/Release/wirekit_icmp.node" ]]; then
  mkdir -p build/Release && cp -p "$ROOT"/build/Release/wirekit_icmp.node* build/Release/
fi
stamps() { stat -c '%n %Y' dist/src/cli/main.js dist/src/core/native.js build/Release/wirekit_icmp.node 2>&1; }
before=$(stamps)
sleep 1
# The first npx in a checkout installs it into npm's npx cache, which runs prepare and install
# in the checkout with npm_command=exec; foreground-scripts shows what they said.
env PATH="$NOCC" npm_config_foreground_scripts=true npx --yes wirekit --version 2>&1 | grep -v '^$' | sed 's/^/  /'
after=$(stamps)
echo "$after" | sed 's/^/  /'
[[ "$before" == "$after" ]] && echo "dist/ and build/ untouched" || { echo "check-package: npx rebuilt the checkout" >&2; exit 1; }
# Forget the npx cache entry for this scratch checkout.
for d in "$HOME"/.npm/_npx/*/; do grep -qs "$WORK/src" "$d/package.json" && rm -rf "$d"; done
say "ok"
