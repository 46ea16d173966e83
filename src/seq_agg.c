/*
 * seq_agg.c
 *		The sequence builder and the parallel aggregate cnnrec.sequence_agg.
 *
 * Builder (SeqBuilder): a growable array of packed (time, item, event)
 * entries, 20 bytes each, sorted once by SeqBuilderFinish() with a
 * specialised quicksort (lib/sort_template.h: comparator inlined, presorted
 * input detected in one pass) into a cnnrec.seq.  The text and binary input
 * functions of cnnrec.seq (seq.c) use it, and so does every final function
 * whose rows did not arrive in order, so every cnnrec.seq is produced here.
 *
 * Aggregate states.  The hot path is one row appended to one of many groups
 * (hash aggregation over, say, 100,000 users): every memory line a row has
 * to touch is a cache miss.  So a state is not a struct but the address of
 * the group's next free entry slot, inside a chunk aligned to its size: the
 * chunk header (previous chunk, kinds, dictionary) is found by masking the
 * address, and a row touches nothing but the slot it writes.  A group
 * starts with a small chunk (11 entries) and goes on with large ones (49);
 * the low bit of the state tells which.  Chunks are carved out of big
 * blocks (SeqArena) of the aggregate memory context, one arena per support
 * function and context, forgotten through a reset callback when the
 * context is reset (hash aggregation batches, rescans, window restarts).
 * Nothing is sorted, checked or counted while rows arrive: the final
 * function walks the chain once, and when the entries arrived in order (an
 * append-only log) writes them straight into the result; otherwise it
 * gathers them into a builder and sorts.  The size limit (SEQ_MAX_EVENTS,
 * what fits in a 1 GB value) is checked there.  The final function only
 * reads the state, so transitions may go on afterwards (window aggregates,
 * shared transition states) and FINALFUNC_MODIFY stays READ_ONLY.
 *
 * Text events: labels are interned in a dictionary (SeqDict) shared by all
 * the groups of one aggregate call (it hangs off fn_extra of the support
 * function, in the per-query memory), so a row looks its label up in memory
 * that stays in cache instead of in a per-group table.  A chunk stores
 * dictionary codes and a pointer to its dictionary.  Whenever a state is
 * written out (final, serialize) only the labels it uses are written, and
 * the final function orders them with strcmp() (bytewise, collation-free):
 * ties on (time, item) are broken deterministically whatever order the rows
 * or parallel workers delivered them in, and the result's dictionary is
 * sorted, so the result is bytewise canonical.  Per-label scratch arrays in
 * the dictionary, stamped with a generation number, make this O(events) per
 * group however large the shared dictionary grows.
 *
 * Parallel aggregation: serialize writes the Seq layout of seq.h with
 * SEQ_FLAG_STATE set (entries unsorted, labels in first-use order);
 * deserialize checks that layout and rebuilds a state whose labels go into
 * the deserialize function's shared dictionary; combine appends the second
 * state to the first, remapping codes only when the dictionaries differ.
 */
#include "cnnrec.h"

#include <math.h>

#include "common/hashfn.h"
#include "miscadmin.h"

#include "seq.h"

/* Interned text-event labels; codes are 0.. in insertion order. */
typedef struct SeqDict
{
	MemoryContext mcxt;			/* owns the arrays below */
	int32		last_code;		/* code of the previous lookup, or -1 */
	int32		n_labels;
	int32		labels_cap;
	int32	   *label_off;		/* start of label i in label_buf */
	int32	   *label_len;		/* length of label i, without the NUL */
	uint32	   *label_hash;		/* hash_bytes() of label i */
	char	   *label_buf;		/* NUL-terminated labels, back to back */
	int32		label_bytes;	/* bytes used in label_buf */
	int32		label_buf_cap;
	int32	   *slots;			/* hash table: code + 1, or 0 when empty */
	int32		slot_mask;		/* number of slots - 1 (a power of 2 - 1) */
	/* scratch for collecting the labels one state uses (see above) */
	uint32		stamp;			/* current generation, never 0 */
	uint32	   *mark;			/* mark[code] == stamp: code seen this round */
	int32	   *local;			/* local[code]: its index this round */
} SeqDict;

struct SeqBuilder
{
	int32		n;				/* entries used */
	int32		cap;			/* entries allocated */
	SeqEntry   *entries;
	int64		last_time;		/* time and item of entries[n - 1] */
	int64		last_item;
	bool		sorted;			/* entries are known to be in order */
	uint8		time_kind;		/* SeqTimeKind */
	uint8		event_kind;		/* SeqEventKind */
	SeqDict    *dict;			/* text events: label dictionary (maybe shared) */
	MemoryContext mcxt;			/* owns the entries */
};

/* First allocation of the entry array, in bytes (a power of two). */
#define SEQ_BUILDER_INITIAL_BYTES	256

/* ------------------------------------------------------------------------
 * Label dictionary
 * ------------------------------------------------------------------------
 */

/* Create an empty dictionary in mcxt. */
static SeqDict *
seq_dict_create(MemoryContext mcxt)
{
	SeqDict    *d = MemoryContextAllocZero(mcxt, sizeof(SeqDict));

	d->mcxt = mcxt;
	d->last_code = -1;
	d->stamp = 1;
	return d;
}

/* Grow an array of elem-byte elements from old_n to new_n (old_n may be 0). */
static void *
seq_grow_array(MemoryContext mcxt, void *p, int32 old_n, int32 new_n, Size elem)
{
	if (old_n == 0)
		return MemoryContextAllocHuge(mcxt, (Size) new_n * elem);
	return repalloc_huge(p, (Size) new_n * elem);
}

/* Insert code into the hash table (which has a free slot). */
static inline void
seq_dict_slot_insert(SeqDict *d, int32 code)
{
	uint32		i = d->label_hash[code] & d->slot_mask;

	while (d->slots[i] != 0)
		i = (i + 1) & d->slot_mask;
	d->slots[i] = code + 1;
}

