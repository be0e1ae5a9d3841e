#!/usr/bin/env bash
# The TypeScript notebooks (notebooks/*.ipynb) on the tslab kernel.
#
#   bash scripts/notebooks.sh [NOTEBOOK...]         execute them headless (all by default), as CI does (`npm run notebooks`);
#                                                   fails on any cell error or if a committed notebook carries outputs
#   bash scripts/notebooks.sh open [JUPYTER-ARG...]  start Jupyter Notebook on notebooks/ with the kernel (`npm run jupyter`)
#   bash scripts/notebooks.sh clear [NOTEBOOK...]   clear outputs, execution counts and timings in place (before committing)
#
# The notebooks import 'cohortlab' (dist/index.js), so run `npm run build` first (the npm scripts do). The tslab kernel spec is
# installed into test-output/jupyter (found through JUPYTER_PATH), pointing at this checkout's
# node_modules/.bin/tslab: nothing is written to the user's or the system's Jupyter folders.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$PWD"
export PATH="$ROOT/node_modules/.bin:$PATH"
mode=run
case "${1:-}" in open | clear) mode="$1"; shift ;; esac

# The python with Jupyter's nbconvert, nbclient and ipykernel: $PYTHON, else Debian's /usr/bin/python3, else python3 on PATH.
PYTHON="${PYTHON:-}"
if [ -z "$PYTHON" ]; then
  for candidate in /usr/bin/python3 python3; do
    if command -v "$candidate" >/dev/null && "$candidate" -c 'import nbconvert, nbclient, ipykernel' 2>/dev/null; then PYTHON="$(command -v "$candidate")"; break; fi
  done
fi
if [ -z "$PYTHON" ] || ! "$PYTHON" -c 'import nbconvert, nbclient, ipykernel' 2>/dev/null; then
  echo "notebooks: no python3 with Jupyter's nbconvert, nbclient and ipykernel${PYTHON:+ (tried PYTHON=$PYTHON)}; install them with" >&2
  echo "  sudo apt-get install --no-install-recommends jupyter-nbconvert python3-nbclient jupyter-client python3-ipykernel" >&2
  echo "or point PYTHON at a python that has them." >&2
  exit 1
fi

if [ "$mode" != clear ]; then
  if [ ! -f dist/index.js ]; then
    echo "notebooks: dist/ is missing; run \`npm run build\` first (the notebooks import 'cohortlab', i.e. dist/index.js)." >&2
    exit 1
  fi
  # The notebooks import 'cohortlab' (the package's own name, resolved through package.json "exports"). tslab type-checks
  # cells with Node10 module resolution, which knows no self-reference: notebooks/node_modules/cohortlab (git-ignored)
  # points at this checkout so the types of dist/index.d.ts are found.
  mkdir -p notebooks/node_modules
  ln -sfn ../.. notebooks/node_modules/cohortlab
  if [ ! -x node_modules/.bin/tslab ]; then
    echo "notebooks: node_modules/.bin/tslab is missing; run \`npm ci\` (tslab is a devDependency)." >&2
    exit 1
  fi
  # The kernel spec, private to this checkout.
  KERNEL_PREFIX="$ROOT/test-output/jupyter"
  tslab install --python="$PYTHON" --binary="$ROOT/node_modules/.bin/tslab" --prefix="$KERNEL_PREFIX" >/dev/null
  export JUPYTER_PATH="$KERNEL_PREFIX/share/jupyter${JUPYTER_PATH:+:$JUPYTER_PATH}"
  # Quiet the debugger notice every python3.11+ Jupyter process prints.
  export PYDEVD_DISABLE_FILE_VALIDATION=1
fi

if [ "$mode" = open ]; then
  if ! "$PYTHON" -c 'import notebook' 2>/dev/null; then
    echo "notebooks: Jupyter Notebook is missing for $PYTHON; install it with" >&2
    echo "  sudo apt-get install --no-install-recommends jupyter-notebook" >&2
    exit 1
  fi
  root_flag=()
  [ "$(id -u)" -ne 0 ] || root_flag=(--allow-root)  # containers often run as root; Jupyter refuses without this
  exec "$PYTHON" -m notebook --notebook-dir="$ROOT/notebooks" "${root_flag[@]}" "$@"
