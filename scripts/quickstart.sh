#!/usr/bin/env bash
# One-step setup for GAN Studio: creates .venv, installs everything, then runs what you ask.
#   bash scripts/quickstart.sh app     install and open the desktop app (DCGAN on `shapes`)
#   bash scripts/quickstart.sh test    install and run the whole test suite
#   bash scripts/quickstart.sh install install only (then: source .venv/bin/activate)
# On a machine without an NVIDIA GPU it installs the CPU build of torch (no multi-GB CUDA
# download). To use a GPU, install the CUDA torch build you want into .venv first (see README).
# pip runs only when something changed: .venv/.gan-studio-install holds a hash of pyproject.toml
# and this script's choices (torch build, checkout folder); code changes need no reinstall (the
# install is editable). GAN_STUDIO_REINSTALL=1 forces one.
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-app}"
shift || true
case "$what" in
  app|test|install) ;;
  *) echo "usage: bash scripts/quickstart.sh app|test|install [args...]" >&2; exit 2 ;;
esac

PY="${PYTHON:-python3}"
TORCH_CPU_VERSION="${GAN_STUDIO_TORCH_VERSION:-2.13.0}"

STAMP=.venv/.gan-studio-install

install_fingerprint() {
  # everything that decides what pip installs; a change to any of it means installing again
  local choices="extras=dev torch-cpu=${TORCH_CPU_VERSION} index=${GAN_STUDIO_TORCH_INDEX:-} checkout=${PWD} machine=$(uname -m)"
  if command -v sha256sum >/dev/null 2>&1; then
    { cat pyproject.toml; echo "$choices"; } | sha256sum | cut -d' ' -f1
  else
    { cat pyproject.toml; echo "$choices"; } | shasum -a 256 | cut -d' ' -f1
  fi
}

install_needed() {
  # 0 (yes) unless the stamp matches and the venv still imports the package from this checkout
  [ "${GAN_STUDIO_REINSTALL:-0}" = 1 ] && return 0
  [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$(install_fingerprint)" ] || return 0
  [ "$(.venv/bin/python -c 'import gan_studio, os; print(os.path.dirname(gan_studio.__file__))' 2>/dev/null)" = "$PWD/gan_studio" ] || return 0
  return 1
}

qt_runtime_libs=(libgl1 libegl1 libxkbcommon0 libglib2.0-0 libfreetype6 libfontconfig1 libdbus-1-3
                 fonts-dejavu-core fonts-droid-fallback  # wide Unicode coverage and CJK, for class names in pictures
                 # Qt's window plugin (xcb) links these: without libxcb-cursor0 the app aborts "could not load xcb"
                 libxkbcommon-x11-0 libxcb-cursor0 libxcb-icccm4 libxcb-keysyms1 libxcb-shape0 libxcb-render-util0
                 libxcb-image0)
missing=()
if command -v dpkg-query >/dev/null 2>&1; then
  for pkg in "${qt_runtime_libs[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
fi
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "[quickstart] installing Qt runtime libraries: ${missing[*]}"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
  else
    echo "[quickstart] Qt needs these system packages: sudo apt-get install ${missing[*]}" >&2
  fi
fi

if [ ! -x .venv/bin/python ]; then
  echo "[quickstart] creating .venv"
  "$PY" -m venv .venv
fi
if install_needed; then
  if ! .venv/bin/python -c "import torch" >/dev/null 2>&1; then
    if command -v nvidia-smi >/dev/null 2>&1; then
      echo "[quickstart] NVIDIA GPU found: installing torch from PyPI (CUDA build)"
      .venv/bin/pip install -q torch
    else
      echo "[quickstart] no NVIDIA GPU: installing the CPU build torch==${TORCH_CPU_VERSION}"
      .venv/bin/pip install -q "torch==${TORCH_CPU_VERSION}" ${GAN_STUDIO_TORCH_INDEX:+--index-url "$GAN_STUDIO_TORCH_INDEX"}
    fi
  fi
  .venv/bin/pip install -q -e ".[dev]"
  install_fingerprint > "$STAMP"
fi

case "$what" in
  install)
    echo "[quickstart] installed into .venv: run 'source .venv/bin/activate', then gan-studio or python benchmarks/..."
    exit 0 ;;
  app)
    exec .venv/bin/gan-studio "$@" ;;
  test)
    export QT_QPA_PLATFORM="${QT_QPA_PLATFORM:-offscreen}"
    # the suite runs in one process per core (pytest-xdist, a file per process at a time; at most 8: each
    # holds torch and Qt), unless the arguments choose (-n, --numprocesses, -p no:xdist) or
    # GAN_STUDIO_TEST_WORKERS says how many (0: all in this one process). On 2 cores: 12 minutes, not 24.
    parallel=()
    case " $* " in
      *" -n"*|*" --numprocesses"*|*"no:xdist"*) ;;
      *)
        workers="${GAN_STUDIO_TEST_WORKERS:-$( (env -u OMP_NUM_THREADS -u OMP_THREAD_LIMIT nproc || getconf _NPROCESSORS_ONLN || echo 1) 2>/dev/null | head -n 1)}"
        [ "$workers" -gt 8 ] 2>/dev/null && workers=8
        if [ "$workers" -gt 1 ] 2>/dev/null; then parallel=(-n "$workers" --dist loadfile); fi ;;
    esac
    set +e
    .venv/bin/python -m pytest ${parallel[@]+"${parallel[@]}"} "$@"
    rc=$?
    if [ $rc -eq 5 ]; then echo "[quickstart] pytest collected no tests"; fi
    exit $rc ;;
esac
