#!/usr/bin/env bash
# test/bench/quality.sh: the quality benchmark of issue 6 (model-spec.md §6), in the database.
#
#   test/bench/run.sh quality          (or test/bench/quality.sh, which calls run.sh itself)
#
# For each data set in ../shared/data it loads the file with its loader (test/load/*.sh),
# creates one model per preset (caser, tacaser) on the table, trains each IN THE DATABASE
# (CALL cnnrec.train in a background worker) with the issue's protocol, and evaluates the
# stored version with cnnrec.evaluate_groups() (full ranking, pessimistic ties; all test users,
# target new to the user, target seen before) and cnnrec.evaluate(..., sampled => true)
# (labelled sampled-100), next to the popularity baseline on the same split.
#
# Protocol (both presets, every data set):
#   kcore 5        iterated 5-core filter (users and items with < 5 events dropped until stable)
#   split          chronological leave-last-out: last event = test, the one before = validation
#   schedule       the preset's: validation NDCG@10 (full ranking) every epoch, the best
#                  epoch's parameters are kept; caser stops after 6 epochs without improvement
#                  (at most 30, issue 3's reference), tacaser after 10 (at most 100)
#   exclude_seen   on for MovieLens (every history item except the target is excluded, as in
#                  the reference); off for Taobao and Diginetica, where users come back to items
#                  and "exclude seen except the target" leaks the answer (issue 6, item 2)
#   categories     Taobao's category_id is the models' category_column; the presets decide
#                  whether they use it (tacaser: output tables, caser: off)
#   cooc_weight    the co-occurrence mixture's weight, the preset's: tacaser "auto" (chosen by
#                  each training run on its validation split; the table's "mixture weight"
#                  column shows the choice), caser 0
# Everything else is the preset's default, so a change of preset_tacaser() shows up here.
#
# Output: a markdown table on stdout and in test/bench/out/quality.md, one PNG per data set
# (validation NDCG@10 per epoch of each model, from cnnrec.jobs.metrics->'history') in
# test/bench/out/quality-<set>.png, and the raw per-model rows in test/bench/out/quality.tsv.
# Progress goes to stderr.
#
# Peak memory is the training worker's VmHWM (peak resident set, from /proc/<pid>/status,
# pid from cnnrec.jobs.pid), sampled every 0.2 s while the job runs; it includes the
# shared-buffer pages the worker touched while reading the source table.  It needs the script
# to run as root or as the cluster's OS user (run.sh does); otherwise the column says "n/a".
#
# Knobs (environment):
#   CNNREC_BENCH_DATA              data directory (default <repo>/../shared/data)
#   CNNREC_QUALITY_SETS            data sets, any of ml-100k ml-latest-small taobao diginetica
#                                  (default "ml-100k ml-latest-small taobao")
#   CNNREC_QUALITY_MODELS          presets (default "caser tacaser")
#   CNNREC_QUALITY_OPTIONS         jsonb merged into every model's train options, e.g. '{"threads": 2}'
#   CNNREC_QUALITY_CASER_OPTIONS   jsonb merged into the caser runs' options
#   CNNREC_QUALITY_TACASER_OPTIONS jsonb merged into the tacaser runs' options (to try settings)
#   CNNREC_QUALITY_OUT             output directory (default test/bench/out)
#   CNNREC_QUALITY_SEEDS           seeds of the repeat runs (default 1 to 10; "" = none): on
#                                  the sets evaluated with exclude_seen off (Taobao, Diginetica),
#                                  whose "target new to the user" group is small (160 Taobao
#                                  users, standard error about 0.01), every model is trained once
#                                  more per seed and the new-target verdicts use the seed means
# Runtime on the 2-CPU development machine: about 25 minutes when idle, longer under load.
# Targets are reported ("met" / "NOT met"), never enforced: the script exits non-zero only on
# an error.  Training seconds and instances/s depend on the machine being otherwise idle; the
# load average is printed with the table.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)

# Run through run.sh (throwaway cluster, extension installed, database bench) unless we are
# already inside it.
if [ -z "${PGHOST:-}" ] || [ "${PGDATABASE:-}" != bench ]; then
	exec "$ROOT/test/bench/run.sh" quality "$@"
fi

. "$ROOT/test/lib.sh"

