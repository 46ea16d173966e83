/*
 * models.c
 *		Model definitions: cnnrec.create_model(), deploy(), drop_model().
 *
 * create_model validates everything a later training run depends on, so
 * that a stored definition is usable: the source relation exists and the
 * caller may read the named columns, each column has an accepted type, and
 * the options are known keys with in-range values (options.c).  It then
 * stores the definition in cnnrec.models, owned by the calling role.
 *
 * The catalog tables are not writable by PUBLIC; the insert runs with the
 * extension owner's rights for that one statement only (the narrow
 * elevation pg_cron uses), after all checks ran as the caller.  All SQL is
 * schema-qualified and takes values as parameters.
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/pg_index.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "utils/acl.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/inval.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/syscache.h"

#include "cnnrec.h"
#include "catalog.h"
#include "models.h"
#include "options.h"

CNNREC_FUNCTION(cnnrec_create_model);
CNNREC_FUNCTION(cnnrec_deploy);
CNNREC_FUNCTION(cnnrec_drop_model);

/* Accepted column types for each role. */
typedef enum ColumnRole
{
	COL_USER,
	COL_ITEM,
	COL_TIME,
	COL_EVENT,
	COL_CATEGORY
} ColumnRole;

static const char *const role_names[] = {"user", "item", "time", "event", "category"};

/* Is typid acceptable for a column of this role? */
static bool
type_accepted(ColumnRole role, Oid typid)
{
	switch (typid)
	{
		case INT2OID:
		case INT4OID:
		case INT8OID:
			return true;
		case TIMESTAMPTZOID:
		case TIMESTAMPOID:
		case DATEOID:
			return role == COL_TIME;
		case TEXTOID:
		case VARCHAROID:
			return role == COL_EVENT || role == COL_CATEGORY;
	}
	return false;
}

/* The accepted types of a role, for error hints. */
static const char *
accepted_types(ColumnRole role)
{
	switch (role)
	{
		case COL_TIME:
			return "timestamptz, timestamp, date, smallint, integer or bigint";
		case COL_EVENT:
		case COL_CATEGORY:
			return "smallint, integer, bigint, text or varchar";
		default:
			return "smallint, integer or bigint";
	}
}

/* Look up a column of relid, check its type and the caller's SELECT right. */
static AttrNumber
check_column(Oid relid, const char *colname, ColumnRole role)
{
	AttrNumber	attnum = get_attnum(relid, colname);
	Oid			typid;

	if (attnum == InvalidAttrNumber || attnum < 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_COLUMN),
				 errmsg("column \"%s\" of relation \"%s\" does not exist",
						colname, get_rel_name(relid)),
				 errhint("The %s column must be a column of the source relation.",
						 role_names[role])));
	typid = getBaseType(get_atttype(relid, attnum));
	if (!type_accepted(role, typid))
		ereport(ERROR,
				(errcode(ERRCODE_DATATYPE_MISMATCH),
				 errmsg("%s column \"%s\" has unsupported type %s",
						role_names[role], colname, format_type_be(typid)),
				 errhint("The %s column must be of type %s.",
						 role_names[role], accepted_types(role))));
	if (pg_class_aclcheck(relid, GetUserId(), ACL_SELECT) != ACLCHECK_OK &&
		pg_attribute_aclcheck(relid, attnum, GetUserId(), ACL_SELECT) != ACLCHECK_OK)
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied for column \"%s\" of relation \"%s\"",
						colname, get_rel_name(relid)),
				 errhint("The role that creates or trains a model must be able to SELECT its source columns.")));
	return attnum;
}

/* Check that relid is a relation interactions can be read from. */
static void
check_source(Oid relid)
{
	char		relkind = get_rel_relkind(relid);

	if (relkind == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("source relation with OID %u does not exist", relid)));
	if (relkind != RELKIND_RELATION && relkind != RELKIND_PARTITIONED_TABLE &&
		relkind != RELKIND_VIEW && relkind != RELKIND_MATVIEW &&
		relkind != RELKIND_FOREIGN_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table, view, materialized view or foreign table",
						get_rel_name(relid))));
}

