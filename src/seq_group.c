/*
 * seq_group.c
 *		SequenceGroup: a grouping node for GROUP BY key with sequence_agg.
 *
 * The query every user of cnnrec runs, over an event log in time order,
 *
 *		SELECT user_id, cnnrec.sequence_agg(item_id, ts, event)
 *		FROM events GROUP BY user_id
 *
 * spends most of its time in PostgreSQL's hash aggregation rather than in
 * the aggregate: per row, the grouping key is hashed through fmgr, the
 * bucket's stored minimal tuple is loaded into a slot and compared by an
 * expression, the per-group state array is found, and the transition
 * function is called through fmgr.  With 100,000 users each of these is a
 * cache miss.  Measured on 10 million rows: scan 1.2 s, hash grouping with
 * count() 3.5 s, with sequence_agg 5.7 s.
 *
 * So a planner hook (create_upper_paths_hook, UPPERREL_GROUP_AGG) offers
 * one more path when the grouping is of the simple, common shape:
 *	- one GROUP BY expression of type int2, int4 or int8 with its default
 *	  equality, no grouping sets, no HAVING;
 *	- the only aggregate is one sequence_agg call (it may appear several
 *	  times, e.g. seq_items(sequence_agg(...)) and seq_length(the same)),
 *	  without DISTINCT, ORDER BY or FILTER;
 *	- the target list needs nothing else from the rows but the key.
 * The path is a CustomScan ("SequenceGroup") over the input path, projected
 * to (key, item, time[, event]).  It reads every input row into an open-
 * addressing table of int64 keys (16 bytes a group, Fibonacci hashing, the
 * previous row's group tried first) whose values are sequence_agg states,
 * appended to with the aggregate's own code (SeqAppender, seq_agg.c), then
 * returns one (key, sequence) row per group, finished by the aggregate's
 * final code: the results are exactly sequence_agg's.  Its custom_scan_tlist
 * is (key, the Aggref), so setrefs turns the key and the Aggref in the
 * targets above into references to the node's scan tuple, as postgres_fdw
 * does for pushed-down aggregates.
 *
 * Memory stays within hash_mem (work_mem x hash_mem_multiplier), as in
 * hash aggregation, give or take the last arena block: when the table's
 * memory context grows past it, every group's entries are written to 32
 * temporary files by a second hash of the key (SeqGroupRecord: 32 bytes a
 * row plus a text label), the table is emptied, and every later row goes
 * to its file.  When the input ends, each file is grouped in turn the same
 * way, with the next 5 bits of that hash should it spill again (at most 8
 * levels; a single group, which cannot be split, stays in memory).  The
 * planner adds the cost of the expected levels of writing and reading.
 *
 * The path is cheaper than hash aggregation in the cost model (no transition
 * call per row), serial only (parallel plans keep partial aggregation), and
 * is switched off with cnnrec.enable_sequence_grouping (and enable_hashagg).
 * The hook lives in cnnrec.so, so a backend plans with it once the library is loaded: from
 * the first query with cnnrec in session_preload_libraries or
 * shared_preload_libraries, else from the first query after any cnnrec
 * function ran in the session.
 */
#include "cnnrec.h"

#include "access/htup_details.h"
#include "catalog/pg_aggregate.h"
#include "catalog/pg_type.h"
#include "commands/explain.h"
#include "executor/executor.h"
#include "executor/nodeHash.h"
#include "miscadmin.h"
#include "nodes/extensible.h"
#include "nodes/makefuncs.h"
#include "nodes/nodeFuncs.h"
#include "optimizer/cost.h"
#include "optimizer/optimizer.h"
#include "optimizer/pathnode.h"
#include "optimizer/paths.h"
#include "optimizer/planner.h"
#include "optimizer/tlist.h"
#include "storage/buffile.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/ruleutils.h"
#include "utils/selfuncs.h"
#include "utils/syscache.h"
#include "utils/typcache.h"

#include "seq.h"

static create_upper_paths_hook_type prev_upper_paths_hook = NULL;

/* A group that exists but whose rows all had a NULL item or time. */
#define SEQ_GROUP_NO_ROWS	((char *) 2)

/* Spilling: 2^SEQ_GROUP_PART_BITS partitions per depth, at most this deep. */
#define SEQ_GROUP_PART_BITS	5
#define SEQ_GROUP_PARTS		(1 << SEQ_GROUP_PART_BITS)
#define SEQ_GROUP_MAX_DEPTH	8

/* One slot of the open-addressing table; state NULL: the slot is free. */
typedef struct SeqGroupSlot
{
	int64		key;
	char	   *state;			/* sequence_agg state, or SEQ_GROUP_NO_ROWS */
} SeqGroupSlot;