/* Make room for one more label of len bytes; rebuild the table at half load. */
static void
seq_dict_grow(SeqDict *d, int len)
{
	int64		need = (int64) d->label_bytes + len + 1;

	if (need > MaxAllocSize || d->n_labels >= MaxAllocSize / (2 * sizeof(int32)))
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many distinct event labels in one sequence_agg call"),
				 errdetail("The labels would need more than %zu bytes.", (Size) MaxAllocSize)));
	if (d->n_labels == d->labels_cap)
	{
		int32		cap = d->labels_cap ? d->labels_cap * 2 : 8;

		d->label_off = seq_grow_array(d->mcxt, d->label_off, d->labels_cap, cap, sizeof(int32));
		d->label_len = seq_grow_array(d->mcxt, d->label_len, d->labels_cap, cap, sizeof(int32));
		d->label_hash = seq_grow_array(d->mcxt, d->label_hash, d->labels_cap, cap, sizeof(uint32));
		d->local = seq_grow_array(d->mcxt, d->local, d->labels_cap, cap, sizeof(int32));
		d->mark = seq_grow_array(d->mcxt, d->mark, d->labels_cap, cap, sizeof(uint32));
		memset(d->mark + d->labels_cap, 0, (Size) (cap - d->labels_cap) * sizeof(uint32));
		d->labels_cap = cap;
	}
	if (need > d->label_buf_cap)
	{
		int64		cap = Min(Max(d->label_buf_cap * (int64) 2, Max(need, 256)),
							  (int64) MaxAllocSize);

		d->label_buf = seq_grow_array(d->mcxt, d->label_buf, d->label_buf_cap, (int32) cap, 1);
		d->label_buf_cap = (int32) cap;
	}
	if ((int64) (d->n_labels + 1) * 2 > (int64) d->slot_mask + 1)
	{
		int32		nslots = d->slots ? (d->slot_mask + 1) * 2 : 16;

		if (d->slots)
			pfree(d->slots);
		d->slots = MemoryContextAllocHuge(d->mcxt, (Size) nslots * sizeof(int32));
		memset(d->slots, 0, (Size) nslots * sizeof(int32));
		d->slot_mask = nslots - 1;
		for (int32 c = 0; c < d->n_labels; c++)
			seq_dict_slot_insert(d, c);
	}
}

/* Are the len bytes at a and b equal?  (Inline: labels are short.) */
static inline bool
seq_bytes_equal(const char *a, const char *b, int len)
{
	for (int i = 0; i < len; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* Does code hold exactly this label? */
static inline bool
seq_dict_equals(const SeqDict *d, int32 code, const char *label, int len)
{
	return d->label_len[code] == len &&
		seq_bytes_equal(d->label_buf + d->label_off[code], label, len);
}

/* Dictionaries this small are searched linearly, without hashing. */
#define SEQ_DICT_SCAN		8

/* Return the code of a label (len bytes, no NUL), adding it if new. */
static int32
seq_dict_lookup_slow(SeqDict *d, const char *label, int len)
{
	uint32		h;
	int32		code;

	if (d->n_labels <= SEQ_DICT_SCAN)
	{
		for (code = 0; code < d->n_labels; code++)
			if (seq_dict_equals(d, code, label, len))
				return d->last_code = code;
	}
	h = hash_bytes((const unsigned char *) label, len);
	if (d->slots != NULL && d->n_labels > SEQ_DICT_SCAN)
	{
		for (uint32 i = h & d->slot_mask; d->slots[i] != 0; i = (i + 1) & d->slot_mask)
		{
			code = d->slots[i] - 1;
			if (d->label_hash[code] == h && seq_dict_equals(d, code, label, len))
				return d->last_code = code;
		}
	}
	seq_dict_grow(d, len);
	code = d->n_labels++;
	d->label_off[code] = d->label_bytes;
	d->label_len[code] = len;
	d->label_hash[code] = h;
	memcpy(d->label_buf + d->label_bytes, label, len);
	d->label_buf[d->label_bytes + len] = '\0';
	d->label_bytes += len + 1;
	seq_dict_slot_insert(d, code);
	return d->last_code = code;
}

/* Return the code of a label; the previous lookup's label is checked first. */
static inline int32
seq_dict_lookup(SeqDict *d, const char *label, int len)
{
	if (d->last_code >= 0 && seq_dict_equals(d, d->last_code, label, len))
		return d->last_code;
	return seq_dict_lookup_slow(d, label, len);
}

/* NUL-terminated label of a code. */
static inline const char *
seq_dict_label(const SeqDict *d, int32 code)
{
	return d->label_buf + d->label_off[code];
}

/* Start collecting the codes one state uses (see seq_dict_note). */
static void
seq_dict_round(SeqDict *d)
{
	if (++d->stamp == 0)
	{
		memset(d->mark, 0, (Size) d->labels_cap * sizeof(uint32));
		d->stamp = 1;
	}
}

/*
 * Note code c (or SEQ_EVENT_NULL) as used this round: a new code is
 * appended to codes[*n_used], d->local[c] gets its index there, and its
 * label's size with the NUL is added to *bytes.
 */
static inline void
seq_dict_note(SeqDict *d, int32 c, int32 *codes, int32 *n_used, int64 *bytes)
{
	if (c == SEQ_EVENT_NULL || d->mark[c] == d->stamp)
		return;
	d->mark[c] = d->stamp;
	d->local[c] = *n_used;
	codes[(*n_used)++] = c;
	*bytes += d->label_len[c] + 1;
}

/* Array for the codes of a state with n entries (at most one per label). */
static int32 *
seq_dict_codes_alloc(const SeqDict *d, int64 n)
{
	return palloc_extended((Size) Max(Min(n, (int64) d->n_labels), 1) * sizeof(int32),
						   MCXT_ALLOC_HUGE);
}

/*
 * Collect the distinct codes used by entries, in first-use order, into a
 * new array; afterwards d->local[code] is each code's index in it.  Sets
 * *bytes to the size of those labels with their NULs.
 */
static int32
seq_dict_collect(SeqDict *d, const SeqEntry *entries, int32 n, int32 **used,
				 int64 *bytes)
{
	int32		n_used = 0;
	int32	   *codes = seq_dict_codes_alloc(d, n);

	seq_dict_round(d);
	*bytes = 0;
	for (int32 i = 0; i < n; i++)
		seq_dict_note(d, entries[i].event, codes, &n_used, bytes);
	*used = codes;
	return n_used;
}

/* qsort_arg comparator: codes by strcmp of their labels. */
static int
seq_dict_code_cmp(const void *a, const void *b, void *arg)
{
	const SeqDict *d = (const SeqDict *) arg;

	return strcmp(seq_dict_label(d, *(const int32 *) a),
				  seq_dict_label(d, *(const int32 *) b));
}

/* Sort used[] by label and make d->local[code] each label's rank. */
static void
seq_dict_rank(SeqDict *d, int32 *used, int32 n_used)
{
	qsort_arg(used, n_used, sizeof(int32), seq_dict_code_cmp, d);
	for (int32 r = 0; r < n_used; r++)
		d->local[used[r]] = r;
}

/* Write the labels of used[] (in that order) into the dictionary of seq. */
static void
seq_dict_write(const SeqDict *d, Seq *seq, const int32 *used, int32 n_used)
{
	int32	   *off = (int32 *) SeqLabelOffsets(seq);
	char	   *dst = (char *) (off + n_used);
	int32		pos = 0;

	for (int32 r = 0; r < n_used; r++)
	{
		int32		len = d->label_len[used[r]] + 1;

		off[r] = pos;
		memcpy(dst + pos, seq_dict_label(d, used[r]), len);
		pos += len;
	}
}

/* ------------------------------------------------------------------------
 * Builder
 * ------------------------------------------------------------------------
 */

/* Create an empty builder in mcxt using dict (text events only). */
static SeqBuilder *
seq_builder_create(MemoryContext mcxt, SeqTimeKind time_kind,
				   SeqEventKind event_kind, SeqDict *dict)
{
	SeqBuilder *b = MemoryContextAllocZero(mcxt, sizeof(SeqBuilder));

	b->mcxt = mcxt;
	b->time_kind = time_kind;
	b->event_kind = event_kind;
	b->sorted = true;
	b->cap = SEQ_BUILDER_INITIAL_BYTES / sizeof(SeqEntry);
	b->entries = MemoryContextAlloc(mcxt, b->cap * sizeof(SeqEntry));
	b->dict = (event_kind == SEQ_EVENT_TEXT) ? dict : NULL;
	return b;
}

/* Create an empty builder with a private dictionary, all in mcxt. */
SeqBuilder *
SeqBuilderCreate(MemoryContext mcxt, SeqTimeKind time_kind,
				 SeqEventKind event_kind)
{
	return seq_builder_create(mcxt, time_kind, event_kind,
							  event_kind == SEQ_EVENT_TEXT ? seq_dict_create(mcxt) : NULL);
}

/* Raise the "too large" error for a sequence of the given size. */
static void
pg_attribute_noreturn()
seq_too_large(uint64 size)
{
	ereport(ERROR,
			(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
			 errmsg("cnnrec.seq would exceed the maximum size of %zu bytes",
					(Size) MaxAllocSize),
			 errdetail("The sequence needs " UINT64_FORMAT " bytes, at most %d events fit.",
					   size, SEQ_MAX_EVENTS),
			 errhint("Aggregate fewer events per group, for example only recent ones.")));
}

/*
 * Make room for at least need entries.  The array's byte size doubles and is
 * kept a power of two, the chunk sizes AllocSet hands out, so no chunk
 * space is wasted; the capacity is whatever fits.
 */
static void
seq_builder_reserve(SeqBuilder *b, int64 need)
{
	Size		bytes = SEQ_BUILDER_INITIAL_BYTES;
	int64		cap;

	if (need <= b->cap)
		return;
	if (need > SEQ_MAX_EVENTS)
		seq_too_large(SeqComputeSize(0, b->event_kind, 0, 0) +
					  (uint64) need * SEQ_EVENT_BYTES(b->event_kind));
	while ((int64) (bytes / sizeof(SeqEntry)) < need)
		bytes *= 2;
	cap = Min((int64) (bytes / sizeof(SeqEntry)), (int64) SEQ_MAX_EVENTS);
	b->entries = repalloc_huge(b->entries, (Size) cap * sizeof(SeqEntry));
	b->cap = (int32) cap;
}

/* Append one event; event is an integer value, a label code or SEQ_EVENT_NULL. */
void
SeqBuilderAdd(SeqBuilder *b, int64 item, int64 time, int32 event)
{
	SeqEntry   *e;

	if (unlikely(b->n == b->cap))
		seq_builder_reserve(b, (int64) b->n + 1);
	/* a tie on (time, item) also clears sorted: the event order is the sort's */
	if (b->n > 0 && (b->last_time > time ||
					 (b->last_time == time && b->last_item >= item)))
		b->sorted = false;
	b->last_time = time;
	b->last_item = item;
	e = &b->entries[b->n++];
	e->time = time;
	e->item = item;
	e->event = event;
}

/* Return the code of a text label (len bytes, no NUL), adding it if new. */
int32
SeqBuilderLabel(SeqBuilder *b, const char *label, int len)
{
	Assert(b->event_kind == SEQ_EVENT_TEXT);
	return seq_dict_lookup(b->dict, label, len);
}

/* Check an integer event value and return its stored code. */
int32
SeqCheckIntegerEvent(int64 value)
{
	if (value <= PG_INT32_MIN || value > PG_INT32_MAX)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("event value " INT64_FORMAT " is out of range", value),
				 errhint("Integer events must be between %d and %d.",
						 PG_INT32_MIN + 1, PG_INT32_MAX)));
	return (int32) value;
}

