/*
 * models.h
 *		Model definitions (models.c).
 */
#ifndef CNNREC_MODELS_H
#define CNNREC_MODELS_H

#include "postgres.h"

/*
 * Check, as the current user, that the model's source relation still exists
 * and that its columns still exist, have accepted types and may be read.
 */
extern void CnnrecCheckSourceAccess(int64 model_id);

/* Relcache invalidation on cnnrec.model_versions: serving caches reload. */
extern void CnnrecInvalidateServing(void);

#endif							/* CNNREC_MODELS_H */