/* One input row, from the child plan or from a spill file. */
typedef struct SeqGroupRow
{
	bool		key_null;
	bool		has_entry;		/* item and time are not NULL */
	int64		key;
	int64		item;
	int64		time;
	int32		event;			/* SEQ_EVENT_NULL, the integer, or the label's length */
	const char *label;			/* text events: the label (not NUL-terminated) */
} SeqGroupRow;

/* A row in a spill file; a text label's bytes follow it. */
typedef struct SeqGroupRecord
{
	int64		key;
	int64		item;
	int64		time;
	int32		event;			/* as in SeqGroupRow */
	int32		flags;			/* SEQ_GROUP_KEY_NULL, SEQ_GROUP_HAS_ENTRY */
} SeqGroupRecord;

#define SEQ_GROUP_KEY_NULL		1
#define SEQ_GROUP_HAS_ENTRY		2

/* A spill file waiting to be grouped, and the depth it is read at. */
typedef struct SeqGroupPart
{
	BufFile    *file;
	int			depth;
} SeqGroupPart;

/* Executor state of a SequenceGroup node. */
typedef struct SeqGroupState
{
	CustomScanState css;
	SeqTimeKind time_kind;
	SeqEventKind event_kind;
	Oid			key_type;		/* INT2OID, INT4OID or INT8OID */
	int			natts;			/* input columns: key, item, time[, event] */
	Size		mem_limit;		/* hash_mem, in bytes */
	MemoryContext cxt;			/* the table and every state */
	MemoryContext spill_cxt;	/* spill file handles and the pending list */
	MemoryContext tmp;			/* detoasted event labels, reset per row */
	SeqAppender *app;
	SeqGroupSlot *slots;
	int			shift;			/* 64 - log2(number of slots) */
	uint32		n_slots;
	uint32		n_groups;		/* groups with a non-NULL key */
	SeqGroupSlot *last;			/* slot of the previous row, or NULL */
	int64		last_key;
	char	   *null_state;		/* the NULL key's group, or NULL if none */
	uint32		next;			/* output cursor over slots */
	bool		null_done;		/* the NULL key's group has been returned */
	bool		started;		/* the input has been read */
	/* spilling (see the file comment) */
	int			depth;			/* of the input being read: 0 = the child plan */
	bool		spilling;		/* rows go to parts[] */
	BufFile   **parts;			/* this depth's partitions while spilling */
	int64	   *part_bytes;		/* bytes written to each of parts[] */
	List	   *pending;		/* SeqGroupPart not read yet */
	/* for EXPLAIN ANALYZE */
	uint64		groups_out;
	Size		peak_bytes;		/* largest memory of cxt */
	int64		n_spills;
	int64		n_batches;
	int64		spill_bytes;
} SeqGroupState;

static Plan *seq_group_plan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
							List *tlist, List *clauses, List *custom_plans);
static Node *seq_group_create_state(CustomScan *cscan);
static void seq_group_begin(CustomScanState *node, EState *estate, int eflags);
static TupleTableSlot *seq_group_exec(CustomScanState *node);
static void seq_group_end(CustomScanState *node);
static void seq_group_rescan(CustomScanState *node);
static void seq_group_explain(CustomScanState *node, List *ancestors, ExplainState *es);

static const CustomPathMethods seq_group_path_methods = {
	.CustomName = "SequenceGroup",
	.PlanCustomPath = seq_group_plan,
};

static const CustomScanMethods seq_group_scan_methods = {
	.CustomName = "SequenceGroup",
	.CreateCustomScanState = seq_group_create_state,
};

static const CustomExecMethods seq_group_exec_methods = {
	.CustomName = "SequenceGroup",
	.BeginCustomScan = seq_group_begin,
	.ExecCustomScan = seq_group_exec,
	.EndCustomScan = seq_group_end,
	.ReScanCustomScan = seq_group_rescan,
	.ExplainCustomScan = seq_group_explain,
};

/* ------------------------------------------------------------------------
 * Planning
 * ------------------------------------------------------------------------
 */

/* Is aggref a plain call of sequence_agg?  If so, the kinds it builds. */
static bool
seq_group_is_sequence_agg(Aggref *aggref, SeqTimeKind *time_kind, SeqEventKind *event_kind)
{
	HeapTuple	tup;
	Oid			transfn;
	FmgrInfo	finfo;

	if (aggref->aggdistinct != NIL || aggref->aggorder != NIL ||
		aggref->aggfilter != NULL || aggref->aggstar || aggref->aggvariadic ||
		aggref->aggkind != AGGKIND_NORMAL || aggref->agglevelsup != 0 ||
		aggref->aggsplit != AGGSPLIT_SIMPLE)
		return false;
	tup = SearchSysCache1(AGGFNOID, ObjectIdGetDatum(aggref->aggfnoid));
	if (!HeapTupleIsValid(tup))
		return false;
	transfn = ((Form_pg_aggregate) GETSTRUCT(tup))->aggtransfn;
	ReleaseSysCache(tup);
	/* any language: only our C functions have these addresses */
	fmgr_info(transfn, &finfo);
	if (!SeqAggTransKinds(finfo.fn_addr, time_kind, event_kind))
		return false;
	return list_length(aggref->args) == (*event_kind == SEQ_EVENT_NONE ? 2 : 3);
}

