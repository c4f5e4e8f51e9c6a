#!/usr/bin/env bash
# One-shot device check for the GPU sidecar (see docs/sidecar.md). Writes everything to $OUT.
set -u
D=.bench/device  # bundle and node.gz, see test/sidecar/device/README.md
exec > >(tee "${OUT:?set OUT to an output folder}/check.log") 2>&1
echo "== tools"; for t in node nvidia-smi stdbuf python3 curl gzip; do printf '%s: ' "$t"; command -v "$t" || echo missing; done
NODE=node
if ! command -v node >/dev/null; then gzip -dc $D/node.gz > /tmp/node && chmod +x /tmp/node && NODE=/tmp/node; fi
$NODE --version
nvidia-smi --version | tee "$OUT/version.txt"
nvidia-smi -L | tee "$OUT/list.txt"
nvidia-smi --help-query-gpu > "$OUT/help-query-gpu.txt"; echo "help rc=$?"
/usr/bin/time -f "q-x %e s real %U user %S sys" nvidia-smi -q -x > "$OUT/q-x.xml"
nvidia-smi -q > "$OUT/q.txt"
FIELDS=$(grep -oE '^"[^"]+"' "$OUT/help-query-gpu.txt" | tr -d '"' | grep -v ' ' | paste -sd, -)
nvidia-smi --query-gpu="$FIELDS" --format=csv > "$OUT/query-all.csv" 2>&1; echo "all-fields rc=$?"
echo "== per-call cost of a small --query-gpu"
for i in 1 2 3; do /usr/bin/time -f "query %e s real %U user %S sys" nvidia-smi --query-gpu=timestamp,uuid,temperature.gpu --format=csv,noheader,nounits >/dev/null; done
echo "== -lms through a pipe: arrival times (buffering check)"
STAMP='import sys,time
for l in sys.stdin: print(f"{time.time():.3f} {l.strip()}", flush=True)'
timeout 3 nvidia-smi --query-gpu=timestamp,uuid,temperature.gpu,power.draw --format=csv,noheader,nounits -lms 250 | python3 -c "$STAMP" > "$OUT/lms-pipe.txt"
timeout 3 stdbuf -oL nvidia-smi --query-gpu=timestamp,uuid,temperature.gpu,power.draw --format=csv,noheader,nounits -lms 250 | python3 -c "$STAMP" > "$OUT/lms-pipe-stdbuf.txt"
head -4 "$OUT/lms-pipe.txt"; wc -l "$OUT"/lms-pipe*.txt
echo "== sidecar against the real nvidia-smi"
$NODE $D/sidecar.mjs sidecar --port 19835 --period 500 --xml-period 5000 --samples-file "$OUT/samples.jsonl" 2> "$OUT/sidecar.stderr" &
SC=$!
sleep 4
T0=$(awk '{print $14+$15}' /proc/$SC/stat)
if python3 -c 'import torch; assert torch.cuda.is_available()' 2>/dev/null; then
  echo "torch burn 25 s"
  python3 - <<'PY' > "$OUT/burn.txt" 2>&1
import torch, time
a = torch.randn(8192, 8192, device='cuda', dtype=torch.float16); b = torch.randn(8192, 8192, device='cuda', dtype=torch.float16)
keep = [torch.empty(1 << 30, dtype=torch.uint8, device='cuda') for _ in range(4)]  # memory growth
end = time.time() + 25; n = 0
while time.time() < end:
    for _ in range(50): c = a @ b
    torch.cuda.synchronize(); n += 50
    if n % 2000 == 0 and len(keep) < 40: keep.append(torch.empty(1 << 30, dtype=torch.uint8, device='cuda'))
print('matmuls', n)
PY
else
  echo "no torch: idle only"; sleep 25
fi
sleep 5
T1=$(awk '{print $14+$15}' /proc/$SC/stat)
echo "sidecar cpu ticks over ~30 s: $((T1-T0)) (CLK_TCK $(getconf CLK_TCK))"
curl -s localhost:19835/metrics > "$OUT/metrics.txt"; curl -s localhost:19835/healthz > "$OUT/healthz.json"
kill $SC; wait $SC
cat "$OUT/sidecar.stderr"; cat "$OUT/healthz.json"; echo
wc -l "$OUT/samples.jsonl"
grep -E '^(hw_temperature|hw_power|gpu_clock_sm|gpu_pstate|gpu_clock_event_mask|gpu_sidecar)' "$OUT/metrics.txt"
pgrep -a nvidia-smi || echo "no nvidia-smi left"
