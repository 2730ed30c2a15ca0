#!/usr/bin/env bash
# Issue 13's attacks through the CLI, against a checkout (default: this one), in a scratch folder:
# one line per attack with its outcome. docs/reliability.md shows the lines before and after.
#   scripts/attack-pass.sh [REPO]
REPO=$(cd "${1:-$(dirname "$0")/..}" && pwd); W=$(mktemp -d /tmp/uib-attack-XXXX); cd "$W"
U="node $REPO/bin/uib.js"
q() { "$@" >/dev/null 2>err.txt; echo $?; }
$U scenario --dataset mnist --kind random --forget-fraction 0.2 --train-size 120 --test-size 30 --seed 3 --out s.json >/dev/null
$U train --scenario s.json --model mlp --epochs 1 --backend cpu --quiet --cache-fisher --out ck >/dev/null
# D1
mkdir runs; cp -r ck runs/ck; echo notes > runs/notes.txt
rc=$(q $U unlearn --checkpoint runs/ck --scenario s.json --method ft --param epochs=1 --backend cpu --quiet --out runs)
echo "D1 unlearn --out holding the checkpoint: exit $rc; runs/ now: $(ls runs | tr '\n' ' ')"
# D2
mkdir docs; echo mine > docs/cv.txt
rc=$(q $U train --model mlp --subset 50 --epochs 1 --backend cpu --quiet --out docs)
echo "D2 train --out a user folder: exit $rc; docs/ now: $(ls docs | tr '\n' ' ')"
# Q5
echo keep > file.txt
rc=$(q $U train --model mlp --subset 50 --epochs 1 --backend cpu --quiet --out file.txt)
echo "Q5 train --out a file: exit $rc; file.txt is now a $( [ -d file.txt ] && echo directory || echo file )"
# exploded IU
rc=$(q $U unlearn --checkpoint ck --scenario s.json --method iu --param alpha=1e6 --backend cpu --quiet --out iu)
echo "IU alpha=1e6: exit $rc; written: $( [ -d iu ] && echo yes || echo no ) $(head -c 150 err.txt)"
# FIFO metadata
mkdir ck2; cp ck/* ck2/; rm ck2/metadata.json; mkfifo ck2/metadata.json
timeout 10 $U verify ck2 >/dev/null 2>err.txt; rc=$?
echo "FIFO metadata.json, uib verify: exit $rc ($( [ $rc = 124 ] && echo hung || head -c 120 err.txt))"
# deep JSON
python3 -c "print('{\"name\":\"d\",\"x\":' + '['*200000 + ']'*200000 + '}')" > deep.json
timeout 30 $U run deep.json --out deeprun >/dev/null 2>err.txt; rc=$?
echo "200k-deep experiment: exit $rc: $(head -c 120 err.txt)"
# mismatched manifest
$U scenario --dataset mnist --kind random --forget-fraction 0.2 --train-size 120 --test-size 30 --seed 4 --out s2.json >/dev/null
rc=$(q $U unlearn --checkpoint ck --scenario s2.json --method ft --param epochs=1 --backend cpu --quiet --out other)
echo "manifest of another training set: exit $rc"
# edited record
$U unlearn --checkpoint ck --scenario s.json --method ft --param epochs=1 --backend cpu --quiet --out good >/dev/null 2>&1
python3 - <<'PY'
import json; p='good/deletion-record.json'; r=json.load(open(p)); r['scenario']['counts']['forget']=0; json.dump(r,open(p,'w'))
PY
rc=$(q $U verify good)
echo "record edited to counts.forget = 0, uib verify: exit $rc"
# scaled fisher
cp -r ck ck3; python3 - <<'PY'
import array; a=array.array('f'); a.frombytes(open('ck3/fisher.bin','rb').read()); a=array.array('f',[3*x for x in a]); open('ck3/fisher.bin','wb').write(a.tobytes())
PY
rc=$(q $U unlearn --checkpoint ck3 --scenario s.json --method uib-if --param steps=1 --backend cpu --quiet --out fisher3)
echo "fisher.bin x3, uib unlearn uib-if: exit $rc"
# reserved label
cat > lab.json <<'J'
{"name":"lab","dataset":{"name":"mnist","trainSubset":60,"testSubset":30},"model":{"arch":"mlp","hidden":[4]},"training":{"optimizer":{"name":"sgd","lr":0.1},"epochs":1,"batchSize":32},"scenarios":[{"kind":"random","forgetFraction":0.2}],"methods":[{"id":"ft","label":"_retrain","params":{"epochs":1}}],"seeds":[1],"options":{"metrics":["ua","ra"]}}
J
rc=$(q $U run lab.json --backend cpu --quiet --out labrun)
echo "method label _retrain: exit $rc"
# __proto__
rc=$(q $U unlearn --checkpoint ck --scenario s.json --method ft --param '__proto__={"epochs":7}' --backend cpu --quiet --out proto)
echo "--param __proto__: exit $rc $( [ -f proto/deletion-record.json ] && python3 -c "import json;print('epochs recorded', json.load(open('proto/deletion-record.json'))['params']['epochs'])")"
# seed
s=$(date +%s.%N); rc=$(q $U unlearn --checkpoint ck --scenario s.json --method ft --param epochs=1 --seed 9007199254740993 --backend cpu --quiet --out seed); e=$(date +%s.%N)
echo "seed 2^53+1: exit $rc after $(python3 -c "print(round($e-$s,1))") s"
# concurrency
$U unlearn --checkpoint ck --scenario s.json --method ft --param epochs=40 --backend cpu --quiet --out conc >/dev/null 2>c1.txt & p=$!
sleep 1.5; $U unlearn --checkpoint ck --scenario s.json --method ft --param epochs=1 --backend cpu --quiet --out conc >/dev/null 2>c2.txt; r2=$?; wait $p; r1=$?
echo "two unlearns on one --out: exits $r1 and $r2"
# threads
$U scenario --dataset mnist --kind random --forget-fraction 0.2 --train-size 300 --test-size 30 --seed 3 --out sc.json >/dev/null
$U train --scenario sc.json --model cnn --epochs 1 --quiet --out cnn >/dev/null
hs=""; for t in 1 2 3 4; do UIB_THREADS=$t $U unlearn --checkpoint cnn --scenario sc.json --method ft --param epochs=1 --quiet --out ft$t >/dev/null 2>&1; hs="$hs $(sha256sum ft$t/weights.bin | cut -c1-8)"; done
echo "CNN ft weights with UIB_THREADS=1..4:$hs"
rm -rf "$W"