/*
 * The one sequence_agg call of the grouping target, or NULL when the target
 * needs anything else: another aggregate, or a column that is not the key.
 */
static Aggref *
seq_group_target_aggref(PathTarget *target, Expr *key,
						SeqTimeKind *time_kind, SeqEventKind *event_kind)
{
	Aggref	   *found = NULL;
	ListCell   *lc;

	foreach(lc, target->exprs)
	{
		Expr	   *expr = (Expr *) lfirst(lc);
		List	   *nodes;
		ListCell   *lc2;

		if (equal(expr, key))
			continue;
		nodes = pull_var_clause((Node *) expr, PVC_INCLUDE_AGGREGATES |
								PVC_INCLUDE_WINDOWFUNCS | PVC_INCLUDE_PLACEHOLDERS);
		foreach(lc2, nodes)
		{
			Node	   *n = (Node *) lfirst(lc2);

			if (IsA(n, Aggref))
			{
				if (found == NULL)
				{
					if (!seq_group_is_sequence_agg((Aggref *) n, time_kind, event_kind))
						return NULL;
					found = (Aggref *) n;
				}
				else if (!equal(n, found))
					return NULL;
			}
			else if (!equal(n, key))
				return NULL;
		}
	}
	return found;
}

/* The single integer grouping key of the query, or NULL. */
static Expr *
seq_group_key(Query *parse)
{
	SortGroupClause *sgc;
	Expr	   *key;
	Oid			type;

	if (parse->groupingSets != NIL || list_length(parse->groupClause) != 1 ||
		parse->havingQual != NULL || parse->hasTargetSRFs)
		return NULL;
	sgc = linitial_node(SortGroupClause, parse->groupClause);
	key = (Expr *) get_sortgroupclause_expr(sgc, parse->targetList);
	type = exprType((Node *) key);
	if (type != INT2OID && type != INT4OID && type != INT8OID)
		return NULL;
	if (!sgc->hashable ||
		sgc->eqop != lookup_type_cache(type, TYPECACHE_EQ_OPR)->eq_opr)
		return NULL;
	if (contain_volatile_functions((Node *) key))
		return NULL;
	return key;
}

/*
 * Estimated cost of spilling: when the states and the table (16 bytes a
 * slot, at most half full) exceed hash_mem, every row is written to a
 * partition and read back once per level of partitioning.
 */
static Cost
seq_group_spill_cost(double rows, double groups)
{
	double		bytes = SeqStateBytes(rows, groups) + groups * 2 * sizeof(SeqGroupSlot);
	double		limit = (double) get_hash_memory_limit();
	double		pages;
	int			depth = 0;

	for (double b = bytes; b > limit && depth < SEQ_GROUP_MAX_DEPTH; b /= SEQ_GROUP_PARTS)
		depth++;
	if (depth == 0)
		return 0;
	pages = rows * (sizeof(SeqGroupRecord) + 8) / BLCKSZ;
	return depth * pages * 2 * seq_page_cost + depth * rows * 2 * cpu_operator_cost;
}

/* Offer a SequenceGroup path for a grouping of the supported shape. */
static void
seq_group_add_path(PlannerInfo *root, RelOptInfo *input_rel, RelOptInfo *grouped_rel,
				   GroupPathExtraData *extra)
{
	Expr	   *key = seq_group_key(root->parse);
	Aggref	   *aggref;
	SeqTimeKind time_kind;
	SeqEventKind event_kind;
	PathTarget *in_target;
	Path	   *subpath;
	Path	   *child;
	CustomPath *cp;
	double		groups;
	ListCell   *lc;

	/* a hash grouping, so enable_hashagg = off switches it off too */
	if (key == NULL || !enable_hashagg || extra->patype != PARTITIONWISE_AGGREGATE_NONE ||
		input_rel->cheapest_total_path == NULL)
		return;
	aggref = seq_group_target_aggref(grouped_rel->reltarget, key, &time_kind, &event_kind);
	if (aggref == NULL)
		return;
	subpath = input_rel->cheapest_total_path;
	groups = estimate_num_groups(root, list_make1(key), subpath->rows, NULL, NULL);

	/* the input, projected to (key, item, time[, event]) */
	in_target = create_empty_pathtarget();
	add_column_to_pathtarget(in_target, key, 0);
	foreach(lc, aggref->args)
		add_column_to_pathtarget(in_target, lfirst_node(TargetEntry, lc)->expr, 0);
	set_pathtarget_cost_width(root, in_target);
	child = (Path *) create_projection_path(root, input_rel, subpath, in_target);

	cp = makeNode(CustomPath);
	cp->path.pathtype = T_CustomScan;
	cp->path.parent = grouped_rel;
	cp->path.pathtarget = grouped_rel->reltarget;
	cp->path.rows = groups;
	/* per row: one probe and one append, no function call; per group: final */
	cp->path.startup_cost = child->total_cost + child->rows * cpu_operator_cost +
		groups * cpu_operator_cost + seq_group_spill_cost(child->rows, groups);
	cp->path.total_cost = cp->path.startup_cost + groups * cpu_tuple_cost +
		groups * grouped_rel->reltarget->cost.per_tuple;
	cp->custom_paths = list_make1(child);
	cp->custom_private = list_make2(key, aggref);
	cp->methods = &seq_group_path_methods;
	add_path(grouped_rel, (Path *) cp);
}