/* Does an index of relid start with (user_att) and, if any, then time_att? */
static bool
has_serving_index(Oid relid, AttrNumber user_att, AttrNumber time_att)
{
	Relation	rel;
	List	   *indexes;
	ListCell   *lc;
	bool		found = false;

	if (get_rel_relkind(relid) != RELKIND_RELATION &&
		get_rel_relkind(relid) != RELKIND_PARTITIONED_TABLE &&
		get_rel_relkind(relid) != RELKIND_MATVIEW)
		return true;			/* views and foreign tables: nothing to advise */
	rel = table_open(relid, AccessShareLock);
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
	{
		HeapTuple	tup = SearchSysCache1(INDEXRELID, ObjectIdGetDatum(lfirst_oid(lc)));
		Form_pg_index idx;

		if (!HeapTupleIsValid(tup))
			continue;
		idx = (Form_pg_index) GETSTRUCT(tup);
		if (idx->indnkeyatts >= 2 && idx->indkey.values[0] == user_att &&
			idx->indkey.values[1] == time_att && heap_attisnull(tup, Anum_pg_index_indpred, NULL))
			found = true;
		ReleaseSysCache(tup);
	}
	table_close(rel, AccessShareLock);
	return found;
}

/* Insert the definition as the extension owner; returns the model id. */
static int64
insert_model(const char *name, Oid relid, const char *ucol, const char *icol,
			 const char *tcol, const char *ecol, const char *ccol, Jsonb *options)
{
	Oid			argtypes[9] = {TEXTOID, OIDOID, OIDOID, NAMEOID, NAMEOID, NAMEOID, NAMEOID, JSONBOID,
	NAMEOID};
	Datum		values[9];
	char		nulls[9] = "         ";
	int64		model_id = 0;

	values[0] = CStringGetTextDatum(name);
	values[1] = ObjectIdGetDatum(GetUserId());
	values[2] = ObjectIdGetDatum(relid);
	values[3] = DirectFunctionCall1(namein, CStringGetDatum(ucol));
	values[4] = DirectFunctionCall1(namein, CStringGetDatum(icol));
	values[5] = DirectFunctionCall1(namein, CStringGetDatum(tcol));
	values[6] = ecol ? DirectFunctionCall1(namein, CStringGetDatum(ecol)) : (Datum) 0;
	nulls[6] = ecol ? ' ' : 'n';
	values[7] = JsonbPGetDatum(options);
	values[8] = ccol ? DirectFunctionCall1(namein, CStringGetDatum(ccol)) : (Datum) 0;
	nulls[8] = ccol ? ' ' : 'n';
	CnnrecCatalogExec("INSERT INTO cnnrec.models (name, owner, source, user_column, "
					  "item_column, time_column, event_column, options, category_column) "
					  "VALUES ($1, $2::pg_catalog.oid::pg_catalog.regrole, "
					  "$3::pg_catalog.oid::pg_catalog.regclass, $4, $5, $6, $7, $8, $9) "
					  "RETURNING model_id",
					  true, 9, argtypes, values, nulls, &model_id);
	return model_id;
}

/* Raise an error if a model called name exists. */
static void
check_name_free(const char *name)
{
	if (CnnrecModelIdByName(name, true) != 0)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("model \"%s\" already exists", name),
				 errhint("Choose another name, or drop the model with cnnrec.drop_model().")));
	if (strlen(name) == 0 || strlen(name) >= NAMEDATALEN)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_NAME),
				 errmsg("model name must have between 1 and %d characters", NAMEDATALEN - 1)));
}

/*
 * cnnrec.create_model(name, source, user_column, item_column, time_column,
 *					   event_column, options, category_column) returns the new model id.
 */