DATA=${CNNREC_BENCH_DATA:-$ROOT/../shared/data}
[ -d "$DATA" ] && DATA=$(cd "$DATA" && pwd)
SETS=${CNNREC_QUALITY_SETS:-ml-100k ml-latest-small taobao}
SEEDS=${CNNREC_QUALITY_SEEDS-1 2 3 4 5 6 7 8 9 10}
MODELS=${CNNREC_QUALITY_MODELS:-caser tacaser}
EXTRA=${CNNREC_QUALITY_OPTIONS:-'{}'}
EXTRA_CASER=${CNNREC_QUALITY_CASER_OPTIONS:-'{}'}
EXTRA_TACASER=${CNNREC_QUALITY_TACASER_OPTIONS:-'{}'}
OUT=${CNNREC_QUALITY_OUT:-$ROOT/test/bench/out}
mkdir -p "$OUT"
OUT=$(cd "$OUT" && pwd)

# gnuplot for the curves (Debian's gnuplot-nox: png terminal, no X).
if ! command -v gnuplot >/dev/null 2>&1; then
	cnnrec_deps gnuplot-nox
fi

T_START=$(date +%s)
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

q() { psql -X -q -At -v ON_ERROR_STOP=1 "$@"; }

# set_info SET: FILE LOADER TABLE USER_COL EVENT_COL EXCLUDE_SEEN CATEGORY_COL
# (EVENT_COL, CATEGORY_COL "-" = none)
set_info() {
	case $1 in
		ml-100k) echo "$DATA/ml-100k/u.data udata ml100k user_id rating true -" ;;
		ml-latest-small) echo "$DATA/ml-latest-small/ratings.csv mlcsv mlsmall user_id rating2 true -" ;;
		taobao) echo "$DATA/taobao-userbehavior-head/UserBehavior.csv taobao taobao user_id event false category_id" ;;
		diginetica) echo "$DATA/diginetica-sample/sample_train-item-views.csv diginetica diginetica session_id - false -" ;;
		*) echo "quality.sh: unknown data set $1" >&2; return 1 ;;
	esac
}

# Human-readable bytes.
human() {
	awk -v b="$1" 'BEGIN { if (b == "" || b == "n/a") { print "n/a"; exit }
		split("B KB MB GB", u, " "); i = 1; while (b >= 1024 && i < 4) { b /= 1024; i++ }
		printf(i == 1 ? "%d %s" : "%.1f %s", b, u[i]) }'
}

# train_model NAME OPTIONS: train in the database, sampling the worker's VmHWM; prints
# "JOB_ID PEAK_KB" (PEAK_KB "n/a" when /proc could not be read).
train_model() {
	local name=$1 opts=$2 job status pid line peak=0 seen=0 last_epoch=-1 hwm
	job=$(q -c "CALL cnnrec.train('$name', '$opts'::jsonb, wait => false)")
	while :; do
		line=$(q -F' ' -c "SELECT status, COALESCE(pid, 0), COALESCE(epoch, -1), COALESCE(epochs, 0),
				COALESCE(round(loss::numeric, 4)::text, '-'),
				COALESCE(metrics->'history'->-1->>'valid_ndcg10', '-'),
				COALESCE(round(inst_per_sec)::text, '-')
			FROM cnnrec.jobs WHERE job_id = $job")
		set -- $line
		status=$1
		pid=$2
		if [ "$pid" != 0 ] && [ -r "/proc/$pid/status" ]; then
			hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$pid/status" 2>/dev/null || true)
			if [ -n "$hwm" ]; then
				seen=1
				[ "$hwm" -gt "$peak" ] && peak=$hwm
			fi
		fi
		if [ "$3" != "$last_epoch" ] && [ "$3" -ge 0 ]; then
			last_epoch=$3
			printf '    %s: epoch %s/%s loss %s valid NDCG@10 %s inst/s %s\n' "$name" "$3" "$4" "$5" "$6" "$7" >&2
		fi
		case $status in
			queued | running) sleep 0.2 ;;
			succeeded) break ;;
			*)
				echo "quality.sh: training job $job of $name ended $status:" >&2
				q -c "SELECT error, error_detail FROM cnnrec.jobs WHERE job_id = $job" >&2
				return 1
				;;
		esac
	done
	[ "$seen" = 1 ] || peak=n/a
	echo "$job $peak"
}

