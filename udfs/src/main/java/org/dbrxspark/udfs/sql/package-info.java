/** DBRX SQL functions, registered by {@link org.dbrxspark.udfs.sql.DbrxFunctions#register}. */
package org.dbrxspark.udfs.sql;
