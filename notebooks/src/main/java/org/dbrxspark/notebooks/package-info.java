/**
 * The notebooks' Java kernel launcher: rapaio-jupyter-kernel with the fixes its 3.0.1 needs,
 * started from the kernel spec the build writes.
 */
package org.dbrxspark.notebooks;
