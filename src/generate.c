/*
 * generate.c
 *		cnnrec.generate_events: a deterministic synthetic e-commerce log.
 *
 * The log has structure that a sequential model can learn and a popularity
 * model cannot.  Everything below is integer arithmetic on PCG32 streams
 * (src/nn/rng.h) and SplitMix64 hashes, from a fixed time origin, so the
 * same arguments give the same rows on every machine.  "Skewed draw of
 * power k over n" means rank = floor(n * u^k), u uniform in [0, 1) as a
 * 32-bit fraction: P(rank <= r) = (r / n)^(1/k), a Zipf-like density
 * proportional to r^(1/k - 1) with rank 0 the most popular.
 *
 * The catalogue (fixed by seed, n_items and n_categories):
 *	- Items are split into C categories of equal size (+-1); C defaults to
 *	  floor(sqrt(n_items)).  Category c is a range of internal indexes; the
 *	  public item id is an affine permutation of the index
 *	  (1 + (mul * index + add) mod n_items), so ids reveal neither the
 *	  category nor the popularity rank.
 *	- Popularity: categories are drawn with power 2, items inside a
 *	  category with power 3.
 *	- Every item has two fixed successors: other items of its category,
 *	  chosen uniformly by hash (co-browsing structure).
 *	- Every item has a cart rate of 4..20% (by hash).
 *	- 20% of items are consumables with a typical repurchase gap of 7..42
 *	  days (by hash).
 *
 * One user, from a PCG32 stream seeded from (seed, user_id), so a user's
 * rows never depend on n_users or first_user:
 *	- Taste: 1..3 favourite categories (power-2 draws) and a pace 0..3.
 *	- Event count: uniform in [ceil(E/2), floor(3E/2)] for
 *	  E = events_per_user, so the mean is exactly E and the hard cap is
 *	  floor(3E/2).  The log stops as soon as the count is reached, even in
 *	  the middle of a session; every rule below then holds for the prefix.
 *	- The first session starts 1 s .. 28 days after start.  The gap to the
 *	  next session is heavy-tailed: with k = pace + uniform 0..7 it is
 *	  uniform in [1800 * 2^k, 1800 * 2^(k+1)) seconds, so between 30
 *	  minutes and about 43 days, log-uniform in between.
 *	- A session views 1 + (power 2 over 16) items.  The first is a popular
 *	  item (power 3) of the session category: a favourite with 80%
 *	  probability, otherwise a power-2 draw over all categories
 *	  (exploration).  Each next view is the current item's first successor
 *	  (50%), its second successor (20%), a popular item of the same
 *	  category (20%) or a popular item of a category drawn as for a new
 *	  session (10%).
 *	  Views are 10 s .. 5 min apart (power 2, short gaps more frequent).
 *	- Funnel: after a view, the item is put in the cart 5..64 s later with
 *	  the item's cart rate (once per session, at most 16 items).  At the
 *	  end of a session with a non-empty cart the user checks out with
 *	  probability 65%: each carted item is purchased with probability 85%,
 *	  the first 30 s .. 5.5 min after the last event, the next 2..11 s
 *	  apart.
 *	- Repurchase: a purchase of a consumable schedules, with probability
 *	  75%, a repurchase after the item's gap times 80..120% (at most 8
 *	  pending, one per item).  When the earliest pending repurchase falls
 *	  due before the next regular session, that session starts at the due
 *	  time with view -> cart (5..34 s) -> purchase (20..139 s) of the item,
 *	  which may schedule the next repurchase, and then browses on as above
 *	  (such a session too starts at least 30 minutes after the last event).
 *	- Every event is at least one second after the previous one, so the
 *	  user's timestamps are strictly increasing.
 *
 * Output: users first_user .. first_user + n_users - 1 in order, each
 * user's events in time order.  The rows go straight into the
 * materialize-mode tuplestore: nothing is palloc'd per user or per row
 * (the three labels are built once), so no per-user memory context is
 * needed.
 */
#include "cnnrec.h"

#include "funcapi.h"
#include "miscadmin.h"
#include "nodes/primnodes.h"
#include "nodes/supportnodes.h"
#include "utils/builtins.h"
#include "utils/timestamp.h"

#include "nn/rng.h"

CNNREC_FUNCTION(generate_events);
CNNREC_FUNCTION(generate_events_support);

/* Argument limits (documented in the SQL comment). */
#define GEN_MIN_ITEMS				10
#define GEN_MAX_ITEMS				INT64CONST(1000000000)
#define GEN_MAX_EVENTS_PER_USER		100000
#define GEN_MAX_TOTAL_EVENTS		INT64CONST(10000000000)