/* create_upper_paths_hook: SequenceGroup paths for GROUP BY. */
static void
seq_group_upper_paths(PlannerInfo *root, UpperRelationKind stage,
					  RelOptInfo *input_rel, RelOptInfo *output_rel, void *extra)
{
	if (prev_upper_paths_hook)
		prev_upper_paths_hook(root, stage, input_rel, output_rel, extra);
	if (stage == UPPERREL_GROUP_AGG && cnnrec_enable_sequence_grouping && extra != NULL)
		seq_group_add_path(root, input_rel, output_rel, (GroupPathExtraData *) extra);
}

/* The CustomScan of a SequenceGroup path; its scan tuple is (key, Aggref). */
static Plan *
seq_group_plan(PlannerInfo *root, RelOptInfo *rel, CustomPath *best_path,
			   List *tlist, List *clauses, List *custom_plans)
{
	CustomScan *cscan = makeNode(CustomScan);
	Expr	   *key = linitial(best_path->custom_private);
	Aggref	   *aggref = lsecond(best_path->custom_private);

	cscan->scan.plan.targetlist = tlist;
	cscan->scan.plan.qual = NIL;
	cscan->scan.scanrelid = 0;
	cscan->custom_scan_tlist = list_make2(makeTargetEntry(copyObject(key), 1, NULL, false),
										  makeTargetEntry((Expr *) copyObject(aggref), 2, NULL, false));
	cscan->custom_plans = custom_plans;
	cscan->flags = best_path->flags;
	cscan->methods = &seq_group_scan_methods;
	return &cscan->scan.plan;
}

/* ------------------------------------------------------------------------
 * Execution
 * ------------------------------------------------------------------------
 */

/* A new executor state; the rest is set up by seq_group_begin. */
static Node *
seq_group_create_state(CustomScan *cscan)
{
	SeqGroupState *s = (SeqGroupState *) newNode(sizeof(SeqGroupState), T_CustomScanState);

	s->css.methods = &seq_group_exec_methods;
	return (Node *) s;
}

/* Start the input plan; the kinds come from the Aggref's transition function. */
static void
seq_group_begin(CustomScanState *node, EState *estate, int eflags)
{
	SeqGroupState *s = (SeqGroupState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	TargetEntry *key_tle = linitial_node(TargetEntry, cscan->custom_scan_tlist);
	TargetEntry *agg_tle = lsecond_node(TargetEntry, cscan->custom_scan_tlist);
	Aggref	   *aggref = castNode(Aggref, agg_tle->expr);

	if (!seq_group_is_sequence_agg(aggref, &s->time_kind, &s->event_kind))
		elog(ERROR, "SequenceGroup node over an aggregate that is not sequence_agg");
	s->key_type = exprType((Node *) key_tle->expr);
	s->natts = 1 + list_length(aggref->args);
	s->mem_limit = get_hash_memory_limit();
	s->cxt = AllocSetContextCreate(estate->es_query_cxt, "cnnrec sequence grouping",
								   ALLOCSET_DEFAULT_SIZES);
	s->spill_cxt = AllocSetContextCreate(estate->es_query_cxt, "cnnrec sequence grouping spill",
										 ALLOCSET_SMALL_SIZES);
	s->tmp = AllocSetContextCreate(estate->es_query_cxt, "cnnrec sequence grouping labels",
								   ALLOCSET_SMALL_SIZES);
	node->custom_ps = list_make1(ExecInitNode(linitial(cscan->custom_plans), estate, eflags));
}

/* Fibonacci hashing of a key into the table's index range. */
static inline uint32
seq_group_hash(const SeqGroupState *s, int64 key)
{
	return (uint32) (((uint64) key * UINT64CONST(0x9E3779B97F4A7C15)) >> s->shift);
}

/*
 * The spill partition of a key at a depth: bits of a second, independent
 * hash (the splitmix64 finalizer), a different group of bits per depth.
 */
static inline int
seq_group_partition(int64 key, int depth)
{
	uint64		z = (uint64) key + UINT64CONST(0x9E3779B97F4A7C15);

	z = (z ^ (z >> 30)) * UINT64CONST(0xBF58476D1CE4E5B9);
	z = (z ^ (z >> 27)) * UINT64CONST(0x94D049BB133111EB);
	z ^= z >> 31;
	return (int) ((z >> (SEQ_GROUP_PART_BITS * depth)) & (SEQ_GROUP_PARTS - 1));
}

/* An empty table of 2^bits slots and a new appender, in a reset cxt. */
static void
seq_group_table_init(SeqGroupState *s, int bits)
{
	s->n_slots = (uint32) 1 << bits;
	s->shift = 64 - bits;
	s->slots = MemoryContextAllocExtended(s->cxt, (Size) s->n_slots * sizeof(SeqGroupSlot),
										  MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
}

/* Forget every group of the table, the NULL key's too. */
static void
seq_group_table_reset(SeqGroupState *s)
{
	MemoryContextReset(s->cxt);
	s->app = SeqAppenderCreate(s->cxt, s->time_kind, s->event_kind);
	s->n_groups = 0;
	s->next = 0;
	s->null_state = NULL;
	s->null_done = false;
	seq_group_table_init(s, 10);
}

/* Double the table (keeps the load factor at most one half). */
static void
seq_group_table_grow(SeqGroupState *s)
{
	SeqGroupSlot *old = s->slots;
	uint32		old_n = s->n_slots;

	if (old_n >= ((uint32) 1 << 30))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many groups for cnnrec sequence grouping"),
				 errhint("Set cnnrec.enable_sequence_grouping to off.")));
	seq_group_table_init(s, 64 - s->shift + 1);
	for (uint32 i = 0; i < old_n; i++)
	{
		uint32		h;

		if (old[i].state == NULL)
			continue;
		for (h = seq_group_hash(s, old[i].key); s->slots[h].state != NULL;
			 h = (h + 1) & (s->n_slots - 1))
			;
		s->slots[h] = old[i];
	}
	pfree(old);
}