fi

notebooks=("$@")
[ ${#notebooks[@]} -gt 0 ] || notebooks=(notebooks/*.ipynb)
clear=0
[ "$mode" != clear ] || clear=1

# Committed notebooks must carry no outputs (an output in git would go stale the moment the code changes).
"$PYTHON" - "$clear" "${notebooks[@]}" <<'PY'
import json, sys
clear, paths = sys.argv[1] == '1', sys.argv[2:]
bad = []
for path in paths:
    with open(path) as f:
        nb = json.load(f)
    if nb.get('metadata', {}).get('kernelspec', {}).get('name') != 'tslab':
        bad.append(f"{path}: kernelspec is not tslab (set metadata.kernelspec.name to \"tslab\")")
    for i, cell in enumerate(nb['cells']):
        if cell.get('outputs') or cell.get('execution_count') is not None or 'execution' in cell.get('metadata', {}):
            if clear:
                if cell['cell_type'] == 'code':
                    cell['outputs'], cell['execution_count'] = [], None
                cell.get('metadata', {}).pop('execution', None)
            else:
                bad.append(f"{path}: cell {i + 1} has outputs, an execution count or timings; clear them before committing "
                           f"(bash scripts/notebooks.sh clear {path})")
    if clear:
        with open(path, 'w') as f:
            json.dump(nb, f, indent=1, ensure_ascii=False)
            f.write('\n')
        print(f"notebooks: cleared {path}")
if bad:
    sys.exit("notebooks:\n  " + "\n  ".join(bad))
PY
[ "$clear" -eq 0 ] || exit 0
OUT=test-output/notebooks
rm -rf "$OUT"
mkdir -p "$OUT"
# nbconvert's ExecutePreprocessor (what `jupyter nbconvert --to notebook --execute` runs), driven from python so that a
# failing notebook is still written with its outputs so far and the failing cell's stderr is printed: tslab reports a
# thrown error as a stderr stream plus a bare "error" status, which nbconvert's own message shows only as "<Error>:".
"$PYTHON" - "$OUT" "${notebooks[@]}" <<'PY'
import os, sys, time, warnings
import nbformat
from nbconvert.preprocessors import CellExecutionError, ExecutePreprocessor

warnings.filterwarnings('ignore')
out_dir, paths = sys.argv[1], sys.argv[2:]
failed = []
started_all = time.time()
for path in paths:
    nb = nbformat.read(path, as_version=4)
    target = os.path.join(out_dir, os.path.basename(path))
    started = time.time()
    current = {'index': None}
    ep = ExecutePreprocessor(kernel_name='tslab', timeout=600)
    ep.on_cell_start = lambda cell, cell_index: current.update(index=cell_index)
    try:
        ep.preprocess(nb, {'metadata': {'path': os.path.dirname(os.path.abspath(path))}})
        print(f"notebooks: {path} executed in {time.time() - started:.1f} s -> {target}", flush=True)
    except Exception as e:
        failed.append(path)
        print(f"notebooks: {path} FAILED after {time.time() - started:.1f} s", file=sys.stderr)
        if isinstance(e, CellExecutionError):
            i = current['index']
            print(f"in cell {i + 1 if i is not None else '?'}:\n{str(e).strip()}", file=sys.stderr)
            for o in nb.cells[i].outputs if i is not None else []:
                if o.get('name') == 'stderr':
                    print(''.join(o.get('text', '')), file=sys.stderr)
        else:  # the kernel died, a timeout, ...
            print(f"{type(e).__name__}: {e}", file=sys.stderr)
    nbformat.write(nb, target)
if failed:
    sys.exit(f"notebooks: {len(failed)} of {len(paths)} failed: {' '.join(failed)} (partial outputs in {out_dir}/)")
print(f"notebooks: all {len(paths)} executed in {time.time() - started_all:.1f} s")
PY