/* Users and sessions. */
#define FIRST_VISIT_WINDOW		(28 * SECS_PER_DAY)
#define MAX_FAVOURITES			3
#define FAVOURITE_PCT			80
#define MAX_PACE				3
#define GAP_SPAN				8
#define GAP_UNIT				1800	/* seconds; the shortest session gap */
#define SESSION_MAX_VIEWS		16

/* Next-item transitions inside a session (the rest jumps category). */
#define SUCCESSOR1_PCT			50
#define SUCCESSOR2_PCT			20
#define SAME_CATEGORY_PCT		20

/* Funnel. */
#define CART_MIN_PCT			4
#define CART_SPREAD_PCT			17	/* cart rate 4..20% */
#define CART_MAX				SESSION_MAX_VIEWS	/* one cart per view at most */
#define CHECKOUT_PCT			65
#define BUY_PCT					85

/* Consumables. */
#define CONSUMABLE_PCT			20
#define REPEAT_PCT				75
#define REPEAT_MIN_DAYS			7
#define REPEAT_MAX_DAYS			42
#define PENDING_MAX				8

/* Salts of the per-item hashes. */
#define SALT_SUCCESSOR			0	/* and 1 */
#define SALT_CART				2
#define SALT_CONSUMABLE			3
#define SALT_REPEAT_GAP			4
#define SALT_ID					5

/* The longest possible gap between two events of a user, in seconds. */
#define MAX_EVENT_GAP \
	((int64) GAP_UNIT << (MAX_PACE + GAP_SPAN))

typedef enum GenEventKind
{
	GEN_VIEW,
	GEN_CART,
	GEN_PURCHASE,
	GEN_N_KINDS
} GenEventKind;

/* Validated arguments. */
typedef struct GenArgs
{
	int64		n_users;
	int64		n_items;
	int32		events_per_user;
	int64		seed;
	int32		n_categories;	/* 0: floor(sqrt(n_items)) */
	TimestampTz start;
	int64		first_user;
} GenArgs;

/* The catalogue and the output sink, shared by all users. */
typedef struct GenWorld
{
	uint64		gseed;			/* mixed seed */
	uint32		n_items;
	uint32		n_cat;
	uint64		id_mul;			/* id permutation, coprime with n_items */
	uint64		id_add;
	int32		events_per_user;
	TimestampTz start;
	Tuplestorestate *tupstore;
	TupleDesc	tupdesc;
	Datum		labels[GEN_N_KINDS];
} GenWorld;

/* An item as (category, popularity rank inside the category). */
typedef struct ItemRef
{
	uint32		cat;
	uint32		rank;
} ItemRef;

/* A scheduled repurchase. */
typedef struct Pending
{
	ItemRef		item;
	int64		due;			/* seconds after start */
} Pending;

/* The state of the user being generated. */
typedef struct GenUser
{
	NnRng		rng;
	int64		user_id;
	int64		t;				/* time of the last event, seconds after start */
	int64		remaining;		/* events still to emit */
	int			n_fav;
	uint32		fav[MAX_FAVOURITES];
	uint32		pace;
	int			n_pending;
	Pending		pending[PENDING_MAX];
	int			n_cart;
	ItemRef		cart[CART_MAX];
} GenUser;


/* ---------------------------------------------------------------- random */

/* Skewed rank in [0, n) from 32 random bits: floor(n * u^k), k >= 1. */
static inline uint32
SkewFromBits(uint32 bits, uint32 n, int k)
{
	uint64		x = bits;

	for (int i = 1; i < k; i++)
		x = (x * bits) >> 32;
	return (uint32) (((uint64) n * x) >> 32);
}

/* Skewed rank in [0, n) drawn from the user's stream. */
static inline uint32
SkewBelow(GenUser *u, uint32 n, int k)
{
	return SkewFromBits(nn_rng_next(&u->rng), n, k);
}

/* True with probability pct / 100. */
static inline bool
Chance(GenUser *u, uint32 pct)
{
	return nn_rng_below(&u->rng, 100) < pct;
}

/* Uniform integer in [lo, lo + span). */
static inline int64
Between(GenUser *u, int64 lo, uint32 span)
{
	return lo + nn_rng_below(&u->rng, span);
}


/* ------------------------------------------------------------- catalogue */