Datum
cnnrec_create_model(PG_FUNCTION_ARGS)
{
	char	   *name,
			   *ucol,
			   *icol,
			   *tcol,
			   *ecol = NULL,
			   *ccol = NULL;
	Oid			relid;
	Jsonb	   *options;
	AttrNumber	user_att,
				time_att;

	CnnrecRequireArg(fcinfo, 0, "name");
	CnnrecRequireArg(fcinfo, 1, "source");
	CnnrecRequireArg(fcinfo, 2, "user_column");
	CnnrecRequireArg(fcinfo, 3, "item_column");
	CnnrecRequireArg(fcinfo, 4, "time_column");
	CnnrecRequireArg(fcinfo, 6, "options");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	relid = PG_GETARG_OID(1);
	ucol = text_to_cstring(PG_GETARG_TEXT_PP(2));
	icol = text_to_cstring(PG_GETARG_TEXT_PP(3));
	tcol = text_to_cstring(PG_GETARG_TEXT_PP(4));
	if (!PG_ARGISNULL(5))
		ecol = text_to_cstring(PG_GETARG_TEXT_PP(5));
	options = PG_GETARG_JSONB_P(6);
	if (!PG_ARGISNULL(7))
		ccol = text_to_cstring(PG_GETARG_TEXT_PP(7));

	check_name_free(name);
	check_source(relid);
	user_att = check_column(relid, ucol, COL_USER);
	(void) check_column(relid, icol, COL_ITEM);
	time_att = check_column(relid, tcol, COL_TIME);
	if (ecol != NULL)
		(void) check_column(relid, ecol, COL_EVENT);
	if (ccol != NULL)
		(void) check_column(relid, ccol, COL_CATEGORY);
	CnnrecValidateOptions(options);
	if (!has_serving_index(relid, user_att, time_att))
		ereport(NOTICE,
				(errmsg("no index on \"%s\" supports reading one user's latest interactions",
						get_rel_name(relid)),
				 errhint("Serving reads each user's newest interactions at call time; create an index such as CREATE INDEX ON %s (%s, %s).",
						 quote_qualified_identifier(get_namespace_name(get_rel_namespace(relid)),
													get_rel_name(relid)),
						 quote_identifier(ucol), quote_identifier(tcol))));
	PG_RETURN_INT64(insert_model(name, relid, ucol, icol, tcol, ecol, ccol, options));
}

/* Check the caller may still read the model's source; see models.h. */
void
CnnrecCheckSourceAccess(int64 model_id)
{
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];
	HeapTuple	tup;
	TupleDesc	desc;
	bool		isnull;
	Oid			relid;
	char	   *ecol;
	char	   *ccol;

	values[0] = Int64GetDatum(model_id);
	SPI_connect();
	if (SPI_execute_with_args("SELECT source::pg_catalog.oid, user_column::pg_catalog.text, item_column::pg_catalog.text, "
							  "time_column::pg_catalog.text, event_column::pg_catalog.text, name, "
							  "category_column::pg_catalog.text FROM cnnrec.models "
							  "WHERE model_id OPERATOR(pg_catalog.=) $1",
							  1, argtypes, values, NULL, true, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "model %lld disappeared", (long long) model_id);
	tup = SPI_tuptable->vals[0];
	desc = SPI_tuptable->tupdesc;
	relid = DatumGetObjectId(SPI_getbinval(tup, desc, 1, &isnull));
	if (get_rel_relkind(relid) == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_TABLE),
				 errmsg("the source relation of model \"%s\" no longer exists", SPI_getvalue(tup, desc, 6)),
				 errhint("Drop the model with cnnrec.drop_model() and define it again on an existing relation.")));
	check_source(relid);
	(void) check_column(relid, SPI_getvalue(tup, desc, 2), COL_USER);
	(void) check_column(relid, SPI_getvalue(tup, desc, 3), COL_ITEM);
	(void) check_column(relid, SPI_getvalue(tup, desc, 4), COL_TIME);
	ecol = SPI_getvalue(tup, desc, 5);
	if (ecol != NULL)
		(void) check_column(relid, ecol, COL_EVENT);
	ccol = SPI_getvalue(tup, desc, 7);
	if (ccol != NULL)
		(void) check_column(relid, ccol, COL_CATEGORY);
	SPI_finish();
}

