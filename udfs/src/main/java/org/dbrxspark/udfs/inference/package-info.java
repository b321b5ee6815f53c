/**
 * The model calls shared by the ML transformers and the SQL functions: how a row becomes a runtime
 * request, a batch of results becomes result structs with per-row errors, and a partition's rows go
 * through the runtime in chunks. Public so that both packages can use it; not meant as an API of
 * its own.
 */
package org.dbrxspark.udfs.inference;