/* Order of two event codes (via rank for text events); NULL sorts last. */
static inline int
seq_event_cmp(int32 a, int32 b, const int32 *rank)
{
	if (a == b)
		return 0;
	if (a == SEQ_EVENT_NULL)
		return 1;
	if (b == SEQ_EVENT_NULL)
		return -1;
	if (rank != NULL)
	{
		a = rank[a];
		b = rank[b];
	}
	return a < b ? -1 : 1;
}

/* The sequence order: time, then item, then event. */
static inline int
seq_entry_cmp(const SeqEntry *a, const SeqEntry *b, const int32 *rank)
{
	if (a->time != b->time)
		return a->time < b->time ? -1 : 1;
	if (a->item != b->item)
		return a->item < b->item ? -1 : 1;
	return seq_event_cmp(a->event, b->event, rank);
}

#define ST_SORT seq_sort_entries
#define ST_ELEMENT_TYPE SeqEntry
#define ST_COMPARE(a, b, arg) seq_entry_cmp(a, b, arg)
#define ST_COMPARE_ARG_TYPE const int32
#define ST_CHECK_FOR_INTERRUPTS
#define ST_SCOPE static
#define ST_DEFINE
#include "lib/sort_template.h"

/* Allocate a value of the builder's kinds with n events and the given labels. */
static Seq *
seq_alloc(const SeqBuilder *b, uint8 flags, int32 n_labels, int64 label_bytes)
{
	uint64		size;
	Seq		   *seq;

	if (label_bytes > PG_INT32_MAX)
		seq_too_large((uint64) label_bytes);
	size = SeqComputeSize(b->n, b->event_kind, n_labels, (int32) label_bytes);
	if (size > MaxAllocSize)
		seq_too_large(size);
	seq = palloc_extended((Size) size, MCXT_ALLOC_HUGE);
	memset(seq, 0, SEQ_HEADER_SIZE);
	SET_VARSIZE(seq, size);
	seq->version = SEQ_VERSION;
	seq->time_kind = b->time_kind;
	seq->event_kind = b->event_kind;
	seq->flags = flags;
	seq->n_events = b->n;
	seq->n_labels = n_labels;
	seq->label_bytes = (int32) label_bytes;
	return seq;
}