/* The slot of key, inserted (state SEQ_GROUP_NO_ROWS) if new. */
static inline SeqGroupSlot *
seq_group_lookup(SeqGroupState *s, int64 key)
{
	uint32		h = seq_group_hash(s, key);

	for (;;)
	{
		SeqGroupSlot *slot = &s->slots[h];

		if (slot->state == NULL)
		{
			if ((s->n_groups + 1) * 2 > s->n_slots)
			{
				seq_group_table_grow(s);
				return seq_group_lookup(s, key);
			}
			s->n_groups++;
			slot->key = key;
			slot->state = SEQ_GROUP_NO_ROWS;
			return slot;
		}
		if (slot->key == key)
			return slot;
		h = (h + 1) & (s->n_slots - 1);
	}
}

/* Write one row to the spill partition of its key. */
static void
seq_group_spill_write(SeqGroupState *s, const SeqGroupRow *row)
{
	int			p = row->key_null ? 0 : seq_group_partition(row->key, s->depth);
	BufFile    *f = s->parts[p];
	SeqGroupRecord rec;

	rec.key = row->key;
	rec.item = row->item;
	rec.time = row->time;
	rec.event = row->event;
	rec.flags = (row->key_null ? SEQ_GROUP_KEY_NULL : 0) |
		(row->has_entry ? SEQ_GROUP_HAS_ENTRY : 0);
	BufFileWrite(f, &rec, sizeof(rec));
	s->part_bytes[p] += sizeof(rec);
	if (row->label != NULL)
	{
		BufFileWrite(f, (void *) row->label, row->event);
		s->part_bytes[p] += row->event;
	}
}

/* Context of seq_group_spill_entry: the group being written out. */
typedef struct SeqGroupDump
{
	SeqGroupState *s;
	SeqGroupRow row;
} SeqGroupDump;

/* SeqStateForEach callback: write one entry of a group to its partition. */
static void
seq_group_spill_entry(void *arg, int64 item, int64 time, int32 event)
{
	SeqGroupDump *d = (SeqGroupDump *) arg;

	d->row.item = item;
	d->row.time = time;
	d->row.event = event;
	d->row.label = NULL;
	if (d->s->event_kind == SEQ_EVENT_TEXT && event != SEQ_EVENT_NULL)
	{
		int			len;

		d->row.label = SeqAppenderLabelText(d->s->app, event, &len);
		d->row.event = len;
	}
	seq_group_spill_write(d->s, &d->row);
}

/* Write one group of the table (all its entries, or just the group) out. */
static void
seq_group_spill_group(SeqGroupState *s, bool key_null, int64 key, const char *state)
{
	SeqGroupDump d;

	memset(&d, 0, sizeof(d));
	d.s = s;
	d.row.key_null = key_null;
	d.row.key = key;
	if (state == SEQ_GROUP_NO_ROWS)
	{
		d.row.event = SEQ_EVENT_NULL;
		seq_group_spill_write(s, &d.row);
		return;
	}
	d.row.has_entry = true;
	SeqStateForEach(state, seq_group_spill_entry, &d);
}

