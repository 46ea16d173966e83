/*
 * catalog.c
 *		Access to the cnnrec catalog tables shared by the management
 *		functions, the launcher and the training worker.
 *
 * PUBLIC may read cnnrec.models, model_versions and jobs but not write
 * them: writes happen only here, through CnnrecCatalogExec(elevate=true),
 * which switches to the extension owner for one statement
 * (SECURITY_LOCAL_USERID_CHANGE, as pg_cron does) after every check has run
 * with the caller's own rights.  All statements are schema-qualified,
 * operators included, and take values as parameters.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/indexing.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"

#include "catalog.h"

/* Raise an error if a required argument is NULL. */
void
CnnrecRequireArg(FunctionCallInfo fcinfo, int argno, const char *name)
{
	if (PG_ARGISNULL(argno))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("argument \"%s\" must not be null", name)));
}

/* The role that owns the extension. */
Oid
CnnrecExtensionOwner(void)
{
	Relation	rel;
	SysScanDesc scan;
	ScanKeyData key;
	HeapTuple	tup;
	Oid			owner = InvalidOid;

	rel = table_open(ExtensionRelationId, AccessShareLock);
	ScanKeyInit(&key, Anum_pg_extension_extname, BTEqualStrategyNumber, F_NAMEEQ,
				CStringGetDatum("cnnrec"));
	scan = systable_beginscan(rel, ExtensionNameIndexId, true, NULL, 1, &key);
	tup = systable_getnext(scan);
	if (HeapTupleIsValid(tup))
		owner = ((Form_pg_extension) GETSTRUCT(tup))->extowner;
	systable_endscan(scan);
	table_close(rel, AccessShareLock);
	if (!OidIsValid(owner))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("extension \"cnnrec\" is not installed in this database")));
	return owner;
}

/* Run one statement, optionally as the extension owner; see catalog.h. */
uint64
CnnrecCatalogExec(const char *sql, bool elevate, int nargs, Oid *argtypes,
				  Datum *values, const char *nulls, int64 *result)
{
	Oid			save_userid;
	int			save_sec;
	int			rc;
	uint64		processed;

	GetUserIdAndSecContext(&save_userid, &save_sec);
	if (elevate)
		SetUserIdAndSecContext(CnnrecExtensionOwner(),
							   save_sec | SECURITY_LOCAL_USERID_CHANGE);
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute_with_args(sql, nargs, argtypes, values, nulls, false, 0);
	if (rc < 0)
		elog(ERROR, "catalog statement failed (%s): %s", SPI_result_code_string(rc), sql);
	processed = SPI_processed;
	if (result != NULL && SPI_tuptable != NULL && processed > 0)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
		Oid			typ = SPI_gettypeid(SPI_tuptable->tupdesc, 1);

		if (isnull)
			*result = 0;
		else if (typ == INT4OID)
			*result = DatumGetInt32(d);
		else
			*result = DatumGetInt64(d);
	}
	SPI_finish();
	if (elevate)
		SetUserIdAndSecContext(save_userid, save_sec);
	return processed;
}

/* The model id of name, or 0 when missing_ok and there is none. */
int64
CnnrecModelIdByName(const char *name, bool missing_ok)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	int64		id = 0;

	values[0] = CStringGetTextDatum(name);
	if (CnnrecCatalogExec("SELECT model_id FROM cnnrec.models WHERE name OPERATOR(pg_catalog.=) $1",
						  false, 1, argtypes, values, NULL, &id) == 0)
		id = 0;
	if (id == 0 && !missing_ok)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("model \"%s\" does not exist", name),
				 errhint("List the models with: SELECT name FROM cnnrec.models;")));
	return id;
}