/* Lock the model row for update; returns its id and checks ownership. */
static int64
lock_model_for_change(const char *name, const char *action)
{
	Oid			argtypes[1] = {TEXTOID};
	Datum		values[1];
	int64		owner = 0;
	int64		model_id = CnnrecModelIdByName(name, false);

	values[0] = CStringGetTextDatum(name);
	(void) CnnrecCatalogExec("SELECT owner::pg_catalog.oid::pg_catalog.int8 FROM cnnrec.models "
							 "WHERE name OPERATOR(pg_catalog.=) $1 FOR UPDATE",
							 true, 1, argtypes, values, NULL, &owner);
	if (!has_privs_of_role(GetUserId(), (Oid) owner))
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("permission denied to %s model \"%s\"", action, name),
				 errdetail("The model is owned by role \"%s\".", GetUserNameFromId((Oid) owner, false)),
				 errhint("Ask its owner to grant you membership in that role.")));
	return model_id;
}

/* Tell every backend (and standby) that served models changed, at commit. */
void
CnnrecInvalidateServing(void)
{
	Oid			relid = get_relname_relid("model_versions", get_namespace_oid("cnnrec", false));

	if (OidIsValid(relid))
		CacheInvalidateRelcacheByRelid(relid);
}

/*
 * cnnrec.deploy(name, version): make version the active one, atomically.
 */
Datum
cnnrec_deploy(PG_FUNCTION_ARGS)
{
	char	   *name;
	int32		version;
	int64		model_id;
	Oid			argtypes[2] = {INT8OID, INT4OID};
	Datum		values[2];

	CnnrecRequireArg(fcinfo, 0, "name");
	CnnrecRequireArg(fcinfo, 1, "version");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	version = PG_GETARG_INT32(1);
	model_id = lock_model_for_change(name, "deploy");
	values[0] = Int64GetDatum(model_id);
	values[1] = Int32GetDatum(version);
	if (CnnrecCatalogExec("SELECT 1 FROM cnnrec.model_versions WHERE model_id OPERATOR(pg_catalog.=) $1 "
						  "AND version OPERATOR(pg_catalog.=) $2", false, 2, argtypes, values, NULL, NULL) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("version %d of model \"%s\" does not exist", version, name),
				 errhint("List the versions with: SELECT version, active, metrics FROM cnnrec.model_versions v JOIN cnnrec.models m USING (model_id) WHERE m.name = '%s';",
						 name)));
	CnnrecCatalogExec("UPDATE cnnrec.model_versions SET active = false "
					  "WHERE model_id OPERATOR(pg_catalog.=) $1 AND active "
					  "AND version OPERATOR(pg_catalog.<>) $2", true, 2, argtypes, values, NULL, NULL);
	CnnrecCatalogExec("UPDATE cnnrec.model_versions SET active = true, deployed_at = pg_catalog.now() "
					  "WHERE model_id OPERATOR(pg_catalog.=) $1 AND version OPERATOR(pg_catalog.=) $2 "
					  "AND NOT active", true, 2, argtypes, values, NULL, NULL);
	CnnrecInvalidateServing();
	PG_RETURN_VOID();
}

/*
 * cnnrec.drop_model(name): remove the model, its versions, weights and jobs.
 * A running job of the model notices at its next progress check and stops.
 */
Datum
cnnrec_drop_model(PG_FUNCTION_ARGS)
{
	char	   *name;
	int64		model_id;
	Oid			argtypes[1] = {INT8OID};
	Datum		values[1];

	CnnrecRequireArg(fcinfo, 0, "name");
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	model_id = lock_model_for_change(name, "drop");
	values[0] = Int64GetDatum(model_id);
	CnnrecCatalogExec("DELETE FROM cnnrec.jobs WHERE model_id OPERATOR(pg_catalog.=) $1",
					  true, 1, argtypes, values, NULL, NULL);
	CnnrecCatalogExec("DELETE FROM cnnrec.models WHERE model_id OPERATOR(pg_catalog.=) $1",
					  true, 1, argtypes, values, NULL, NULL);
	CnnrecInvalidateServing();
	PG_RETURN_VOID();
}
