/*
 * blob.h
 *		The model blob: a versioned, portable, self-checking binary format
 *		holding one trained model (configuration, id maps, event vocabulary,
 *		parameter tensors, optional item neighbour table of the
 *		co-occurrence mixture, optional Adam state).
 *
 * Layout (all little-endian; bytes.h does the encoding):
 *	magic "TACASER1" (8 bytes), format version (u32), header length (u32),
 *	header: every NnConfig field, data sizes, flags (format 2 adds the
 *	co-occurrence fields cooc_k, cooc_window, cooc_decay, cooc_lambda and
 *	the table's entry count); then the id maps (U external user ids, N
 *	external item ids, n_E event values and, for text events, n_E labels),
 *	the tensors in model-spec §5.4 order (name, rows, cols, float32 data),
 *	in format 2 the neighbour table when it has entries (row counts,
 *	columns, weights), the optional Adam state (t, m, v), and finally a
 *	CRC-32C of everything before it.  The writer always writes format 2;
 *	the reader also accepts format 1 (no co-occurrence fields: they read
 *	back as 0, and the model has no table).
 *
 * The reader treats its input as hostile: it checks the magic, version,
 * every size against the remaining bytes and against the configuration
 * (a tensor's shape must be what the configuration implies), the id maps
 * (strictly ascending from index 1, so lookups can binary-search), finite
 * floats, PAD rows that are zero, the neighbour table (the rules of
 * NnCooc in model.h), and the CRC, and it never reads out of bounds.
 * Every failure has its own code and a precise message.
 */
#ifndef CNNREC_NN_BLOB_H
#define CNNREC_NN_BLOB_H

#include <stddef.h>
#include <stdint.h>

#include "nn/model.h"

#define NN_BLOB_MAGIC		"TACASER1"
#define NN_BLOB_FORMAT		2		/* the format nn_blob_write writes */
#define NN_BLOB_FORMAT_MIN	1		/* the oldest format nn_blob_read reads */
/* header bytes after the 16-byte preamble, per format */
#define NN_BLOB_HEADER_LEN_V1	434
#define NN_BLOB_HEADER_LEN_V2	458		/* format 1's header + 24 co-occurrence bytes */
#define NN_BLOB_HEADER_LEN	NN_BLOB_HEADER_LEN_V2	/* of NN_BLOB_FORMAT */
#define NN_BLOB_MAX_LABEL	1024	/* bytes of one text event label */

#define NN_BLOB_OK			0
#define NN_BLOB_ENOMEM		(-30)	/* allocation failed */
#define NN_BLOB_ETRUNC		(-31)	/* input ends early */
#define NN_BLOB_EMAGIC		(-32)	/* not a cnnrec model blob */
#define NN_BLOB_EVERSION	(-33)	/* unsupported format version */
#define NN_BLOB_ECRC		(-34)	/* checksum mismatch */
#define NN_BLOB_EHEADER		(-35)	/* header fields invalid or inconsistent */
#define NN_BLOB_EMAPS		(-36)	/* id maps invalid (order, sizes) */
#define NN_BLOB_ETENSOR		(-37)	/* tensor table does not match the configuration */
#define NN_BLOB_EVALUE		(-38)	/* non-finite value or non-zero PAD row */
#define NN_BLOB_ETRAILING	(-39)	/* bytes after the checksum */
#define NN_BLOB_ECOOC		(-40)	/* co-occurrence table invalid */

/* Id maps and event vocabulary stored with a model. */
typedef struct NnBlobMaps
{
	int32_t		n_users;		/* U, including 0 */
	int32_t		n_items;		/* N, including 0 */
	int32_t		n_events;		/* n_E, including 0 */
	const int64_t *user_ext;	/* [U], ascending from index 1 */
	const int64_t *item_ext;	/* [N], ascending from index 1 */
	const int64_t *event_value; /* [n_E] integer event values, ascending from 1; or NULL */
	const char *const *event_label; /* [n_E] text labels, ascending (strcmp) from 1; or NULL */
} NnBlobMaps;

/*
 * A model read from a blob; everything lives in one allocation (mem),
 * including the Adam state when the blob has one (has_adam) and the
 * neighbour table b->model.cooc when the blob has one (its cooc.mem is
 * NULL: the table is borrowed, nn_cooc_free leaves it alone).  Release it
 * with nn_blob_free() only, never with nn_model_free() on b->model.
 * Training may continue on b->model: an Adam state added later with
 * nn_model_alloc_adam() is freed by nn_blob_free() too.
 */
typedef struct NnBlob
{
	NnModel		model;			/* params point into mem */
	NnBlobMaps	maps;			/* arrays point into mem */
	int			has_adam;
	void	   *mem;
} NnBlob;

/* Static English text for a blob status code. */
extern const char *nn_blob_strerror(int code);

/*
 * Serialise a model.  *out is malloc'ed (free() it); with_adam includes the
 * Adam state if the model has one.  Returns NN_BLOB_OK or NN_BLOB_ENOMEM /
 * NN_BLOB_EMAPS (maps inconsistent with the model's sizes, not strictly
 * ascending from index 1, NULL or over-long labels, both values and
 * labels).  It never writes a blob that nn_blob_read would reject, so it
 * also refuses an invalid configuration (NN_BLOB_EHEADER), a tensor table
 * that is not the configuration's (NN_BLOB_ETENSOR) and non-finite values
 * or non-zero PAD rows (NN_BLOB_EVALUE).  Index 0 of every map is not
 * stored (it reads back as 0 / "").  Booleans of the configuration are
 * stored as 0/1.  Item-category tables are never stored: a model that
 * still has them is refused (NN_BLOB_EHEADER); nn_trainer_run returns
 * models with the tables folded into Q, W2, b2 (nn_model_fold_categories),
 * so use_category / n_C are not part of the format either.  The
 * co-occurrence weight must be chosen (cooc_lambda NN_COOC_AUTO is refused
 * with NN_BLOB_EHEADER); the neighbour table m->cooc is stored when it has
 * entries and must then have N rows and pass the rules of NnCooc for
 * cooc_k (else NN_BLOB_ECOOC); an empty table (n_rows 0, or no entries)
 * is not stored and reads back as n_rows 0.
 */
extern int	nn_blob_write(const NnModel *m, const NnBlobMaps *maps, int with_adam,
						  uint8_t **out, size_t *len, char *msg, size_t msglen);

/*
 * Parse and validate len bytes of format 1 or 2.  On success *b owns its
 * memory (release with nn_blob_free) and b->model is ready for inference.
 * On failure *b is left empty and msg says exactly what is wrong.
 */
extern int	nn_blob_read(const uint8_t *buf, size_t len, NnBlob *b,
						 char *msg, size_t msglen);

extern void nn_blob_free(NnBlob *b);

/* Dense id of an external user / item id (binary search), 0 if unknown. */
extern int32_t nn_blob_user_id(const NnBlobMaps *maps, int64_t ext);
extern int32_t nn_blob_item_id(const NnBlobMaps *maps, int64_t ext);

/* Dense event id of an integer event value / a text label, 0 if unknown
 * (or if the blob has no vocabulary of that kind). */
extern int32_t nn_blob_event_value_id(const NnBlobMaps *maps, int64_t value);
extern int32_t nn_blob_event_label_id(const NnBlobMaps *maps, const char *label);

#endif							/* CNNREC_NN_BLOB_H */