/*
 * Memory is over hash_mem: open the partitions of this depth, write every
 * group of the table out to them and empty the table; the rest of the input
 * goes to the partitions too.
 */
static void
seq_group_spill_start(SeqGroupState *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->spill_cxt);

	s->parts = palloc(SEQ_GROUP_PARTS * sizeof(BufFile *));
	s->part_bytes = palloc0(SEQ_GROUP_PARTS * sizeof(int64));
	for (int p = 0; p < SEQ_GROUP_PARTS; p++)
		s->parts[p] = BufFileCreateTemp(false);
	MemoryContextSwitchTo(old);
	for (uint32 i = 0; i < s->n_slots; i++)
		if (s->slots[i].state != NULL)
			seq_group_spill_group(s, false, s->slots[i].key, s->slots[i].state);
	if (s->null_state != NULL)
		seq_group_spill_group(s, true, 0, s->null_state);
	s->peak_bytes = Max(s->peak_bytes, MemoryContextMemAllocated(s->cxt, true));
	seq_group_table_reset(s);
	s->spilling = true;
	s->n_spills++;
}

/* The input is over while spilling: queue this depth's partitions. */
static void
seq_group_spill_finish(SeqGroupState *s)
{
	MemoryContext old = MemoryContextSwitchTo(s->spill_cxt);

	for (int p = 0; p < SEQ_GROUP_PARTS; p++)
	{
		SeqGroupPart *part;

		/* (BufFileSize() is only for shared file sets) */
		if (s->part_bytes[p] == 0)
		{
			BufFileClose(s->parts[p]);
			continue;
		}
		s->spill_bytes += s->part_bytes[p];
		part = palloc(sizeof(SeqGroupPart));
		part->file = s->parts[p];
		part->depth = s->depth + 1;
		s->pending = lappend(s->pending, part);
	}
	pfree(s->parts);
	pfree(s->part_bytes);
	s->parts = NULL;
	s->part_bytes = NULL;
	s->spilling = false;
	MemoryContextSwitchTo(old);
}

/* Add one row to its group, or to a spill partition. */
static void
seq_group_insert(SeqGroupState *s, const SeqGroupRow *row)
{
	char	  **state;
	int32		event = row->event;

	if (s->spilling)
	{
		seq_group_spill_write(s, row);
		return;
	}
	if (row->key_null)
	{
		if (s->null_state == NULL)
			s->null_state = SEQ_GROUP_NO_ROWS;
		state = &s->null_state;
	}
	else
	{
		/* the previous row's slot is still valid: only inserts move slots */
		if (s->last == NULL || row->key != s->last_key)
		{
			s->last = seq_group_lookup(s, row->key);
			s->last_key = row->key;
		}
		state = &s->last->state;
	}
	if (!row->has_entry)
		return;
	if (row->label != NULL)
		event = SeqAppenderLabel(s->app, row->label, row->event);
	*state = SeqAppenderAdd(s->app, *state == SEQ_GROUP_NO_ROWS ? NULL : *state,
							row->item, row->time, event);
}

/* After some rows: spill if the table has outgrown hash_mem. */
static inline void
seq_group_check_memory(SeqGroupState *s)
{
	/* (one group cannot be split: it stays in memory however large) */
	if (!s->spilling && s->depth < SEQ_GROUP_MAX_DEPTH &&
		s->n_groups + (s->null_state != NULL ? 1 : 0) > 1 &&
		MemoryContextMemAllocated(s->cxt, true) > s->mem_limit)
	{
		s->last = NULL;
		seq_group_spill_start(s);
	}
}

/* An input row of the child plan as a SeqGroupRow (labels in tmp). */
static void
seq_group_child_row(SeqGroupState *s, TupleTableSlot *slot, SeqGroupRow *row)
{
	const Datum *v = slot->tts_values;
	const bool *isnull = slot->tts_isnull;

	row->key_null = isnull[0];
	row->key = 0;
	if (!isnull[0])
		row->key = (s->key_type == INT8OID) ? DatumGetInt64(v[0]) :
			(s->key_type == INT4OID) ? DatumGetInt32(v[0]) : DatumGetInt16(v[0]);
	row->has_entry = !isnull[1] && !isnull[2];
	row->item = row->has_entry ? DatumGetInt64(v[1]) : 0;
	row->time = !row->has_entry ? 0 :
		(s->time_kind == SEQ_TIME_DATE) ? (int64) DatumGetDateADT(v[2]) : DatumGetInt64(v[2]);
	row->event = SEQ_EVENT_NULL;
	row->label = NULL;
	if (!row->has_entry || s->natts < 4 || isnull[3])
		return;
	if (s->event_kind == SEQ_EVENT_INTEGER)
		row->event = SeqCheckIntegerEvent(DatumGetInt64(v[3]));
	else
	{
		struct varlena *label = (struct varlena *) DatumGetPointer(v[3]);

		if (VARATT_IS_COMPRESSED(label) || VARATT_IS_EXTERNAL(label))
		{
			MemoryContext old = MemoryContextSwitchTo(s->tmp);

			label = pg_detoast_datum_packed(label);
			MemoryContextSwitchTo(old);
		}
		row->label = VARDATA_ANY(label);
		row->event = VARSIZE_ANY_EXHDR(label);
	}
}