/* Copy the entries into the arrays of seq, events mapped through map if given. */
static void
seq_write_entries(const SeqBuilder *b, Seq *seq, const int32 *map)
{
	int64	   *items = (int64 *) SeqItems(seq);
	int64	   *times = (int64 *) SeqTimes(seq);
	int32	   *events = (int32 *) SeqEvents(seq);

	for (int32 i = 0; i < b->n; i++)
	{
		items[i] = b->entries[i].item;
		times[i] = b->entries[i].time;
	}
	if (events == NULL)
		return;
	for (int32 i = 0; i < b->n; i++)
	{
		int32		e = b->entries[i].event;

		events[i] = (map == NULL || e == SEQ_EVENT_NULL) ? e : map[e];
	}
}

/*
 * Sort the entries (in place) and return them as a new cnnrec.seq in the
 * current memory context.  The builder stays usable.
 */
Seq *
SeqBuilderFinish(SeqBuilder *b)
{
	SeqDict    *d = b->dict;
	int32	   *used = NULL;
	int32		n_used = 0;
	int64		used_bytes = 0;
	Seq		   *seq;

	if (d != NULL)
	{
		n_used = seq_dict_collect(d, b->entries, b->n, &used, &used_bytes);
		seq_dict_rank(d, used, n_used);
	}
	if (!b->sorted)
		seq_sort_entries(b->entries, b->n, d ? d->local : NULL);
	b->sorted = true;

	seq = seq_alloc(b, 0, n_used, used_bytes);
	seq_write_entries(b, seq, d ? d->local : NULL);
	if (n_used > 0)
		seq_dict_write(d, seq, used, n_used);
	if (used != NULL)
		pfree(used);
	return seq;
}

/* ------------------------------------------------------------------------
 * Aggregate states: chains of aligned chunks
 * ------------------------------------------------------------------------
 */

/*
 * Chunk sizes (each chunk is aligned to its size, so a state's chunk is
 * found by masking the state pointer): a group starts with a small chunk
 * and goes on with large ones, which keeps small groups small and long
 * groups at few chunks (the final function walks the chain of chunks, and
 * each step is a dependent cache miss).
 */
#define SEQ_CHUNK_SMALL		256
#define SEQ_CHUNK_LARGE		1024

/* Tag bit of a state pointer: its chunk is a large one. */
#define SEQ_STATE_LARGE		((uintptr_t) 1)

/* Header of every chunk; the entries follow it. */
typedef struct SeqChunk
{
	struct SeqChunk *prev;		/* previous chunk of the group, or NULL */
	SeqDict    *dict;			/* text events: label dictionary */
	uint8		time_kind;		/* SeqTimeKind */
	uint8		event_kind;		/* SeqEventKind */
	bool		large;			/* SEQ_CHUNK_LARGE bytes, else SEQ_CHUNK_SMALL */
} SeqChunk;

/*
 * Entries a chunk holds: the slot after the last one must still be inside
 * the chunk, so that masking a full state's pointer finds its chunk.
 */
#define SEQ_CHUNK_SLOTS(large) \
	((int32) ((((large) ? SEQ_CHUNK_LARGE : SEQ_CHUNK_SMALL) - sizeof(SeqChunk) - 1) / \
			  sizeof(SeqEntry)))

StaticAssertDecl(SEQ_CHUNK_SLOTS(false) >= 8, "sequence_agg chunks hold too few entries");
StaticAssertDecl(sizeof(SeqChunk) % 4 == 0 && sizeof(SeqEntry) % 4 == 0,
				 "sequence_agg state pointers need a free low bit");

/* First arena block (bytes) of each chunk size; blocks double up to the largest. */
#define SEQ_ARENA_FIRST_BLOCK	(8 * 1024)
#define SEQ_ARENA_MAX_BLOCK		(1024 * 1024)

/* Arenas remembered per support function (one per aggregate context seen). */
#define SEQ_ARENA_CACHE		4

/*
 * Aligned chunks carved out of blocks of one memory context, small and
 * large ones from separate blocks.  The arena lives in that context; a
 * reset callback unlinks it from the cache that points to it before the
 * memory goes away.
 */
typedef struct SeqArena
{
	MemoryContext cxt;			/* where the blocks are allocated */
	char	   *next[2];		/* next free chunk of the current block [large] */
	char	   *end[2];			/* end of the current block [large] */
	Size		block_bytes[2]; /* size of the next block [large] */
	struct SeqArena **owner;	/* cache slot pointing here, or NULL */
	MemoryContextCallback cb;
} SeqArena;

/* fn_extra of every support function: its label dictionary and arenas. */
typedef struct SeqAggExtra
{
	SeqDict    *dict;			/* created on first use */
	SeqArena   *arenas[SEQ_ARENA_CACHE];
	int			victim;			/* next cache slot to reuse */
} SeqAggExtra;

/* The support function's fn_extra, created on first use. */
static SeqAggExtra *
seq_agg_extra(FunctionCallInfo fcinfo)
{
	if (fcinfo->flinfo->fn_extra == NULL)
		fcinfo->flinfo->fn_extra = MemoryContextAllocZero(fcinfo->flinfo->fn_mcxt,
														  sizeof(SeqAggExtra));
	return (SeqAggExtra *) fcinfo->flinfo->fn_extra;
}

/* The dictionary shared by every call of a support function in one query. */
static SeqDict *
seq_dict_for(FunctionCallInfo fcinfo)
{
	SeqAggExtra *x = seq_agg_extra(fcinfo);

	if (x->dict == NULL)
		x->dict = seq_dict_create(fcinfo->flinfo->fn_mcxt);
	return x->dict;
}

/* Reset callback: the arena's context is going away, forget the arena. */
static void
seq_arena_forget(void *arg)
{
	SeqArena   *a = (SeqArena *) arg;

	if (a->owner != NULL && *a->owner == a)
		*a->owner = NULL;
}

/* A new, empty arena allocating its blocks in cxt. */
static SeqArena *
seq_arena_create(MemoryContext cxt)
{
	SeqArena   *a = MemoryContextAllocZero(cxt, sizeof(SeqArena));

	a->cxt = cxt;
	a->block_bytes[0] = a->block_bytes[1] = SEQ_ARENA_FIRST_BLOCK;
	return a;
}