TSV=$OUT/quality.tsv
printf 'set\tusers\titems\tevents\texclude_seen\tmodel\thr10\tndcg10\tmrr\tnew_users\tnew_ndcg10\trep_users\trep_ndcg10\ts100_hr10\ts100_ndcg10\tvalid_ndcg10\tepochs\tbest_epoch\ttrain_seconds\tinst_per_sec\tpeak_kb\tweights_bytes\tn_params\tcooc_weight\n' >"$TSV"
declare -A RES		# RES[set:model:field]
declare -A SEED_RES	# SEED_RES[set:model:group]: NDCG@10 of each seed, space-separated

for set in $SETS; do
	read -r file loader table ucol ecol excl ccol <<<"$(set_info "$set")"
	[ -r "$file" ] || { echo "quality.sh: cannot read $file (set CNNREC_BENCH_DATA)" >&2; exit 1; }
	say "$set: loading $file"
	"$ROOT/test/load/$loader.sh" "$file" "public.$table" >&2
	evcol="'$ecol'"
	[ "$ecol" = - ] && evcol=NULL
	catcol="'$ccol'"
	[ "$ccol" = - ] && catcol=NULL
	for model in $MODELS; do
		name="${table}_$model"
		extra_model=$EXTRA_CASER
		[ "$model" = tacaser ] && extra_model=$EXTRA_TACASER
		opts=$(q -c "SELECT (jsonb_build_object('preset', '$model', 'kcore', 5, 'exclude_seen', $excl)
				|| '$EXTRA'::jsonb || '$extra_model'::jsonb)::text")
		q -c "SELECT cnnrec.drop_model(name) FROM cnnrec.models WHERE name = '$name'" >/dev/null
		q -c "SELECT cnnrec.create_model('$name', 'public.$table', '$ucol', 'item_id', 'ts', $evcol, category_column => $catcol)" >/dev/null
		say "$set: training $model in the database, options $opts"
		jp=$(train_model "$name" "$opts") || exit 1
		read -r job peak <<<"$jp"
		version=$(q -c "SELECT version FROM cnnrec.jobs WHERE job_id = $job")
		# version row: sizes, speed, schedule
		IFS='|' read -r users items events epochs best secs ips wbytes nparams vndcg cw <<<"$(q -c "
			SELECT n_users, n_items, n_events, metrics->>'epochs', metrics->>'best_epoch',
				round(train_seconds::numeric, 1), round((data_stats->>'inst_per_sec')::numeric),
				weights_bytes, n_params, round((metrics->'valid'->>'ndcg10')::numeric, 4),
				COALESCE(metrics->>'cooc_weight', '-')
			FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)
			WHERE m.name = '$name' AND v.version = $version")"
		# full ranking: all / new_target / repeat_target, with the popularity baseline
		while IFS='|' read -r grp k n hr ndcg mrr phr pndcg pmrr proto; do
			RES[$set:$model:$grp]="$n|$hr|$ndcg|$mrr"
			RES[$set:pop:$grp]="$n|$phr|$pndcg|$pmrr"
			RES[$set:proto]=$proto
		done < <(q -c "SELECT \"group\", k, users, round(hr::numeric, 4), round(ndcg::numeric, 4),
				round(mrr::numeric, 4), round(pop_hr::numeric, 4), round(pop_ndcg::numeric, 4),
				round(pop_mrr::numeric, 4), protocol
			FROM cnnrec.evaluate_groups('$name', $version, 10, $excl, false)")
		IFS='|' read -r s_hr s_ndcg s_phr s_pndcg <<<"$(q -c "
			SELECT round(hr::numeric, 4), round(ndcg::numeric, 4), round(pop_hr::numeric, 4),
				round(pop_ndcg::numeric, 4)
			FROM cnnrec.evaluate('$name', $version, 10, $excl, true)")"
		RES[$set:$model:s100]="$s_hr|$s_ndcg"
		RES[$set:pop:s100]="$s_phr|$s_pndcg"
		RES[$set:$model:info]="$epochs|$best|$secs|$ips|$peak|$wbytes|$nparams|$vndcg|$cw"
		RES[$set:sizes]="$users|$items|$events"
		RES[$set:excl]=$excl
		# validation curve
		q -F' ' -c "SELECT h->>'epoch', h->>'valid_ndcg10'
			FROM cnnrec.jobs, jsonb_array_elements(metrics->'history') h
			WHERE job_id = $job AND h ? 'valid_ndcg10' ORDER BY (h->>'epoch')::int" \
			>"$OUT/quality-$set-$model.dat"
		IFS='|' read -r _ hr ndcg mrr <<<"${RES[$set:$model:all]}"
		IFS='|' read -r nn _ nndcg _ <<<"${RES[$set:$model:new_target]}"
		IFS='|' read -r rn _ rndcg _ <<<"${RES[$set:$model:repeat_target]}"
		printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' \
			"$set" "$users" "$items" "$events" "$excl" "$model" "$hr" "$ndcg" "$mrr" "$nn" "$nndcg" \
			"$rn" "$rndcg" "$s_hr" "$s_ndcg" "$vndcg" "$epochs" "$best" "$secs" "$ips" "$peak" \
			"$wbytes" "$nparams" "$cw" >>"$TSV"
		say "$set $model: test HR@10 $hr NDCG@10 $ndcg MRR $mrr (valid NDCG@10 $vndcg, $epochs epochs, best $best, ${secs}s)"
	done
	# repeat runs over seeds where the new-target group is small (exclude_seen off)
	if [ "$excl" = false ] && [ -n "$SEEDS" ]; then
		for model in $MODELS; do
			extra_model=$EXTRA_CASER
			[ "$model" = tacaser ] && extra_model=$EXTRA_TACASER
			for seed in $SEEDS; do
				name="${table}_${model}_s$seed"
				opts=$(q -c "SELECT (jsonb_build_object('preset', '$model', 'kcore', 5, 'exclude_seen', $excl)
						|| '$EXTRA'::jsonb || '$extra_model'::jsonb || jsonb_build_object('seed', $seed))::text")
				q -c "SELECT cnnrec.drop_model(name) FROM cnnrec.models WHERE name = '$name'" >/dev/null
				q -c "SELECT cnnrec.create_model('$name', 'public.$table', '$ucol', 'item_id', 'ts', $evcol, category_column => $catcol)" >/dev/null
				say "$set: training $model, seed $seed"
				jp=$(train_model "$name" "$opts" 2>/dev/null) || { echo "quality.sh: training $name failed" >&2; exit 1; }
				read -r job _ <<<"$jp"
				version=$(q -c "SELECT version FROM cnnrec.jobs WHERE job_id = $job")
				while IFS='|' read -r grp ndcg; do
					SEED_RES[$set:$model:$grp]="${SEED_RES[$set:$model:$grp]:-} $ndcg"
				done < <(q -c "SELECT \"group\", round(ndcg::numeric, 4)
						FROM cnnrec.evaluate_groups('$name', $version, 10, $excl, false)")
				read -r vn cw <<<"$(q -F' ' -c "
					SELECT round((v.metrics->'valid'->>'ndcg10')::numeric, 4),
						COALESCE(v.metrics->>'cooc_weight', '-')
					FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id)
					WHERE m.name = '$name' AND v.version = $version")"
				SEED_RES[$set:$model:valid]="${SEED_RES[$set:$model:valid]:-} $vn"
				SEED_RES[$set:$model:cooc]="${SEED_RES[$set:$model:cooc]:-} $cw"
				q -c "SELECT cnnrec.drop_model('$name')" >/dev/null
			done
		done
	fi

	# one PNG per data set: validation NDCG@10 per epoch of each model
	plot=""
	for model in $MODELS; do
		[ -s "$OUT/quality-$set-$model.dat" ] || continue
		plot="$plot${plot:+, }'$OUT/quality-$set-$model.dat' using 1:2 with linespoints title '$model'"
	done
	if [ -n "$plot" ]; then
		gnuplot <<-GP
			set terminal png noenhanced size 800,500
			set output '$OUT/quality-$set.png'
			set title '$set: validation NDCG@10 per epoch (full ranking, exclude_seen $excl, 5-core)'
			set xlabel 'epoch'
			set ylabel 'validation NDCG@10'
			set key bottom right
			set grid
			plot $plot
		GP
	fi
done

# ---- the report --------------------------------------------------------------------------
T_END=$(date +%s)
fmt_pct() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0) printf("%+.0f %%", 100 * (a - b) / b); else print "n/a" }'; }
verdict() { awk -v a="$1" -v b="$2" 'BEGIN { print (a + 0 >= b + 0) ? "met" : "NOT met" }'; }
mean() { printf '%s\n' "$@" | awk '{ s += $1; n++ } END { if (n) printf("%.4f", s / n); else print "-" }'; }
mean_sd() {
	[ $# -gt 0 ] || { echo "-"; return; }
	printf '%s\n' "$@" | awk -v all="$*" '{ x[NR] = $1; s += $1 } END {
		m = s / NR; v = 0; for (i = 1; i <= NR; i++) v += (x[i] - m) ^ 2
		printf("%.4f ± %.4f (%s)", m, NR > 1 ? sqrt(v / (NR - 1)) : 0, all) }'
}
{
	echo "## Quality (issue 6 protocol)"
	echo
	echo "Produced by \`test/bench/run.sh quality\` on $(date -u +%Y-%m-%d), $(nproc) CPUs, training threads"\
		"= cnnrec.train_threads default; load average $LOAD_START at the start, $(cut -d' ' -f1-3 /proc/loadavg) at the end;"\
		"$((T_END - T_START)) s in all."
	echo "Models trained in the database (\`CALL cnnrec.train\`), evaluated with \`cnnrec.evaluate_groups\`"\
		"and \`cnnrec.evaluate(..., sampled => true)\`: iterated 5-core, chronological leave-last-out"\
		"(test = last event), full ranking over all items, pessimistic ties, k = 10, best epoch by"\
		"validation NDCG@10. Test-split numbers; \"new\" = users whose test target is not in their history,"\
		"\"repeat\" = the others. Sampled-100 is uniform-sampled (1 target + 100 negatives), for comparison"\
		"with SASRec-style tables only. Peak memory = the worker's VmHWM (includes shared buffers it touched)."
	[ "$EXTRA$EXTRA_CASER$EXTRA_TACASER" = "{}{}{}" ] ||
		echo "Extra options: all $EXTRA, caser $EXTRA_CASER, tacaser $EXTRA_TACASER."
	echo
	echo "| data set | users / items / events (5-core) | exclude seen | model | HR@10 | NDCG@10 | MRR | NDCG@10 new (users) | NDCG@10 repeat (users) | sampled-100 HR@10 / NDCG@10 | mixture weight | epochs (best) | train s | inst/s | peak memory | model size |"
	echo "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|"
	for set in $SETS; do
		IFS='|' read -r users items events <<<"${RES[$set:sizes]}"
		sizes="$(printf "%'d / %'d / %'d" "$users" "$items" "$events")"
		for model in pop $MODELS; do
			IFS='|' read -r _ hr ndcg mrr <<<"${RES[$set:$model:all]}"
			IFS='|' read -r nn _ nndcg _ <<<"${RES[$set:$model:new_target]}"
			IFS='|' read -r rn _ rndcg _ <<<"${RES[$set:$model:repeat_target]}"
			IFS='|' read -r shr sndcg <<<"${RES[$set:$model:s100]}"
			[ "$rn" = 0 ] && rndcg="-"
			[ "$nn" = 0 ] && nndcg="-"
			if [ "$model" = pop ]; then
				label="popularity"
				tail="| - | - | - | - | - | - |"
			else
				IFS='|' read -r epochs best secs ips peak wbytes nparams _ cw <<<"${RES[$set:$model:info]}"
				label=$model
				pk=n/a
				[ "$peak" != n/a ] && pk=$(human $((peak * 1024)))
				tail="| $cw | $epochs ($best) | $secs | $(printf "%'d" "$ips") | $pk | $(human "$wbytes") ($(printf "%'d" "$nparams") params) |"
			fi
			echo "| $set | $sizes | ${RES[$set:excl]} | $label | $hr | $ndcg | $mrr | $nndcg ($nn) | $rndcg ($rn) | $shr / $sndcg $tail"
		done
	done
	echo
	echo "Targets (issue 6, test split, NDCG@10):"
	echo
	for set in $SETS; do
		case " $MODELS " in *" tacaser "*) ;; *) continue ;; esac
		IFS='|' read -r _ _ t _ <<<"${RES[$set:tacaser:all]}"
		case $set in
			ml-100k) echo "- ml-100k: tacaser $t >= 0.122: $(verdict "$t" 0.122)" ;;
			ml-latest-small) echo "- ml-latest-small: tacaser $t >= 0.046: $(verdict "$t" 0.046)" ;;
			*)
				IFS='|' read -r _ _ p _ <<<"${RES[$set:pop:all]}"
				IFS='|' read -r _ _ tn _ <<<"${RES[$set:tacaser:new_target]}"
				IFS='|' read -r _ _ pn _ <<<"${RES[$set:pop:new_target]}"
				line="- $set (exclude_seen off): tacaser $t vs popularity $p ($(fmt_pct "$t" "$p")"
				line="$line, target +15 %: $(verdict "$t" "$(awk -v x="$p" 'BEGIN { print 1.15 * x }')")"
				if [ -n "${RES[$set:caser:all]:-}" ]; then
					IFS='|' read -r _ _ c _ <<<"${RES[$set:caser:all]}"
					IFS='|' read -r _ _ cn _ <<<"${RES[$set:caser:new_target]}"
					line="$line) vs caser $c ($(fmt_pct "$t" "$c"): $(verdict "$t" "$(awk -v x="$c" 'BEGIN { print 1.15 * x }')")"
					line="$line); new-target users: tacaser $tn vs popularity $pn ($(verdict "$tn" "$(awk -v x="$pn" 'BEGIN { print 1.15 * x }')")"
					line="$line) vs caser $cn ($(verdict "$tn" "$(awk -v x="$cn" 'BEGIN { print 1.15 * x }')"))"
				else
					line="$line); new-target users: tacaser $tn vs popularity $pn ($(verdict "$tn" "$(awk -v x="$pn" 'BEGIN { print 1.15 * x }')"))"
				fi
				echo "$line"
				;;
		esac
	done
	seed_sets=""
	for set in $SETS; do
		[ -n "${SEED_RES[$set:tacaser:all]:-}${SEED_RES[$set:caser:all]:-}" ] && seed_sets="$seed_sets $set"
	done
	if [ -n "$seed_sets" ]; then
		echo
		echo "Repeat runs with seeds $SEEDS (same protocol, one model per seed; NDCG@10 mean ± standard"\
			"deviation over the seeds, then each seed's value):"
		echo
		echo "| data set | model | test, all users | test, target new to the user | test, target seen before | validation, all users | mixture weight per seed |"
		echo "|---|---|---|---|---|---|---|"
		for set in $seed_sets; do
			for model in $MODELS; do
				row="| $set | $model |"
				for grp in all new_target repeat_target valid; do
					row="$row $(mean_sd ${SEED_RES[$set:$model:$grp]:-}) |"
				done
				echo "$row${SEED_RES[$set:$model:cooc]:- -} |"
			done
			if [ -n "${SEED_RES[$set:caser:new_target]:-}" ] && [ -n "${SEED_RES[$set:tacaser:new_target]:-}" ]; then
				tn=$(mean ${SEED_RES[$set:tacaser:new_target]})
				cn=$(mean ${SEED_RES[$set:caser:new_target]})
				ta=$(mean ${SEED_RES[$set:tacaser:all]})
				ca=$(mean ${SEED_RES[$set:caser:all]})
				echo
				echo "- $set, means over seeds: all users tacaser $ta vs caser $ca ($(fmt_pct "$ta" "$ca"):"\
					"$(verdict "$ta" "$(awk -v x="$ca" 'BEGIN { print 1.15 * x }')")); target new to the user"\
					"tacaser $tn vs caser $cn ($(fmt_pct "$tn" "$cn"): $(verdict "$tn" "$(awk -v x="$cn" 'BEGIN { print 1.15 * x }')"))"
			fi
		done
	fi
	echo
	echo "Curves (validation NDCG@10 per epoch): $(for set in $SETS; do printf '`%s/quality-%s.png` ' "${OUT#"$ROOT"/}" "$set"; done)"
} | tee "$OUT/quality.md"
