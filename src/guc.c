/*
 * guc.c
 *		The cnnrec.* configuration parameters, defined once.
 */
#include "postgres.h"

#include <limits.h>

#include "utils/guc.h"

#include "cnnrec.h"

int			cnnrec_train_threads = 0;
int			cnnrec_max_train_memory = 4 * 1024 * 1024;	/* kB */
char	   *cnnrec_default_model = NULL;
bool		cnnrec_enable_sequence_grouping = true;

/* Define every cnnrec.* parameter; called from _PG_init. */
void
CnnrecGucInit(void)
{
	DefineCustomIntVariable("cnnrec.train_threads",
							"Number of threads a training worker uses.",
							"0 means the number of online CPUs, at most 8. "
							"The \"threads\" training option overrides it for one run.",
							&cnnrec_train_threads,
							0, 0, 64,
							PGC_USERSET, 0,
							NULL, NULL, NULL);
	DefineCustomIntVariable("cnnrec.max_train_memory",
							"Largest memory a training job may plan to use.",
							"Checked before the data and the model are allocated; "
							"a job whose estimate is larger fails with a hint.",
							&cnnrec_max_train_memory,
							4 * 1024 * 1024, 1024, INT_MAX,
							PGC_SUSET, GUC_UNIT_KB,
							NULL, NULL, NULL);
	DefineCustomStringVariable("cnnrec.default_model",
							   "Model served when a serving call names none.",
							   "Empty means: the only model in the database, if there is exactly one.",
							   &cnnrec_default_model,
							   "",
							   PGC_USERSET, 0,
							   NULL, NULL, NULL);
	DefineCustomBoolVariable("cnnrec.enable_sequence_grouping",
							 "Lets the planner group rows with the SequenceGroup node.",
							 "GROUP BY an integer key with sequence_agg as the only aggregate "
							 "can run in a dedicated node instead of hash aggregation.",
							 &cnnrec_enable_sequence_grouping,
							 true,
							 PGC_USERSET, 0,
							 NULL, NULL, NULL);
	MarkGUCPrefixReserved("cnnrec");
}
