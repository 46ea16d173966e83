/*
 * train.h
 *		The training worker (cnnrec_train.so): shared declarations of
 *		worker.c (entry, job lifecycle) and save.c (model -> a new version in
 *		one transaction).  Reading the source is src/load.c (load.h), which
 *		cnnrec.evaluate() uses too.
 */
#ifndef CNNREC_TRAIN_H
#define CNNREC_TRAIN_H

#include "postgres.h"

#include "nn/dataset.h"
#include "nn/model.h"
#include "nn/trainer.h"
#include "load.h"
#include "options.h"

/* save.c: store the trained model as a new active version; returns it. */
extern int	TrainSaveVersion(TrainJob *job, const NnModel *model,
							 const NnTrainResult *res);

#endif							/* CNNREC_TRAIN_H */