/* The arena of cxt for this support function, created on first use. */
static SeqArena *
seq_arena_for(FunctionCallInfo fcinfo, MemoryContext cxt)
{
	SeqAggExtra *x = seq_agg_extra(fcinfo);
	SeqArena   *a;
	int			k;

	for (k = 0; k < SEQ_ARENA_CACHE; k++)
		if (x->arenas[k] != NULL && x->arenas[k]->cxt == cxt)
			return x->arenas[k];
	for (k = 0; k < SEQ_ARENA_CACHE && x->arenas[k] != NULL; k++)
		;
	if (k == SEQ_ARENA_CACHE)
	{
		/* evict: the evicted arena's free space is simply not used */
		k = x->victim;
		x->victim = (x->victim + 1) % SEQ_ARENA_CACHE;
		x->arenas[k]->owner = NULL;
	}
	a = seq_arena_create(cxt);
	a->owner = &x->arenas[k];
	a->cb.func = seq_arena_forget;
	a->cb.arg = a;
	MemoryContextRegisterResetCallback(cxt, &a->cb);
	x->arenas[k] = a;
	return a;
}

/* A new chunk from the arena, aligned to its size. */
static SeqChunk *
seq_arena_chunk(SeqArena *a, bool large)
{
	Size		bytes = large ? SEQ_CHUNK_LARGE : SEQ_CHUNK_SMALL;
	SeqChunk   *c;

	if (a->next[large] == a->end[large])
	{
		char	   *block = MemoryContextAlloc(a->cxt, a->block_bytes[large] + bytes);

		a->next[large] = (char *) TYPEALIGN(bytes, block);
		a->end[large] = a->next[large] + a->block_bytes[large];
		a->block_bytes[large] = Min(a->block_bytes[large] * 2, SEQ_ARENA_MAX_BLOCK);
	}
	c = (SeqChunk *) a->next[large];
	a->next[large] += bytes;
	return c;
}

/* The untagged slot pointer of state s. */
static inline SeqEntry *
seq_state_slot(const char *s)
{
	return (SeqEntry *) ((uintptr_t) s & ~SEQ_STATE_LARGE);
}

/* Is the chunk of state s a large one? */
static inline bool
seq_state_large(const char *s)
{
	return ((uintptr_t) s & SEQ_STATE_LARGE) != 0;
}

/* The chunk holding (or ending at) the next free slot of state s. */
static inline SeqChunk *
seq_state_chunk(const char *s)
{
	uintptr_t	slot = (uintptr_t) seq_state_slot(s);

	if (seq_state_large(s))
		return (SeqChunk *) TYPEALIGN_DOWN(SEQ_CHUNK_LARGE, slot);
	return (SeqChunk *) TYPEALIGN_DOWN(SEQ_CHUNK_SMALL, slot);
}

/* First entry slot of chunk c. */
static inline SeqEntry *
seq_chunk_slots(SeqChunk *c)
{
	return (SeqEntry *) ((char *) c + sizeof(SeqChunk));
}

/* Entries in the chunk of state s, the last chunk of its group. */
static inline int32
seq_state_tail_count(const char *s)
{
	return (int32) (seq_state_slot(s) - seq_chunk_slots(seq_state_chunk(s)));
}

/* Is the chunk of state s full? */
static inline bool
seq_state_full(const char *s)
{
	return seq_state_tail_count(s) == SEQ_CHUNK_SLOTS(seq_state_large(s));
}

/*
 * A new chunk for the group whose state is s (NULL: a new group, which
 * starts small) in arena a; returns the state of its first slot.
 */
static char *
seq_state_extend(SeqArena *a, const char *s, SeqTimeKind time_kind,
				 SeqEventKind event_kind, SeqDict *dict)
{
	bool		large = (s != NULL);
	SeqChunk   *c = seq_arena_chunk(a, large);

	c->prev = s ? seq_state_chunk(s) : NULL;
	c->dict = (event_kind == SEQ_EVENT_TEXT) ? dict : NULL;
	c->time_kind = time_kind;
	c->event_kind = event_kind;
	c->large = large;
	return (char *) ((uintptr_t) seq_chunk_slots(c) | (large ? SEQ_STATE_LARGE : 0));
}

/* Write one entry at state s (which has room); returns the new state. */
static inline char *
seq_state_put(char *s, int64 item, int64 time, int32 event)
{
	SeqEntry   *e = seq_state_slot(s);

	e->time = time;
	e->item = item;
	e->event = event;
	return s + sizeof(SeqEntry);	/* keeps the tag bit */
}

/* Append one entry to state s (NULL: a new group) in arena a. */
static inline char *
seq_state_append(SeqArena *a, char *s, SeqTimeKind time_kind, SeqEventKind event_kind,
				 SeqDict *dict, int64 item, int64 time, int32 event)
{
	if (unlikely(s == NULL || seq_state_full(s)))
		s = seq_state_extend(a, s, time_kind, event_kind, dict);
	return seq_state_put(s, item, time, event);
}

/*
 * The chunks of the group whose state is s, first to last (palloc'd), and
 * the entries each holds; *n_entries gets the total, checked against
 * SEQ_MAX_EVENTS.
 */
static SeqChunk **
seq_state_chunks(const char *s, int32 **counts, int32 *n_chunks, int32 *n_entries)
{
	SeqChunk   *last = seq_state_chunk(s);
	int64		k = 0;
	int64		n = 0;
	SeqChunk  **chunks;

	for (SeqChunk *c = last; c != NULL; c = c->prev)
	{
		k++;
		n += (c == last) ? seq_state_tail_count(s) : SEQ_CHUNK_SLOTS(c->large);
	}
	if (n > SEQ_MAX_EVENTS)
		seq_too_large(SeqComputeSize(0, last->event_kind, 0, 0) +
					  (uint64) n * SEQ_EVENT_BYTES(last->event_kind));
	chunks = palloc((Size) k * sizeof(SeqChunk *));
	*counts = palloc((Size) k * sizeof(int32));
	*n_chunks = (int32) k;
	*n_entries = (int32) n;
	for (SeqChunk *c = last; c != NULL; c = c->prev)
	{
		chunks[--k] = c;
		(*counts)[k] = (c == last) ? seq_state_tail_count(s) : SEQ_CHUNK_SLOTS(c->large);
	}
	return chunks;
}

/*
 * Copy the entries of the group whose state is s, in arrival order, into a
 * contiguous builder in the current memory context (not sorted yet).
 */
static SeqBuilder *
seq_state_gather(const char *s)
{
	int32		n_chunks;
	int32		n;
	int32	   *counts;
	SeqChunk  **chunks = seq_state_chunks(s, &counts, &n_chunks, &n);
	SeqBuilder *b;
	int32		pos = 0;

	b = seq_builder_create(CurrentMemoryContext, chunks[0]->time_kind,
						   chunks[0]->event_kind, chunks[0]->dict);
	seq_builder_reserve(b, Max(n, 1));
	for (int32 j = 0; j < n_chunks; j++)
	{
		memcpy(b->entries + pos, seq_chunk_slots(chunks[j]), (Size) counts[j] * sizeof(SeqEntry));
		pos += counts[j];
	}
	b->n = n;
	b->sorted = false;
	pfree(chunks);
	pfree(counts);
	return b;
}