/* Read the child plan's rows into the table (spilling what does not fit). */
static void
seq_group_fill_child(SeqGroupState *s)
{
	PlanState  *child = linitial(s->css.custom_ps);
	uint64		n = 0;

	for (;;)
	{
		TupleTableSlot *slot = ExecProcNode(child);
		SeqGroupRow row;

		if (TupIsNull(slot))
			break;
		slot_getsomeattrs(slot, s->natts);
		seq_group_child_row(s, slot, &row);
		seq_group_insert(s, &row);
		MemoryContextReset(s->tmp);
		if ((++n & 1023) == 0)
			seq_group_check_memory(s);
	}
	seq_group_check_memory(s);
}

/* Read one spill partition into the (empty) table, then close it. */
static void
seq_group_fill_part(SeqGroupState *s, SeqGroupPart *part)
{
	SeqGroupRecord rec;
	uint64		n = 0;
	char	   *label = NULL;
	int			label_cap = 0;

	s->depth = part->depth;
	if (BufFileSeek(part->file, 0, 0, SEEK_SET) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("could not rewind a cnnrec sequence grouping spill file: %m")));
	while (BufFileRead(part->file, &rec, sizeof(rec)) == sizeof(rec))
	{
		SeqGroupRow row;

		CHECK_FOR_INTERRUPTS();
		row.key_null = (rec.flags & SEQ_GROUP_KEY_NULL) != 0;
		row.has_entry = (rec.flags & SEQ_GROUP_HAS_ENTRY) != 0;
		row.key = rec.key;
		row.item = rec.item;
		row.time = rec.time;
		row.event = rec.event;
		row.label = NULL;
		if (row.has_entry && s->event_kind == SEQ_EVENT_TEXT && rec.event != SEQ_EVENT_NULL)
		{
			if (rec.event + 1 > label_cap)
			{
				if (label != NULL)
					pfree(label);
				label_cap = Max(rec.event + 1, 64);
				label = MemoryContextAlloc(s->spill_cxt, label_cap);
			}
			if (BufFileRead(part->file, label, rec.event) != (size_t) rec.event)
				ereport(ERROR,
						(errcode(ERRCODE_DATA_CORRUPTED),
						 errmsg("cnnrec sequence grouping spill file is truncated")));
			row.label = label;
		}
		seq_group_insert(s, &row);
		if ((++n & 1023) == 0)
			seq_group_check_memory(s);
	}
	seq_group_check_memory(s);
	BufFileClose(part->file);
	pfree(part);
	if (label != NULL)
		pfree(label);
}

/* Store one group's (key, sequence) into the scan slot. */
static TupleTableSlot *
seq_group_store(SeqGroupState *s, bool key_null, int64 key, const char *state)
{
	TupleTableSlot *slot = s->css.ss.ss_ScanTupleSlot;
	MemoryContext old;

	ExecClearTuple(slot);
	slot->tts_isnull[0] = key_null;
	slot->tts_values[0] = key_null ? (Datum) 0 :
		(s->key_type == INT8OID) ? Int64GetDatum(key) :
		(s->key_type == INT4OID) ? Int32GetDatum((int32) key) : Int16GetDatum((int16) key);
	slot->tts_isnull[1] = (state == SEQ_GROUP_NO_ROWS);
	slot->tts_values[1] = (Datum) 0;
	if (state != SEQ_GROUP_NO_ROWS)
	{
		/* per-tuple memory: seq_group_exec resets it before the next row */
		old = MemoryContextSwitchTo(s->css.ss.ps.ps_ExprContext->ecxt_per_tuple_memory);
		slot->tts_values[1] = PointerGetDatum(SeqStateFinish(state));
		MemoryContextSwitchTo(old);
	}
	s->groups_out++;
	return ExecStoreVirtualTuple(slot);
}

/* The next group of the table, or NULL when it has no more. */
static TupleTableSlot *
seq_group_next_in_table(SeqGroupState *s)
{
	while (s->next < s->n_slots)
	{
		SeqGroupSlot *slot = &s->slots[s->next++];

		if (slot->state != NULL)
			return seq_group_store(s, false, slot->key, slot->state);
	}
	if (s->null_state != NULL && !s->null_done)
	{
		s->null_done = true;
		return seq_group_store(s, true, 0, s->null_state);
	}
	return NULL;
}

/* Note the table's memory once it holds a whole input (or partition). */
static void
seq_group_filled(SeqGroupState *s)
{
	s->peak_bytes = Max(s->peak_bytes, MemoryContextMemAllocated(s->cxt, true));
	if (s->spilling)
		seq_group_spill_finish(s);
	s->last = NULL;
}

