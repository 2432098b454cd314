# Per-run setup on the device machine (H100/H200, no network). Usage, from the repo root:
#   source bench/gpu_env.sh        (run tool: carry [".gl", ".dev", ".denodir"])
# One-time preparation here (all three paths are git-ignored via .git/info/exclude):
#   mkdir -p .dev && xz -T2 -c "$(readlink -f /usr/local/bin/deno)" > .dev/deno.xz
#   mkdir -p .gl /tmp/amd64/partial; o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
#   apt-get $o update; (cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2)
#   DENO_DIR=.denodir deno cache bench/jaxjs_matmul.ts     (npm deps for offline --cached-only runs)
# Afterwards: /tmp/deno run -A --cached-only ... (with DENO_DIR=.denodir for npm: imports).
for f in .gl/*.deb; do dpkg -x "$f" /; done
ldconfig
if [ ! -x /tmp/deno ]; then xz -dc .dev/deno.xz > /tmp/deno && chmod +x /tmp/deno; fi
export PATH=/tmp:$PATH
export VK_DRIVER_FILES=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
export __EGL_VENDOR_LIBRARY_FILENAMES=/usr/local/nvidia/share/glvnd/egl_vendor.d/10_nvidia.json
export DENO_NO_UPDATE_CHECK=1
export DENO_DIR="$PWD/.denodir"