/*
 * The cnnrec.seq of the group whose state is p.  Entries that arrived in
 * order (strictly increasing (time, item)) are written straight from the
 * chunks; otherwise they are gathered and sorted by SeqBuilderFinish().
 * The result is in the current memory context (also for seq_group.c).
 */
Seq *
SeqStateFinish(const char *p)
{
	int32		n_chunks;
	int32		n;
	int32	   *counts;
	SeqChunk  **chunks = seq_state_chunks(p, &counts, &n_chunks, &n);
	SeqChunk   *first = chunks[0];
	SeqDict    *d = first->dict;
	int32	   *used = NULL;
	int32		n_used = 0;
	int64		used_bytes = 0;
	SeqBuilder	shape;
	Seq		   *seq;
	int64	   *items;
	int64	   *times;
	int32	   *events;
	int64		last_time = PG_INT64_MIN;
	int64		last_item = PG_INT64_MIN;
	bool		first_entry = true;

	/* pass 1: order check and the labels used */
	if (d != NULL)
	{
		used = seq_dict_codes_alloc(d, n);
		seq_dict_round(d);
	}
	for (int32 j = 0; j < n_chunks; j++)
	{
		const SeqEntry *e = seq_chunk_slots(chunks[j]);
		int32		m = counts[j];

		for (int32 i = 0; i < m; i++)
		{
			if (!first_entry && (last_time > e[i].time ||
								 (last_time == e[i].time && last_item >= e[i].item)))
			{
				if (used != NULL)
					pfree(used);
				pfree(chunks);
				pfree(counts);
				return SeqBuilderFinish(seq_state_gather(p));
			}
			first_entry = false;
			last_time = e[i].time;
			last_item = e[i].item;
			if (d != NULL)
				seq_dict_note(d, e[i].event, used, &n_used, &used_bytes);
		}
	}
	if (d != NULL)
		seq_dict_rank(d, used, n_used);

	/* pass 2: write the columns */
	memset(&shape, 0, sizeof(shape));
	shape.n = n;
	shape.time_kind = first->time_kind;
	shape.event_kind = first->event_kind;
	seq = seq_alloc(&shape, 0, n_used, used_bytes);
	items = (int64 *) SeqItems(seq);
	times = (int64 *) SeqTimes(seq);
	events = (int32 *) SeqEvents(seq);
	for (int32 j = 0, k = 0; j < n_chunks; j++)
	{
		const SeqEntry *e = seq_chunk_slots(chunks[j]);
		int32		m = counts[j];

		for (int32 i = 0; i < m; i++, k++)
		{
			items[k] = e[i].item;
			times[k] = e[i].time;
			if (events != NULL)
				events[k] = (d == NULL || e[i].event == SEQ_EVENT_NULL) ?
					e[i].event : d->local[e[i].event];
		}
	}
	if (n_used > 0)
		seq_dict_write(d, seq, used, n_used);
	if (used != NULL)
		pfree(used);
	pfree(chunks);
	pfree(counts);
	return seq;
}

/* ------------------------------------------------------------------------
 * Aggregate support functions
 * ------------------------------------------------------------------------
 */

/* The aggregate memory context, or an error outside an aggregate. */
static inline MemoryContext
seq_agg_context(FunctionCallInfo fcinfo, const char *fname)
{
	MemoryContext aggcxt;

	if (!AggCheckCallContext(fcinfo, &aggcxt))
		elog(ERROR, "%s called in non-aggregate context", fname);
	return aggcxt;
}

/* The transition state argument (a chunk chain's next free slot), or NULL. */
static inline char *
seq_agg_arg_state(FunctionCallInfo fcinfo, int argno)
{
	if (PG_ARGISNULL(argno))
		return NULL;
	return (char *) PG_GETARG_POINTER(argno);
}

/*
 * Append one entry to state p (NULL: start a new group) in the aggregate
 * context of the call; returns the new state pointer.  The kinds and the
 * dictionary come from the caller, so a full chunk is never read again.
 */
static inline char *
seq_agg_add(FunctionCallInfo fcinfo, char *p, SeqTimeKind time_kind,
			SeqEventKind event_kind, SeqDict *dict,
			int64 item, int64 time, int32 event)
{
	if (unlikely(p == NULL || seq_state_full(p)))
		p = seq_state_extend(seq_arena_for(fcinfo,
										   seq_agg_context(fcinfo, "sequence_agg_transfn")),
							 p, time_kind, event_kind, dict);
	return seq_state_put(p, item, time, event);
}

/*
 * Transition: (state, item int8, time, [event]).  Rows with a NULL item or
 * time are skipped; a NULL event is kept as a NULL event.  The state is the
 * next free slot of the group's last chunk, so a row touches only the
 * memory it writes (see "Aggregate states" in the file comment).
 */