/*
 * The next group in the scan slot.  The first call reads the input; when
 * the table is exhausted, the next spill partition is read.
 */
static TupleTableSlot *
seq_group_next(ScanState *ss)
{
	SeqGroupState *s = (SeqGroupState *) ss;

	if (!s->started)
	{
		s->started = true;
		s->depth = 0;
		seq_group_table_reset(s);
		seq_group_fill_child(s);
		seq_group_filled(s);
	}
	for (;;)
	{
		TupleTableSlot *slot = seq_group_next_in_table(s);
		SeqGroupPart *part;

		if (slot != NULL)
			return slot;
		if (s->pending == NIL)
			return ExecClearTuple(ss->ss_ScanTupleSlot);
		part = linitial(s->pending);
		s->pending = list_delete_first(s->pending);
		seq_group_table_reset(s);
		seq_group_fill_part(s, part);
		seq_group_filled(s);
		s->n_batches++;
	}
}

/*
 * ExecCustomScan: one projected group per call.  Not ExecScan(): with
 * scanrelid 0 it would, in an EvalPlanQual recheck, return the scan slot
 * without grouping; like Agg, this node just runs again.
 */
static TupleTableSlot *
seq_group_exec(CustomScanState *node)
{
	ExprContext *econtext = node->ss.ps.ps_ExprContext;
	ProjectionInfo *proj = node->ss.ps.ps_ProjInfo;
	TupleTableSlot *slot;

	CHECK_FOR_INTERRUPTS();
	ResetExprContext(econtext);	/* frees the previous group's sequence */
	slot = seq_group_next(&node->ss);
	if (TupIsNull(slot) || proj == NULL)
		return slot;
	econtext->ecxt_scantuple = slot;
	return ExecProject(proj);
}

/* Forget every group, state and spill file. */
static void
seq_group_forget(SeqGroupState *s)
{
	ListCell   *lc;

	if (s->parts != NULL)
		for (int p = 0; p < SEQ_GROUP_PARTS; p++)
			BufFileClose(s->parts[p]);
	foreach(lc, s->pending)
		BufFileClose(((SeqGroupPart *) lfirst(lc))->file);
	s->parts = NULL;
	s->pending = NIL;
	s->spilling = false;
	MemoryContextReset(s->cxt);
	MemoryContextReset(s->spill_cxt);
	s->app = NULL;
	s->slots = NULL;
	s->last = NULL;
	s->n_slots = s->n_groups = s->next = 0;
	s->null_state = NULL;
	s->null_done = false;
	s->started = false;
}

/* End: close spill files and shut the input down; memory goes with the query. */
static void
seq_group_end(CustomScanState *node)
{
	seq_group_forget((SeqGroupState *) node);
	ExecEndNode(linitial(node->custom_ps));
}

/* Rescan: the input is read again (its parameters may have changed). */
static void
seq_group_rescan(CustomScanState *node)
{
	PlanState  *child = linitial(node->custom_ps);

	seq_group_forget((SeqGroupState *) node);
	if (node->ss.ps.chgParam != NULL)
		UpdateChangedParamSet(child, node->ss.ps.chgParam);
	if (child->chgParam == NULL)
		ExecReScan(child);
}

/* EXPLAIN: the group key; with ANALYZE groups, memory and spilling. */
static void
seq_group_explain(CustomScanState *node, List *ancestors, ExplainState *es)
{
	SeqGroupState *s = (SeqGroupState *) node;
	CustomScan *cscan = (CustomScan *) node->ss.ps.plan;
	TargetEntry *key_tle = linitial_node(TargetEntry, cscan->custom_scan_tlist);
	List	   *context;

	context = set_deparse_context_plan(es->deparse_cxt, (Plan *) cscan, ancestors);
	ExplainPropertyText("Group Key",
						deparse_expression((Node *) key_tle->expr, context, es->verbose, false),
						es);
	if (es->analyze && s->started)
	{
		ExplainPropertyInteger("Groups", NULL, (int64) s->groups_out, es);
		ExplainPropertyInteger("Memory Usage", "kB", (int64) ((s->peak_bytes + 1023) / 1024), es);
		if (s->n_spills > 0)
		{
			ExplainPropertyInteger("Spills", NULL, s->n_spills, es);
			ExplainPropertyInteger("Batches", NULL, s->n_batches, es);
			ExplainPropertyInteger("Disk Usage", "kB", (s->spill_bytes + 1023) / 1024, es);
		}
	}
}

/* Register the node and the planner hook; called from _PG_init. */
void
CnnrecSeqGroupInit(void)
{
	RegisterCustomScanMethods(&seq_group_scan_methods);
	prev_upper_paths_hook = create_upper_paths_hook;
	create_upper_paths_hook = seq_group_upper_paths;
}