/* First internal index of category c (c == n_cat gives n_items). */
static inline uint32
CategoryStart(const GenWorld *w, uint32 c)
{
	return (uint32) ((uint64) c * w->n_items / w->n_cat);
}

/* Number of items of category c (at least 2). */
static inline uint32
CategorySize(const GenWorld *w, uint32 c)
{
	return CategoryStart(w, c + 1) - CategoryStart(w, c);
}

/* Internal index of an item. */
static inline uint32
ItemIndex(const GenWorld *w, ItemRef it)
{
	return CategoryStart(w, it.cat) + it.rank;
}

/* Public id of an item: an affine permutation of 1..n_items. */
static inline int64
PublicItemId(const GenWorld *w, ItemRef it)
{
	return 1 + (int64) ((w->id_mul * ItemIndex(w, it) + w->id_add) % w->n_items);
}

/* A fixed 64-bit hash of (seed, item, salt). */
static inline uint64
ItemHash(const GenWorld *w, ItemRef it, uint32 salt)
{
	return nn_mix64(w->gseed ^ nn_mix64(((uint64) ItemIndex(w, it) << 3) | salt));
}

/* The item's k-th fixed successor (k = 0, 1): another item of its category. */
static inline ItemRef
Successor(const GenWorld *w, ItemRef it, int k)
{
	uint32		size = CategorySize(w, it.cat);
	uint64		h = ItemHash(w, it, SALT_SUCCESSOR + k);
	ItemRef		next = {it.cat, (uint32) ((it.rank + 1 + h % (size - 1)) % size)};

	return next;
}

/* Percent chance that a view of the item leads to a cart. */
static inline uint32
CartPercent(const GenWorld *w, ItemRef it)
{
	return CART_MIN_PCT + (uint32) (ItemHash(w, it, SALT_CART) % CART_SPREAD_PCT);
}

/* Whether the item is a consumable that users buy again. */
static inline bool
IsConsumable(const GenWorld *w, ItemRef it)
{
	return ItemHash(w, it, SALT_CONSUMABLE) % 100 < CONSUMABLE_PCT;
}

/* The item's typical repurchase gap in seconds. */
static inline int64
RepeatGap(const GenWorld *w, ItemRef it)
{
	uint64		span = (REPEAT_MAX_DAYS - REPEAT_MIN_DAYS) * SECS_PER_DAY + 1;

	return REPEAT_MIN_DAYS * SECS_PER_DAY +
		(int64) (ItemHash(w, it, SALT_REPEAT_GAP) % span);
}

/* Greatest common divisor. */
static uint64
Gcd(uint64 a, uint64 b)
{
	while (b != 0)
	{
		uint64		r = a % b;

		a = b;
		b = r;
	}
	return a;
}

/* Integer square root: the largest r with r * r <= n. */
static uint64
ISqrt(uint64 n)
{
	uint64		r = 0;

	for (uint64 bit = UINT64CONST(1) << 31; bit != 0; bit >>= 1)
		if ((r + bit) * (r + bit) <= n)
			r += bit;
	return r;
}

/* Derive the catalogue constants from the arguments. */
static void
InitWorld(GenWorld *w, const GenArgs *a)
{
	uint64		n = (uint64) a->n_items;

	w->gseed = nn_mix64((uint64) a->seed);
	w->n_items = (uint32) n;
	w->n_cat = a->n_categories > 0 ? (uint32) a->n_categories : (uint32) ISqrt(n);
	/* a multiplier near n / golden ratio, coprime with n */
	w->id_mul = ((n * UINT64CONST(2654435769)) >> 32) | 1;
	while (Gcd(w->id_mul, n) != 1)
		w->id_mul++;
	w->id_add = nn_mix64(w->gseed + SALT_ID) % n;
	w->events_per_user = a->events_per_user;
	w->start = a->start;
}


/* ---------------------------------------------------------------- output */

/* Emit one event gap seconds after the previous one; false once the user's
 * budget is spent (then nothing is emitted). */
static bool
Emit(const GenWorld *w, GenUser *u, GenEventKind kind, ItemRef it, int64 gap)
{
	Datum		values[4];
	bool		nulls[4] = {false, false, false, false};

	if (u->remaining <= 0)
		return false;
	Assert(gap >= 1 && gap <= MAX_EVENT_GAP);
	u->t += gap;
	u->remaining--;
	values[0] = Int64GetDatum(u->user_id);
	values[1] = Int64GetDatum(PublicItemId(w, it));
	values[2] = w->labels[kind];
	values[3] = TimestampTzGetDatum(w->start + u->t * USECS_PER_SEC);
	tuplestore_putvalues(w->tupstore, w->tupdesc, values, nulls);
	return true;
}


