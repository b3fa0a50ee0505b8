#!/usr/bin/env bash
# Builds what Rasa needs to run: the spaCy pipeline (var/spacy/en_waymark) and the trained model
# (models/waymark.tar.gz); and the disclosure screen's fine-tuned encoder, which both environments use.
#
# Training takes minutes, so it happens only when its inputs change. The inputs are hashed
# (config.yml, bot/domain/**, data/**, bot/components/**, plus bot/spacy_pipeline.py and
# requirements/rasa.lock, since a different spaCy pipeline or Rasa version gives a different or
# incompatible model) and trained models are kept outside the repository in
# ${XDG_CACHE_HOME:-~/.cache}/waymark/models/<hash>.tar.gz, so a fresh clone on the same machine
# (CI included) copies the model instead of training it again.
set -euo pipefail
# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
cd "$WAYMARK_ROOT"

rasa_py=.venv-rasa/bin/python
[ -x .venv-rasa/bin/rasa ] || die ".venv-rasa is not set up: run make setup"
[ -f config.yml ] || die "config.yml is missing: there is no Rasa project to train yet"

# Rasa would otherwise try to reach its telemetry service; TensorFlow and Rasa's SQLAlchemy 1.4
# warnings are noise here.
export PYTHONPATH=. RASA_TELEMETRY_ENABLED=false TF_CPP_MIN_LOG_LEVEL=2 SQLALCHEMY_SILENCE_UBER_WARNING=1

# 1. spaCy pipeline: rebuilt when missing or when the script that builds it changed.
spacy_dir=var/spacy/en_waymark
spacy_stamp="$spacy_dir/.waymark-source.sha256"
spacy_hash="$(sha256_of_files bot/spacy_pipeline.py requirements/rasa.lock)"
if [ -f "$spacy_dir/meta.json" ] && [ "$(cat "$spacy_stamp" 2>/dev/null)" = "$spacy_hash" ]; then
    note "spaCy pipeline $spacy_dir is up to date"
else
    step "Building the spaCy pipeline $spacy_dir (blank English + lookup lemmatizer)"
    rm -rf -- "$spacy_dir"
    "$rasa_py" bot/spacy_pipeline.py "$spacy_dir"
    printf '%s\n' "$spacy_hash" >"$spacy_stamp"
fi

# 2. The screen's fine-tuned encoder (waymark/screen/finetune.py): trained with the TensorFlow of
# this environment, cached under a hash of the screen's data and code, so it trains only when
# they changed (a few minutes) and both environments then read the same weights.
step "Screen encoder (trains only when the screen's data or code changed)"
"$rasa_py" -m waymark.screen.finetune

# 3. Rasa model.
mapfile -t inputs < <(
    {
        echo config.yml
        echo bot/spacy_pipeline.py
        echo requirements/rasa.lock
        find bot/domain data bot/components -type f \
            ! -name '*.pyc' ! -path '*/__pycache__/*' ! -name '.*' 2>/dev/null
    } | LC_ALL=C sort -u
)
model_hash="$(sha256_of_files "${inputs[@]}")"
cache_dir="${XDG_CACHE_HOME:-$HOME/.cache}/waymark/models"
cached="$cache_dir/$model_hash.tar.gz"
model=models/waymark.tar.gz
model_stamp=models/.waymark-model.sha256

if [ -f "$model" ] && [ "$(cat "$model_stamp" 2>/dev/null)" = "$model_hash" ]; then
    note "Rasa model $model is up to date (inputs $model_hash)"
    exit 0
fi
mkdir -p models "$cache_dir"
rm -f -- "$model_stamp"
if [ -f "$cached" ]; then
    step "Reusing the trained model from $cached (same config, domain and data)"
    cp -- "$cached" "$model.tmp"
    mv -- "$model.tmp" "$model"
    touch -- "$cached" # marks it recently used, so pruning below keeps it
else
    step "Training the Rasa model (config, domain or data changed; this takes a few minutes)"
    start=$SECONDS
    .venv-rasa/bin/rasa train --config config.yml --domain bot/domain --data data \
        --out models --fixed-model-name waymark
    note "trained in $((SECONDS - start)) s"
    # Copy then rename, so an interrupted copy never leaves a truncated model in the cache.
    cp -- "$model" "$cached.tmp.$$"
    mv -- "$cached.tmp.$$" "$cached"
    note "cached as $cached"
fi
printf '%s\n' "$model_hash" >"$model_stamp"

# Each changed training adds ~30 MB to the cache: keep the most recently used few.
keep=10
find "$cache_dir" -maxdepth 1 -type f -name '*.tar.gz' -printf '%T@ %p\n' | sort -rn |
    tail -n +$((keep + 1)) | cut -d' ' -f2- | while IFS= read -r old; do
    rm -f -- "$old"
done
