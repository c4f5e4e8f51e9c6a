#!/usr/bin/env bash
# Reader threads by cores and file size (docs/analyzer.md, "Reader threads by cores and size"),
# for a machine with many cores and no Node or npm (the lent GPU machine). Build here first:
#   npm run build && mkdir -p .bench/device/node_modules
#   esbuild='node_modules/.bin/esbuild --bundle --platform=node --format=esm --target=node20'
#   banner="import { createRequire as __cr } from 'module'; const require = __cr(import.meta.url);"
#   $esbuild bench/device/gen.mts --outfile=.bench/device/gen.mjs --banner:js="$banner"
#   $esbuild bench/_analyze-child.mjs dist/analyzer/_range-worker.js dist/analyzer/_read-worker.js \
#     --splitting --entry-names=[name] --outdir=.bench/device/b --banner:js="$banner"
#   cp -r node_modules/hdr-histogram-js .bench/device/node_modules/   # loaded with require()
#   gzip -9 -c "$(readlink -f "$(which node)")" > .bench/device/node.gz
# then run this from the repository root there with OUT set; results go to $OUT/sweep.txt, one
# line per run: the tag (round, cores, size, threads) and the child's JSON line.
set -u
D=$PWD/.bench/device
gzip -dc "$D/node.gz" > /tmp/node && chmod +x /tmp/node
N=/tmp/node
R=${OUT:?set OUT to an output folder}/sweep.txt
run() { # tag cpus threads mode file
  local res
  res=$(cd /tmp && THREADS=$3 taskset -c "$2" $N "$D/b/_analyze-child.js" "$4" "$5" 2>&1)
  echo "$1 $(echo "$res" | tr '\n' ' ')" >> "$R"
}
(cd /tmp && $N "$D/gen.mjs" 1000 /tmp/b1000.jsonl)
L=$(wc -l < /tmp/b1000.jsonl)
head -n $((L / 5)) /tmp/b1000.jsonl > /tmp/b200.jsonl
head -n $((L / 20)) /tmp/b1000.jsonl > /tmp/b50.jsonl
C16=0-15; C4=4-7; C2=2,3
for r in 1 2 3; do
  for f in 50 200; do
    run "r$r c16 s$f base" $C16 1 baseline /tmp/b$f.jsonl
    for t in 1 2 3 4; do run "r$r c16 s$f t$t" $C16 $t analyze /tmp/b$f.jsonl; done
  done
  run "r$r c4 s200 base" $C4 1 baseline /tmp/b200.jsonl
  for t in 1 2 3; do run "r$r c4 s200 t$t" $C4 $t analyze /tmp/b200.jsonl; done
  run "r$r c2 s200 base" $C2 1 baseline /tmp/b200.jsonl
  for t in 1 2; do run "r$r c2 s200 t$t" $C2 $t analyze /tmp/b200.jsonl; done
done
run "g c16 s1000 base" $C16 1 baseline /tmp/b1000.jsonl
for t in 1 2 3 4; do run "g c16 s1000 t$t" $C16 $t analyze /tmp/b1000.jsonl; done
for t in 1 2 3; do run "g c4 s1000 t$t" $C4 $t analyze /tmp/b1000.jsonl; done
for t in 1 2; do run "g c2 s1000 t$t" $C2 $t analyze /tmp/b1000.jsonl; done
rm -f /tmp/b*.jsonl