/* ------------------------------------------------------------------ user */

/* Seed the user's stream and draw taste, pace and event count. */
static void
InitUser(const GenWorld *w, GenUser *u, int64 user_id)
{
	uint32		e = (uint32) w->events_per_user;
	uint32		lo = (e + 1) / 2;
	uint32		hi = e + e / 2;

	nn_rng_seed(&u->rng, nn_mix64(w->gseed ^ nn_mix64((uint64) user_id)),
				(uint64) user_id);
	u->user_id = user_id;
	u->t = 0;
	u->remaining = lo + nn_rng_below(&u->rng, hi - lo + 1);
	u->n_fav = 1 + (int) nn_rng_below(&u->rng, MAX_FAVOURITES);
	for (int i = 0; i < u->n_fav; i++)
		u->fav[i] = SkewBelow(u, w->n_cat, 2);
	u->pace = nn_rng_below(&u->rng, MAX_PACE + 1);
	u->n_pending = 0;
	u->n_cart = 0;
}

/* A popular item (power 3) of category c. */
static ItemRef
DrawItem(const GenWorld *w, GenUser *u, uint32 c)
{
	ItemRef		it = {c, SkewBelow(u, CategorySize(w, c), 3)};

	return it;
}

/* The category of a new session: mostly a favourite, sometimes exploration. */
static uint32
SessionCategory(const GenWorld *w, GenUser *u)
{
	if (Chance(u, FAVOURITE_PCT))
		return u->fav[nn_rng_below(&u->rng, u->n_fav)];
	return SkewBelow(u, w->n_cat, 2);
}

/* The item viewed after it inside a session. */
static ItemRef
NextItem(const GenWorld *w, GenUser *u, ItemRef it)
{
	uint32		p = nn_rng_below(&u->rng, 100);

	if (p < SUCCESSOR1_PCT)
		return Successor(w, it, 0);
	if (p < SUCCESSOR1_PCT + SUCCESSOR2_PCT)
		return Successor(w, it, 1);
	if (p < SUCCESSOR1_PCT + SUCCESSOR2_PCT + SAME_CATEGORY_PCT)
		return DrawItem(w, u, it.cat);
	return DrawItem(w, u, SessionCategory(w, u));
}

/* Schedule a repurchase after a purchase of a consumable item. */
static void
AfterPurchase(const GenWorld *w, GenUser *u, ItemRef it)
{
	if (!IsConsumable(w, it) || !Chance(u, REPEAT_PCT))
		return;
	for (int i = 0; i < u->n_pending; i++)
		if (u->pending[i].item.cat == it.cat && u->pending[i].item.rank == it.rank)
			return;
	if (u->n_pending == PENDING_MAX)
		return;
	u->pending[u->n_pending].item = it;
	u->pending[u->n_pending].due = u->t + RepeatGap(w, it) * Between(u, 80, 41) / 100;
	u->n_pending++;
}

/* If a repurchase falls due before time limit, remove the earliest one. */
static bool
TakeDueRepurchase(GenUser *u, int64 limit, Pending *out)
{
	int			best = -1;

	for (int i = 0; i < u->n_pending; i++)
		if (u->pending[i].due <= limit &&
			(best < 0 || u->pending[i].due < u->pending[best].due))
			best = i;
	if (best < 0)
		return false;
	*out = u->pending[best];
	u->pending[best] = u->pending[--u->n_pending];
	return true;
}

/* View an item, then maybe put it in the cart. */
static void
ViewItem(const GenWorld *w, GenUser *u, ItemRef it, int64 gap)
{
	if (!Emit(w, u, GEN_VIEW, it, gap))
		return;
	if (u->n_cart == CART_MAX || !Chance(u, CartPercent(w, it)))
		return;
	for (int i = 0; i < u->n_cart; i++)
		if (u->cart[i].cat == it.cat && u->cart[i].rank == it.rank)
			return;
	if (Emit(w, u, GEN_CART, it, Between(u, 5, 60)))
		u->cart[u->n_cart++] = it;
}

/* End of session: maybe buy the carted items. */
static void
Checkout(const GenWorld *w, GenUser *u)
{
	int64		gap;

	if (u->n_cart == 0 || !Chance(u, CHECKOUT_PCT))
		return;
	gap = Between(u, 30, 300);
	for (int i = 0; i < u->n_cart; i++)
	{
		if (!Chance(u, BUY_PCT))
			continue;
		if (!Emit(w, u, GEN_PURCHASE, u->cart[i], gap))
			return;
		AfterPurchase(w, u, u->cart[i]);
		gap = Between(u, 2, 10);
	}
}