static inline Datum
seq_agg_trans(FunctionCallInfo fcinfo, SeqTimeKind time_kind,
			  SeqEventKind event_kind)
{
	char	   *p = seq_agg_arg_state(fcinfo, 0);
	SeqDict    *dict = NULL;
	int32		event = SEQ_EVENT_NULL;
	int64		time;

	if (PG_ARGISNULL(1) || PG_ARGISNULL(2))
	{
		if (p == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(p);
	}
	if (event_kind == SEQ_EVENT_TEXT)
		dict = seq_dict_for(fcinfo);
	if (event_kind != SEQ_EVENT_NONE && !PG_ARGISNULL(3))
	{
		if (event_kind == SEQ_EVENT_INTEGER)
			event = SeqCheckIntegerEvent(PG_GETARG_INT64(3));
		else
		{
			struct varlena *label = (struct varlena *) PG_GETARG_POINTER(3);

			/* PG_GETARG_TEXT_PP without the call for the usual plain value */
			if (VARATT_IS_COMPRESSED(label) || VARATT_IS_EXTERNAL(label))
				label = pg_detoast_datum_packed(label);
			event = seq_dict_lookup(dict, VARDATA_ANY(label), VARSIZE_ANY_EXHDR(label));
		}
	}
	/* timestamptz, timestamp and int8 are int64 Datums; a date is an int32 */
	time = (time_kind == SEQ_TIME_DATE) ? (int64) PG_GETARG_DATEADT(2) : PG_GETARG_INT64(2);
	PG_RETURN_POINTER(seq_agg_add(fcinfo, p, time_kind, event_kind, dict,
								  PG_GETARG_INT64(1), time, event));
}

/* One exported transition function per (time kind, event kind) signature. */
#define SEQ_AGG_TRANSFN(name, time_kind, event_kind) \
	CNNREC_FUNCTION(name); \
	Datum \
	name(PG_FUNCTION_ARGS) \
	{ \
		return seq_agg_trans(fcinfo, time_kind, event_kind); \
	}

SEQ_AGG_TRANSFN(seq_agg_trans_tstz, SEQ_TIME_TIMESTAMPTZ, SEQ_EVENT_NONE)
SEQ_AGG_TRANSFN(seq_agg_trans_tstz_int, SEQ_TIME_TIMESTAMPTZ, SEQ_EVENT_INTEGER)
SEQ_AGG_TRANSFN(seq_agg_trans_tstz_text, SEQ_TIME_TIMESTAMPTZ, SEQ_EVENT_TEXT)
SEQ_AGG_TRANSFN(seq_agg_trans_ts, SEQ_TIME_TIMESTAMP, SEQ_EVENT_NONE)
SEQ_AGG_TRANSFN(seq_agg_trans_ts_int, SEQ_TIME_TIMESTAMP, SEQ_EVENT_INTEGER)
SEQ_AGG_TRANSFN(seq_agg_trans_ts_text, SEQ_TIME_TIMESTAMP, SEQ_EVENT_TEXT)
SEQ_AGG_TRANSFN(seq_agg_trans_date, SEQ_TIME_DATE, SEQ_EVENT_NONE)
SEQ_AGG_TRANSFN(seq_agg_trans_date_int, SEQ_TIME_DATE, SEQ_EVENT_INTEGER)
SEQ_AGG_TRANSFN(seq_agg_trans_date_text, SEQ_TIME_DATE, SEQ_EVENT_TEXT)
SEQ_AGG_TRANSFN(seq_agg_trans_int, SEQ_TIME_INTEGER, SEQ_EVENT_NONE)
SEQ_AGG_TRANSFN(seq_agg_trans_int_int, SEQ_TIME_INTEGER, SEQ_EVENT_INTEGER)
SEQ_AGG_TRANSFN(seq_agg_trans_int_text, SEQ_TIME_INTEGER, SEQ_EVENT_TEXT)

/*
 * Append the entries of builder src to state p (NULL: a new group using
 * src's dictionary), remapping label codes when the dictionaries differ.
 */
static char *
seq_agg_append(FunctionCallInfo fcinfo, char *p, SeqBuilder *src)
{
	SeqDict    *dst_dict = p ? seq_state_chunk(p)->dict : src->dict;
	int32	   *used = NULL;
	int32	   *map = NULL;
	int64		bytes;
	int32		n_used;

	if (p != NULL)
	{
		SeqChunk   *c = seq_state_chunk(p);

		if (c->time_kind != src->time_kind || c->event_kind != src->event_kind)
			elog(ERROR, "sequence_agg states of different kinds cannot be combined");
	}
	if (src->dict != NULL && dst_dict != NULL && src->dict != dst_dict)
	{
		n_used = seq_dict_collect(src->dict, src->entries, src->n, &used, &bytes);
		map = palloc_extended((Size) Max(src->dict->n_labels, 1) * sizeof(int32),
							  MCXT_ALLOC_HUGE);
		for (int32 k = 0; k < n_used; k++)
			map[used[k]] = seq_dict_lookup(dst_dict, seq_dict_label(src->dict, used[k]),
										   src->dict->label_len[used[k]]);
	}
	if (p == NULL)
		p = seq_state_extend(seq_arena_for(fcinfo, seq_agg_context(fcinfo, "sequence_agg_combinefn")),
							 NULL, src->time_kind, src->event_kind, src->dict);
	for (int32 i = 0; i < src->n; i++)
	{
		SeqEntry   *e = &src->entries[i];
		int32		ev = e->event;

		if (map != NULL && ev != SEQ_EVENT_NULL)
			ev = map[ev];
		p = seq_agg_add(fcinfo, p, src->time_kind, src->event_kind, dst_dict,
						e->item, e->time, ev);
	}
	if (map != NULL)
	{
		pfree(map);
		pfree(used);
	}
	return p;
}

CNNREC_FUNCTION(seq_agg_combine);

/*
 * Combine: append state 2 to state 1 (creating it in the aggregate context).
 * With PostgreSQL 15 state 2 always comes from deserialize, whose dictionary
 * is per-query, so a new state 1 can share it.
 */
Datum
seq_agg_combine(PG_FUNCTION_ARGS)
{
	char	   *s1 = seq_agg_arg_state(fcinfo, 0);
	char	   *s2 = seq_agg_arg_state(fcinfo, 1);

	(void) seq_agg_context(fcinfo, "sequence_agg_combinefn");
	if (s2 == NULL)
	{
		if (s1 == NULL)
			PG_RETURN_NULL();
		PG_RETURN_POINTER(s1);
	}
	PG_RETURN_POINTER(seq_agg_append(fcinfo, s1, seq_state_gather(s2)));
}

CNNREC_FUNCTION(seq_agg_serialize);

/* Serialize: the Seq layout with SEQ_FLAG_STATE, entries as they arrived. */
Datum
seq_agg_serialize(PG_FUNCTION_ARGS)
{
	SeqBuilder *b;
	int32	   *used = NULL;
	int32		n_used = 0;
	int64		used_bytes = 0;
	Seq		   *out;

	(void) seq_agg_context(fcinfo, "sequence_agg_serialfn");
	b = seq_state_gather((char *) PG_GETARG_POINTER(0));	/* strict */
	if (b->dict != NULL)
		n_used = seq_dict_collect(b->dict, b->entries, b->n, &used, &used_bytes);
	out = seq_alloc(b, SEQ_FLAG_STATE, n_used, used_bytes);
	seq_write_entries(b, out, b->dict ? b->dict->local : NULL);
	if (n_used > 0)
		seq_dict_write(b->dict, out, used, n_used);
	PG_RETURN_BYTEA_P(out);
}

CNNREC_FUNCTION(seq_agg_deserialize);

/* Deserialize: check the layout, rebuild a state in the current context. */
Datum
seq_agg_deserialize(PG_FUNCTION_ARGS)
{
	Seq		   *in;
	SeqTimeKind time_kind;
	SeqEventKind event_kind;
	SeqDict    *dict = NULL;
	SeqArena   *arena;
	const int32 *events;
	int32	   *map = NULL;
	char	   *p;

	(void) seq_agg_context(fcinfo, "sequence_agg_deserialfn");
	in = (Seq *) PG_DETOAST_DATUM(PG_GETARG_DATUM(0));	/* strict */
	SeqCheck(in, VARSIZE(in), false);
	time_kind = SeqGetTimeKind(in);
	event_kind = SeqGetEventKind(in);
	if (event_kind == SEQ_EVENT_TEXT)
		dict = seq_dict_for(fcinfo);
	arena = seq_arena_for(fcinfo, CurrentMemoryContext);
	p = seq_state_extend(arena, NULL, time_kind, event_kind, dict);
	if (SeqLabelCount(in) > 0)
	{
		map = palloc_extended((Size) SeqLabelCount(in) * sizeof(int32), MCXT_ALLOC_HUGE);
		for (int32 c = 0; c < SeqLabelCount(in); c++)
		{
			const char *label = SeqLabel(in, c);

			map[c] = seq_dict_lookup(dict, label, strlen(label));
		}
	}
	events = SeqEvents(in);
	for (int32 i = 0; i < SeqLength(in); i++)
	{
		int32		e = events ? events[i] : SEQ_EVENT_NULL;

		if (map != NULL && e != SEQ_EVENT_NULL)
			e = map[e];
		p = seq_state_append(arena, p, time_kind, event_kind, dict,
							 SeqItems(in)[i], SeqTimes(in)[i], e);
	}
	PG_RETURN_POINTER(p);
}

CNNREC_FUNCTION(seq_agg_final);

/*
 * Final: gather, sort once and return the cnnrec.seq; no rows gives NULL.
 * The state is only read, so transitions may go on (window aggregates).
 */
Datum
seq_agg_final(PG_FUNCTION_ARGS)
{
	char	   *p;

	(void) seq_agg_context(fcinfo, "sequence_agg_finalfn");
	p = seq_agg_arg_state(fcinfo, 0);
	if (p == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(SeqStateFinish(p));
}

/* ------------------------------------------------------------------------
 * Appending outside an aggregate call (the grouping node of seq_group.c)
 * ------------------------------------------------------------------------
 */

/* What the grouping node needs to build the states of one query. */
struct SeqAppender
{
	SeqArena   *arena;			/* chunks of every group */
	SeqDict    *dict;			/* text events: labels of every group */
	SeqTimeKind time_kind;
	SeqEventKind event_kind;
};

/* An appender whose chunks, labels and itself live in cxt. */
SeqAppender *
SeqAppenderCreate(MemoryContext cxt, SeqTimeKind time_kind, SeqEventKind event_kind)
{
	SeqAppender *a = MemoryContextAllocZero(cxt, sizeof(SeqAppender));

	a->arena = seq_arena_create(cxt);
	if (event_kind == SEQ_EVENT_TEXT)
		a->dict = seq_dict_create(cxt);
	a->time_kind = time_kind;
	a->event_kind = event_kind;
	return a;
}

/* The code of a text event label (interned on first sight). */
int32
SeqAppenderLabel(SeqAppender *a, const char *label, int len)
{
	return seq_dict_lookup(a->dict, label, len);
}

/* Append one entry to state (NULL: a new group); returns the new state. */
char *
SeqAppenderAdd(SeqAppender *a, char *state, int64 item, int64 time, int32 event)
{
	return seq_state_append(a->arena, state, a->time_kind, a->event_kind, a->dict,
							item, time, event);
}

/*
 * Call fn for every entry of state, in arrival order; the event is a label
 * code for text events (SeqAppenderLabelText gives the label).
 */
void
SeqStateForEach(const char *state, SeqEntryFn fn, void *arg)
{
	int32		n_chunks;
	int32		n;
	int32	   *counts;
	SeqChunk  **chunks = seq_state_chunks(state, &counts, &n_chunks, &n);

	for (int32 j = 0; j < n_chunks; j++)
	{
		const SeqEntry *e = seq_chunk_slots(chunks[j]);

		for (int32 i = 0; i < counts[j]; i++)
			fn(arg, e[i].item, e[i].time, e[i].event);
	}
	pfree(chunks);
	pfree(counts);
}

/* The label of a text event code, and its length. */
const char *
SeqAppenderLabelText(SeqAppender *a, int32 code, int *len)
{
	*len = a->dict->label_len[code];
	return seq_dict_label(a->dict, code);
}

/*
 * Bytes the states of rows entries spread evenly over groups groups take:
 * a small chunk each, and the large chunks the rest of a group fills.
 */
double
SeqStateBytes(double rows, double groups)
{
	double		per_group;
	double		large;

	groups = Max(groups, 1.0);
	per_group = rows / groups;
	large = ceil(Max(per_group - SEQ_CHUNK_SLOTS(false), 0.0) / SEQ_CHUNK_SLOTS(true));
	return groups * (SEQ_CHUNK_SMALL + large * SEQ_CHUNK_LARGE);
}

/* The exported transition functions and the kinds each one builds. */
static const struct
{
	PGFunction	fn;
	SeqTimeKind time_kind;
	SeqEventKind event_kind;
}			seq_agg_transfns[] =
{
	{seq_agg_trans_tstz, SEQ_TIME_TIMESTAMPTZ, SEQ_EVENT_NONE},
	{seq_agg_trans_tstz_int, SEQ_TIME_TIMESTAMPTZ, SEQ_EVENT_INTEGER},
	{seq_agg_trans_tstz_text, SEQ_TIME_TIMESTAMPTZ, SEQ_EVENT_TEXT},
	{seq_agg_trans_ts, SEQ_TIME_TIMESTAMP, SEQ_EVENT_NONE},
	{seq_agg_trans_ts_int, SEQ_TIME_TIMESTAMP, SEQ_EVENT_INTEGER},
	{seq_agg_trans_ts_text, SEQ_TIME_TIMESTAMP, SEQ_EVENT_TEXT},
	{seq_agg_trans_date, SEQ_TIME_DATE, SEQ_EVENT_NONE},
	{seq_agg_trans_date_int, SEQ_TIME_DATE, SEQ_EVENT_INTEGER},
	{seq_agg_trans_date_text, SEQ_TIME_DATE, SEQ_EVENT_TEXT},
	{seq_agg_trans_int, SEQ_TIME_INTEGER, SEQ_EVENT_NONE},
	{seq_agg_trans_int_int, SEQ_TIME_INTEGER, SEQ_EVENT_INTEGER},
	{seq_agg_trans_int_text, SEQ_TIME_INTEGER, SEQ_EVENT_TEXT},
};

/*
 * Is fn one of sequence_agg's transition functions?  If so, the time and
 * event kinds it builds.
 */
bool
SeqAggTransKinds(PGFunction fn, SeqTimeKind *time_kind, SeqEventKind *event_kind)
{
	for (int k = 0; k < lengthof(seq_agg_transfns); k++)
		if (seq_agg_transfns[k].fn == fn)
		{
			*time_kind = seq_agg_transfns[k].time_kind;
			*event_kind = seq_agg_transfns[k].event_kind;
			return true;
		}
	return false;
}