/* Start a session gap seconds from now with the first viewed item; a due
 * repurchase starts it earlier (but still GAP_UNIT or more after the last
 * event), with view, cart and purchase of the item. */
static ItemRef
StartSession(const GenWorld *w, GenUser *u, int64 gap)
{
	Pending		due;

	if (!TakeDueRepurchase(u, u->t + gap, &due))
	{
		ItemRef		first = DrawItem(w, u, SessionCategory(w, u));

		ViewItem(w, u, first, gap);
		return first;
	}
	if (Emit(w, u, GEN_VIEW, due.item, Max(due.due - u->t, GAP_UNIT)) &&
		Emit(w, u, GEN_CART, due.item, Between(u, 5, 30)) &&
		Emit(w, u, GEN_PURCHASE, due.item, Between(u, 20, 120)))
		AfterPurchase(w, u, due.item);
	return due.item;
}

/* One browsing session starting gap seconds after the last event. */
static void
RunSession(const GenWorld *w, GenUser *u, int64 gap)
{
	ItemRef		it;
	uint32		views = 1 + SkewBelow(u, SESSION_MAX_VIEWS, 2);

	u->n_cart = 0;
	it = StartSession(w, u, gap);
	for (uint32 i = 1; i < views && u->remaining > 0; i++)
	{
		it = NextItem(w, u, it);
		ViewItem(w, u, it, 10 + SkewBelow(u, 290, 2));
	}
	Checkout(w, u);
}

/* Heavy-tailed gap between sessions: 30 min .. ~43 days, log-uniform. */
static int64
SessionGap(GenUser *u)
{
	int			k = (int) (u->pace + nn_rng_below(&u->rng, GAP_SPAN));
	int64		base = (int64) GAP_UNIT << k;

	return base + (int64) nn_rng_below(&u->rng, (uint32) base);
}

/* Generate all events of one user into the tuplestore. */
static void
GenerateUser(const GenWorld *w, int64 user_id)
{
	GenUser		u;
	int64		gap;

	InitUser(w, &u, user_id);
	gap = 1 + nn_rng_below(&u.rng, FIRST_VISIT_WINDOW);
	while (u.remaining > 0)
	{
		RunSession(w, &u, gap);
		gap = SessionGap(&u);
	}
}


/* ------------------------------------------------------------ validation */

/* Raise the error for a NULL argument. */
static inline void
CheckNotNull(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/* Raise invalid-parameter if an argument is below its minimum. */
static inline void
CheckAtLeast(const char *name, int64 value, int64 min, const char *hint)
{
	if (value < min)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must be at least %lld, got %lld",
						name, (long long) min, (long long) value),
				 hint ? errhint("%s", hint) : 0));
}

/* Raise the given error code if an argument is above its maximum. */
static inline void
CheckAtMost(const char *name, int64 value, int64 max, int code, const char *hint)
{
	if (value > max)
		ereport(ERROR,
				(errcode(code),
				 errmsg("%s must be at most %lld, got %lld",
						name, (long long) max, (long long) value),
				 hint ? errhint("%s", hint) : 0));
}

/* Check the total size and the user id range. */
static inline void
CheckTotals(const GenArgs *a)
{
	if (a->n_users > GEN_MAX_TOTAL_EVENTS / a->events_per_user)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("n_users * events_per_user must be at most %lld",
						(long long) GEN_MAX_TOTAL_EVENTS),
				 errdetail("n_users is %lld and events_per_user is %d.",
						   (long long) a->n_users, a->events_per_user),
				 errhint("Generate the log in batches of users with first_user.")));
	if (a->first_user - 1 > PG_INT64_MAX - a->n_users)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("user id out of range"),
				 errdetail("first_user + n_users - 1 exceeds the bigint range.")));
}

/* Check that every timestamp the user histories may reach is valid. */
static inline void
CheckStart(const GenArgs *a)
{
	int64		cap = a->events_per_user + a->events_per_user / 2;
	int64		span = FIRST_VISIT_WINDOW + cap * MAX_EVENT_GAP;

	if (TIMESTAMP_NOT_FINITE(a->start))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("start must be finite")));
	if (a->start > END_TIMESTAMP - 1 - span * USECS_PER_SEC)
		ereport(ERROR,
				(errcode(ERRCODE_DATETIME_VALUE_OUT_OF_RANGE),
				 errmsg("start is too late for events_per_user %d", a->events_per_user),
				 errdetail("A history may span up to %lld days after start, past the end of the timestamp range.",
						   (long long) (span / SECS_PER_DAY)),
				 errhint("Use an earlier start or fewer events per user.")));
}

/* Read and validate all arguments; errors leave nothing behind. */
static void
GetArgs(FunctionCallInfo fcinfo, GenArgs *a)
{
	static const char *const names[] = {"n_users", "n_items", "events_per_user",
	"seed", "n_categories", "start", "first_user"};

	for (int i = 0; i < (int) lengthof(names); i++)
		CheckNotNull(fcinfo, i, names[i]);
	a->n_users = PG_GETARG_INT64(0);
	a->n_items = PG_GETARG_INT64(1);
	a->events_per_user = PG_GETARG_INT32(2);
	a->seed = PG_GETARG_INT64(3);
	a->n_categories = PG_GETARG_INT32(4);
	a->start = PG_GETARG_TIMESTAMPTZ(5);
	a->first_user = PG_GETARG_INT64(6);

	CheckAtLeast("n_users", a->n_users, 1, NULL);
	CheckAtLeast("n_items", a->n_items, GEN_MIN_ITEMS,
				 "The generator needs at least 10 items to plant categories and successors.");
	CheckAtLeast("events_per_user", a->events_per_user, 1, NULL);
	CheckAtLeast("n_categories", a->n_categories, 0,
				 "Use 0 for about sqrt(n_items) categories.");
	CheckAtLeast("first_user", a->first_user, 1, NULL);
	CheckAtMost("n_items", a->n_items, GEN_MAX_ITEMS,
				ERRCODE_PROGRAM_LIMIT_EXCEEDED, NULL);
	CheckAtMost("events_per_user", a->events_per_user, GEN_MAX_EVENTS_PER_USER,
				ERRCODE_PROGRAM_LIMIT_EXCEEDED,
				"Generate more users rather than longer histories.");
	CheckAtMost("n_categories", a->n_categories, a->n_items / 2,
				ERRCODE_INVALID_PARAMETER_VALUE,
				"Every category needs at least 2 items; use 0 for about sqrt(n_items) categories.");
	CheckTotals(a);
	CheckStart(a);
}


/* ------------------------------------------------------------ SQL entries */

/*
 * generate_events(n_users, n_items, events_per_user, seed, n_categories,
 *				   start, first_user) returns setof (user_id, item_id, event, ts)
 */
Datum
generate_events(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	GenArgs		args;
	GenWorld	world;

	GetArgs(fcinfo, &args);
	InitMaterializedSRF(fcinfo, 0);
	InitWorld(&world, &args);
	world.tupstore = rsinfo->setResult;
	world.tupdesc = rsinfo->setDesc;
	world.labels[GEN_VIEW] = CStringGetTextDatum("view");
	world.labels[GEN_CART] = CStringGetTextDatum("cart");
	world.labels[GEN_PURCHASE] = CStringGetTextDatum("purchase");

	for (int64 i = 0; i < args.n_users; i++)
	{
		CHECK_FOR_INTERRUPTS();
		GenerateUser(&world, args.first_user + i);
	}
	return (Datum) 0;
}

/* Planner support: the row estimate n_users * events_per_user for constant
 * arguments (the mean of the per-user counts). */
Datum
generate_events_support(PG_FUNCTION_ARGS)
{
	Node	   *req = (Node *) PG_GETARG_POINTER(0);
	SupportRequestRows *rows;
	FuncExpr   *fexpr;
	Const	   *users;
	Const	   *events;

	if (!IsA(req, SupportRequestRows))
		PG_RETURN_POINTER(NULL);
	rows = (SupportRequestRows *) req;
	if (!IsA(rows->node, FuncExpr))
		PG_RETURN_POINTER(NULL);
	fexpr = (FuncExpr *) rows->node;
	if (list_length(fexpr->args) < 3)
		PG_RETURN_POINTER(NULL);
	users = (Const *) linitial(fexpr->args);
	events = (Const *) lthird(fexpr->args);
	if (!IsA(users, Const) || !IsA(events, Const) ||
		users->constisnull || events->constisnull)
		PG_RETURN_POINTER(NULL);
	rows->rows = Max((double) DatumGetInt64(users->constvalue) *
					 DatumGetInt32(events->constvalue), 1.0);
	PG_RETURN_POINTER(rows);
}
